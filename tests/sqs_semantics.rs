//! SQS semantics that depend on time, run against the service directly on tokio's paused clock:
//! visibility timeouts, delays, long polls that wake on arrival, retention, dead-letter moves.

mod common;
use common::*;
use ferry::App;
use ferry::caller::Caller;
use ferry::error::ErrorCode;
use ferry::protocol::Params;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::{Instant, sleep};

async fn counts(app: &App, url: &str) -> (u64, u64, u64) {
    let a = ok(
        app,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    )
    .await;
    let n = |k: &str| a["Attributes"][k].as_str().unwrap().parse::<u64>().unwrap();
    (
        n("ApproximateNumberOfMessages"),
        n("ApproximateNumberOfMessagesNotVisible"),
        n("ApproximateNumberOfMessagesDelayed"),
    )
}

#[tokio::test(start_paused = true)]
async fn visibility_timeout_hides_then_returns_message() {
    let app = app();
    let url = queue(&app, "vis", json!({"VisibilityTimeout": "30"})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "hello"}),
    )
    .await;
    let first = receive(&app, &url, json!({})).await;
    assert_eq!(first.len(), 1);
    assert_eq!(counts(&app, &url).await, (0, 1, 0));
    sleep(Duration::from_secs(29)).await;
    assert!(
        receive(&app, &url, json!({})).await.is_empty(),
        "still invisible at 29 s"
    );
    sleep(Duration::from_secs(2)).await;
    let second = receive(
        &app,
        &url,
        json!({"AttributeNames": ["ApproximateReceiveCount"]}),
    )
    .await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["Attributes"]["ApproximateReceiveCount"], "2");
    assert_ne!(
        first[0]["ReceiptHandle"], second[0]["ReceiptHandle"],
        "fresh handle per receive"
    );
    // The older handle still deletes the message.
    ok(
        &app,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"]}),
    )
    .await;
    assert_eq!(counts(&app, &url).await, (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn long_poll_wakes_on_arrival_not_at_deadline() {
    let app = app();
    let url = queue(&app, "lp", json!({})).await;
    let (a2, u2) = (app.clone(), url.clone());
    let sender = tokio::spawn(async move {
        sleep(Duration::from_secs(5)).await;
        ok(
            &a2,
            "SendMessage",
            json!({"QueueUrl": u2, "MessageBody": "late"}),
        )
        .await;
    });
    let start = Instant::now();
    let got = receive(&app, &url, json!({"WaitTimeSeconds": 20})).await;
    let waited = start.elapsed();
    sender.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["Body"], "late");
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "woke after {waited:?}"
    );
}

async fn send_n(app: &App, url: &str, n: usize) {
    for i in 0..n {
        ok(
            app,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": format!("m{i}")}),
        )
        .await;
    }
}

/// A 20-second long poll in a task of its own: how many messages it answered with, and after
/// how long.
fn timed_poll(app: &std::sync::Arc<App>, url: &str) -> tokio::task::JoinHandle<(usize, Duration)> {
    let (app, url) = (app.clone(), url.to_string());
    tokio::spawn(async move {
        let start = Instant::now();
        let got = receive(&app, &url, json!({"WaitTimeSeconds": 20})).await;
        (got.len(), start.elapsed())
    })
}

#[tokio::test(start_paused = true)]
async fn long_poll_with_part_of_a_batch_lingers_for_the_rest() {
    let app = app();
    let url = queue(&app, "linger", json!({})).await;
    send_n(&app, &url, 3).await;
    let poll = timed_poll(&app, &url);
    // Sends that land while the poll lingers join its answer.
    tokio::task::yield_now().await;
    send_n(&app, &url, 4).await;
    let (got, waited) = poll.await.unwrap();
    assert_eq!(
        got, 7,
        "one answer with the messages that arrived meanwhile"
    );
    assert!(waited < Duration::from_millis(5), "lingered {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn polls_that_cannot_batch_answer_at_once() {
    let app = app();
    let url = queue(&app, "nolinger", json!({})).await;
    send_n(&app, &url, 13).await;
    for (extra, n) in [
        (json!({"WaitTimeSeconds": 20}), 10), // a full batch is ready
        (json!({"WaitTimeSeconds": 20, "MaxNumberOfMessages": 1}), 1), // asks for one
        (json!({"WaitTimeSeconds": 0}), 2),   // short poll
    ] {
        let start = Instant::now();
        assert_eq!(receive(&app, &url, extra.clone()).await.len(), n, "{extra}");
        assert_eq!(start.elapsed(), Duration::ZERO, "{extra}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_batch_of_arrivals_wakes_one_poll_per_batch() {
    let app = app();
    let url = queue(&app, "batchwake", json!({})).await;
    let mut polls = Vec::new();
    for _ in 0..5 {
        let (a, u) = (app.clone(), url.clone());
        polls.push(tokio::spawn(async move {
            receive(&a, &u, json!({"WaitTimeSeconds": 2})).await.len()
        }));
    }
    sleep(Duration::from_millis(100)).await;
    let entries: Vec<Value> = (0..10)
        .map(|i| json!({"Id": format!("e{i}"), "MessageBody": format!("b{i}")}))
        .collect();
    ok(
        &app,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": entries}),
    )
    .await;
    let mut sizes = Vec::new();
    for p in polls {
        sizes.push(p.await.unwrap());
    }
    sizes.sort();
    assert_eq!(
        sizes,
        vec![0, 0, 0, 0, 10],
        "one poll takes the whole batch"
    );
}

/// Consumers that poll again as soon as they are answered, while messages trickle in: polls
/// that come back to part of a batch others already linger for wait for them, rather than each
/// lingering too and answering with a sliver.
#[tokio::test(start_paused = true)]
async fn returning_polls_defer_to_the_poll_lingering_for_the_batch() {
    let app = app();
    let url = queue(&app, "trickle", json!({})).await;
    const MESSAGES: usize = 200;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut consumers = Vec::new();
    for _ in 0..8 {
        let (a, u, tx) = (app.clone(), url.clone(), tx.clone());
        consumers.push(tokio::spawn(async move {
            loop {
                let got = receive(&a, &u, json!({"WaitTimeSeconds": 1})).await;
                if !got.is_empty() && tx.send(got.len()).is_err() {
                    return;
                }
            }
        }));
    }
    drop(tx);
    // Tokio's timers tick in milliseconds: four sends every millisecond.
    for i in 0..MESSAGES {
        ok(
            &app,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": format!("t{i}")}),
        )
        .await;
        if i % 4 == 3 {
            sleep(Duration::from_millis(1)).await;
        }
    }
    let (mut received, mut answers) = (0, 0);
    while received < MESSAGES {
        received += rx.recv().await.unwrap();
        answers += 1;
    }
    for c in consumers {
        c.abort();
    }
    assert_eq!(received, MESSAGES);
    // Four messages a millisecond and a 1 ms linger: 25 answers here; 29 when every returning
    // poll lingers as well.
    assert!(
        answers <= MESSAGES / 7,
        "{answers} answers for {MESSAGES} messages"
    );
}

/// A poll dropped while it lingers (its client went away) wakes the polls that deferred to it.
#[tokio::test(start_paused = true)]
async fn a_dropped_lingering_poll_wakes_the_polls_that_deferred_to_it() {
    let app = app();
    let url = queue(&app, "dropped", json!({})).await;
    send_n(&app, &url, 1).await;
    let (a, u) = (app.clone(), url.clone());
    let lingering =
        tokio::spawn(async move { receive(&a, &u, json!({"WaitTimeSeconds": 20})).await });
    tokio::task::yield_now().await;
    let deferred = timed_poll(&app, &url);
    tokio::task::yield_now().await;
    lingering.abort();
    let (got, waited) = deferred.await.unwrap();
    assert_eq!(got, 1);
    assert!(
        waited < Duration::from_millis(5),
        "answered after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn long_poll_on_empty_queue_returns_at_deadline() {
    let app = app();
    let url = queue(&app, "empty", json!({"ReceiveMessageWaitTimeSeconds": "3"})).await;
    let start = Instant::now();
    assert!(receive(&app, &url, json!({})).await.is_empty());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "queue default wait used: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn long_poll_wakes_when_delay_ends() {
    let app = app();
    let url = queue(&app, "delay", json!({})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "d", "DelaySeconds": 4}),
    )
    .await;
    assert_eq!(counts(&app, &url).await, (0, 0, 1));
    let start = Instant::now();
    let got = receive(&app, &url, json!({"WaitTimeSeconds": 10})).await;
    assert_eq!(got.len(), 1);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(4) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn queue_delay_applies_and_message_delay_overrides() {
    let app = app();
    let url = queue(&app, "qdelay", json!({"DelaySeconds": "10"})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "q"}),
    )
    .await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "m", "DelaySeconds": 0}),
    )
    .await;
    let got = receive(&app, &url, json!({})).await;
    assert_eq!(
        got.iter().map(|m| m["Body"].clone()).collect::<Vec<_>>(),
        vec![json!("m")]
    );
    sleep(Duration::from_secs(10)).await;
    assert_eq!(receive(&app, &url, json!({})).await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn change_visibility_to_zero_and_not_in_flight() {
    let app = app();
    let url = queue(&app, "cmv", json!({})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x"}),
    )
    .await;
    let m = receive(&app, &url, json!({})).await.remove(0);
    let handle = m["ReceiptHandle"].clone();
    ok(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": handle, "VisibilityTimeout": 0}),
    )
    .await;
    assert_eq!(counts(&app, &url).await, (1, 0, 0));
    // The handle of a message no longer in flight: success, and the message stays visible.
    ok(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": handle, "VisibilityTimeout": 5}),
    )
    .await;
    assert_eq!(counts(&app, &url).await, (1, 0, 0));
    let m = receive(&app, &url, json!({"VisibilityTimeout": 1}))
        .await
        .remove(0);
    sleep(Duration::from_secs(2)).await;
    ok(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 30}),
    )
    .await;
    assert_eq!(
        counts(&app, &url).await,
        (1, 0, 0),
        "expired: still visible"
    );
    let e = call(
        &app,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": handle, "VisibilityTimeout": 43201}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test(start_paused = true)]
async fn retention_expires_messages() {
    let app = app();
    let url = queue(&app, "ret", json!({"MessageRetentionPeriod": "60"})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "old"}),
    )
    .await;
    sleep(Duration::from_secs(59)).await;
    assert_eq!(counts(&app, &url).await.0, 1);
    sleep(Duration::from_secs(2)).await;
    assert_eq!(counts(&app, &url).await, (0, 0, 0));
    assert!(receive(&app, &url, json!({})).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn redrive_moves_after_max_receive_count() {
    let app = app();
    let dlq = queue(&app, "dlq", json!({})).await;
    let policy = json!({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 2}).to_string();
    let src = queue(
        &app,
        "src",
        json!({"RedrivePolicy": policy, "VisibilityTimeout": "1"}),
    )
    .await;
    let sent = ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": src, "MessageBody": "poison"}),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(receive(&app, &src, json!({})).await.len(), 1);
        sleep(Duration::from_millis(1100)).await;
    }
    assert!(
        receive(&app, &src, json!({})).await.is_empty(),
        "third receive moves it instead"
    );
    let moved = receive(&app, &dlq, json!({"AttributeNames": ["All"]})).await;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0]["MessageId"], sent["MessageId"]);
    assert_eq!(
        moved[0]["Attributes"]["DeadLetterQueueSourceArn"],
        "arn:aws:sqs:us-east-1:000000000000:src"
    );
    let sources = ok(&app, "ListDeadLetterSourceQueues", json!({"QueueUrl": dlq})).await;
    assert_eq!(sources["queueUrls"].as_array().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn redrive_policy_needs_existing_target_and_respects_allow_policy() {
    let app = app();
    let policy = |arn: &str| json!({"deadLetterTargetArn": arn, "maxReceiveCount": 1}).to_string();
    let e = call(&app, "CreateQueue", json!({"QueueName": "s", "Attributes": {"RedrivePolicy": policy("arn:aws:sqs:us-east-1:000000000000:none")}}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
    queue(
        &app,
        "closed",
        json!({"RedriveAllowPolicy": "{\"redrivePermission\":\"denyAll\"}"}),
    )
    .await;
    let e = call(&app, "CreateQueue", json!({"QueueName": "s", "Attributes": {"RedrivePolicy": policy("arn:aws:sqs:us-east-1:000000000000:closed")}}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidParameterValue);
}

#[tokio::test(start_paused = true)]
async fn many_idle_long_polls_all_return_and_one_gets_the_message() {
    let app = app();
    let url = queue(&app, "herd", json!({})).await;
    let mut polls = Vec::new();
    for _ in 0..200 {
        let (a, u) = (app.clone(), url.clone());
        polls.push(tokio::spawn(async move {
            receive(&a, &u, json!({"WaitTimeSeconds": 20})).await.len()
        }));
    }
    sleep(Duration::from_secs(1)).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "one"}),
    )
    .await;
    let mut got = 0;
    for p in polls {
        got += p.await.unwrap();
    }
    assert_eq!(got, 1);
}

#[tokio::test(start_paused = true)]
async fn purge_allowed_once_per_minute() {
    let app = app();
    let url = queue(&app, "purge", json!({})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x"}),
    )
    .await;
    ok(&app, "PurgeQueue", json!({"QueueUrl": url})).await;
    assert_eq!(counts(&app, &url).await, (0, 0, 0));
    let e = call(&app, "PurgeQueue", json!({"QueueUrl": url}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PurgeQueueInProgress);
    sleep(Duration::from_secs(60)).await;
    ok(&app, "PurgeQueue", json!({"QueueUrl": url})).await;
}

#[tokio::test(start_paused = true)]
async fn zero_visibility_receive_hands_a_message_out_once_per_call() {
    let app = app();
    let url = queue(&app, "zero", json!({})).await;
    ok(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "only"}),
    )
    .await;
    let got = receive(&app, &url, json!({"VisibilityTimeout": 0})).await;
    assert_eq!(got.len(), 1, "one message, once");
    sleep(Duration::from_millis(1)).await;
    assert_eq!(
        receive(&app, &url, json!({"VisibilityTimeout": 0}))
            .await
            .len(),
        1,
        "visible again at once"
    );
}

#[tokio::test(start_paused = true)]
async fn queue_urls_in_every_form_reach_the_queue() {
    let app = app();
    let eu = Caller::local("000000000000", "eu-west-2");
    let p = |v: Value| Params::from_value(v).unwrap();
    app.sqs
        .call("CreateQueue", &eu, p(json!({"QueueName": "forms"})))
        .await
        .unwrap();
    // A us-east-1 caller addressing the queue by a URL that names its region.
    for url in [
        "http://sqs.eu-west-2.localhost.localstack.cloud:4566/000000000000/forms",
        "https://sqs.eu-west-2.amazonaws.com/000000000000/forms",
        "https://eu-west-2.queue.amazonaws.com/000000000000/forms",
    ] {
        ok(
            &app,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": url}),
        )
        .await;
    }
    // The queue's own region's caller may use a path or a bare name.
    for url in ["/000000000000/forms", "forms"] {
        app.sqs
            .call(
                "SendMessage",
                &eu,
                p(json!({"QueueUrl": url, "MessageBody": url})),
            )
            .await
            .unwrap();
    }
    let attrs = app
        .sqs
        .call(
            "GetQueueAttributes",
            &eu,
            p(json!({"QueueUrl": "forms", "AttributeNames": ["ApproximateNumberOfMessages"]})),
        )
        .await
        .unwrap();
    assert_eq!(attrs["Attributes"]["ApproximateNumberOfMessages"], "5");
    let e = call(
        &app,
        "SendMessage",
        json!({"QueueUrl": "forms", "MessageBody": "x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::QueueDoesNotExist,
        "a bare name means the caller's own region"
    );
}
