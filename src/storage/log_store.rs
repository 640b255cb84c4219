//! An experimental backend (`--store log`): one append-only file of checksummed records and an
//! in-memory index of where each live value sits. A write appends; `sync` is one `fdatasync`;
//! recovery replays the file and drops a torn tail; when dead records outweigh live ones the file
//! is rewritten with only the live ones. It exists to measure what sled's commit path costs
//! (issue #2): the services above cannot tell the backends apart.

use super::{Op, Store, StoreError, StoreResult, Visitor};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const FILE: &str = "ferry.log";
const COMPACTING: &str = "ferry.log.compact";
const PUT: u8 = 1;
const DELETE: u8 = 2;
/// Below this size the file is never rewritten.
const MIN_COMPACT_BYTES: u64 = 64 * 1024 * 1024;

/// Where a live value is: file offset and length of the value bytes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    offset: u64,
    len: u32,
}

struct Inner {
    file: File,
    len: u64,
    index: BTreeMap<Vec<u8>, Slot>,
    live_bytes: u64,
}

pub struct LogStore {
    dir: PathBuf,
    inner: Mutex<Inner>,
}

fn io(context: &str, e: std::io::Error) -> StoreError {
    StoreError(format!("{context}: {e}"))
}

/// Appends one record (`len`, `crc32(payload)`, payload) to `buf`; returns where the value starts
/// relative to the record's start.
fn encode(op: &Op, buf: &mut Vec<u8>) -> Option<(u64, u32)> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    let value_at = match op {
        Op::Put(k, v) => {
            buf.push(PUT);
            buf.extend_from_slice(&(k.len() as u32).to_be_bytes());
            buf.extend_from_slice(k);
            buf.extend_from_slice(&(v.len() as u32).to_be_bytes());
            let at = buf.len() - start;
            buf.extend_from_slice(v);
            Some((at as u64, v.len() as u32))
        }
        Op::Delete(k) => {
            buf.push(DELETE);
            buf.extend_from_slice(&(k.len() as u32).to_be_bytes());
            buf.extend_from_slice(k);
            None
        }
    };
    let payload_len = (buf.len() - start - 8) as u32;
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start..start + 4].copy_from_slice(&payload_len.to_be_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
    value_at
}

/// A record read back: op kind, key, and the value's position in the payload.
struct Record {
    kind: u8,
    key: Vec<u8>,
    value: Option<(usize, u32)>,
}

fn parse(payload: &[u8]) -> Option<Record> {
    let (&kind, rest) = payload.split_first()?;
    let klen = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let key = rest.get(4..4 + klen)?.to_vec();
    match kind {
        PUT => {
            let vlen = u32::from_be_bytes(rest.get(4 + klen..8 + klen)?.try_into().ok()?);
            let at = 1 + 8 + klen;
            (payload.len() == at + vlen as usize).then_some(Record {
                kind,
                key,
                value: Some((at, vlen)),
            })
        }
        DELETE => (payload.len() == 1 + 4 + klen).then_some(Record {
            kind,
            key,
            value: None,
        }),
        _ => None,
    }
}

impl LogStore {
    pub fn open(dir: &Path) -> StoreResult<LogStore> {
        std::fs::create_dir_all(dir).map_err(|e| io("create the data dir", e))?;
        let path = dir.join(FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io("open the log", e))?;
        let mut index = BTreeMap::new();
        let mut live_bytes = 0u64;
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut pos = 0u64;
        let mut head = [0u8; 8];
        let mut payload = Vec::new();
        // Replay until the end or the first torn or corrupt record (a crash mid-append).
        while reader.read_exact(&mut head).is_ok() {
            let len = u32::from_be_bytes(head[..4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_be_bytes(head[4..].try_into().expect("4 bytes"));
            payload.resize(len, 0);
            if reader.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
                break;
            }
            let Some(r) = parse(&payload) else { break };
            if let Some(old) = index.remove(&r.key) {
                live_bytes -= record_size(&r.key, &old);
            }
            if let (PUT, Some((at, len))) = (r.kind, r.value) {
                let slot = Slot {
                    offset: pos + 8 + at as u64,
                    len,
                };
                live_bytes += record_size(&r.key, &slot);
                index.insert(r.key, slot);
            }
            pos += 8 + len as u64;
        }
        drop(reader);
        file.set_len(pos)
            .map_err(|e| io("truncate a torn tail", e))?;
        let mut file = file;
        file.seek(SeekFrom::Start(pos))
            .map_err(|e| io("seek the log", e))?;
        Ok(LogStore {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                file,
                len: pos,
                index,
                live_bytes,
            }),
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rewrites the file with only the live records, then swaps it in atomically.
    fn compact(&self, inner: &mut Inner) -> StoreResult<()> {
        let tmp = self.dir.join(COMPACTING);
        let mut out = File::create(&tmp).map_err(|e| io("create the compacted log", e))?;
        let mut index = BTreeMap::new();
        let mut buf = Vec::with_capacity(1 << 20);
        let mut written = 0u64;
        for (key, slot) in &inner.index {
            let mut value = vec![0; slot.len as usize];
            inner
                .file
                .read_exact_at(&mut value, slot.offset)
                .map_err(|e| io("read the log", e))?;
            let start = buf.len() as u64;
            let (at, len) =
                encode(&Op::Put(key.clone(), value), &mut buf).expect("a put has a value");
            index.insert(
                key.clone(),
                Slot {
                    offset: written + start + at,
                    len,
                },
            );
            if buf.len() >= 1 << 20 {
                out.write_all(&buf)
                    .map_err(|e| io("write the compacted log", e))?;
                written += buf.len() as u64;
                buf.clear();
            }
        }
        out.write_all(&buf)
            .map_err(|e| io("write the compacted log", e))?;
        written += buf.len() as u64;
        out.sync_all()
            .map_err(|e| io("sync the compacted log", e))?;
        std::fs::rename(&tmp, self.dir.join(FILE))
            .map_err(|e| io("swap in the compacted log", e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("sync the data dir", e))?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.dir.join(FILE))
            .map_err(|e| io("reopen the log", e))?;
        file.seek(SeekFrom::Start(written))
            .map_err(|e| io("seek the log", e))?;
        inner.file = file;
        inner.len = written;
        inner.index = index;
        Ok(())
    }
}

/// Bytes a live record occupies in the file.
fn record_size(key: &[u8], slot: &Slot) -> u64 {
    8 + 1 + 4 + key.len() as u64 + 4 + slot.len as u64
}

impl Store for LogStore {
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        let mut inner = self.inner();
        let mut buf = Vec::with_capacity(ops.len() * 64);
        let mut slots = Vec::with_capacity(ops.len());
        for op in ops {
            let start = buf.len() as u64;
            slots.push(encode(op, &mut buf).map(|(at, len)| (start + at, len)));
        }
        inner
            .file
            .write_all(&buf)
            .map_err(|e| io("append to the log", e))?;
        let base = inner.len;
        inner.len += buf.len() as u64;
        for (op, slot) in ops.iter().zip(slots) {
            let key = match op {
                Op::Put(k, _) | Op::Delete(k) => k,
            };
            if let Some(old) = inner.index.remove(key) {
                inner.live_bytes -= record_size(key, &old);
            }
            if let Some((at, len)) = slot {
                let slot = Slot {
                    offset: base + at,
                    len,
                };
                inner.live_bytes += record_size(key, &slot);
                inner.index.insert(key.clone(), slot);
            }
        }
        Ok(())
    }

    fn sync(&self) -> StoreResult<()> {
        let mut inner = self.inner();
        inner.file.sync_data().map_err(|e| io("sync the log", e))?;
        if inner.len > MIN_COMPACT_BYTES && inner.len > 2 * inner.live_bytes {
            self.compact(&mut inner)?;
        }
        Ok(())
    }

    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        let inner = self.inner();
        let mut value = Vec::new();
        for (k, slot) in inner.index.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) {
                break;
            }
            value.resize(slot.len as usize, 0);
            inner
                .file
                .read_exact_at(&mut value, slot.offset)
                .map_err(|e| io("read the log", e))?;
            f(k, &value)?;
        }
        Ok(())
    }

    fn clear(&self) -> StoreResult<()> {
        let mut inner = self.inner();
        inner
            .file
            .set_len(0)
            .map_err(|e| io("truncate the log", e))?;
        inner
            .file
            .seek(SeekFrom::Start(0))
            .map_err(|e| io("seek the log", e))?;
        inner.file.sync_all().map_err(|e| io("sync the log", e))?;
        inner.len = 0;
        inner.live_bytes = 0;
        inner.index.clear();
        Ok(())
    }

    fn size_on_disk(&self) -> Option<u64> {
        Some(self.inner().len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &LogStore) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        s.scan(&[], &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn replays_and_drops_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = LogStore::open(dir.path()).unwrap();
            s.write(&[
                Op::Put(b"a".to_vec(), b"1".to_vec()),
                Op::Put(b"b".to_vec(), b"2".to_vec()),
            ])
            .unwrap();
            s.write(&[
                Op::Delete(b"a".to_vec()),
                Op::Put(b"b".to_vec(), b"3".to_vec()),
            ])
            .unwrap();
            s.sync().unwrap();
        }
        // A crash mid-append leaves half a record.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(FILE))
            .unwrap();
        f.write_all(&[0, 0, 0, 40, 1, 2, 3]).unwrap();
        drop(f);
        let s = LogStore::open(dir.path()).unwrap();
        assert_eq!(collect(&s), vec![(b"b".to_vec(), b"3".to_vec())]);
        s.write(&[Op::Put(b"c".to_vec(), b"4".to_vec())]).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = LogStore::open(dir.path()).unwrap();
        assert_eq!(
            collect(&s).len(),
            2,
            "appends after a torn tail are readable"
        );
    }

    #[test]
    fn compaction_keeps_exactly_the_live_records() {
        let dir = tempfile::tempdir().unwrap();
        let s = LogStore::open(dir.path()).unwrap();
        let mut inner = s.inner();
        for i in 0..1000u32 {
            let op = Op::Put(i.to_be_bytes().to_vec(), vec![i as u8; 100]);
            drop(inner);
            s.write(&[op]).unwrap();
            if i % 2 == 0 {
                s.write(&[Op::Delete(i.to_be_bytes().to_vec())]).unwrap();
            }
            inner = s.inner();
        }
        let before = inner.len;
        s.compact(&mut inner).unwrap();
        assert!(inner.len < before / 2, "{} -> {}", before, inner.len);
        drop(inner);
        let live = collect(&s);
        assert_eq!(live.len(), 500);
        assert!(live.iter().all(|(k, v)| v == &vec![k[3]; 100]));
        drop(s);
        assert_eq!(collect(&LogStore::open(dir.path()).unwrap()).len(), 500);
    }
}
