//! FIFO topics' deduplication and sequence numbers. A topic remembers each deduplication id
//! (`MessageDeduplicationId`, or the SHA-256 of the body with content-based deduplication) for
//! five minutes with the message id and sequence number it was first published as, so that a
//! repeat answers with those and delivers nothing. The records are hot records in the message log
//! (`keys::TOPIC_DEDUP`), written with the publish before its answer: they survive a restart and
//! `kill -9`, and are deleted once they expire on `clock`.

use crate::storage::{Op, StoreResult, keys};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// How long a FIFO topic remembers a deduplication id.
pub(super) const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

const DEDUP_VERSION: u8 = 1;

/// What a deduplication id was first published as, and until when it is remembered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Seen {
    pub message_id: String,
    pub sequence: String,
    pub expires_ms: u64,
}

/// One FIFO topic's deduplication memory and last sequence number.
#[derive(Debug, Default)]
pub(super) struct FifoState {
    seen: HashMap<String, Seen>,
    /// Deduplication ids by expiry, oldest first, so that expiring costs only what expires.
    by_expiry: VecDeque<(u64, String)>,
    last_sequence: u128,
}

impl FifoState {
    /// The next sequence number: 20 digits, increasing, time-based across restarts.
    pub fn next_sequence(&mut self, now_ms: u64) -> String {
        let next = (u128::from(now_ms) * 1_000_000).max(self.last_sequence + 1);
        self.last_sequence = next;
        format!("{next:020}")
    }

    /// Forgets the ids whose window ended by `now_ms`; returns the deletes of their records.
    pub fn expire(&mut self, topic_arn: &str, now_ms: u64) -> Vec<Op> {
        let mut ops = Vec::new();
        while let Some((at, _)) = self.by_expiry.front() {
            if *at > now_ms {
                break;
            }
            let (at, id) = self.by_expiry.pop_front().expect("front exists");
            // A record re-remembered later has a later expiry; only its last entry removes it.
            if self.seen.get(&id).is_some_and(|s| s.expires_ms == at) {
                self.seen.remove(&id);
                ops.push(Op::Delete(keys::topic_dedup(topic_arn, &id)));
            }
        }
        ops
    }

    /// What `dedup_id` was first published as, while it is remembered.
    pub fn get(&self, dedup_id: &str) -> Option<&Seen> {
        self.seen.get(dedup_id)
    }

    /// Remembers `dedup_id`; returns the put of its record.
    pub fn remember(&mut self, topic_arn: &str, dedup_id: String, seen: Seen) -> Op {
        let op = Op::Put(
            keys::topic_dedup(topic_arn, &dedup_id),
            crate::storage::encode_json(DEDUP_VERSION, &seen),
        );
        self.insert(dedup_id, seen);
        op
    }

    fn insert(&mut self, dedup_id: String, seen: Seen) {
        if let Ok(n) = seen.sequence.parse::<u128>() {
            self.last_sequence = self.last_sequence.max(n);
        }
        self.by_expiry
            .push_back((seen.expires_ms, dedup_id.clone()));
        self.seen.insert(dedup_id, seen);
    }

    /// The deletes of every record of the topic (it is being deleted).
    pub fn forget(&self, topic_arn: &str) -> Vec<Op> {
        self.seen
            .keys()
            .map(|id| Op::Delete(keys::topic_dedup(topic_arn, id)))
            .collect()
    }
}

/// Rebuilds the topics' deduplication memory from the store. Records of expired ids, or of
/// topics that no longer exist, are returned as deletes.
pub(super) fn load(
    durable: &crate::storage::Durable,
    now_ms: u64,
    topic_exists: &dyn Fn(&str) -> bool,
) -> StoreResult<(HashMap<String, FifoState>, Vec<Op>)> {
    let mut found: Vec<(String, String, Seen)> = Vec::new();
    let mut stale = Vec::new();
    durable.scan(&[keys::TOPIC_DEDUP], &mut |k, v| {
        let Some((topic, id)) = keys::split_topic_dedup(k) else {
            stale.push(Op::Delete(k.to_vec()));
            return Ok(());
        };
        let seen: Seen = crate::storage::decode_json(DEDUP_VERSION, v, "topic deduplication")?;
        if seen.expires_ms <= now_ms || !topic_exists(&topic) {
            stale.push(Op::Delete(k.to_vec()));
        } else {
            found.push((topic, id, seen));
        }
        Ok(())
    })?;
    found.sort_by_key(|(_, _, s)| s.expires_ms);
    let mut states: HashMap<String, FifoState> = HashMap::new();
    for (topic, id, seen) in found {
        states.entry(topic).or_default().insert(id, seen);
    }
    Ok((states, stale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caller::Caller;
    use crate::clock::Clock;
    use crate::delivery::{Delivery, Pushed, QueueError, QueueMessage, Queues};
    use crate::protocol::Params;
    use crate::storage::Durable;
    use serde_json::{Value, json};
    use std::sync::Arc;

    struct NoQueues;

    impl Queues for NoQueues {
        fn push(&self, _: &str, _: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError> {
            Err(QueueError::Missing)
        }
    }

    fn records(durable: &Durable) -> usize {
        let mut n = 0;
        durable
            .scan(&[keys::TOPIC_DEDUP], &mut |_, _| {
                n += 1;
                Ok(())
            })
            .unwrap();
        n
    }

    /// A FIFO topic's deduplication outlives the process that remembered it (a reopen on the
    /// same store) and ends five minutes later on the clock, its record deleted.
    #[tokio::test(start_paused = true)]
    async fn deduplication_survives_a_reopen_and_expires_on_the_clock() {
        let durable = Arc::new(Durable::memory());
        let clock = Clock::new();
        let open = || {
            let delivery = Delivery::open(durable.clone(), clock, Arc::new(NoQueues)).unwrap();
            super::super::Sns::open(durable.clone(), delivery, clock).unwrap()
        };
        let caller = Caller::local("000000000000", "us-east-1");
        let call = |sns: Arc<super::super::Sns>, action: &'static str, v: Value| {
            let caller = caller.clone();
            async move {
                sns.call(action, &caller, Params::from_value(v).unwrap())
                    .await
                    .unwrap()
            }
        };
        let sns = open();
        let topic = call(
            sns.clone(),
            "CreateTopic",
            json!({"Name": "t.fifo", "Attributes": {"FifoTopic": "true"}}),
        )
        .await["TopicArn"]
            .as_str()
            .unwrap()
            .to_string();
        let publish = json!({"TopicArn": topic, "Message": "m", "MessageGroupId": "g",
            "MessageDeduplicationId": "d1"});
        let first = call(sns.clone(), "Publish", publish.clone()).await;
        assert_eq!(records(&durable), 1);
        drop(sns);

        let sns = open();
        tokio::time::advance(std::time::Duration::from_secs(299)).await;
        let again = call(sns.clone(), "Publish", publish.clone()).await;
        assert_eq!(
            again, first,
            "the same message id and sequence number after a reopen"
        );

        tokio::time::advance(std::time::Duration::from_secs(1)).await;
        let later = call(sns.clone(), "Publish", publish).await;
        assert_ne!(later["MessageId"], first["MessageId"]);
        assert!(later["SequenceNumber"].as_str() > first["SequenceNumber"].as_str());
        assert_eq!(
            records(&durable),
            1,
            "the expired record was deleted, the new one kept"
        );

        // Expired records found at open are deleted too.
        drop(sns);
        tokio::time::advance(std::time::Duration::from_secs(300)).await;
        let _sns = open();
        assert_eq!(records(&durable), 0);
    }

    fn seen(id: &str, seq: u128, expires_ms: u64) -> Seen {
        Seen {
            message_id: id.into(),
            sequence: format!("{seq:020}"),
            expires_ms,
        }
    }

    #[test]
    fn ids_expire_in_window_order_and_their_records_are_deleted() {
        let t = "arn:aws:sns:us-east-1:000000000000:t.fifo";
        let mut f = FifoState::default();
        assert!(matches!(
            f.remember(t, "a".into(), seen("m1", 5, 100)),
            Op::Put(..)
        ));
        f.remember(t, "b".into(), seen("m2", 6, 200));
        assert!(f.expire(t, 99).is_empty());
        let ops = f.expire(t, 100);
        assert_eq!(ops.len(), 1);
        assert!(matches!(&ops[0], Op::Delete(k) if *k == keys::topic_dedup(t, "a")));
        assert!(f.get("a").is_none());
        assert_eq!(f.get("b").unwrap().message_id, "m2");
        // Sequence numbers continue after the largest one remembered.
        assert_eq!(f.next_sequence(0), format!("{:020}", 7));
    }
}
