//! Compaction: give back the space of dead records. A sealed segment whose live share fell below
//! half is read once; its records that are still live (the index points at them) and the
//! tombstones that still matter are appended to the head, in small locked chunks so writers keep
//! going; then the head (and a segment still being sealed) is synced and the old file deleted. Segments go oldest first.
//!
//! A tombstone still matters while a segment of its range (`frame.rs`) exists: dropping it then
//! could bring an old put of its key back on the next replay. Copied forward, it changes nothing
//! in the index (a newer put of the key, if any, stays).

use super::frame::{self, Entry, FrameBuf};
use super::{Change, Log, StoreError, StoreResult, segment_path, sync_dir};
use std::os::unix::fs::FileExt;

/// A segment is rewritten once less than this share of its bytes is live.
const LIVE_SHARE_BELOW: f64 = 0.5;
/// A head at least this large that is mostly dead is sealed so that it can be compacted too
/// (otherwise a drained queue would leave a whole head segment of dead records behind).
const SEAL_DEAD_HEAD_BYTES: u64 = 1024 * 1024;
/// How many bytes of records are copied per hold of the log's lock.
const CHUNK_BYTES: usize = 256 * 1024;

fn worth_compacting(len: u64, live: u64) -> bool {
    len > 0 && (live as f64) < LIVE_SHARE_BELOW * len as f64
}

/// One pass; returns how many segments were reclaimed.
pub(super) fn run(log: &Log) -> StoreResult<usize> {
    let candidates: Vec<u32> = {
        let mut inner = log.lock();
        let head = inner.head;
        let Some(h) = inner.segments.get(&head) else {
            return Ok(0);
        };
        if h.len >= SEAL_DEAD_HEAD_BYTES && ((h.live + h.tombs) as f64) < 0.25 * h.len as f64 {
            log.start_segment(&mut inner, super::next_segment(head)?)?;
        }
        inner
            .segments
            .iter()
            .filter(|(id, s)| **id != inner.head && worth_compacting(s.len, s.live))
            .map(|(id, _)| *id)
            .collect()
    };
    let mut reclaimed = 0;
    for id in candidates {
        compact_one(log, id)?;
        reclaimed += 1;
    }
    Ok(reclaimed)
}

fn compact_one(log: &Log, id: u32) -> StoreResult<()> {
    let path = segment_path(&log.dir, id);
    let Some((file, len)) = log
        .lock()
        .segments
        .get(&id)
        .map(|s| (s.file.clone(), s.len))
    else {
        return Ok(());
    };
    let mut buf = vec![0; len as usize];
    file.read_exact_at(&mut buf, 0)
        .map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
    let scan = frame::scan(&buf);
    if let Some(stop) = scan.stop {
        return Err(StoreError(format!(
            "{} (sealed) has a corrupt record at offset {stop}; not compacting it",
            path.display()
        )));
    }
    let mut entries: Vec<(usize, Entry<'_>)> = Vec::new();
    for (start, plen) in scan.frames {
        for e in frame::entries(&buf[start..start + plen])? {
            entries.push((start, e));
        }
    }
    for chunk in chunks(&entries) {
        let mut inner = log.lock();
        let mut out = FrameBuf::new();
        let mut kept: Vec<(&[u8], Change)> = Vec::new();
        for (start, e) in chunk {
            match *e {
                Entry::Put {
                    key,
                    value,
                    value_at,
                } => {
                    let live = inner
                        .index
                        .get(key)
                        .is_some_and(|l| l.seg == id && l.off as usize == start + value_at);
                    if live {
                        kept.push((key, Change::Put(out.put(key, value), value.len())));
                    }
                }
                // A seal op speaks for the head it began; copies begin nothing.
                Entry::Seal { .. } => {}
                Entry::Delete { key, first, last } => {
                    // The copy must not reach puts in this segment: while it exists (a crash
                    // before it is deleted) its own tombstone orders them; once gone, they are.
                    let last = last.min(id.saturating_sub(1));
                    let needed =
                        first <= last && inner.segments.range(first..=last).next().is_some();
                    if needed {
                        out.delete(key, first, last);
                        kept.push((key, Change::Tombstone));
                    }
                }
            }
        }
        if !out.is_empty() {
            log.make_room(&mut inner)?;
            inner.write_frame(&mut out, &kept)?;
        }
    }
    // The copies must be on the device before the original goes (some may sit in a segment
    // that a write sealed meanwhile).
    let (head, sealing) = {
        let mut inner = log.lock();
        (inner.head().file.clone(), inner.sealing.clone())
    };
    if let Some(sealed) = sealing {
        sealed.finish(&log.dir)?;
    }
    head.sync_data()
        .map_err(|e| StoreError(format!("message log head: {e}")))?;
    // The file goes first: were the segment forgotten while its file stayed, tombstones that
    // hide its puts could be dropped, and the next replay would bring those puts back.
    std::fs::remove_file(&path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
    log.lock().segments.remove(&id);
    sync_dir(&log.dir)
}

/// Splits entries into runs of about `CHUNK_BYTES`.
fn chunks<'a, 'b>(
    entries: &'b [(usize, Entry<'a>)],
) -> impl Iterator<Item = &'b [(usize, Entry<'a>)]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let mut n = 0;
        while n < rest.len() && (n == 0 || bytes < CHUNK_BYTES) {
            bytes += rest[n].1.size();
            n += 1;
        }
        let (now, later) = rest.split_at(n);
        rest = later;
        Some(now)
    })
}

#[cfg(test)]
mod crash_tests {
    //! A kill -9 at every byte of a compaction pass: every state it can leave reads as the model,
    //! and keeps doing so through more compactions, reopens and deletes.
    use super::super::Log;
    use super::super::tests::{Step, all, apply, step};
    use super::*;
    use crate::storage::{Op, Store};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    type Snap = BTreeMap<String, Vec<u8>>;

    fn snap(dir: &Path) -> Snap {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    /// Every state a kill -9 can leave between `before` and `after` of one `compact_one`:
    /// appends are a prefix of the bytes added to each file (in file order), the removal last.
    fn crash_states(before: &Snap, after: &Snap) -> Vec<Snap> {
        let mut stream: Vec<(String, usize, usize)> = Vec::new(); // file, from, to
        for (name, bytes) in after {
            let from = before.get(name).map_or(0, |b| b.len());
            stream.push((name.clone(), from, bytes.len()));
        }
        let total: usize = stream.iter().map(|(_, a, b)| b - a).sum();
        let mut out = Vec::new();
        for cut in 0..=total {
            let mut s = before.clone();
            let mut left = cut;
            for (name, from, to) in &stream {
                let new = !before.contains_key(name);
                if new && left == 0 && *to > *from {
                    break;
                }
                let n = left.min(to - from);
                let mut b = before.get(name).cloned().unwrap_or_default();
                b.extend_from_slice(&after[name][*from..*from + n]);
                s.insert(name.clone(), b);
                left -= n;
            }
            out.push(s);
        }
        out.push(after.clone());
        out
    }

    fn restore(s: &Snap) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, b) in s {
            std::fs::write(d.path().join(n), b).unwrap();
        }
        d
    }

    const SEG: u64 = 128;

    /// After a crash state, the log must read as the model, and keep doing so through more
    /// compactions, reopens, and deletes of everything.
    fn check_crash_state(
        s: &Snap,
        model: &BTreeMap<Vec<u8>, Vec<u8>>,
    ) -> Result<(), TestCaseError> {
        let d = restore(s);
        let log = Log::open_with(d.path(), SEG).map_err(|e| TestCaseError::fail(e.0))?;
        prop_assert_eq!(&all(&log), model, "right after the crash");
        for _ in 0..3 {
            log.compact().unwrap();
        }
        prop_assert_eq!(&all(&log), model, "compacted after the crash");
        drop(log);
        let log = Log::open_with(d.path(), SEG).unwrap();
        prop_assert_eq!(&all(&log), model, "reopened after compacting");
        // Delete everything; nothing may come back.
        let ops: Vec<Op> = model.keys().map(|k| Op::Delete(k.clone())).collect();
        log.write(&ops).unwrap();
        let mut log = log;
        for _ in 0..4 {
            log.compact().unwrap();
            drop(log);
            log = Log::open_with(d.path(), SEG).unwrap();
        }
        drop(log);
        let log = Log::open_with(d.path(), SEG).unwrap();
        prop_assert_eq!(all(&log).len(), 0, "deleted keys came back");
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn a_kill_at_any_byte_of_compaction_loses_and_resurrects_nothing(
            steps in proptest::collection::vec(step(8, 2), 1..60)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut log = Log::open_with(dir.path(), SEG).unwrap();
            let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
            for s in steps {
                match s {
                    Step::Reopen => {
                        drop(log);
                        log = Log::open_with(dir.path(), SEG).unwrap();
                    }
                    Step::Compact => {
                        let candidates: Vec<u32> = {
                            let inner = log.lock();
                            inner.segments.iter()
                                .filter(|(id, s)| **id != inner.head && worth_compacting(s.len, s.live))
                                .map(|(id, _)| *id).collect()
                        };
                        for id in candidates {
                            let before = snap(dir.path());
                            compact_one(&log, id).unwrap();
                            let after = snap(dir.path());
                            let states = crash_states(&before, &after);
                            for st in states {
                                check_crash_state(&st, &model)?;
                            }
                        }
                    }
                    _ => {
                        apply(&log, &mut model, &s);
                    }
                }
                prop_assert_eq!(&all(&log), &model);
            }
        }
    }
}
