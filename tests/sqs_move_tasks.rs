//! Dead-letter redrive (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask), run
//! against the service directly on tokio's paused clock: return to origin queues, explicit
//! destinations, pacing, cancel, failures, reset, and resumption after a restart on sled.

mod common;
use common::*;
use ferry::error::ErrorCode;
use ferry::{App, Config};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::sleep;

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:000000000000:{name}")
}

/// A queue whose messages go to `dlq` after one receive.
async fn source(app: &App, name: &str, dlq: &str) -> String {
    let policy = json!({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 1}).to_string();
    queue(app, name, json!({"RedrivePolicy": policy})).await
}

async fn send(app: &App, url: &str, bodies: &[&str]) {
    for b in bodies {
        ok(
            app,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": b, "MessageAttributes": {"k": {"DataType": "String", "StringValue": b}}}),
        )
        .await;
    }
}

/// Sends `bodies` to the source `url` and lets them fail once, so they land in its DLQ.
async fn dead_letter(app: &App, url: &str, bodies: &[&str]) {
    send(app, url, bodies).await;
    let mut got = 0;
    while got < bodies.len() {
        let n = receive(app, url, json!({"VisibilityTimeout": 1}))
            .await
            .len();
        assert!(n > 0);
        got += n;
    }
    sleep(Duration::from_secs(2)).await;
    assert!(
        receive(app, url, json!({})).await.is_empty(),
        "moved to the DLQ"
    );
}

async fn visible(app: &App, url: &str) -> u64 {
    let a = ok(
        app,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]}),
    )
    .await;
    a["Attributes"]["ApproximateNumberOfMessages"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn bodies(app: &App, url: &str) -> BTreeSet<String> {
    receive(app, url, json!({"VisibilityTimeout": 600}))
        .await
        .iter()
        .map(|m| m["Body"].as_str().unwrap().to_string())
        .collect()
}

async fn start(app: &App, input: Value) -> String {
    ok(app, "StartMessageMoveTask", input).await["TaskHandle"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn tasks(app: &App, dlq: &str, max: i64) -> Vec<Value> {
    ok(
        app,
        "ListMessageMoveTasks",
        json!({"SourceArn": arn(dlq), "MaxResults": max}),
    )
    .await["Results"]
        .as_array()
        .unwrap()
        .clone()
}

async fn latest(app: &App, dlq: &str) -> Value {
    tasks(app, dlq, 1).await.remove(0)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(start_paused = true)]
async fn messages_return_to_the_queues_they_came_from() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    let a = source(&app, "a", "dlq").await;
    let b = source(&app, "b", "dlq").await;
    dead_letter(&app, &a, &["a1", "a2", "a3"]).await;
    dead_letter(&app, &b, &["b1", "b2"]).await;
    let before: BTreeSet<String> = receive(&app, &dlq, json!({"VisibilityTimeout": 1}))
        .await
        .iter()
        .map(|m| m["MessageId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(before.len(), 5);
    sleep(Duration::from_secs(2)).await;

    let handle = start(&app, json!({"SourceArn": arn("dlq")})).await;
    assert!(!handle.is_empty());
    sleep(Duration::from_secs(1)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "COMPLETED");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 5);
    assert_eq!(t["ApproximateNumberOfMessagesToMove"], 5);
    assert_eq!(t["SourceArn"], arn("dlq"));
    for absent in [
        "TaskHandle",
        "DestinationArn",
        "MaxNumberOfMessagesPerSecond",
        "FailureReason",
    ] {
        assert!(t.get(absent).is_none(), "{absent} in {t}");
    }
    assert!(t["StartedTimestamp"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(visible(&app, &dlq).await, 0);

    // Each message is back where it failed, as a new message: fresh receive history, no DLQ
    // source, a new id; body and attributes unchanged.
    let got = receive(
        &app,
        &a,
        json!({"AttributeNames": ["All"], "MessageAttributeNames": ["All"]}),
    )
    .await;
    let got_bodies: BTreeSet<String> = got
        .iter()
        .map(|m| m["Body"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got_bodies, set(&["a1", "a2", "a3"]));
    for m in &got {
        assert_eq!(m["Attributes"]["ApproximateReceiveCount"], "1");
        assert!(m["Attributes"].get("DeadLetterQueueSourceArn").is_none());
        assert_eq!(m["MessageAttributes"]["k"]["StringValue"], m["Body"]);
        assert!(!before.contains(m["MessageId"].as_str().unwrap()));
    }
    assert_eq!(bodies(&app, &b).await, set(&["b1", "b2"]));
}

#[tokio::test(start_paused = true)]
async fn explicit_destination_receives_everything() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    let a = source(&app, "a", "dlq").await;
    let dest = queue(&app, "dest", json!({})).await;
    dead_letter(&app, &a, &["x", "y"]).await;
    // Sent to the DLQ directly: no origin, but an explicit destination does not need one.
    send(&app, &dlq, &["z"]).await;
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest")}),
    )
    .await;
    sleep(Duration::from_secs(1)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "COMPLETED");
    assert_eq!(t["DestinationArn"], arn("dest"));
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 3);
    assert_eq!(bodies(&app, &dest).await, set(&["x", "y", "z"]));
    assert_eq!(visible(&app, &a).await, 0);
    assert_eq!(visible(&app, &dlq).await, 0);
}

#[tokio::test(start_paused = true)]
async fn rate_paces_the_move_and_later_arrivals_stay() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    let dest = queue(&app, "dest", json!({})).await;
    let ten: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    send(
        &app,
        &dlq,
        &ten.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 2}),
    )
    .await;
    sleep(Duration::from_millis(1000)).await;
    send(&app, &dlq, &["late"]).await;
    sleep(Duration::from_millis(1250)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "RUNNING");
    assert_eq!(
        t["ApproximateNumberOfMessagesMoved"], 5,
        "2 per second: 0, 0.5 .. 2 s"
    );
    assert_eq!(t["ApproximateNumberOfMessagesToMove"], 10);
    assert_eq!(t["MaxNumberOfMessagesPerSecond"], 2);
    assert!(t["TaskHandle"].as_str().is_some_and(|h| !h.is_empty()));
    sleep(Duration::from_millis(2500)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 10);
    assert_eq!(
        t["Status"], "RUNNING",
        "done only once nothing is left, at 5 s"
    );
    sleep(Duration::from_millis(500)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "COMPLETED");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 10);
    assert_eq!(visible(&app, &dest).await, 10);
    assert_eq!(
        bodies(&app, &dlq).await,
        set(&["late"]),
        "a message sent after the start is not moved"
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_task() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    let dest = queue(&app, "dest", json!({})).await;
    let ten: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    send(
        &app,
        &dlq,
        &ten.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let handle = start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 1}),
    )
    .await;
    sleep(Duration::from_millis(2500)).await;
    let out = ok(&app, "CancelMessageMoveTask", json!({"TaskHandle": handle})).await;
    assert_eq!(out, json!({"ApproximateNumberOfMessagesMoved": 3}));
    let status = latest(&app, "dlq").await["Status"].clone();
    assert!(status == "CANCELLING" || status == "CANCELLED", "{status}");
    sleep(Duration::from_secs(5)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "CANCELLED");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 3);
    assert!(t.get("TaskHandle").is_none());
    assert_eq!(visible(&app, &dest).await, 3);
    assert_eq!(visible(&app, &dlq).await, 7);
    // A finished task cannot be cancelled; its source is free for a new task.
    let e = err(&app, "CancelMessageMoveTask", json!({"TaskHandle": handle})).await;
    assert_eq!(e.code, ErrorCode::ResourceNotFoundException);
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest")}),
    )
    .await;
    sleep(Duration::from_secs(1)).await;
    assert_eq!(visible(&app, &dest).await, 10);
}

#[tokio::test(start_paused = true)]
async fn validation_errors() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    queue(&app, "plain", json!({})).await;
    send(&app, &dlq, &["1", "2", "3"]).await;

    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("plain")}),
    )
    .await;
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            ErrorCode::InvalidParameterValue,
            "Source queue must be configured as a Dead Letter Queue."
        )
    );
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("nope")}),
    )
    .await;
    assert_eq!(e.code, ErrorCode::ResourceNotFoundException);
    assert!(e.message.contains("SourceArn"), "{}", e.message);
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": "not-an-arn"}),
    )
    .await;
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    let e = err(&app, "StartMessageMoveTask", json!({})).await;
    assert_eq!(e.code, ErrorCode::MissingParameter);
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("nope")}),
    )
    .await;
    assert_eq!(e.code, ErrorCode::ResourceNotFoundException);
    assert!(e.message.contains("DestinationArn"), "{}", e.message);
    for rate in [0, 501, -1] {
        let e = err(
            &app,
            "StartMessageMoveTask",
            json!({"SourceArn": arn("dlq"), "MaxNumberOfMessagesPerSecond": rate}),
        )
        .await;
        assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{rate}");
    }
    assert!(tasks(&app, "dlq", 10).await.is_empty(), "nothing started");

    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("plain"), "MaxNumberOfMessagesPerSecond": 1}),
    )
    .await;
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("plain")}),
    )
    .await;
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    assert!(
        e.message.contains("already a task running"),
        "{}",
        e.message
    );

    // {"taskId":"x","sourceArn":"y"}: decodes, but names no queue.
    for (handle, want, message) in [
        (
            "garbage",
            ErrorCode::InvalidParameterValue,
            "Value for parameter TaskHandle is invalid.",
        ),
        (
            "",
            ErrorCode::MissingParameter,
            "The request must contain the parameter TaskHandle.",
        ),
        (
            "eyJ0YXNrSWQiOiJ4Iiwic291cmNlQXJuIjoieSJ9",
            ErrorCode::ResourceNotFoundException,
            "The resource that you specified for the SourceArn parameter doesn't exist.",
        ),
    ] {
        let e = err(&app, "CancelMessageMoveTask", json!({"TaskHandle": handle})).await;
        assert_eq!((e.code, e.message.as_str()), (want, message), "{handle:?}");
    }
    for max in [0, 11] {
        let e = err(
            &app,
            "ListMessageMoveTasks",
            json!({"SourceArn": arn("dlq"), "MaxResults": max}),
        )
        .await;
        assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    }
    let e = err(
        &app,
        "ListMessageMoveTasks",
        json!({"SourceArn": arn("nope")}),
    )
    .await;
    assert_eq!(e.code, ErrorCode::ResourceNotFoundException);
    assert!(tasks(&app, "plain", 10).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn listing_is_newest_first_and_bounded() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    queue(&app, "dest", json!({})).await;
    for round in 0..12 {
        send(&app, &dlq, &[&format!("r{round}")]).await;
        start(
            &app,
            json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 1 + round}),
        )
        .await;
        sleep(Duration::from_millis(1500)).await;
    }
    assert_eq!(
        tasks(&app, "dlq", 1).await.len(),
        1,
        "MaxResults defaults to 1"
    );
    let all = tasks(&app, "dlq", 10).await;
    assert_eq!(all.len(), 10, "the ten most recent");
    let rates: Vec<u64> = all
        .iter()
        .map(|t| t["MaxNumberOfMessagesPerSecond"].as_u64().unwrap())
        .collect();
    assert_eq!(rates, (3..=12).rev().collect::<Vec<u64>>());
    let started: Vec<u64> = all
        .iter()
        .map(|t| t["StartedTimestamp"].as_u64().unwrap())
        .collect();
    assert!(started.windows(2).all(|w| w[0] > w[1]), "{started:?}");
    assert!(
        all.iter()
            .all(|t| t["Status"] == "COMPLETED" && t["ApproximateNumberOfMessagesMoved"] == 1)
    );
}

#[tokio::test(start_paused = true)]
async fn message_without_origin_fails_the_task_and_stays() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    let a = source(&app, "a", "dlq").await;
    dead_letter(&app, &a, &["from-a"]).await;
    send(&app, &dlq, &["direct"]).await;
    start(&app, json!({"SourceArn": arn("dlq")})).await;
    sleep(Duration::from_secs(1)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "FAILED");
    assert_eq!(t["FailureReason"], "CouldNotDetermineMessageSource");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 1);
    assert!(t.get("TaskHandle").is_none());
    assert_eq!(bodies(&app, &a).await, set(&["from-a"]));
    assert_eq!(bodies(&app, &dlq).await, set(&["direct"]), "kept, not lost");
}

#[tokio::test(start_paused = true)]
async fn deleted_destination_fails_the_task() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    let dest = queue(&app, "dest", json!({})).await;
    send(&app, &dlq, &["1", "2", "3", "4", "5"]).await;
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 1}),
    )
    .await;
    sleep(Duration::from_millis(1500)).await;
    ok(&app, "DeleteQueue", json!({"QueueUrl": dest})).await;
    sleep(Duration::from_secs(2)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "FAILED");
    assert_eq!(
        t["FailureReason"],
        "AWS.SimpleQueueService.NonExistentQueue"
    );
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 2);
    assert_eq!(visible(&app, &dlq).await, 3);
}

#[tokio::test(start_paused = true)]
async fn reset_stops_and_forgets_tasks() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    send(&app, &dlq, &["1", "2", "3"]).await;
    queue(&app, "dest", json!({})).await;
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 1}),
    )
    .await;
    sleep(Duration::from_millis(500)).await;
    app.reset().await.unwrap();
    sleep(Duration::from_secs(5)).await;
    queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    assert!(tasks(&app, "dlq", 10).await.is_empty());
}

/// Opens the data directory of an app that `shut` stopped. On a fresh directory the SNS key thread
/// writes the key it made through a weak reference to the store; if the app stops just then, the
/// thread holds the store (and sled's lock on its files) a moment longer, so a refusal is tried
/// again for up to 5 s of real time.
fn reopen(dir: &std::path::Path) -> Arc<App> {
    let start = std::time::Instant::now();
    loop {
        match App::open(Config::on_disk(dir)) {
            Ok(app) => return app,
            Err(e) if start.elapsed() < std::time::Duration::from_secs(5) => {
                eprintln!("reopening {}: {e}; trying again", dir.display());
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("reopening {}: {e}", dir.display()),
        }
    }
}

/// Shuts an app down as `run` does and waits until its store is released.
async fn shut(app: Arc<App>) {
    app.begin_shutdown();
    app.close();
    let sqs = Arc::downgrade(&app.sqs);
    drop(app);
    for _ in 0..100 {
        if sqs.upgrade().is_none() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the service outlived its app");
}

#[tokio::test(start_paused = true)]
async fn running_task_resumes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(Config::on_disk(dir.path())).unwrap();
    let dlq = queue(&app, "dlq", json!({})).await;
    let a = source(&app, "a", "dlq").await;
    let all: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    dead_letter(&app, &a, &refs).await;
    assert_eq!(visible(&app, &dlq).await, 20);
    start(
        &app,
        json!({"SourceArn": arn("dlq"), "MaxNumberOfMessagesPerSecond": 4}),
    )
    .await;
    sleep(Duration::from_millis(1100)).await;
    let before = latest(&app, "dlq").await;
    assert_eq!(before["ApproximateNumberOfMessagesMoved"], 5);
    shut(app).await;

    let app = reopen(dir.path());
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "RUNNING");
    assert_eq!(
        t["ApproximateNumberOfMessagesMoved"], 5,
        "progress is durable"
    );
    assert_eq!(t["TaskHandle"], before["TaskHandle"]);
    assert_eq!(visible(&app, &dlq).await, 15);
    assert_eq!(visible(&app, &a).await, 5);
    app.sqs.start_background();
    sleep(Duration::from_secs(10)).await;
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "COMPLETED");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 20);
    assert_eq!(t["ApproximateNumberOfMessagesToMove"], 20);
    assert_eq!(visible(&app, &dlq).await, 0);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(
            receive(&app, &a, json!({"VisibilityTimeout": 600}))
                .await
                .iter()
                .map(|m| m["Body"].as_str().unwrap().to_string()),
        );
    }
    got.sort();
    assert_eq!(got, all, "every message once: none lost, none duplicated");
    shut(app).await;
}

#[tokio::test(start_paused = true)]
async fn cancel_during_shutdown_finishes_as_cancelled_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(Config::on_disk(dir.path())).unwrap();
    let dlq = queue(&app, "dlq", json!({})).await;
    source(&app, "a", "dlq").await;
    queue(&app, "dest", json!({})).await;
    send(&app, &dlq, &["1", "2", "3"]).await;
    let handle = start(
        &app,
        json!({"SourceArn": arn("dlq"), "DestinationArn": arn("dest"), "MaxNumberOfMessagesPerSecond": 1}),
    )
    .await;
    sleep(Duration::from_millis(500)).await;
    // The runner is stopped first, so the cancel is recorded but not acted on before the restart.
    app.begin_shutdown();
    ok(&app, "CancelMessageMoveTask", json!({"TaskHandle": handle})).await;
    assert_eq!(latest(&app, "dlq").await["Status"], "CANCELLING");
    shut(app).await;

    let app = reopen(dir.path());
    assert_eq!(latest(&app, "dlq").await["Status"], "CANCELLING");
    app.sqs.start_background();
    let t = latest(&app, "dlq").await;
    assert_eq!(t["Status"], "CANCELLED");
    assert_eq!(t["ApproximateNumberOfMessagesMoved"], 1);
    sleep(Duration::from_secs(5)).await;
    assert_eq!(visible(&app, &dlq).await, 2);
    shut(app).await;
}

#[tokio::test(start_paused = true)]
async fn fifo_redrive_returns_each_group_in_order() {
    let app = app();
    let dlq = queue(&app, "dlq.fifo", json!({"FifoQueue": "true"})).await;
    let policy = json!({"deadLetterTargetArn": arn("dlq.fifo"), "maxReceiveCount": 1}).to_string();
    let src = queue(
        &app,
        "src.fifo",
        json!({"FifoQueue": "true", "RedrivePolicy": policy, "VisibilityTimeout": "1"}),
    )
    .await;
    for (i, g) in ["a", "b", "a", "b", "a"].iter().enumerate() {
        ok(&app, "SendMessage", json!({"QueueUrl": src, "MessageBody": format!("{g}{i}"), "MessageGroupId": g, "MessageDeduplicationId": i.to_string()})).await;
    }
    // Receive everything once, let it time out, and the next receive moves it all to the DLQ.
    while !receive(&app, &src, json!({})).await.is_empty() {}
    sleep(Duration::from_secs(2)).await;
    assert!(receive(&app, &src, json!({})).await.is_empty());
    assert_eq!(visible(&app, &dlq).await, 5);
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("dlq.fifo"), "DestinationArn": arn("plain")}),
    )
    .await;
    assert_eq!(e.code, ferry::error::ErrorCode::ResourceNotFoundException);
    queue(&app, "plain", json!({})).await;
    let e = err(
        &app,
        "StartMessageMoveTask",
        json!({"SourceArn": arn("dlq.fifo"), "DestinationArn": arn("plain")}),
    )
    .await;
    assert_eq!(
        e.code,
        ferry::error::ErrorCode::InvalidParameterValue,
        "a FIFO source needs a FIFO destination"
    );
    start(&app, json!({"SourceArn": arn("dlq.fifo")})).await;
    sleep(Duration::from_secs(1)).await;
    assert_eq!(latest(&app, "dlq.fifo").await["Status"], "COMPLETED");
    let mut order = Vec::new();
    loop {
        let got = receive(&app, &src, json!({"AttributeNames": ["All"]})).await;
        if got.is_empty() {
            break;
        }
        for m in &got {
            order.push(m["Body"].as_str().unwrap().to_string());
            ok(
                &app,
                "DeleteMessage",
                json!({"QueueUrl": src, "ReceiptHandle": m["ReceiptHandle"]}),
            )
            .await;
        }
    }
    let group = |g: char| {
        order
            .iter()
            .filter(|b| b.starts_with(g))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(group('a'), ["a0", "a2", "a4"]);
    assert_eq!(group('b'), ["b1", "b3"]);
}
