//! FIFO queues on tokio's paused clock: validation, group order and locking, deduplication,
//! sequence numbers, receive attempts, redrive, restarts, and many consumers on many groups.

mod common;
use common::*;
use ferry::error::{ApiError, ErrorCode};
use ferry::{App, Config};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::sleep;

async fn fifo(app: &App, name: &str, extra: Value) -> String {
    let mut attrs = json!({"FifoQueue": "true"});
    for (k, v) in extra.as_object().unwrap() {
        attrs[k] = v.clone();
    }
    ok(
        app,
        "CreateQueue",
        json!({"QueueName": name, "Attributes": attrs}),
    )
    .await["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn send(app: &App, url: &str, body: &str, group: &str, dedup: &str) -> Value {
    ok(app, "SendMessage", json!({"QueueUrl": url, "MessageBody": body, "MessageGroupId": group, "MessageDeduplicationId": dedup})).await
}

async fn receive(app: &App, url: &str, max: u32) -> Vec<Value> {
    let out = ok(
        app,
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": max, "AttributeNames": ["All"]}),
    )
    .await;
    out.get("Messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn bodies(msgs: &[Value]) -> Vec<&str> {
    msgs.iter().map(|m| m["Body"].as_str().unwrap()).collect()
}

#[tokio::test(start_paused = true)]
async fn creation_rules() {
    let app = app();
    let code = |r: Result<Value, ApiError>| r.unwrap_err().code;
    assert_eq!(
        code(
            call(
                &app,
                "CreateQueue",
                json!({"QueueName": "q", "Attributes": {"FifoQueue": "true"}})
            )
            .await
        ),
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        code(call(&app, "CreateQueue", json!({"QueueName": "q.fifo"})).await),
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        code(
            call(
                &app,
                "CreateQueue",
                json!({"QueueName": "s", "Attributes": {"ContentBasedDeduplication": "true"}})
            )
            .await
        ),
        ErrorCode::InvalidAttributeName
    );
    assert_eq!(
        code(call(&app, "CreateQueue", json!({"QueueName": "h.fifo", "Attributes": {"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}})).await),
        ErrorCode::InvalidAttributeValue
    );
    let url = fifo(
        &app,
        "hi.fifo",
        json!({"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}),
    )
    .await;
    let attrs = ok(
        &app,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    )
    .await["Attributes"]
        .clone();
    assert_eq!(attrs["FifoQueue"], "true");
    assert_eq!(attrs["ContentBasedDeduplication"], "false");
    assert_eq!(attrs["DeduplicationScope"], "messageGroup");
    assert_eq!(attrs["FifoThroughputLimit"], "perMessageGroupId");
    // Back to queue scope while per-group throughput stays: refused.
    let e = call(
        &app,
        "SetQueueAttributes",
        json!({"QueueUrl": url, "Attributes": {"DeduplicationScope": "queue"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidAttributeValue);
    ok(
        &app,
        "SetQueueAttributes",
        json!({"QueueUrl": url, "Attributes": {"ContentBasedDeduplication": "true"}}),
    )
    .await;
    let e = call(
        &app,
        "SetQueueAttributes",
        json!({"QueueUrl": url, "Attributes": {"FifoQueue": "false"}}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidAttributeValue);
}

#[tokio::test(start_paused = true)]
async fn send_rules() {
    let app = app();
    let url = fifo(&app, "s.fifo", json!({})).await;
    let send = |input: Value| {
        let app = app.clone();
        let mut input = input;
        input["QueueUrl"] = json!(url);
        async move { call(&app, "SendMessage", input).await }
    };
    assert_eq!(
        send(json!({"MessageBody": "x", "MessageDeduplicationId": "d"}))
            .await
            .unwrap_err()
            .code,
        ErrorCode::MissingParameter
    );
    assert_eq!(
        send(json!({"MessageBody": "x", "MessageGroupId": "g"}))
            .await
            .unwrap_err()
            .code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        send(json!({"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d", "DelaySeconds": 5})).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    assert_eq!(
        send(json!({"MessageBody": "x", "MessageGroupId": "bad group", "MessageDeduplicationId": "d"})).await.unwrap_err().code,
        ErrorCode::InvalidParameterValue
    );
    let out =
        send(json!({"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d"}))
            .await
            .unwrap();
    assert_eq!(out["SequenceNumber"].as_str().unwrap().len(), 20);
    // Standard queues take MessageGroupId (fair queues) but not deduplication ids.
    let std_url = ok(&app, "CreateQueue", json!({"QueueName": "std"})).await["QueueUrl"].clone();
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": std_url, "MessageBody": "x", "MessageGroupId": "tenant-1"}),
    )
    .await;
    let e = call(
        &app,
        "SendMessage",
        json!({"QueueUrl": std_url, "MessageBody": "x", "MessageDeduplicationId": "d"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test(start_paused = true)]
async fn groups_are_ordered_and_locked_while_in_flight() {
    let app = app();
    let url = fifo(&app, "o.fifo", json!({"VisibilityTimeout": "5"})).await;
    for (body, group) in [
        ("a1", "a"),
        ("b1", "b"),
        ("a2", "a"),
        ("b2", "b"),
        ("a3", "a"),
    ] {
        send(&app, &url, body, group, body).await;
    }
    let first = receive(&app, &url, 1).await;
    assert_eq!(bodies(&first), ["a1"]);
    let second = receive(&app, &url, 10).await;
    assert_eq!(
        bodies(&second),
        ["b1", "b2"],
        "group a is locked while a1 is in flight"
    );
    assert!(
        receive(&app, &url, 10).await.is_empty(),
        "every group is locked"
    );
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"]}),
    )
    .await;
    let third = receive(&app, &url, 10).await;
    assert_eq!(bodies(&third), ["a2", "a3"], "unlocked, in order");
    // a2 and a3 time out and come back first, in order, with their receive counts.
    sleep(Duration::from_secs(6)).await;
    let again = receive(&app, &url, 10).await;
    assert_eq!(
        bodies(&again),
        ["b1", "b2", "a2", "a3"],
        "each group back in its order"
    );
    assert_eq!(again[2]["Attributes"]["ApproximateReceiveCount"], "2");
    assert_eq!(again[2]["Attributes"]["MessageGroupId"], "a");
    let seq = |i: usize| {
        again[i]["Attributes"]["SequenceNumber"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(seq(2) < seq(3));
}

/// AWS's recorded example: groups are served in the order their first message became
/// available; a zero visibility timeout returns messages at once, behind groups that waited.
#[tokio::test(start_paused = true)]
async fn groups_are_served_in_the_order_they_became_available() {
    let app = app();
    let url = fifo(&app, "order.fifo", json!({})).await;
    for (body, group) in [
        ("A1", "A"),
        ("B1", "B"),
        ("B2", "B"),
        ("C1", "C"),
        ("A2", "A"),
    ] {
        send(&app, &url, body, group, body).await;
    }
    let take = |max: u32| {
        let (app, url) = (app.clone(), url.clone());
        async move {
            ok(
                &app,
                "ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": max, "VisibilityTimeout": 0}),
            )
            .await["Messages"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    assert_eq!(bodies(&take(3).await), ["A1", "A2", "B1"]);
    // No time passes: with a zero timeout they are visible again at once.
    assert_eq!(bodies(&take(10).await), ["C1", "A1", "A2", "B1", "B2"]);
}

#[tokio::test(start_paused = true)]
async fn messages_ahead_of_an_in_flight_one_stay_receivable() {
    let app = app();
    let url = fifo(&app, "ahead.fifo", json!({})).await;
    for body in ["a1", "a2", "a3"] {
        send(&app, &url, body, "a", body).await;
    }
    send(&app, &url, "b1", "b", "b1").await;
    let got = receive(&app, &url, 2).await;
    assert_eq!(bodies(&got), ["a1", "a2"]);
    // a1 comes back while a2 stays in flight: a1 is receivable, a3 (behind a2) is not, and
    // group a now waits behind b.
    ok(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0}),
    )
    .await;
    sleep(Duration::from_millis(10)).await;
    assert_eq!(bodies(&receive(&app, &url, 10).await), ["b1", "a1"]);
    // Deleting a2 leaves a3 behind a1, which is in flight again.
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": got[1]["ReceiptHandle"]}),
    )
    .await;
    assert!(receive(&app, &url, 10).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn long_poll_behind_a_locked_group_wakes_for_another_group() {
    let app = app();
    let url = fifo(&app, "lockedwake.fifo", json!({})).await;
    for i in 0..4 {
        send(&app, &url, &format!("a{i}"), "A", &format!("a{i}")).await;
    }
    assert_eq!(
        bodies(&receive(&app, &url, 1).await),
        ["a0"],
        "group A now locked"
    );
    let (a2, u2) = (app.clone(), url.clone());
    let poll = tokio::spawn(async move {
        let start = tokio::time::Instant::now();
        let got = ok(
            &a2,
            "ReceiveMessage",
            json!({"QueueUrl": u2, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 20}),
        )
        .await;
        (got, start.elapsed())
    });
    sleep(Duration::from_secs(1)).await;
    send(&app, &url, "b0", "B", "b0").await;
    let (got, waited) = poll.await.unwrap();
    assert_eq!(got["Messages"][0]["Body"], "b0");
    assert!(waited < Duration::from_secs(2), "woke after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn deduplication_window() {
    let app = app();
    let url = fifo(&app, "d.fifo", json!({})).await;
    let a = send(&app, &url, "one", "g", "same").await;
    let b = send(&app, &url, "two", "g", "same").await;
    assert_eq!(a["MessageId"], b["MessageId"]);
    assert_eq!(a["SequenceNumber"], b["SequenceNumber"]);
    let got = receive(&app, &url, 10).await;
    assert_eq!(bodies(&got), ["one"]);
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": got[0]["ReceiptHandle"]}),
    )
    .await;
    sleep(Duration::from_secs(299)).await;
    assert_eq!(
        send(&app, &url, "three", "g", "same").await["MessageId"],
        a["MessageId"],
        "still deduplicated after delete"
    );
    assert!(receive(&app, &url, 10).await.is_empty());
    sleep(Duration::from_secs(2)).await;
    assert_ne!(
        send(&app, &url, "four", "g", "same").await["MessageId"],
        a["MessageId"],
        "window over"
    );
    assert_eq!(bodies(&receive(&app, &url, 10).await), ["four"]);
}

#[tokio::test(start_paused = true)]
async fn content_based_and_per_group_scope() {
    let app = app();
    let url = fifo(
        &app,
        "c.fifo",
        json!({"ContentBasedDeduplication": "true", "DeduplicationScope": "messageGroup"}),
    )
    .await;
    let s = |body: &str, group: &str| {
        let (app, url, body, group) = (
            app.clone(),
            url.clone(),
            body.to_string(),
            group.to_string(),
        );
        async move {
            ok(
                &app,
                "SendMessage",
                json!({"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}),
            )
            .await
        }
    };
    let a = s("same", "g1").await;
    assert_eq!(s("same", "g1").await["MessageId"], a["MessageId"]);
    assert_ne!(
        s("same", "g2").await["MessageId"],
        a["MessageId"],
        "scope is the group"
    );
    let attrs = ok(
        &app,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]}),
    )
    .await;
    assert_eq!(attrs["Attributes"]["ApproximateNumberOfMessages"], "2");
}

#[tokio::test(start_paused = true)]
async fn receive_attempt_retry_returns_the_same_messages() {
    let app = app();
    let url = fifo(&app, "r.fifo", json!({})).await;
    for i in 0..3 {
        send(&app, &url, &format!("m{i}"), "g", &format!("d{i}")).await;
    }
    let input =
        json!({"QueueUrl": url, "MaxNumberOfMessages": 2, "ReceiveRequestAttemptId": "attempt-1"});
    let first = ok(&app, "ReceiveMessage", input.clone()).await;
    let retry = ok(&app, "ReceiveMessage", input).await;
    assert_eq!(first, retry, "same messages and receipt handles");
    assert_eq!(bodies(first["Messages"].as_array().unwrap()), ["m0", "m1"]);
}

#[tokio::test(start_paused = true)]
async fn redrive_keeps_group_order_and_needs_a_fifo_dlq() {
    let app = app();
    fifo(&app, "dlq.fifo", json!({})).await;
    ok(&app, "CreateQueue", json!({"QueueName": "plain"})).await;
    let policy = |t: &str| {
        json!({"deadLetterTargetArn": format!("arn:aws:sqs:us-east-1:000000000000:{t}"), "maxReceiveCount": 1}).to_string()
    };
    let e = call(&app, "CreateQueue", json!({"QueueName": "x.fifo", "Attributes": {"FifoQueue": "true", "RedrivePolicy": policy("plain")}})).await;
    assert_eq!(e.unwrap_err().code, ErrorCode::InvalidParameterValue);
    let url = fifo(
        &app,
        "src.fifo",
        json!({"RedrivePolicy": policy("dlq.fifo"), "VisibilityTimeout": "1"}),
    )
    .await;
    send(&app, &url, "p1", "g", "p1").await;
    send(&app, &url, "p2", "g", "p2").await;
    assert_eq!(bodies(&receive(&app, &url, 1).await), ["p1"]);
    sleep(Duration::from_secs(2)).await;
    // p1 exceeded maxReceiveCount: moved; p2 is next in its group.
    assert_eq!(bodies(&receive(&app, &url, 1).await), ["p2"]);
    let dlq = "http://localhost:4566/000000000000/dlq.fifo".to_string();
    let moved = receive(&app, &dlq, 10).await;
    assert_eq!(bodies(&moved), ["p1"]);
    assert_eq!(moved[0]["Attributes"]["MessageGroupId"], "g");
}

#[tokio::test]
async fn dedup_and_sequence_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::on_disk(dir.path());
    let (first, url) = {
        let app = App::open(config()).unwrap();
        let url = fifo(&app, "p.fifo", json!({})).await;
        let first = send(&app, &url, "one", "g", "k").await;
        app.close();
        (first, url)
    };
    let app = App::open(config()).unwrap();
    assert_eq!(
        send(&app, &url, "again", "g", "k").await["MessageId"],
        first["MessageId"]
    );
    let next = send(&app, &url, "two", "g", "k2").await;
    assert!(next["SequenceNumber"].as_str().unwrap() > first["SequenceNumber"].as_str().unwrap());
    assert_eq!(bodies(&receive(&app, &url, 10).await), ["one", "two"]);
}

/// Many consumers, many groups, with failures: no group is ever held by two consumers at once, and
/// each group's messages are processed in send order across visibility timeouts.
#[tokio::test(start_paused = true)]
async fn many_consumers_never_share_a_group_and_order_holds() {
    const GROUPS: usize = 30;
    const PER_GROUP: usize = 12;
    const CONSUMERS: usize = 16;
    let app = app();
    let url = fifo(&app, "busy.fifo", json!({"VisibilityTimeout": "3"})).await;
    for i in 0..PER_GROUP {
        for g in 0..GROUPS {
            send(
                &app,
                &url,
                &format!("{g}:{i}"),
                &format!("g{g}"),
                &format!("{g}-{i}"),
            )
            .await;
        }
    }
    let holders: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let processed: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
    let mut tasks = Vec::new();
    for c in 0..CONSUMERS {
        let (app, url, holders, processed) =
            (app.clone(), url.clone(), holders.clone(), processed.clone());
        tasks.push(tokio::spawn(async move {
            let mut turn = 0usize;
            for _ in 0..400 {
                let msgs = receive(&app, &url, 3).await;
                if msgs.is_empty() {
                    if processed
                        .lock()
                        .unwrap()
                        .values()
                        .map(Vec::len)
                        .sum::<usize>()
                        == GROUPS * PER_GROUP
                    {
                        return;
                    }
                    sleep(Duration::from_millis(500)).await;
                    continue;
                }
                for m in &msgs {
                    let (g, i) = m["Body"].as_str().unwrap().split_once(':').unwrap();
                    let prev = holders.lock().unwrap().insert(g.to_string(), c);
                    assert!(
                        prev.is_none_or(|p| p == c),
                        "group {g} handed to consumer {c} while consumer {prev:?} holds it"
                    );
                    let _ = i;
                }
                turn += 1;
                sleep(Duration::from_millis(10 * (c as u64 % 5))).await;
                if turn.is_multiple_of(7) {
                    // A consumer that crashes: its messages come back after the visibility timeout.
                    for m in &msgs {
                        let g = m["Body"].as_str().unwrap().split_once(':').unwrap().0;
                        holders.lock().unwrap().remove(g);
                    }
                    continue;
                }
                for m in &msgs {
                    let (g, i) = m["Body"].as_str().unwrap().split_once(':').unwrap();
                    processed
                        .lock()
                        .unwrap()
                        .entry(g.to_string())
                        .or_default()
                        .push(i.parse().unwrap());
                    holders.lock().unwrap().remove(g);
                    ok(
                        &app,
                        "DeleteMessage",
                        json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                    )
                    .await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let processed = processed.lock().unwrap();
    assert_eq!(processed.len(), GROUPS);
    for (g, seen) in processed.iter() {
        assert_eq!(
            seen,
            &(0..PER_GROUP).collect::<Vec<_>>(),
            "group {g} out of order or incomplete"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn stale_receipt_handles_are_refused_on_fifo_only() {
    let app = app();
    let url = fifo(&app, "stale.fifo", json!({"VisibilityTimeout": "2"})).await;
    send(&app, &url, "m", "g", "m").await;
    let first = receive(&app, &url, 1).await.remove(0);
    sleep(Duration::from_secs(3)).await;
    // The visibility timeout is over: the first handle has expired.
    let e = call(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": first["ReceiptHandle"]}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    assert!(
        e.message
            .ends_with("Reason: The receipt handle has expired."),
        "{}",
        e.message
    );
    // Received again: the old handle stays expired, in batches too; the new one works.
    let second = receive(&app, &url, 1).await.remove(0);
    let batch = ok(&app, "DeleteMessageBatch", json!({"QueueUrl": url, "Entries": [{"Id": "old", "ReceiptHandle": first["ReceiptHandle"]}]})).await;
    assert_eq!(batch["Failed"][0]["Code"], "ReceiptHandleIsInvalid");
    assert_eq!(
        batch["Failed"][0]["Message"],
        "The receipt handle has expired"
    );
    let e = call(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeout": 0}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": second["ReceiptHandle"]}),
    )
    .await;
    // Standard queues still let an older handle delete.
    let std_url = ok(
        &app,
        "CreateQueue",
        json!({"QueueName": "stale-std", "Attributes": {"VisibilityTimeout": "2"}}),
    )
    .await["QueueUrl"]
        .clone();
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": std_url, "MessageBody": "m"}),
    )
    .await;
    let old = ok(&app, "ReceiveMessage", json!({"QueueUrl": std_url})).await["Messages"][0]["ReceiptHandle"].clone();
    sleep(Duration::from_secs(3)).await;
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": std_url, "ReceiptHandle": old}),
    )
    .await;
}
