//! The message log: hot records (messages, their mutable state, FIFO deduplication, pending
//! deliveries) in append-only, checksummed segment files, beside sled's resources.
//!
//! - **Writes** are one `write()` of one frame (see `frame.rs`) in the caller's own thread, under
//!   the log's lock and under whatever lock of the caller ordered the change in memory. When the
//!   call returns the record is in the OS: it survives `kill -9` and any crash of ferry. When it
//!   reaches the device is the `--sync` policy's business (`storage::sync`).
//! - **An index in memory** maps every live key to where its value sits (segment, offset, length),
//!   so values are read back with one `pread` and a segment's live share is known at all times.
//! - **Open** replays the segments in order. A torn or corrupt tail of the newest segment is cut
//!   with one warning naming the file and offset; damage anywhere else is a startup error naming
//!   the file and offset. The one tear allowed before the newest segment is a power cut during the
//!   background flush of a sealed segment: each head begins with a seal op that says how long the
//!   segment before it was, so a shorter one is such a tear and a damaged full one is an error.
//! - **Compaction** (`compact.rs`) rewrites the live records of a segment whose live share fell low
//!   to the head and deletes the file, so disk use follows live data.

mod compact;
mod frame;
mod index;

use super::{Op, Store, StoreError, StoreResult, Visitor};
use frame::{Entry, FrameBuf};
use index::Index;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A head segment is sealed and a new one started once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 32 * 1024 * 1024;

/// A batched read (`Store::get_many`) reads two values with one `pread` when at most this many
/// bytes of other records lie between them, and reads at most `READ_SPAN` bytes at once.
const READ_GAP: u64 = 8 * 1024;
const READ_SPAN: u64 = 256 * 1024;

/// A frame being built is written out once it holds this many bytes of ops.
const SPLIT_BYTES: usize = 64 * 1024 * 1024;

/// Where a live value sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    seg: u32,
    /// Offset of the value in the segment file.
    off: u32,
    len: u32,
    /// The oldest segment that may still hold a put of this key (a delete's tombstone must hide
    /// them all).
    first: u32,
}

impl Loc {
    fn size(&self, key_len: usize) -> u64 {
        frame::put_size(key_len, self.len as usize) as u64
    }
}

/// What a frame being written does to the index, op by op.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A put whose value sits at this offset from the frame's start, with this length.
    Put(usize, usize),
    /// A delete of the current value.
    Delete,
    /// A tombstone copied forward by compaction: it matters on replay only.
    Tombstone,
}

struct Segment {
    file: Arc<File>,
    /// Bytes in the file.
    len: u64,
    /// Bytes of puts that the index still points at.
    live: u64,
    /// Bytes of tombstones written here. They count as live when deciding whether a head is
    /// dead enough to seal, or a head of tombstones still needed would be sealed and copied
    /// forward again and again.
    tombs: u64,
}

struct Inner {
    head: u32,
    segments: BTreeMap<u32, Segment>,
    /// Where each live key's value sits (`index.rs`).
    index: Index,
    /// Set when a failed write could not be undone: the log refuses writes from then on.
    broken: Option<String>,
    /// A segment sealed by a write (see `Log::seal_full_head`) whose flush to the device is still under
    /// way outside the lock; at most one at a time.
    sealing: Option<Arc<Sealing>>,
}

/// A sealed segment on its way to the device, flushed by a thread of its own.
struct Sealing {
    file: Arc<File>,
    done: AtomicBool,
}

impl Sealing {
    fn pending(&self) -> bool {
        !self.done.load(Ordering::Acquire)
    }

    /// Flushes the segment and the directory that names the new head; idempotent.
    fn finish(&self, dir: &Path) -> StoreResult<()> {
        if self.pending() {
            self.file.sync_data().map_err(|e| io(dir.display(), e))?;
            sync_dir(dir)?;
            self.done.store(true, Ordering::Release);
        }
        Ok(())
    }
}

/// The append-only log of hot records.
pub struct Log {
    dir: PathBuf,
    segment_bytes: u64,
    inner: Mutex<Inner>,
    /// Written since the last `sync`.
    dirty: AtomicBool,
}

fn io(what: impl std::fmt::Display, e: std::io::Error) -> StoreError {
    StoreError(format!("{what}: {e}"))
}

/// An index entry that names a segment the log no longer has (a bug, or a failed clear).
fn missing(seg: u32) -> StoreError {
    StoreError(format!("the message log has no segment {seg}"))
}

fn segment_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:010}.log"))
}

/// The id of a segment file's name (`0000000042.log`), or `None` for another file. A name that
/// ends in `.log` but is not ten digits is an error: replaying it in the wrong place, or twice
/// (`42.log` beside `0000000042.log`), or skipping it, could each lose or resurrect records.
fn segment_id(dir: &Path, name: &str) -> StoreResult<Option<u32>> {
    let Some(digits) = name.strip_suffix(".log") else {
        return Ok(None);
    };
    match digits.parse::<u32>() {
        Ok(id) if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(id)),
        _ => Err(StoreError(format!(
            "{} is not a segment of the message log (segments are named like 0000000042.log); \
             move it out of the directory",
            dir.join(name).display()
        ))),
    }
}

/// The segment after `id`; the log refuses to go on rather than wrap around (segments replay in
/// the order of their numbers).
fn next_segment(id: u32) -> StoreResult<u32> {
    id.checked_add(1)
        .ok_or_else(|| StoreError("the message log has run out of segment numbers".into()))
}

fn open_segment(dir: &Path, id: u32, create: bool) -> StoreResult<File> {
    let path = segment_path(dir, id);
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(create)
        .open(&path)
        .map_err(|e| io(path.display(), e))
}

/// How the last segment begins, which decides whether the one before it may be torn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadBegins {
    /// With no whole frame: it holds nothing.
    Empty,
    /// With a seal op naming the segment before it and that segment's length then.
    Seal { segment: u32, len: u64 },
    /// With anything else (a head written before data format 3).
    Other,
}

/// How segment `id` begins. Only its first frame is read when that frame is whole (a seal op is
/// 22 bytes; a start need not read a 32 MB head twice); otherwise the whole file is scanned.
fn first_frame(dir: &Path, id: u32) -> StoreResult<HeadBegins> {
    let path = segment_path(dir, id);
    let file = File::open(&path).map_err(|e| io(path.display(), e))?;
    let size = file.metadata().map_err(|e| io(path.display(), e))?.len();
    let mut header = [0; frame::HEADER];
    if file.read_exact_at(&mut header, 0).is_ok() {
        let len = u32::from_le_bytes(header[1..5].try_into().expect("4 bytes")) as u64;
        let whole = (frame::HEADER as u64 + len).min(size);
        let mut buf = vec![0; whole as usize];
        file.read_exact_at(&mut buf, 0)
            .map_err(|e| io(path.display(), e))?;
        if let Some((start, len)) = frame::frame_at(&buf, 0) {
            let entries = frame::entries(&buf[start..start + len])
                .map_err(|e| StoreError(format!("{} at offset 0: {}", path.display(), e.0)))?;
            return Ok(match entries.first() {
                Some(&Entry::Seal { segment, len }) => HeadBegins::Seal { segment, len },
                _ => HeadBegins::Other,
            });
        }
    }
    let buf = std::fs::read(&path).map_err(|e| io(path.display(), e))?;
    Ok(if frame::scan(&buf).frames.is_empty() {
        HeadBegins::Empty
    } else {
        HeadBegins::Other
    })
}

/// Makes the directory's entries (new or removed segment files) durable.
fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir.display(), e))
}

impl Inner {
    /// Indexes a put of `key` whose value sits at `loc` (its `first` is filled in here).
    fn put(&mut self, key: &[u8], mut loc: Loc) {
        if let Some(s) = self.segments.get_mut(&loc.seg) {
            s.live += loc.size(key.len());
        }
        let old = self.index.put(key, |old| {
            loc.first = old.map_or(loc.seg, |o| o.first.min(loc.seg));
            loc
        });
        if let Some(old) = old {
            self.forget(old, key.len());
        }
    }

    /// Indexes a delete written in segment `last`: it removes the value if that value is not
    /// newer than the delete (see `frame.rs`).
    fn delete(&mut self, key: &[u8], last: u32) {
        if self.index.get(key).is_some_and(|l| l.seg <= last)
            && let Some(old) = self.index.remove(key)
        {
            self.forget(old, key.len());
        }
    }

    fn forget(&mut self, old: Loc, key_len: usize) {
        if let Some(s) = self.segments.get_mut(&old.seg) {
            s.live = s.live.saturating_sub(old.size(key_len));
        }
    }

    /// Indexes the ops of a frame read back from segment `seg` whose payload starts at `start`.
    fn apply_entries(&mut self, seg: u32, start: usize, entries: &[Entry<'_>]) {
        for e in entries {
            match *e {
                Entry::Put {
                    key,
                    value,
                    value_at,
                } => self.put(
                    key,
                    Loc {
                        seg,
                        off: (start + value_at) as u32,
                        len: value.len() as u32,
                        first: seg,
                    },
                ),
                Entry::Delete { key, last, .. } => {
                    if let Some(s) = self.segments.get_mut(&seg) {
                        s.tombs += e.size() as u64;
                    }
                    self.delete(key, last)
                }
                Entry::Seal { .. } => {}
            }
        }
    }

    fn head(&mut self) -> &mut Segment {
        self.segments
            .get_mut(&self.head)
            .expect("the head segment exists")
    }

    /// Writes one frame at the end of the head, then indexes `ops`, the frame's ops in order.
    fn write_frame(&mut self, frame: &mut FrameBuf, ops: &[(&[u8], Change)]) -> StoreResult<()> {
        if let Some(why) = &self.broken {
            return Err(StoreError(format!("the message log is unusable: {why}")));
        }
        let head = self.head;
        let start = self.head().len;
        let bytes = frame.finish();
        if let Err(e) = self.head().file.as_ref().write_all(bytes) {
            // Take back whatever part of the frame reached the file, or later frames would follow
            // garbage. If even that fails, stop writing rather than corrupt the log.
            if let Err(e2) = self.head().file.set_len(start) {
                self.broken = Some(format!("write failed ({e}) and could not be undone ({e2})"));
            }
            return Err(StoreError(format!("message log write: {e}")));
        }
        self.head().len += bytes.len() as u64;
        for &(key, change) in ops {
            match change {
                Change::Put(at, len) => self.put(
                    key,
                    Loc {
                        seg: head,
                        off: (start + at as u64) as u32,
                        len: len as u32,
                        first: head,
                    },
                ),
                Change::Delete => {
                    self.head().tombs += frame::delete_size(key.len()) as u64;
                    self.delete(key, head)
                }
                Change::Tombstone => self.head().tombs += frame::delete_size(key.len()) as u64,
            }
        }
        Ok(())
    }
}

impl Log {
    /// Opens (or creates) the log in `dir`, replaying every segment.
    pub fn open(dir: &Path) -> StoreResult<Log> {
        Log::open_with(dir, SEGMENT_BYTES)
    }

    /// [`Log::open`] with another segment size (tests use tiny ones to exercise rotation).
    pub fn open_with(dir: &Path, segment_bytes: u64) -> StoreResult<Log> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir.display(), e))?;
        let mut ids = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| io(dir.display(), e))? {
            let e = e.map_err(|e| io(dir.display(), e))?;
            if let Some(id) = e
                .file_name()
                .to_str()
                .map(|n| segment_id(dir, n))
                .transpose()?
            {
                ids.extend(id);
            }
        }
        ids.sort_unstable();
        let mut inner = Inner {
            head: 0,
            segments: BTreeMap::new(),
            index: Index::default(),
            broken: None,
            sealing: None,
        };
        let last = ids.last().copied();
        // A sealed segment may be torn only if the power went while `seal_full_head`'s flush was
        // under way: then it is the one before the last, shorter than the seal op that begins
        // the last says, and the last holds only records written after the tear, which go with
        // it. A head with no whole frame holds nothing, and the segment before it is then the
        // last that counts. Any other damage outside the tail of the last is an error.
        let before_last = ids.len().checked_sub(2).map(|i| ids[i]);
        let head_begins = match last {
            Some(id) if before_last.is_some() => first_frame(dir, id)?,
            _ => HeadBegins::Empty,
        };
        let mut dropped = None;
        for id in ids {
            if Some(id) == dropped {
                continue;
            }
            let path = segment_path(dir, id);
            let buf = std::fs::read(&path).map_err(|e| io(path.display(), e))?;
            let scan = frame::scan(&buf);
            let mut len = buf.len() as u64;
            let torn = !scan.valid_after_stop;
            // The sealed segment's flush did not finish before the power went: it is shorter than
            // its seal op says (ending at a frame boundary, as after its last sync, or inside a
            // frame), or ends in zeros (a file system that kept the size but not the last blocks).
            let sealing_torn = Some(id) == before_last
                && torn
                && matches!(head_begins, HeadBegins::Seal { segment, len } if segment == id && (
                    (buf.len() as u64) < len
                        || scan.stop.is_some_and(|stop| frame::zeroed_from(&buf, stop))
                ));
            if let (true, Some(after)) = (sealing_torn, last) {
                // The later segment goes first: a crash between this and the cut below must not
                // leave its records behind a cut they came after.
                let later = segment_path(dir, after);
                tracing::warn!(
                    file = %later.display(),
                    "message log: dropping the segment written after a sealed one torn by a power cut"
                );
                std::fs::remove_file(&later).map_err(|e| io(later.display(), e))?;
                sync_dir(dir)?;
                dropped = Some(after);
            }
            if let Some(stop) = scan.stop {
                let tail = match (Some(id) == last, Some(id) == before_last) {
                    (true, _) => torn,
                    (_, true) => sealing_torn || (torn && head_begins == HeadBegins::Empty),
                    _ => false,
                };
                if !tail {
                    return Err(StoreError(format!(
                        "the message log is damaged: {} has a corrupt record at offset {stop}{}; \
                         ferry will not guess which messages it held. Move the data directory \
                         aside to start afresh.",
                        path.display(),
                        if torn {
                            " and later segments hold records written after it"
                        } else {
                            " followed by valid ones (not a torn tail)"
                        }
                    )));
                }
                tracing::warn!(
                    file = %path.display(),
                    offset = stop,
                    cut = buf.len() - stop,
                    "message log: cutting a torn tail (a write that did not complete before a crash)"
                );
                let f = open_segment(dir, id, false)?;
                f.set_len(stop as u64).map_err(|e| io(path.display(), e))?;
                f.sync_all().map_err(|e| io(path.display(), e))?;
                len = stop as u64;
            }
            let file = Arc::new(open_segment(dir, id, false)?);
            inner.segments.insert(
                id,
                Segment {
                    file,
                    len,
                    live: 0,
                    tombs: 0,
                },
            );
            for (start, plen) in scan.frames {
                let entries = frame::entries(&buf[start..start + plen]).map_err(|e| {
                    StoreError(format!("{} at offset {start}: {}", path.display(), e.0))
                })?;
                inner.apply_entries(id, start, &entries);
            }
            inner.head = id;
        }
        let log = Log {
            dir: dir.to_path_buf(),
            segment_bytes,
            inner: Mutex::new(inner),
            dirty: AtomicBool::new(false),
        };
        {
            let mut inner = log.lock();
            if inner.segments.is_empty() {
                log.start_segment(&mut inner, 1)?;
            }
        }
        Ok(log)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seals the head (flushing it to the device, so a sealed segment is never torn) and starts
    /// segment `id`.
    fn start_segment(&self, inner: &mut Inner, id: u32) -> StoreResult<()> {
        if let Some(sealing) = &inner.sealing {
            // Kept until it succeeds: `sync` flushes it again otherwise.
            sealing.finish(&self.dir)?;
            inner.sealing = None;
        }
        if let Some(old) = inner.segments.get(&inner.head) {
            old.file
                .sync_data()
                .map_err(|e| io(segment_path(&self.dir, inner.head).display(), e))?;
        }
        self.begin_head(inner, id)?;
        sync_dir(&self.dir)
    }

    /// Creates segment `id` and makes it the head; its first frame is a seal op naming the
    /// segment it follows (see `frame.rs`); the first segment of a log begins with records.
    fn begin_head(&self, inner: &mut Inner, id: u32) -> StoreResult<()> {
        let before = inner.segments.get(&inner.head).map(|s| (inner.head, s.len));
        let file = Arc::new(open_segment(&self.dir, id, true)?);
        inner.segments.insert(
            id,
            Segment {
                file,
                len: 0,
                live: 0,
                tombs: 0,
            },
        );
        inner.head = id;
        if let Some((segment, len)) = before {
            let mut seal = FrameBuf::new();
            seal.seal(segment, len);
            inner.write_frame(&mut seal, &[])?;
            self.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Starts a new head once the current one is full.
    fn make_room(&self, inner: &mut Inner) -> StoreResult<()> {
        if inner.head().len >= self.segment_bytes {
            let next = next_segment(inner.head)?;
            self.start_segment(inner, next)?;
        }
        Ok(())
    }

    /// Appends `ops` as one frame. Deletes of keys that are not in the log write nothing.
    fn append(&self, ops: &[Op]) -> StoreResult<()> {
        let mut inner = self.lock();
        self.seal_full_head(&mut inner)?;
        self.append_locked(inner, ops)
    }

    /// Starts a new head once the current one is full, like `make_room`, but flushes the sealed
    /// segment in a thread of its own rather than under the lock (or in the request's thread, one
    /// of the few that answer every request): flushing a second of writes takes tens of
    /// milliseconds, and every writer would wait for it (a stall every 32 MB showed as a doubled
    /// p99 under load). Until that flush ends, the segment is `sealing`, which `sync` also
    /// flushes, so that `--sync always` never acknowledges a record on the strength of a sync of
    /// the new head alone; after a power cut inside that window, `open` cuts the sealed segment's
    /// torn tail and drops the head after it. While one sealing is unfinished, the next seals the
    /// old way.
    fn seal_full_head(&self, inner: &mut Inner) -> StoreResult<()> {
        if inner.head().len < self.segment_bytes {
            return Ok(());
        }
        if inner.sealing.as_ref().is_some_and(|s| s.pending()) {
            return self.make_room(inner);
        }
        let old = inner.head().file.clone();
        let next = next_segment(inner.head)?;
        self.begin_head(inner, next)?;
        let sealing = Arc::new(Sealing {
            file: old,
            done: AtomicBool::new(false),
        });
        inner.sealing = Some(sealing.clone());
        let dir = self.dir.clone();
        let flush = move || {
            if let Err(e) = sealing.finish(&dir) {
                // The next `sync` flushes it again.
                tracing::error!(%e, "message log: flushing a sealed segment failed");
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("ferry-log-seal".into())
            .spawn(flush)
        {
            tracing::warn!(%e, "message log: no thread to flush a sealed segment; the next sync does");
        }
        Ok(())
    }

    fn append_locked(&self, mut inner: MutexGuard<'_, Inner>, ops: &[Op]) -> StoreResult<()> {
        let mut frame = FrameBuf::new();
        let mut kept: Vec<(&[u8], Change)> = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    frame::check_key(k)?;
                    kept.push((k, Change::Put(frame.put(k, v), v.len())));
                }
                Op::Delete(k) => {
                    // The put it removes is in the index, or earlier in this very frame.
                    let first = match inner.index.get(k.as_slice()) {
                        Some(loc) => Some(loc.first),
                        None => kept
                            .iter()
                            .any(|(key, c)| matches!(c, Change::Put(..)) && *key == k.as_slice())
                            .then_some(inner.head),
                    };
                    if let Some(first) = first {
                        frame.delete(k, first, inner.head);
                        kept.push((k, Change::Delete));
                    }
                }
            }
            // A huge batch (a purge of millions) is split: replay refuses frames above
            // MAX_PAYLOAD, and deletes need not be atomic with one another.
            if frame.payload_len() >= SPLIT_BYTES {
                inner.write_frame(&mut frame, &kept)?;
                self.dirty.store(true, Ordering::Release);
                self.make_room(&mut inner)?;
                frame = FrameBuf::new();
                kept.clear();
            }
        }
        if frame.is_empty() {
            return Ok(());
        }
        inner.write_frame(&mut frame, &kept)?;
        self.dirty.store(true, Ordering::Release);
        Ok(())
    }

    /// Reads the value of `key`, if the log holds one.
    fn read_value(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let (loc, file) = {
            let inner = self.lock();
            let Some(&loc) = inner.index.get(key) else {
                return Ok(None);
            };
            let seg = inner
                .segments
                .get(&loc.seg)
                .ok_or_else(|| missing(loc.seg))?;
            (loc, seg.file.clone())
        };
        self.read_at(&file, &loc).map(Some)
    }

    /// Reads the values of `keys`: their places are looked up under one lock, then each run of
    /// values that sit near one another in a segment is read with one `pread` (a receive's
    /// messages were mostly sent one after another, so their records are neighbours).
    fn read_values(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        let mut found: Vec<(usize, Loc, Arc<File>)> = {
            let inner = self.lock();
            let mut found = Vec::with_capacity(keys.len());
            for (i, key) in keys.iter().enumerate() {
                let Some(&loc) = inner.index.get(key) else {
                    continue;
                };
                let seg = inner
                    .segments
                    .get(&loc.seg)
                    .ok_or_else(|| missing(loc.seg))?;
                found.push((i, loc, seg.file.clone()));
            }
            found
        };
        found.sort_unstable_by_key(|(_, loc, _)| (loc.seg, loc.off));
        let mut out = vec![None; keys.len()];
        for run in found.chunk_by(|(_, a, _), (_, b, _)| {
            a.seg == b.seg && b.off as u64 <= a.off as u64 + a.len as u64 + READ_GAP
        }) {
            let first = &run[0].1;
            let start = first.off as u64;
            let end = run
                .iter()
                .map(|(_, l, _)| l.off as u64 + l.len as u64)
                .max()
                .unwrap_or(start);
            if run.len() == 1 || end - start > READ_SPAN {
                for (i, loc, file) in run {
                    out[*i] = Some(self.read_at(file, loc)?);
                }
                continue;
            }
            let mut buf = vec![0; (end - start) as usize];
            run[0]
                .2
                .read_exact_at(&mut buf, start)
                .map_err(|e| io(segment_path(&self.dir, first.seg).display(), e))?;
            for (i, loc, _) in run {
                let at = (loc.off as u64 - start) as usize;
                out[*i] = Some(buf[at..at + loc.len as usize].to_vec());
            }
        }
        Ok(out)
    }

    fn read_at(&self, file: &File, loc: &Loc) -> StoreResult<Vec<u8>> {
        let mut buf = vec![0; loc.len as usize];
        file.read_exact_at(&mut buf, loc.off as u64)
            .map_err(|e| io(segment_path(&self.dir, loc.seg).display(), e))?;
        Ok(buf)
    }

    /// Live keys, segments and bytes: what `_ferry/health` and the benchmarks report.
    pub fn stats(&self) -> LogStats {
        let inner = self.lock();
        LogStats {
            keys: inner.index.len(),
            segments: inner.segments.len(),
            bytes: inner.segments.values().map(|s| s.len).sum(),
            live_bytes: inner.segments.values().map(|s| s.live).sum(),
        }
    }

    /// One compaction pass (see `compact.rs`); returns the number of segments reclaimed.
    pub fn compact(&self) -> StoreResult<usize> {
        compact::run(self)
    }
}

/// A summary of the log's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStats {
    pub keys: usize,
    pub segments: usize,
    pub bytes: u64,
    pub live_bytes: u64,
}

impl Store for Log {
    fn write(&self, ops: &[Op]) -> StoreResult<()> {
        self.append(ops)
    }

    /// `fdatasync` of the head (sealed segments were synced when they were sealed).
    fn sync(&self) -> StoreResult<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let (file, head, sealing) = {
            let inner = self.lock();
            let head = inner.segments[&inner.head].file.clone();
            (head, inner.head, inner.sealing.clone())
        };
        let synced = match &sealing {
            Some(sealed) => sealed.finish(&self.dir),
            None => Ok(()),
        };
        synced
            .and_then(|()| {
                file.sync_data()
                    .map_err(|e| io(segment_path(&self.dir, head).display(), e))
            })
            .inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    /// Visits keys in order, reading values through a window per segment: keys in order are
    /// mostly in file order, so a million values cost hundreds of reads, not a million. Holds the
    /// lock throughout (scans run at startup, before any request).
    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        const WINDOW: usize = 1 << 20;
        let inner = self.lock();
        let mut found: Vec<(&[u8], Loc)> = inner
            .index
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, loc)| (k, *loc))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        // (segment, file offset of the window, bytes)
        let mut window: (u32, u64, Vec<u8>) = (0, 0, Vec::new());
        let mut big = Vec::new();
        for (key, loc) in found {
            let (off, len) = (loc.off as u64, loc.len as usize);
            let seg = inner
                .segments
                .get(&loc.seg)
                .ok_or_else(|| missing(loc.seg))?;
            let read = |buf: &mut Vec<u8>, at: u64, n: usize| {
                buf.resize(n, 0);
                seg.file
                    .read_exact_at(buf, at)
                    .map_err(|e| io(segment_path(&self.dir, loc.seg).display(), e))
            };
            if len > WINDOW {
                read(&mut big, off, len)?;
                f(key, &big)?;
                continue;
            }
            let inside = window.0 == loc.seg
                && off >= window.1
                && off + len as u64 <= window.1 + window.2.len() as u64;
            if !inside {
                let n = (seg.len - off).min(WINDOW as u64) as usize;
                read(&mut window.2, off, n.max(len))?;
                window.0 = loc.seg;
                window.1 = off;
            }
            let at = (off - window.1) as usize;
            f(key, &window.2[at..at + len])?;
        }
        Ok(())
    }

    fn clear(&self) -> StoreResult<()> {
        let mut inner = self.lock();
        inner.index = Index::default();
        let next = next_segment(inner.head)?;
        self.start_segment(&mut inner, next)?;
        let old: Vec<u32> = inner
            .segments
            .keys()
            .copied()
            .filter(|&id| id != next)
            .collect();
        for id in old {
            inner.segments.remove(&id);
            let path = segment_path(&self.dir, id);
            std::fs::remove_file(&path).map_err(|e| io(path.display(), e))?;
        }
        sync_dir(&self.dir)
    }

    fn size_on_disk(&self) -> Option<u64> {
        Some(self.stats().bytes)
    }

    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.read_value(key)
    }

    fn get_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        self.read_values(keys)
    }

    /// Compaction, run by the store's background thread; then the index gives back the spare
    /// capacity a drained queue left (a map never shrinks by itself).
    fn maintain(&self) -> StoreResult<()> {
        compact::run(self)?;
        let mut inner = self.lock();
        inner.index.trim();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
