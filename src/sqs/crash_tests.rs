//! A kill -9 between the message log's `write()` and sled's flush, played in process: the
//! resource store holds every batch at a gate (`storage::testing::Unflushed`), the log is a memory
//! store that keeps every write (as the OS keeps a `write()` across `kill -9`), and a restart opens
//! a new service over the two as they are.

use super::Sqs;
use crate::caller::Caller;
use crate::clock::Clock;
use crate::protocol::Params;
use crate::storage::testing::Unflushed;
use crate::storage::{Durable, MemoryStore, Op, Store, SyncPolicy, keys};
use serde_json::{Value, json};
use std::sync::Arc;

fn p(v: Value) -> Params {
    Params(v.as_object().unwrap().clone())
}

fn caller() -> Caller {
    Caller::local("000000000000", "us-east-1")
}

/// A service over `cold` and `hot` as they are (a restart).
fn restart(cold: &Arc<MemoryStore>, hot: &Arc<MemoryStore>) -> Arc<Sqs> {
    over(cold.clone(), hot)
}

fn over(cold: Arc<dyn Store>, hot: &Arc<MemoryStore>) -> Arc<Sqs> {
    let durable = Arc::new(Durable::new(
        cold,
        hot.clone() as Arc<dyn Store>,
        SyncPolicy::default(),
    ));
    Sqs::open(durable, Clock::new(), 262_144).unwrap()
}

/// Fresh stores and a service whose resource writes wait at `gate`.
fn gated() -> (Arc<MemoryStore>, Arc<MemoryStore>, Arc<Unflushed>, Arc<Sqs>) {
    let (cold, hot) = (
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryStore::default()),
    );
    let gate = Unflushed::new(cold.clone());
    let sqs = over(gate.clone(), &hot);
    (cold, hot, gate, sqs)
}

/// Records under `prefix`.
fn count(store: &MemoryStore, prefix: &[u8]) -> usize {
    let mut n = 0;
    store
        .scan(prefix, &mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// While a CreateQueue waits for its record to reach the disk, nobody is told the queue exists
/// (a second CreateQueue of the name waits, lookups and sends find no queue), so a kill -9 then
/// takes back nothing a client was told about; once the record is on disk both creations answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_is_answered_only_once_its_record_is_on_disk() {
    let (cold, hot, gate, sqs) = gated();
    let create = |sqs: &Arc<Sqs>| {
        let sqs = sqs.clone();
        tokio::spawn(async move {
            sqs.call("CreateQueue", &caller(), p(json!({"QueueName": "orders"})))
                .await
        })
    };
    let first = create(&sqs);
    let waiting = gate.clone();
    tokio::task::spawn_blocking(move || waiting.await_a_write())
        .await
        .unwrap();
    // The first creation's record waits for the flush: nobody is told of the queue yet.
    let mut second = create(&sqs);
    let early = tokio::time::timeout(std::time::Duration::from_millis(200), &mut second).await;
    assert!(
        early.is_err(),
        "a second CreateQueue was answered before the flush: {early:?}"
    );
    assert!(!first.is_finished());
    let url = "http://localhost:4566/000000000000/orders";
    let lookup = sqs
        .call("GetQueueUrl", &caller(), p(json!({"QueueName": "orders"})))
        .await;
    assert!(lookup.is_err(), "{lookup:?}");
    let sent = sqs
        .call(
            "SendMessage",
            &caller(),
            p(json!({"QueueUrl": url, "MessageBody": "order #1"})),
        )
        .await;
    assert!(sent.is_err(), "{sent:?}");
    // A kill -9 now: after the restart there is no queue and no message, as every client was told.
    let after = restart(&cold, &hot);
    assert!(
        after
            .call("GetQueueUrl", &caller(), p(json!({"QueueName": "orders"})))
            .await
            .is_err()
    );
    assert_eq!(count(&hot, b""), 0, "no message reached the log");
    // The flush happens: both creations answer the same queue.
    gate.open();
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert_eq!(a["QueueUrl"], b["QueueUrl"]);
    let sqs = restart(&cold, &hot);
    assert_eq!(
        sqs.call("GetQueueUrl", &caller(), p(json!({"QueueName": "orders"})))
            .await
            .unwrap()["QueueUrl"],
        a["QueueUrl"]
    );
}

/// Records of a queue whose own record is gone are deleted at start, and its id is not given to
/// a new queue: a queue created afterwards never holds another queue's messages.
#[tokio::test]
async fn messages_of_a_lost_queue_are_deleted_and_never_join_another() {
    let (cold, hot) = (
        Arc::new(MemoryStore::default()),
        Arc::new(MemoryStore::default()),
    );
    let sqs = restart(&cold, &hot);
    let url = sqs
        .call("CreateQueue", &caller(), p(json!({"QueueName": "lost"})))
        .await
        .unwrap()["QueueUrl"]
        .clone();
    for body in ["a", "b"] {
        sqs.call(
            "SendMessage",
            &caller(),
            p(json!({"QueueUrl": url, "MessageBody": body})),
        )
        .await
        .unwrap();
    }
    sqs.call(
        "ReceiveMessage",
        &caller(),
        p(json!({"QueueUrl": url, "VisibilityTimeout": 0})),
    )
    .await
    .unwrap();
    drop(sqs);
    // The queue's record is gone (its creation never reached sled), its messages are not.
    let lost_id = {
        let mut ids = Vec::new();
        cold.scan(&[keys::QUEUE], &mut |k, _| {
            ids.push(k.to_vec());
            Ok(())
        })
        .unwrap();
        cold.write(&[Op::Delete(ids[0].clone())]).unwrap();
        u64::from_be_bytes(ids[0][1..9].try_into().unwrap())
    };
    let sqs = restart(&cold, &hot);
    assert_eq!(
        count(&hot, b""),
        0,
        "the lost queue's messages and states are deleted"
    );
    let url = sqs
        .call(
            "CreateQueue",
            &caller(),
            p(json!({"QueueName": "unrelated"})),
        )
        .await
        .unwrap()["QueueUrl"]
        .clone();
    let mut ids = Vec::new();
    cold.scan(&[keys::QUEUE], &mut |k, _| {
        ids.push(u64::from_be_bytes(k[1..9].try_into().unwrap()));
        Ok(())
    })
    .unwrap();
    assert!(
        ids.iter().all(|&id| id > lost_id),
        "{ids:?} after {lost_id}"
    );
    drop(sqs);
    let sqs = restart(&cold, &hot);
    let got = sqs
        .call(
            "ReceiveMessage",
            &caller(),
            p(json!({"QueueUrl": url, "MaxNumberOfMessages": 10})),
        )
        .await
        .unwrap();
    assert!(got.get("Messages").is_none(), "{got}");
}

/// A client that goes away while its CreateQueue waits for the disk (its request dropped) leaves
/// neither a name forever being created nor a second record: the creation finishes on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_whose_client_went_away_still_ends() {
    let (cold, _, gate, sqs) = gated();
    let gone = {
        let sqs = sqs.clone();
        tokio::spawn(async move {
            sqs.call("CreateQueue", &caller(), p(json!({"QueueName": "orders"})))
                .await
        })
    };
    let waiting = gate.clone();
    tokio::task::spawn_blocking(move || waiting.await_a_write())
        .await
        .unwrap();
    gone.abort();
    gate.open();
    let again = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sqs.call("CreateQueue", &caller(), p(json!({"QueueName": "orders"}))),
    )
    .await
    .expect("a second CreateQueue ends")
    .unwrap();
    assert!(again["QueueUrl"].as_str().unwrap().ends_with("/orders"));
    assert_eq!(count(&cold, &[keys::QUEUE]), 1, "one queue, one record");
}
