//! A kill -9 before sled's flush, played in process (see `storage::testing::Unflushed`): nobody
//! is told of a topic or subscription that the flush could still fail to keep.

use super::Sns;
use crate::caller::Caller;
use crate::clock::Clock;
use crate::delivery::{Delivery, Pushed, QueueError, QueueMessage, Queues};
use crate::protocol::Params;
use crate::storage::testing::Unflushed;
use crate::storage::{Durable, MemoryStore, Store, SyncPolicy};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

struct NoQueues;

impl Queues for NoQueues {
    fn push(&self, _: &str, _: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError> {
        Err(QueueError::Missing)
    }
}

async fn call(sns: &Arc<Sns>, action: &str, v: Value) -> Result<Value, crate::error::ApiError> {
    let caller = Caller::local("000000000000", "us-east-1");
    sns.call(action, &caller, Params::from_value(v).unwrap())
        .await
}

/// A CreateTopic (or Subscribe) that finds what another request is still writing answers only
/// once that is on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_create_answers_only_once_the_first_is_on_disk() {
    let gate = Unflushed::new(Arc::new(MemoryStore::default()));
    let durable = Arc::new(Durable::new(
        gate.clone() as Arc<dyn Store>,
        Arc::new(MemoryStore::default()) as Arc<dyn Store>,
        SyncPolicy::default(),
    ));
    let clock = Clock::new();
    let delivery = Delivery::open(durable.clone(), clock, Arc::new(NoQueues)).unwrap();
    let sns = Sns::open(durable, delivery, clock).unwrap();
    let spawn = |v: Value, action: &'static str| {
        let sns = sns.clone();
        tokio::spawn(async move { call(&sns, action, v).await })
    };
    let first = spawn(json!({"Name": "t"}), "CreateTopic");
    while call(&sns, "ListTopics", json!({})).await.unwrap()["Topics"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        tokio::task::yield_now().await;
    }
    let mut second = spawn(json!({"Name": "t"}), "CreateTopic");
    let early = tokio::time::timeout(Duration::from_millis(200), &mut second).await;
    assert!(early.is_err(), "answered before the flush: {early:?}");
    gate.open();
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert_eq!(a["TopicArn"], b["TopicArn"]);
    let sub = json!({"TopicArn": a["TopicArn"], "Protocol": "sqs",
        "Endpoint": "arn:aws:sqs:us-east-1:000000000000:q"});
    let subscribed = call(&sns, "Subscribe", sub.clone()).await.unwrap();
    assert_eq!(call(&sns, "Subscribe", sub).await.unwrap(), subscribed);
}
