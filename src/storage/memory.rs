//! The in-memory backend: a sorted map. Used by `--in-memory` and by tests; it passes the same
//! conformance suite as sled.

use super::{Op, Store, StoreResult, Visitor};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        let mut map = self.map();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    map.insert(k.clone(), v.clone());
                }
                Op::Delete(k) => {
                    map.remove(k);
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<()> {
        Ok(())
    }

    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        let map = self.map();
        for (k, v) in map.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            f(k, v)?;
        }
        Ok(())
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.map().get(key).cloned())
    }

    fn clear(&self) -> StoreResult<()> {
        self.map().clear();
        Ok(())
    }

    fn size_on_disk(&self) -> Option<u64> {
        None
    }

    fn is_volatile(&self) -> bool {
        true
    }
}
