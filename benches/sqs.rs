//! `cargo bench --bench sqs`: the codecs and the store on their own, as figures per operation.
//! Prints one line per case: operations per second and nanoseconds per operation. The disk lines
//! are the floor under any durable commit on this machine.

use ferry::protocol::{Service, query, xml};
use ferry::sqs::message::{Attributes, Extra, Message, MessageId, md5_hex};
use ferry::storage::{Durable, Log, Op, SledStore, Store, SyncPolicy, keys};
use serde_json::json;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `f` repeatedly for about `budget` and reports the rate of `ops_per_call` operations.
fn measure(name: &str, ops_per_call: u64, budget: Duration, mut f: impl FnMut()) {
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        f();
        calls += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let ops = (calls * ops_per_call) as f64;
    println!(
        "{name:<48} {:>12.0} ops/s {:>10.0} ns/op",
        ops / secs,
        secs * 1e9 / ops
    );
}

fn message(body_len: usize) -> Message {
    Message::new(
        MessageId::random(),
        "x".repeat(body_len).into(),
        Attributes::new(),
        "test",
        1,
        Extra::default(),
    )
}

fn store_case(name: &str, durable: Durable, group: usize, budget: Duration) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let m = message(256);
    let encoded = m.encode();
    let mut seq = 0u64;
    measure(
        &format!("{name}: commit, {group} concurrent sends"),
        group as u64,
        budget,
        || {
            rt.block_on(async {
                let mut pending = Vec::with_capacity(group);
                for _ in 0..group {
                    seq += 1;
                    pending.push(durable.submit(vec![
                        Op::Put(keys::message(keys::MESSAGE, 1, seq), encoded.clone()),
                        Op::Put(keys::message(keys::MESSAGE_STATE, 1, seq), m.state.encode()),
                    ]));
                }
                for p in pending {
                    p.wait().await.unwrap();
                }
            })
        },
    );
    durable.shutdown();
}

/// What one flush costs on this disk, without any store: a 300-byte record appended and then
/// either `fdatasync`ed or waited for with `sync_file_range` (what sled's flush does on Linux).
/// A commit group can never be faster than this.
fn disk_floor(budget: Duration) {
    use std::io::Write;
    use std::os::unix::io::AsRawFd;
    let record = [7u8; 300];
    let dir = tempfile::tempdir().unwrap();
    let mut file = std::fs::File::create(dir.path().join("floor")).unwrap();
    measure("disk: append 300 B + fdatasync", 1, budget, || {
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
    });
    let mut offset = file.metadata().unwrap().len() as i64;
    measure("disk: append 300 B + sync_file_range", 1, budget, || {
        file.write_all(&record).unwrap();
        let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER;
        // SAFETY: a valid open descriptor and a range inside the file.
        let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, 300, flags) };
        assert_eq!(rc, 0, "sync_file_range");
        offset += 300;
    });
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let budget = Duration::from_millis(if quick { 200 } else { 1500 });

    let body = "x".repeat(256);
    measure("md5 of a 256-byte body", 1, budget, || {
        black_box(md5_hex(black_box(body.as_bytes())));
    });
    let m = message(256);
    let encoded = m.encode();
    measure("message encode (256 B)", 1, budget, || {
        black_box(m.encode());
    });
    measure("message decode (256 B)", 1, budget, || {
        black_box(Message::decode(black_box(&encoded), None).unwrap());
    });
    let form = format!(
        "Action=SendMessage&QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fq&MessageBody={body}\
         &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=v"
    );
    measure("awsQuery form decode (SendMessage)", 1, budget, || {
        black_box(query::decode(black_box(form.as_bytes()), &query::SQS).unwrap());
    });
    let out = json!({"Messages": (0..10).map(|i| json!({"MessageId": i.to_string(), "ReceiptHandle": "h", "MD5OfBody": "m", "Body": body,
        "Attributes": {"SentTimestamp": "1"}})).collect::<Vec<_>>()});
    measure(
        "XML render (ReceiveMessage, 10 messages)",
        1,
        budget,
        || {
            black_box(xml::render_ok(
                Service::Sqs,
                &xml::SQS,
                "ReceiveMessage",
                black_box(&out),
                "rid",
            ));
        },
    );

    disk_floor(budget);
    for group in [1, 32] {
        store_case("memory", Durable::memory(), group, budget);
    }
    // Messages go to the log; the resources store (sled) sees none of these ops.
    for (policy, label) in [
        (SyncPolicy::default(), "log, --sync 1s"),
        (SyncPolicy::Always, "log, --sync always"),
    ] {
        for group in [1, 32] {
            let dir = tempfile::tempdir().unwrap();
            let sled: Arc<dyn Store> = Arc::new(SledStore::open(&dir.path().join("sled")).unwrap());
            let log: Arc<dyn Store> = Arc::new(Log::open(&dir.path().join("log")).unwrap());
            store_case(
                label,
                Durable::new(sled, log.clone(), policy),
                group,
                budget,
            );
            let mut n = 0;
            log.scan(&[keys::MESSAGE], &mut |_, _| {
                n += 1;
                Ok(())
            })
            .unwrap();
            println!(
                "{:<48} {:>12} messages, {:>8.1} bytes on disk per message",
                "  log after the run",
                n,
                log.size_on_disk().unwrap() as f64 / n.max(1) as f64
            );
        }
    }
    // What the same ops cost when sled holds the messages (the layout before the log).
    for group in [1, 32] {
        let dir = tempfile::tempdir().unwrap();
        let sled: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        store_case(
            "sled as the message store",
            Durable::new(sled.clone(), sled, SyncPolicy::Always),
            group,
            budget,
        );
    }
}
