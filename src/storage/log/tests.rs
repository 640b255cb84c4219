use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

pub(super) fn all(log: &Log) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut out = BTreeMap::new();
    log.scan(b"", &mut |k, v| {
        out.insert(k.to_vec(), v.to_vec());
        Ok(())
    })
    .unwrap();
    out
}

fn put(k: &str, v: &str) -> Op {
    Op::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn del(k: &str) -> Op {
    Op::Delete(k.as_bytes().to_vec())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Three records of 100 bytes fill a segment of 256; a fourth write seals it and goes to a new
/// head. Returns the two segment files, synced.
fn sealed_by_a_write(dir: &Path) -> Vec<PathBuf> {
    let log = Log::open_with(dir, 256).unwrap();
    for i in 0..3 {
        log.write(&[put(&format!("a{i}"), &"v".repeat(100))])
            .unwrap();
    }
    log.write(&[put("b0", "after")]).unwrap();
    assert_eq!(log.stats().segments, 2);
    log.sync().unwrap();
    files(dir)
}

#[test]
fn puts_deletes_and_reads_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        log.write(&[put("a", "1"), put("b", "2"), put("c", "3")])
            .unwrap();
        log.write(&[del("b"), put("a", "one"), del("zz")]).unwrap();
        assert_eq!(log.get(b"a").unwrap().as_deref(), Some(&b"one"[..]));
        assert_eq!(log.get(b"b").unwrap(), None);
    }
    let log = Log::open(dir.path()).unwrap();
    let want: BTreeMap<_, _> = [
        (b"a".to_vec(), b"one".to_vec()),
        (b"c".to_vec(), b"3".to_vec()),
    ]
    .into();
    assert_eq!(all(&log), want);
    let mut under_c = Vec::new();
    log.scan(b"c", &mut |k, _| {
        under_c.push(k.to_vec());
        Ok(())
    })
    .unwrap();
    assert_eq!(under_c, vec![b"c".to_vec()]);
}

/// The log is cut at every byte offset of its last records (a crash mid-write, or an OS crash
/// that kept part of the file): everything before the cut is there, nothing after it, no panic.
#[test]
fn a_cut_at_any_offset_keeps_exactly_the_whole_frames_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut ends = Vec::new();
    {
        let log = Log::open(dir.path()).unwrap();
        for i in 0..6 {
            log.write(&[
                put(&format!("k{i}"), &"v".repeat(i * 7 + 1)),
                del(&format!("k{}", i.saturating_sub(2))),
            ])
            .unwrap();
            ends.push(log.stats().bytes);
        }
    }
    let seg = files(dir.path()).pop().unwrap();
    let full = std::fs::read(&seg).unwrap();
    let first_cut = ends[2] as usize;
    for cut in first_cut..=full.len() {
        let copy = tempfile::tempdir().unwrap();
        std::fs::write(copy.path().join(seg.file_name().unwrap()), &full[..cut]).unwrap();
        let log = Log::open(copy.path()).unwrap();
        let whole = ends.iter().filter(|&&e| e as usize <= cut).count();
        // Replaying the first `whole` writes by hand gives the expected contents.
        let mut want = BTreeMap::new();
        for i in 0..whole {
            want.insert(
                format!("k{i}").into_bytes(),
                "v".repeat(i * 7 + 1).into_bytes(),
            );
            want.remove(format!("k{}", i.saturating_sub(2)).as_bytes());
        }
        assert_eq!(all(&log), want, "cut at {cut}");
        // The torn tail was cut off, and the log takes new writes after the last whole frame.
        log.write(&[put("after", "x")]).unwrap();
        drop(log);
        let log = Log::open(copy.path()).unwrap();
        assert_eq!(
            log.get(b"after").unwrap().as_deref(),
            Some(&b"x"[..]),
            "cut at {cut}"
        );
    }
}

#[test]
fn damage_before_the_tail_is_a_startup_error_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        for i in 0..5 {
            log.write(&[put(&format!("k{i}"), "value")]).unwrap();
        }
    }
    let seg = files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[frame::HEADER + 3] ^= 0x55;
    std::fs::write(&seg, &bytes).unwrap();
    let err = Log::open(dir.path()).err().expect("damage is refused").0;
    assert!(err.contains(&seg.display().to_string()), "{err}");
    assert!(err.contains("offset 0"), "{err}");
}

#[test]
fn damage_in_a_sealed_segment_is_an_error_even_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open_with(dir.path(), 64).unwrap();
        for i in 0..10 {
            log.write(&[put(&format!("k{i}"), &"v".repeat(40))])
                .unwrap();
        }
        assert!(log.stats().segments > 2);
    }
    let first = files(dir.path()).remove(0);
    let bytes = std::fs::read(&first).unwrap();
    std::fs::write(&first, &bytes[..bytes.len() - 1]).unwrap();
    assert!(Log::open(dir.path()).is_err());
}

/// A write that fills the head seals it and flushes it in the background; a power cut inside that
/// flush leaves the sealed segment torn and a new head after it. Reopening cuts the torn tail and
/// drops the head (all of it written after the tear): nothing before the tear is lost, nothing
/// after it comes back, and the log goes on.
#[test]
fn a_torn_segment_sealed_by_a_write_cuts_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let segs = sealed_by_a_write(dir.path());
    let bytes = std::fs::read(&segs[0]).unwrap();
    std::fs::write(&segs[0], &bytes[..bytes.len() - 3]).unwrap();
    let log = Log::open_with(dir.path(), 256).unwrap();
    let got = all(&log);
    assert_eq!(
        got.keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect::<Vec<_>>(),
        vec!["a0", "a1"],
        "the torn record and everything after it are gone"
    );
    assert_eq!(files(dir.path()), segs[..1].to_vec());
    log.write(&[put("c", "new")]).unwrap();
    drop(log);
    let log = Log::open_with(dir.path(), 256).unwrap();
    assert!(all(&log).contains_key(b"c".as_slice()));
}

/// A sealed segment damaged at its end while at its full length was not torn by a power cut (a
/// torn one is shorter than the seal op of the head after it says): that is an error naming the
/// file, not a tear that drops the head and the acknowledged records in it.
#[test]
fn damage_at_the_end_of_a_segment_at_its_sealed_length_is_an_error_not_a_dropped_head() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open_with(dir.path(), 64).unwrap();
        for i in 0..6 {
            log.write(&[put(&format!("k{i}"), &"v".repeat(40))])
                .unwrap();
        }
        log.sync().unwrap();
        assert!(log.stats().segments >= 3);
    }
    let segs = files(dir.path());
    let victim = &segs[segs.len() - 2];
    let mut bytes = std::fs::read(victim).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xFF;
    std::fs::write(victim, &bytes).unwrap();
    let err = Log::open_with(dir.path(), 64)
        .err()
        .expect("damage is refused")
        .0;
    assert!(err.contains(&victim.display().to_string()), "{err}");
    assert_eq!(files(dir.path()), segs, "no file was cut or removed");
}

/// The same where the head holds the only copy of a record that compaction moved out of a
/// segment it then deleted: refusing to open keeps it (a dropped head would lose it).
#[test]
fn damage_before_a_head_of_compacted_copies_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open_with(dir.path(), 64).unwrap();
        log.write(&[put("old", &"o".repeat(40))]).unwrap();
        log.write(&[put("dead", &"d".repeat(40))]).unwrap();
        log.write(&[del("dead")]).unwrap();
        log.write(&[put("mid", &"m".repeat(60))]).unwrap();
        log.write(&[put("mid2", &"m".repeat(60))]).unwrap();
        log.compact().unwrap();
        log.sync().unwrap();
    }
    let segs = files(dir.path());
    let holder = segs
        .iter()
        .position(|p| std::fs::read(p).unwrap().windows(3).any(|w| w == b"old"))
        .unwrap();
    assert_eq!(holder, segs.len() - 1, "the copy of old is in the head");
    let victim = &segs[holder - 1];
    let mut bytes = std::fs::read(victim).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xFF;
    std::fs::write(victim, &bytes).unwrap();
    assert!(Log::open_with(dir.path(), 64).is_err());
    assert!(segs.last().unwrap().exists());
    // Mended by hand (the byte put back), everything is there.
    bytes[n - 1] ^= 0xFF;
    std::fs::write(victim, &bytes).unwrap();
    let log = Log::open_with(dir.path(), 64).unwrap();
    assert_eq!(log.get(b"old").unwrap(), Some("o".repeat(40).into_bytes()));
}

/// A power cut inside the sealing flush can leave the sealed segment ending exactly at a frame
/// boundary (as its last sync left it): shorter than the seal op says, with no torn frame. The
/// head after it goes all the same, or a delete there would outlive the put it followed.
#[test]
fn a_sealed_segment_cut_at_a_frame_boundary_drops_the_head_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open_with(dir.path(), 256).unwrap();
        log.write(&[put("orig", &"o".repeat(100))]).unwrap();
        log.write(&[put("a1", &"v".repeat(100))]).unwrap();
        // A dead-letter copy (a frame of its own), then the original's removal in the next head.
        log.write(&[put("copy", &"c".repeat(100))]).unwrap();
        log.write(&[del("orig")]).unwrap();
        assert_eq!(log.stats().segments, 2);
        log.sync().unwrap();
    }
    let segs = files(dir.path());
    let bytes = std::fs::read(&segs[0]).unwrap();
    let last_frame = frame::HEADER + frame::put_size(4, 100);
    std::fs::write(&segs[0], &bytes[..bytes.len() - last_frame]).unwrap();
    let log = Log::open_with(dir.path(), 256).unwrap();
    let keys: Vec<String> = all(&log)
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert_eq!(keys, ["a1", "orig"], "the log is the prefix before the cut");
    assert_eq!(files(dir.path()), segs[..1].to_vec());
}

/// A file system that kept a sealed segment's size but not its last blocks leaves zeros at its
/// end: that is a tear too, not damage.
#[test]
fn a_sealed_segment_with_a_zeroed_tail_is_a_tear() {
    let dir = tempfile::tempdir().unwrap();
    let segs = sealed_by_a_write(dir.path());
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    let n = bytes.len();
    bytes[n - 100..].fill(0);
    std::fs::write(&segs[0], &bytes).unwrap();
    let log = Log::open_with(dir.path(), 256).unwrap();
    assert_eq!(all(&log).len(), 2, "a0 and a1");
    assert_eq!(files(dir.path()), segs[..1].to_vec());
}

/// A head with no whole frame (the power went before its seal op reached the device) holds
/// nothing, so the segment before it is the last that counts: its torn tail is cut.
#[test]
fn a_torn_tail_before_an_empty_head_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let segs = sealed_by_a_write(dir.path());
    let bytes = std::fs::read(&segs[0]).unwrap();
    std::fs::write(&segs[0], &bytes[..bytes.len() - 3]).unwrap();
    let head = std::fs::read(&segs[1]).unwrap();
    std::fs::write(&segs[1], &head[..5]).unwrap();
    let log = Log::open_with(dir.path(), 256).unwrap();
    assert_eq!(all(&log).len(), 2, "a0 and a1");
}

/// A torn write whose value holds bytes that make a whole frame (a client's binary attribute can)
/// is still a torn tail: it is cut, not mistaken for damage followed by valid records.
#[test]
fn a_torn_tail_whose_value_embeds_a_frame_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut inner = FrameBuf::new();
    inner.put(b"x", b"y");
    let embedded = inner.finish().to_vec();
    let mut value = b"binary attribute: ".to_vec();
    value.extend_from_slice(&embedded);
    value.extend_from_slice(&[0u8; 4096]);
    let (before, after) = {
        let log = Log::open(dir.path()).unwrap();
        log.write(&[put("a", "1")]).unwrap();
        let before = log.stats().bytes as usize;
        log.write(&[Op::Put(b"evil".to_vec(), value.clone())])
            .unwrap();
        (before, log.stats().bytes as usize)
    };
    let seg = files(dir.path()).pop().unwrap();
    let bytes = std::fs::read(&seg).unwrap();
    // Every cut inside the second frame's value, from just past the embedded frame to its end.
    let embedded_end = before + frame::HEADER + 7 + 4 + 18 + embedded.len();
    for cut in (embedded_end..after).step_by(97) {
        std::fs::write(&seg, &bytes[..cut]).unwrap();
        let log = Log::open(dir.path())
            .map_err(|e| e.0)
            .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(log.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(log.get(b"evil").unwrap(), None);
        drop(log);
        std::fs::write(&seg, &bytes).unwrap();
    }
}

/// A damaged length that runs past the end of the file, with whole frames after it, is damage
/// before the tail, not a torn write.
#[test]
fn a_damaged_length_with_frames_after_it_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path()).unwrap();
        for i in 0..4 {
            log.write(&[put(&format!("k{i}"), "value")]).unwrap();
        }
    }
    let seg = files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[3] = 0x7F; // the first frame now claims about 8 MiB
    std::fs::write(&seg, &bytes).unwrap();
    let err = Log::open(dir.path()).err().expect("damage is refused").0;
    assert!(err.contains("offset 0"), "{err}");
}

/// Files that end in `.log` but are not named like a segment are refused rather than replayed
/// out of order, twice, or not at all.
#[test]
fn a_file_not_named_like_a_segment_is_refused() {
    for name in [
        "42.log",
        "00000000042.log",
        "000000004a.log",
        "+000000042.log",
    ] {
        let dir = tempfile::tempdir().unwrap();
        drop(Log::open(dir.path()).unwrap());
        std::fs::write(dir.path().join(name), b"").unwrap();
        let err = Log::open(dir.path()).err().expect(name).0;
        assert!(err.contains(name) && err.contains("not a segment"), "{err}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
    assert!(Log::open(dir.path()).is_ok(), "other files are left alone");
}

/// A head numbered `u32::MAX` cannot be followed: writes that need a new segment fail with an
/// error instead of panicking or wrapping to segment 0 (which replays first).
#[test]
fn the_last_segment_number_is_an_error_not_a_wrap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(format!("{:010}.log", u32::MAX)), b"").unwrap();
    let log = Log::open_with(dir.path(), 64).unwrap();
    let results: Vec<_> = (0..4)
        .map(|i| log.write(&[put(&format!("k{i}"), &"v".repeat(60))]))
        .collect();
    let err = results
        .iter()
        .find_map(|r| r.as_ref().err())
        .expect("a write fails");
    assert!(err.0.contains("run out of segment numbers"), "{}", err.0);
    assert_eq!(files(dir.path()).len(), 1);
}

/// Reads racing compaction (which deletes segments) always find a current value.
#[test]
fn reads_racing_compaction_see_current_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open_with(dir.path(), 2048).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let keys: Vec<Vec<u8>> = (0..50).map(|k| format!("k{k:02}").into_bytes()).collect();
    for k in &keys {
        log.write(&[Op::Put(k.clone(), [k.as_slice(), b"-0"].concat())])
            .unwrap();
    }
    let writer = {
        let (log, stop, keys) = (log.clone(), stop.clone(), keys.clone());
        std::thread::spawn(move || {
            for v in 1.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                for k in &keys {
                    let value = [k.as_slice(), format!("-{v}").as_bytes()].concat();
                    log.write(&[Op::Put(k.clone(), value)]).unwrap();
                }
            }
        })
    };
    let compactor = {
        let (log, stop) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += log.compact().unwrap();
            }
            n
        })
    };
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_millis(1500) {
        for (k, v) in keys.iter().zip(log.get_many(&keys).unwrap()) {
            let v = v.expect("every key is live");
            assert!(v.starts_with(k) && v[3] == b'-', "{k:?}: {v:?}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(compactor.join().unwrap() > 10, "compaction ran");
}

/// `get_many` reads neighbours with one `pread`, far or huge values one by one, and answers in
/// the order asked, whatever the order of the values in the files.
#[test]
fn batched_reads_answer_in_order_near_and_far() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path()).unwrap();
    for i in 0..100 {
        log.write(&[put(&format!("m{i:03}"), &format!("body {i}"))])
            .unwrap();
    }
    // Far apart: two values of 200 KiB between the small ones.
    log.write(&[put("big1", &"b".repeat(200 * 1024))]).unwrap();
    log.write(&[put("big2", &"c".repeat(200 * 1024))]).unwrap();
    log.write(&[put("m100", "after the big ones")]).unwrap();
    log.write(&[del("m050")]).unwrap();
    let mut keys: Vec<Vec<u8>> = (0..=100)
        .rev()
        .step_by(3)
        .map(|i| format!("m{i:03}").into_bytes())
        .collect();
    keys.extend([
        b"big2".to_vec(),
        b"nope".to_vec(),
        b"m050".to_vec(),
        b"big1".to_vec(),
    ]);
    let want: Vec<Option<Vec<u8>>> = keys.iter().map(|k| log.get(k).unwrap()).collect();
    assert_eq!(want[0].as_deref(), Some(&b"after the big ones"[..]));
    assert_eq!(want.iter().filter(|v| v.is_none()).count(), 2);
    assert_eq!(log.get_many(&keys).unwrap(), want);
    assert!(log.get_many(&[]).unwrap().is_empty());
}

/// Sealing in the background never loses a write, however many segments a run of writes fills,
/// and `sync` leaves nothing being sealed.
#[test]
fn writes_across_many_sealings_all_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(Log::open_with(dir.path(), 512).unwrap());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..200 {
                    log.write(&[put(&format!("t{t}-{i:03}"), &"x".repeat(50))])
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    log.sync().unwrap();
    assert!(log.lock().sealing.as_ref().is_none_or(|s| !s.pending()));
    assert!(log.stats().segments > 10);
    drop(log);
    let log = Log::open_with(dir.path(), 512).unwrap();
    assert_eq!(all(&log).len(), 400);
}

#[test]
fn compaction_gives_back_the_space_of_dead_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_with(dir.path(), 4096).unwrap();
    for i in 0..2000 {
        log.write(&[put(&format!("m{i:05}"), &"x".repeat(200))])
            .unwrap();
    }
    let peak = log.stats().bytes;
    for i in 0..2000 {
        if i % 100 != 0 {
            log.write(&[del(&format!("m{i:05}"))]).unwrap();
        }
    }
    for _ in 0..3 {
        log.compact().unwrap();
    }
    let after = log.stats();
    assert_eq!(after.keys, 20);
    assert!(after.bytes * 10 < peak, "{after:?} vs peak {peak}");
    let on_disk: u64 = files(dir.path())
        .iter()
        .map(|p| p.metadata().unwrap().len())
        .sum();
    assert_eq!(on_disk, after.bytes);
    drop(log);
    let log = Log::open_with(dir.path(), 4096).unwrap();
    let keys: Vec<_> = all(&log).into_keys().collect();
    let want: Vec<_> = (0..2000)
        .step_by(100)
        .map(|i| format!("m{i:05}").into_bytes())
        .collect();
    assert_eq!(keys, want);
}

#[test]
fn a_tombstone_outlives_the_put_it_hides_but_never_hides_a_newer_put() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_with(dir.path(), 64).unwrap();
    let filler = "f".repeat(60);
    log.write(&[put("k", "old")]).unwrap(); // segment 1
    log.write(&[put("keep1", &filler)]).unwrap();
    log.write(&[del("k")]).unwrap(); // segment 2: hides segment 1's put
    log.write(&[put("keep2", &filler)]).unwrap();
    log.write(&[put("k", "new")]).unwrap(); // a newer put
    log.write(&[put("keep3", &filler)]).unwrap();
    log.compact().unwrap();
    drop(log);
    let log = Log::open_with(dir.path(), 64).unwrap();
    assert_eq!(log.get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
    log.write(&[del("k")]).unwrap();
    log.compact().unwrap();
    drop(log);
    let log = Log::open_with(dir.path(), 64).unwrap();
    assert_eq!(log.get(b"k").unwrap(), None);
    assert_eq!(all(&log).len(), 3);
}

#[derive(Debug, Clone)]
pub(super) enum Step {
    Put(u8, u8),
    Delete(u8),
    /// A put and a delete of the same key in one batch.
    PutThenDelete(u8),
    Compact,
    Reopen,
}

/// Steps over keys `k0..k{keys}`, a compaction `compact` times as likely as a reopen.
pub(super) fn step(keys: u8, compact: u32) -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..keys, 0u8..60).prop_map(|(k, n)| Step::Put(k, n)),
        3 => (0..keys).prop_map(Step::Delete),
        1 => (0..keys).prop_map(Step::PutThenDelete),
        compact => Just(Step::Compact),
        1 => Just(Step::Reopen),
    ]
}

/// Writes a put or delete step to `log` and `model`; false for the steps it leaves to the caller.
pub(super) fn apply(log: &Log, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, step: &Step) -> bool {
    match *step {
        Step::Put(k, n) => {
            let (k, v) = (vec![b'k', k], vec![n; n as usize]);
            log.write(&[Op::Put(k.clone(), v.clone())]).unwrap();
            model.insert(k, v);
        }
        Step::Delete(k) => {
            log.write(&[Op::Delete(vec![b'k', k])]).unwrap();
            model.remove(&vec![b'k', k]);
        }
        Step::PutThenDelete(k) => {
            let k = vec![b'k', k];
            log.write(&[
                Op::Put(k.clone(), b"short-lived".to_vec()),
                Op::Delete(k.clone()),
            ])
            .unwrap();
            model.remove(&k);
        }
        Step::Compact | Step::Reopen => return false,
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any sequence of writes, compactions and reopens reads back like a map.
    #[test]
    fn behaves_like_a_map(steps in proptest::collection::vec(step(12, 1), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = Log::open_with(dir.path(), 128).unwrap();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for s in steps {
            match s {
                Step::Compact => {
                    log.compact().unwrap();
                }
                Step::Reopen => {
                    drop(log);
                    log = Log::open_with(dir.path(), 128).unwrap();
                }
                _ => {
                    apply(&log, &mut model, &s);
                }
            }
            prop_assert_eq!(&all(&log), &model);
            // Batched reads agree with the map, in any key order, missing keys included.
            let keys: Vec<Vec<u8>> = (0u8..14).rev().map(|k| vec![b'k', k]).collect();
            let want: Vec<Option<Vec<u8>>> = keys.iter().map(|k| model.get(k).cloned()).collect();
            prop_assert_eq!(log.get_many(&keys).unwrap(), want);
        }
        drop(log);
        let log = Log::open_with(dir.path(), 128).unwrap();
        prop_assert_eq!(&all(&log), &model);
        let s = log.stats();
        prop_assert_eq!(s.keys, model.len());
        let live: u64 = model.iter().map(|(k, v)| frame::put_size(k.len(), v.len()) as u64).sum();
        prop_assert_eq!(s.live_bytes, live);
    }
}

/// Found by `behaves_like_a_map`: a key put twice, then deleted; compaction drops the newer put's
/// segment first, and the tombstone must still hide the older put.
#[test]
fn a_tombstone_hides_every_older_put_of_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_with(dir.path(), 64).unwrap();
    let pin = "p".repeat(70);
    log.write(&[put("k", "first"), put("pin1", &pin)]).unwrap();
    log.write(&[put("k", "second"), put("x", &pin)]).unwrap();
    log.write(&[del("k"), del("x"), put("pin2", &pin)]).unwrap();
    for _ in 0..3 {
        log.compact().unwrap();
    }
    drop(log);
    let log = Log::open_with(dir.path(), 64).unwrap();
    assert_eq!(log.get(b"k").unwrap(), None);
    assert_eq!(all(&log).len(), 2);
}

/// Found in review: compaction copies a segment's tombstone in one chunk and a later re-put of
/// the same key in another; a crash between the two must not let the copied tombstone hide the
/// re-put, which the original segment (still on disk) holds.
#[test]
fn a_crash_between_compaction_chunks_keeps_a_put_that_follows_a_delete() {
    let dir = tempfile::tempdir().unwrap();
    let seg = |id: u32| dir.path().join(format!("{id:010}.log"));
    let kib = |n: usize| "x".repeat(n * 1024);
    let log = Log::open_with(dir.path(), 400 * 1024).unwrap();
    log.write(&[put("k", "old"), put("pin", &kib(450))])
        .unwrap(); // segment 1, stays
    log.write(&[del("k")]).unwrap(); // segment 2: a tombstone covering segment 1
    log.write(&[put("f1", &kib(300))]).unwrap(); // pushes the re-put into another chunk
    log.write(&[put("k", "new")]).unwrap();
    log.write(&[put("f2", &kib(150))]).unwrap();
    log.write(&[del("f1"), del("f2")]).unwrap(); // segment 3 (the head): segment 2 is mostly dead
    let seg2 = std::fs::read(seg(2)).unwrap();
    let head_before = std::fs::metadata(seg(3)).unwrap().len();
    assert_eq!(log.compact().unwrap(), 1);
    drop(log);
    assert!(!seg(2).exists());
    // The crash: segment 2 still on disk, the head holding only the first copied chunk.
    std::fs::write(seg(2), &seg2).unwrap();
    let tombstone_frame = (frame::HEADER + frame::delete_size(1)) as u64;
    let head = OpenOptions::new().write(true).open(seg(3)).unwrap();
    head.set_len(head_before + tombstone_frame).unwrap();
    let log = Log::open_with(dir.path(), 400 * 1024).unwrap();
    assert_eq!(log.get(b"k").unwrap().as_deref(), Some(&b"new"[..]));
}

/// Found in review: a head of tombstones that are still needed is not "dead"; an idle server
/// must not seal and copy it forward on every pass.
#[test]
fn an_idle_log_reaches_a_fixed_point() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open_with(dir.path(), 64 * 1024 * 1024).unwrap();
    let keys: Vec<String> = (0..60_000).map(|i| format!("k{i:06}")).collect();
    let mut ops: Vec<Op> = keys.iter().map(|k| put(k, "v")).collect();
    ops.push(put("pin", &"p".repeat(2 * 1024 * 1024)));
    log.write(&ops).unwrap();
    // Seal segment 1 (mostly live thanks to the pin), then delete the keys from segment 2.
    {
        let mut inner = log.lock();
        log.start_segment(&mut inner, 2).unwrap();
    }
    log.write(&keys.iter().map(|k| del(k)).collect::<Vec<_>>())
        .unwrap();
    log.compact().unwrap();
    let settled = files(dir.path());
    for _ in 0..3 {
        assert_eq!(log.compact().unwrap(), 0);
        assert_eq!(files(dir.path()), settled);
    }
    drop(log);
    let log = Log::open_with(dir.path(), 64 * 1024 * 1024).unwrap();
    assert_eq!(all(&log).len(), 1);
}
