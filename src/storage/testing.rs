//! Stores for tests.

use super::{MemoryStore, Op, Store, StoreResult, Visitor};
use std::sync::{Arc, Condvar, Mutex};

/// sled before its flush, to play a kill -9 that comes before it: writes wait at a gate until it
/// opens, and what is behind it is what a restart sees.
pub struct Unflushed {
    inner: Arc<MemoryStore>,
    /// (open, writes waiting)
    gate: Mutex<(bool, usize)>,
    changed: Condvar,
}

impl Unflushed {
    pub fn new(inner: Arc<MemoryStore>) -> Arc<Unflushed> {
        Arc::new(Unflushed {
            inner,
            gate: Mutex::new((false, 0)),
            changed: Condvar::new(),
        })
    }

    pub fn open(&self) {
        self.gate.lock().unwrap().0 = true;
        self.changed.notify_all();
    }

    /// Returns once a write waits at the gate.
    pub fn await_a_write(&self) {
        let gate = self.gate.lock().unwrap();
        let (gate, timeout) = self
            .changed
            .wait_timeout_while(gate, std::time::Duration::from_secs(10), |g| g.1 == 0)
            .unwrap();
        drop(gate);
        assert!(!timeout.timed_out(), "no write reached the gate");
    }
}

impl Store for Unflushed {
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        let mut gate = self.gate.lock().unwrap();
        gate.1 += 1;
        self.changed.notify_all();
        while !gate.0 {
            gate = self.changed.wait(gate).unwrap();
        }
        gate.1 -= 1;
        drop(gate);
        self.inner.write(ops)
    }
    fn sync(&self) -> StoreResult<()> {
        Ok(())
    }
    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        self.inner.scan(prefix, f)
    }
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn clear(&self) -> StoreResult<()> {
        self.inner.clear()
    }
    fn size_on_disk(&self) -> Option<u64> {
        None
    }
}
