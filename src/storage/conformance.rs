//! One suite, every backend: whatever sled does, the log and memory must do too (and the reverse).

use super::*;
use std::sync::Arc;

fn backends() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sled: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("sled")).unwrap());
    let log: Arc<dyn Store> = Arc::new(Log::open(&dir.path().join("log")).unwrap());
    vec![
        ("memory", Arc::new(MemoryStore::default()), None),
        ("sled", sled, None),
        ("log", log, Some(dir)),
    ]
}

fn collect(store: &dyn Store, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    store
        .scan(prefix, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn put_delete_scan_in_key_order() {
    for (name, store, _dir) in backends() {
        store
            .write(&[
                Op::Put(keys::message(keys::MESSAGE, 1, 2), b"b".to_vec()),
                Op::Put(keys::message(keys::MESSAGE, 1, 1), b"a".to_vec()),
                Op::Put(keys::message(keys::MESSAGE, 2, 1), b"c".to_vec()),
                Op::Put(keys::queue(1), b"q".to_vec()),
            ])
            .unwrap();
        store
            .write(&[Op::Delete(keys::message(keys::MESSAGE, 1, 2))])
            .unwrap();
        store.sync().unwrap();
        let msgs = collect(&*store, &[keys::MESSAGE]);
        let vals: Vec<_> = msgs.iter().map(|(_, v)| v.clone()).collect();
        assert_eq!(vals, vec![b"a".to_vec(), b"c".to_vec()], "{name}");
        assert_eq!(keys::split_message(&msgs[1].0), Some((2, 1)), "{name}");
        assert_eq!(collect(&*store, &[keys::QUEUE]).len(), 1, "{name}");
        store.clear().unwrap();
        assert!(collect(&*store, &[]).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn group_commit_keeps_order_and_answers_everyone() {
    for (name, store, _dir) in backends() {
        let durable = Arc::new(Durable::new(
            store.clone(),
            store.clone(),
            SyncPolicy::Always,
        ));
        let key = keys::queue(9);
        let mut pending = Vec::new();
        for i in 0..200u32 {
            pending.push(durable.submit(vec![Op::Put(key.clone(), i.to_be_bytes().to_vec())]));
        }
        for p in pending {
            p.wait().await.unwrap();
        }
        let got = collect(&*store, &key);
        assert_eq!(
            got[0].1,
            199u32.to_be_bytes().to_vec(),
            "{name}: last write wins"
        );
        durable.shutdown();
        assert!(
            durable.submit(vec![Op::Delete(key)]).wait().await.is_err(),
            "{name}: closed after shutdown"
        );
    }
}

#[test]
fn sled_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        s.write(&[Op::Put(keys::queue(3), b"x".to_vec())]).unwrap();
        s.sync().unwrap();
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        collect(&s, &[keys::QUEUE]),
        vec![(keys::queue(3), b"x".to_vec())]
    );
    assert!(s.size_on_disk().unwrap() > 0);
}

#[tokio::test]
async fn durable_routes_each_family_to_its_home_and_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let sled: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("sled")).unwrap());
    let log: Arc<dyn Store> = Arc::new(Log::open(&dir.path().join("log")).unwrap());
    for policy in [SyncPolicy::Always, SyncPolicy::default()] {
        let durable = Durable::new(sled.clone(), log.clone(), policy);
        let (q, m) = (keys::queue(1), keys::message(keys::MESSAGE, 1, 1));
        durable
            .submit(vec![
                Op::Put(q.clone(), b"queue".to_vec()),
                Op::Put(m.clone(), b"msg".to_vec()),
            ])
            .wait()
            .await
            .unwrap();
        assert_eq!(collect(&*sled, &[keys::QUEUE]).len(), 1);
        assert!(
            collect(&*sled, &[keys::MESSAGE]).is_empty(),
            "messages stay out of sled"
        );
        assert_eq!(collect(&*log, &[keys::MESSAGE]).len(), 1);
        assert_eq!(durable.get(&m).unwrap().as_deref(), Some(&b"msg"[..]));
        assert_eq!(durable.get(&q).unwrap().as_deref(), Some(&b"queue"[..]));
        let mut seen = 0;
        durable
            .scan(&[keys::MESSAGE], &mut |_, _| {
                seen += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, 1);
        durable.clear().await.unwrap();
        assert!(durable.get(&m).unwrap().is_none() && durable.get(&q).unwrap().is_none());
        durable.shutdown();
    }
}

#[test]
fn the_data_directory_carries_its_format() {
    let dir = tempfile::tempdir().unwrap();
    let format_of = |d: &std::path::Path| std::fs::read_to_string(d.join("FORMAT")).unwrap();
    let fresh = dir.path().join("fresh");
    check_format(&fresh).unwrap();
    assert_eq!(format_of(&fresh), format!("ferry data format {FORMAT}\n"));
    check_format(&fresh).unwrap();
    // A directory of the older layout (sled files at the top, no FORMAT file).
    let old = dir.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::write(old.join("conf"), b"segment_size: 524288").unwrap();
    let e = check_format(&old).unwrap_err().0;
    assert!(e.contains("older ferry") && e.contains("format 1"), "{e}");
    // A newer format.
    let newer = dir.path().join("newer");
    std::fs::create_dir_all(&newer).unwrap();
    std::fs::write(
        newer.join("FORMAT"),
        format!("ferry data format {}\n", FORMAT + 1),
    )
    .unwrap();
    let e = check_format(&newer).unwrap_err().0;
    assert!(e.contains("newer ferry"), "{e}");
    // Format 2 (no seal ops in the log) is read as it is and marked as the current format.
    let two = dir.path().join("two");
    std::fs::create_dir_all(&two).unwrap();
    std::fs::write(two.join("FORMAT"), "ferry data format 2\n").unwrap();
    check_format(&two).unwrap();
    assert_eq!(format_of(&two), format!("ferry data format {FORMAT}\n"));
    assert!(!two.join("FORMAT.new").exists());
    // A crash while a new directory's FORMAT was being written leaves only FORMAT.new: the
    // directory is still new.
    let torn = dir.path().join("torn");
    std::fs::create_dir_all(&torn).unwrap();
    std::fs::write(torn.join("FORMAT.new"), "").unwrap();
    check_format(&torn).unwrap();
    assert_eq!(format_of(&torn), format!("ferry data format {FORMAT}\n"));
}
