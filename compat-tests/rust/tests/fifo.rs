//! FIFO queues through the AWS SDK for Rust: creation rules, group order and locking,
//! deduplication, sequence numbers, and many tokio tasks (each with its own client) consuming one
//! queue at once.
//!
//! Needs a running ferry: `FERRY_ENDPOINT=http://127.0.0.1:4566 cargo test --release`. Shared helpers
//! live in tests/common.

mod common;
use common::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    Message, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

async fn fifo_queue(
    client: &aws_sdk_sqs::Client,
    cleanup: &mut Cleanup,
    tag: &str,
    attrs: &[(QueueAttributeName, &str)],
) -> String {
    let mut all = vec![(QueueAttributeName::FifoQueue, "true")];
    all.extend(attrs.iter().cloned());
    create_queue(client, cleanup, &format!("{}.fifo", unique(tag)), &all).await
}

/// Sends one message; returns (MessageId, SequenceNumber).
async fn send(
    client: &aws_sdk_sqs::Client,
    url: &str,
    body: &str,
    group: &str,
    dedup: &str,
) -> (String, String) {
    let out = client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_group_id(group)
        .message_deduplication_id(dedup)
        .send()
        .await
        .expect("SendMessage");
    (
        out.message_id().unwrap().to_string(),
        out.sequence_number().expect("SequenceNumber").to_string(),
    )
}

async fn receive(client: &aws_sdk_sqs::Client, url: &str, max: i32, wait: i32) -> Vec<Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(max)
        .wait_time_seconds(wait)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages()
        .to_vec()
}

fn bodies(msgs: &[Message]) -> Vec<&str> {
    msgs.iter().map(|m| m.body().unwrap()).collect()
}

fn sys<'a>(m: &'a Message, name: MessageSystemAttributeName) -> &'a str {
    m.attributes()
        .and_then(|a| a.get(&name))
        .map(String::as_str)
        .unwrap_or_else(|| panic!("{name:?} missing"))
}

async fn delete(client: &aws_sdk_sqs::Client, url: &str, msgs: &[Message]) {
    for m in msgs {
        client
            .delete_message()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .expect("DeleteMessage");
    }
}

#[tokio::test]
async fn fifo_creation_rules() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = fifo_queue(
        &client,
        &mut cleanup,
        "create",
        &[(QueueAttributeName::ContentBasedDeduplication, "true")],
    )
    .await;
    let a = all_attributes(&client, &url).await;
    let get = |k: QueueAttributeName| a.get(&k).map(String::as_str);
    assert_eq!(get(QueueAttributeName::FifoQueue), Some("true"));
    assert_eq!(
        get(QueueAttributeName::ContentBasedDeduplication),
        Some("true")
    );
    assert_eq!(get(QueueAttributeName::DeduplicationScope), Some("queue"));
    assert_eq!(
        get(QueueAttributeName::FifoThroughputLimit),
        Some("perQueue")
    );

    let name = unique("bad");
    let code = |r: Result<
        _,
        aws_sdk_sqs::error::SdkError<aws_sdk_sqs::operation::create_queue::CreateQueueError>,
    >| {
        r.expect_err("must be refused")
            .into_service_error()
            .code()
            .map(String::from)
    };
    let e = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await;
    assert_eq!(code(e).as_deref(), Some("InvalidParameterValue"));
    let e = client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .send()
        .await;
    assert_eq!(code(e).as_deref(), Some("InvalidParameterValue"));
    let e = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::ContentBasedDeduplication, "true")
        .send()
        .await;
    assert_eq!(code(e).as_deref(), Some("InvalidAttributeName"));
    let e = client
        .create_queue()
        .queue_name(format!("{name}.fifo"))
        .attributes(QueueAttributeName::FifoQueue, "true")
        .attributes(QueueAttributeName::FifoThroughputLimit, "perMessageGroupId")
        .send()
        .await;
    assert_eq!(code(e).as_deref(), Some("InvalidAttributeValue"));

    // Send validation.
    let e = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_deduplication_id("d")
        .send()
        .await
        .expect_err("no group")
        .into_service_error();
    assert_eq!(e.code(), Some("MissingParameter"));
    let e = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .delay_seconds(5)
        .send()
        .await
        .expect_err("per-message delay")
        .into_service_error();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
}

#[tokio::test]
async fn fifo_order_and_group_locking() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = fifo_queue(
        &client,
        &mut cleanup,
        "order",
        &[(QueueAttributeName::VisibilityTimeout, "30")],
    )
    .await;
    for (body, group) in [
        ("a1", "a"),
        ("b1", "b"),
        ("a2", "a"),
        ("b2", "b"),
        ("a3", "a"),
    ] {
        send(&client, &url, body, group, body).await;
    }
    let first = receive(&client, &url, 1, 0).await;
    assert_eq!(bodies(&first), ["a1"]);
    let second = receive(&client, &url, 10, 0).await;
    assert_eq!(
        bodies(&second),
        ["b1", "b2"],
        "group a is locked while a1 is in flight; b flows"
    );
    assert!(
        receive(&client, &url, 10, 0).await.is_empty(),
        "every group is locked"
    );
    delete(&client, &url, &first).await;
    let third = receive(&client, &url, 10, 0).await;
    assert_eq!(bodies(&third), ["a2", "a3"], "a unlocked, in order");
    assert_eq!(
        sys(&third[0], MessageSystemAttributeName::MessageGroupId),
        "a"
    );
    assert_eq!(
        sys(
            &third[0],
            MessageSystemAttributeName::MessageDeduplicationId
        ),
        "a2"
    );
}

#[tokio::test]
async fn fifo_dedup_and_sequence_numbers() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = fifo_queue(&client, &mut cleanup, "dedup", &[]).await;
    let (id1, seq1) = send(&client, &url, "one", "g", "same").await;
    let (id2, seq2) = send(&client, &url, "two", "g", "same").await;
    assert_eq!(
        (id2.as_str(), seq2.as_str()),
        (id1.as_str(), seq1.as_str()),
        "duplicate: same id and sequence"
    );
    let (id3, seq3) = send(&client, &url, "three", "h", "other").await;
    assert_ne!(id3, id1);
    for s in [&seq1, &seq3] {
        assert!(
            s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit()),
            "20 digits: {s}"
        );
    }
    assert!(seq3 > seq1);
    assert!(seq3.parse::<u128>().unwrap() > seq1.parse::<u128>().unwrap());

    let msgs = receive(&client, &url, 10, 0).await;
    assert_eq!(bodies(&msgs), ["one", "three"]);
    assert_eq!(
        sys(&msgs[0], MessageSystemAttributeName::SequenceNumber),
        seq1
    );
    assert_eq!(
        sys(&msgs[1], MessageSystemAttributeName::SequenceNumber),
        seq3
    );
    delete(&client, &url, &msgs).await;
    // Still deduplicated after the delete (5 minutes from the first send).
    let (id4, _) = send(&client, &url, "four", "g", "same").await;
    assert_eq!(id4, id1);
    assert!(receive(&client, &url, 10, 0).await.is_empty());

    // Batches: per-entry results, sequence numbers in entry order, deduplication inside the batch.
    let entry = |id: &str, group: &str, dedup: &str| {
        SendMessageBatchRequestEntry::builder()
            .id(id)
            .message_body(id)
            .message_group_id(group)
            .message_deduplication_id(dedup)
            .build()
            .unwrap()
    };
    let out = client
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("e1", "g", "k1"))
        .entries(entry("e2", "h", "k2"))
        .entries(entry("e3", "g", "k1"))
        .send()
        .await
        .unwrap();
    assert!(out.failed().is_empty());
    let ok: HashMap<&str, _> = out.successful().iter().map(|e| (e.id(), e)).collect();
    assert_eq!(ok["e3"].message_id(), ok["e1"].message_id());
    assert!(ok["e1"].sequence_number().unwrap() < ok["e2"].sequence_number().unwrap());
    assert!(ok["e1"].sequence_number().unwrap() > seq3.as_str());
}

/// Several tasks, each with its own client, consume one queue with many groups; some "crash"
/// (do not delete), so messages return after the visibility timeout. No group may be held by two
/// consumers at once, and each group is processed in send order, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_many_consumers_never_share_a_group() {
    const GROUPS: usize = 20;
    const PER_GROUP: usize = 10;
    const CONSUMERS: usize = 8;
    const VISIBILITY: Duration = Duration::from_secs(4);
    const LEASE_MARGIN: Duration = Duration::from_millis(2500);
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = fifo_queue(
        &client,
        &mut cleanup,
        "busy",
        &[(QueueAttributeName::VisibilityTimeout, "4")],
    )
    .await;
    for i in 0..PER_GROUP {
        for chunk in (0..GROUPS).collect::<Vec<_>>().chunks(10) {
            let mut req = client.send_message_batch().queue_url(&url);
            for g in chunk {
                req = req.entries(
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("g{g}"))
                        .message_body(format!("g{g}:{i}"))
                        .message_group_id(format!("g{g}"))
                        .message_deduplication_id(format!("{g}-{i}"))
                        .build()
                        .unwrap(),
                );
            }
            assert!(req.send().await.unwrap().failed().is_empty());
        }
    }

    #[derive(Default)]
    struct Shared {
        /// group -> (consumer, instant just before the receive that handed it out)
        holders: HashMap<String, (usize, Instant)>,
        processed: HashMap<String, Vec<usize>>,
        violations: Vec<String>,
        abandoned: usize,
    }
    let shared: Arc<Mutex<Shared>> = Arc::default();
    let deadline = Instant::now() + Duration::from_secs(45);
    let done =
        move |s: &Shared| s.processed.values().map(Vec::len).sum::<usize>() >= GROUPS * PER_GROUP;

    let mut tasks = Vec::new();
    for c in 0..CONSUMERS {
        let (url, shared) = (url.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let client = sqs().await;
            let mut turn = 0usize;
            while Instant::now() < deadline && !done(&shared.lock().unwrap()) {
                let start = Instant::now();
                let msgs = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(3)
                    .wait_time_seconds(1)
                    .send()
                    .await
                    .expect("ReceiveMessage")
                    .messages()
                    .to_vec();
                let now = Instant::now();
                if msgs.is_empty() {
                    continue;
                }
                turn += 1;
                let group_of =
                    |m: &Message| m.body().unwrap().split_once(':').unwrap().0.to_string();
                let mut groups: Vec<String> = Vec::new();
                for g in msgs.iter().map(group_of) {
                    if !groups.contains(&g) {
                        groups.push(g);
                    }
                }
                {
                    let mut s = shared.lock().unwrap();
                    for g in &groups {
                        if let Some(&(holder, since)) = s.holders.get(g) {
                            // The previous holder's lease surely had not run out yet.
                            if now < since + VISIBILITY {
                                s.violations
                                    .push(format!("{g}: held by {holder}, handed to {c}"));
                            }
                        }
                        s.holders.insert(g.clone(), (c, start));
                    }
                }
                tokio::time::sleep(Duration::from_millis(5 * (c as u64 % 4))).await;
                if turn % 5 == c % 5 || Instant::now() > start + VISIBILITY - LEASE_MARGIN {
                    // "Crashed": the messages come back after the visibility timeout.
                    shared.lock().unwrap().abandoned += 1;
                    continue;
                }
                for g in &groups {
                    let mine: Vec<Message> =
                        msgs.iter().filter(|m| &group_of(m) == g).cloned().collect();
                    {
                        let mut s = shared.lock().unwrap();
                        let seen = mine.iter().map(|m| {
                            m.body()
                                .unwrap()
                                .split_once(':')
                                .unwrap()
                                .1
                                .parse::<usize>()
                                .unwrap()
                        });
                        s.processed.entry(g.clone()).or_default().extend(seen);
                        // Released before the last delete leaves: then the group may go to others.
                        if s.holders.get(g).is_some_and(|h| h.0 == c) {
                            s.holders.remove(g);
                        }
                    }
                    delete(&client, &url, &mine).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("consumer task");
    }
    let s = shared.lock().unwrap();
    assert!(
        s.violations.is_empty(),
        "groups handed to two consumers at once: {:?}",
        s.violations
    );
    assert!(
        s.abandoned > 0,
        "some receives were abandoned and came back"
    );
    assert_eq!(s.processed.len(), GROUPS, "every group processed");
    for (g, seen) in &s.processed {
        assert_eq!(
            seen,
            &(0..PER_GROUP).collect::<Vec<_>>(),
            "group {g} out of order or not exactly once"
        );
    }
    assert_eq!(queue_counts(&client, &url).await, (0, 0));
}
