//! Archives and replays on a real data directory (sled and the message log) over HTTP: archived
//! events, their counts and a replay's record survive a restart.

#[path = "support/server.rs"]
mod server;

use ferry::Config;
use serde_json::{Value, json};
use server::Server;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn call(s: &Server, target: &str, flavour: &str, body: Value) -> Value {
    let ct = format!("application/x-amz-json-{flavour}");
    let (status, _, out) = s.request(
        "POST",
        "/",
        &[("X-Amz-Target", target), ("Content-Type", &ct)],
        body.to_string().as_bytes(),
    );
    let out: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    assert_eq!(status, 200, "{target}: {out}");
    out
}

fn events(s: &Server, action: &str, body: Value) -> Value {
    call(s, &format!("AWSEvents.{action}"), "1.1", body)
}

fn sqs(s: &Server, action: &str, body: Value) -> Value {
    call(s, &format!("AmazonSQS.{action}"), "1.0", body)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn archived_events_and_replays_survive_a_restart_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(Config::on_disk(dir.path()));
    let url = sqs(&s, "CreateQueue", json!({"QueueName": "disk-q"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    events(&s, "CreateEventBus", json!({"Name": "b"}));
    events(
        &s,
        "PutRule",
        json!({"Name": "r", "EventBusName": "b", "EventPattern": "{\"source\":[\"app\"]}"}),
    );
    events(
        &s,
        "PutTargets",
        json!({"Rule": "r", "EventBusName": "b",
            "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:disk-q"}]}),
    );
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/b";
    events(
        &s,
        "CreateArchive",
        json!({"ArchiveName": "a", "EventSourceArn": bus}),
    );
    let start = now_s() - 60;
    let entry = json!({"Source": "app", "DetailType": "t", "Detail": "{}", "EventBusName": "b"});
    let out = events(&s, "PutEvents", json!({"Entries": [entry, entry]}));
    assert_eq!(out["FailedEntryCount"], 0);
    let before = events(&s, "DescribeArchive", json!({"ArchiveName": "a"}));
    assert_eq!(before["EventCount"], 2);
    s.stop();

    let s = Server::start(Config::on_disk(dir.path()));
    let after = events(&s, "DescribeArchive", json!({"ArchiveName": "a"}));
    assert_eq!(after["EventCount"], 2);
    assert_eq!(after["SizeBytes"], before["SizeBytes"]);
    std::thread::sleep(Duration::from_millis(1100));
    events(
        &s,
        "StartReplay",
        json!({"ReplayName": "rp", "EventSourceArn": "arn:aws:events:us-east-1:000000000000:archive/a",
            "EventStartTime": start, "EventEndTime": now_s(), "Destination": {"Arn": bus}}),
    );
    let mut state = Value::Null;
    for _ in 0..100 {
        state = events(&s, "DescribeReplay", json!({"ReplayName": "rp"}))["State"].clone();
        if state == "COMPLETED" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(state, "COMPLETED");
    s.stop();

    let s = Server::start(Config::on_disk(dir.path()));
    let d = events(&s, "DescribeReplay", json!({"ReplayName": "rp"}));
    assert_eq!(d["State"], "COMPLETED");
    assert!(d.get("EventLastReplayedTime").is_some());
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let got = sqs(
            &s,
            "ReceiveMessage",
            json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
        );
        let msgs = got["Messages"].as_array().cloned().unwrap_or_default();
        for m in &msgs {
            bodies.push(serde_json::from_str::<Value>(m["Body"].as_str().unwrap()).unwrap());
            sqs(
                &s,
                "DeleteMessage",
                json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
            );
        }
        if bodies.len() >= 4 {
            break;
        }
    }
    assert_eq!(bodies.len(), 4, "two events and their two replays");
    let replayed = bodies.iter().filter(|b| b["replay-name"] == "rp").count();
    assert_eq!(replayed, 2);
    // Still two: replayed events are not archived again.
    let d = events(&s, "DescribeArchive", json!({"ArchiveName": "a"}));
    assert_eq!(d["EventCount"], 2);
    s.stop();
}
