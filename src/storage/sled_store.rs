//! The resources backend: one sled tree on disk (queues, move tasks; messages live in the log). A batch is applied op by op, in order; `sync` is
//! sled's flush, called once per commit group. On Linux sled's flush writes its log buffers and
//! waits for them with `sync_file_range`: the data is on the device when an answer goes out, which
//! survives `kill -9` and any crash of the process; sled does not fsync the file's metadata or the
//! device cache, so a power cut can still lose the last few seconds.

use super::{Op, Store, StoreError, StoreResult, Visitor};
use std::path::Path;

pub struct SledStore {
    db: sled::Db,
    /// `--sync always`: sled's own file, `fdatasync`ed after each flush so that resources too
    /// survive a power cut (sled's flush alone does not sync the file's metadata).
    fdatasync: Option<std::fs::File>,
}

fn err(e: sled::Error) -> StoreError {
    StoreError(e.to_string())
}

/// sled's page cache; small, because the working state already lives in memory above the store.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

impl SledStore {
    /// Opens (or creates) the database in `dir`. sled releases its file lock some time after the
    /// previous owner dropped it (its IO threads and deferred epoch garbage let go last; on a
    /// loaded machine that took over a second), so a restart in the same process, or right after
    /// the old process exited, retries for up to five seconds.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        let mut attempts = 0;
        loop {
            let opened = sled::Config::new()
                .path(dir)
                .cache_capacity(CACHE_BYTES)
                .flush_every_ms(None)
                .mode(sled::Mode::HighThroughput)
                .open();
            match opened {
                Ok(db) => {
                    return Ok(SledStore {
                        db,
                        fdatasync: None,
                    });
                }
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock && attempts < 250 =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(StoreError(format!(
                        "cannot open the data dir {}: {e}",
                        dir.display()
                    )));
                }
            }
        }
    }
}

impl SledStore {
    /// Makes every flush also `fdatasync` sled's data file (`--sync always`).
    pub fn with_fdatasync(mut self, dir: &Path) -> StoreResult<Self> {
        let file = dir.join("db");
        self.fdatasync = Some(
            std::fs::File::open(&file)
                .map_err(|e| StoreError(format!("{}: {e}", file.display())))?,
        );
        Ok(self)
    }
}

impl Store for SledStore {
    /// Applies ops one by one, in order. sled recovers a prefix of the operations after a crash,
    /// so a batch whose ops are ordered "add before remove" (a move inserts the copy first) never
    /// loses data, only possibly leaves a duplicate. `apply_batch` would make batches atomic but
    /// costs ~70 µs per call here, more than the flush itself (see `cargo bench --bench sqs`).
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        for op in ops {
            match op {
                Op::Put(k, v) => self.db.insert(k.as_slice(), v.as_slice()).map(|_| ()),
                Op::Delete(k) => self.db.remove(k.as_slice()).map(|_| ()),
            }
            .map_err(err)?;
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<()> {
        self.db.flush().map_err(err)?;
        if let Some(f) = &self.fdatasync {
            f.sync_data()
                .map_err(|e| StoreError(format!("fdatasync of sled's file: {e}")))?;
        }
        Ok(())
    }

    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        for item in self.db.scan_prefix(prefix) {
            let (k, v) = item.map_err(err)?;
            f(&k, &v)?;
        }
        Ok(())
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.db.get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn clear(&self) -> StoreResult<()> {
        self.db.clear().map_err(err)?;
        self.sync()
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.db.size_on_disk().ok()
    }
}
