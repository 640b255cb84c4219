//! EXPERIMENT (reverted in the next commit): an append-only file with no index, recovery or
//! compaction, selected with FERRY_PROBE=sfr|fdatasync. It measures the floor of the durable
//! commit path: the same group commit, with the cheapest possible store underneath.
use super::{Op, Store, StoreResult, Visitor};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::sync::Mutex;

pub struct Probe {
    inner: Mutex<(std::fs::File, Vec<u8>, i64)>,
    fdatasync: bool,
}

impl Probe {
    pub fn open(dir: &std::path::Path, fdatasync: bool) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("probe.log"))
            .unwrap();
        Probe {
            inner: Mutex::new((f, Vec::new(), 0)),
            fdatasync,
        }
    }
}

impl Store for Probe {
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        let mut g = self.inner.lock().unwrap();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    g.1.extend_from_slice(k);
                    g.1.extend_from_slice(v);
                }
                Op::Delete(k) => g.1.extend_from_slice(k),
            }
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<()> {
        let mut g = self.inner.lock().unwrap();
        let buf = std::mem::take(&mut g.1);
        g.0.write_all(&buf).unwrap();
        if self.fdatasync {
            g.0.sync_data().unwrap();
        } else {
            let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            let rc = unsafe { libc::sync_file_range(g.0.as_raw_fd(), g.2, buf.len() as i64, flags) };
            assert_eq!(rc, 0);
        }
        g.2 += buf.len() as i64;
        Ok(())
    }

    fn scan(&self, _: &[u8], _: &mut Visitor<'_>) -> StoreResult<()> {
        Ok(())
    }

    fn clear(&self) -> StoreResult<()> {
        Ok(())
    }

    fn size_on_disk(&self) -> Option<u64> {
        None
    }
}
