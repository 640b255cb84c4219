//! FIFO queues: the ready set ordered per message group with group locking, deduplication
//! windows, sequence numbers, and the validation of FIFO parameters.
//!
//! Within a group a message is handed out only while no earlier message of its group is in
//! flight, so two consumers never hold the same part of a group and order within a group holds
//! across visibility timeouts and redrives; the messages ahead of the first in-flight one stay
//! receivable. Groups are served in the order their first message became available: a message
//! returning from flight puts its group behind groups that have waited longer; a delete moves
//! no group. Other groups keep flowing.

use crate::error::{ApiError, ApiResult, ErrorCode};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How long a deduplication id (or content hash) is remembered, from the first send.
pub const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

/// When a ready message became available (its send, the end of its delay, or its return from
/// flight), in milliseconds, then a count of the group changes that orders events of the same
/// millisecond: FIFO groups are served in this order.
type Since = (u64, u64);

/// Messages that are visible now, in the order receives take them.
#[derive(Debug)]
pub enum Ready {
    /// Standard queues: oldest first.
    Standard(BTreeSet<u64>),
    /// FIFO queues: groups in the order their first message became available; within a group,
    /// only the messages ahead of its first in-flight one.
    Fifo(Groups),
}

#[derive(Debug, Default)]
pub struct Groups {
    groups: HashMap<Box<str>, Group>,
    /// Every group whose first ready message is receivable, keyed by when that message became
    /// available.
    available: BTreeSet<(Since, Box<str>)>,
    len: usize,
    /// Counts insertions, to order those of the same millisecond.
    ticks: u64,
}

#[derive(Debug, Default)]
struct Group {
    /// Ready messages: sequence number → when it became available.
    ready: BTreeMap<u64, Since>,
    /// Sequence numbers of the group's messages in flight.
    in_flight: BTreeSet<u64>,
}

impl Group {
    /// The group's place in the serving order, if its first ready message is ahead of every
    /// message of the group in flight.
    fn key(&self) -> Option<Since> {
        let (&seq, &since) = self.ready.first_key_value()?;
        match self.in_flight.first() {
            Some(&f) if f < seq => None,
            _ => Some(since),
        }
    }

    /// The ready messages ahead of the first in flight, in order, at most `max`.
    fn take(&mut self, max: usize) -> Vec<u64> {
        let limit = self.in_flight.first().copied().unwrap_or(u64::MAX);
        let mut out = Vec::new();
        while out.len() < max {
            match self.ready.first_key_value() {
                Some((&seq, _)) if seq < limit => {
                    self.ready.pop_first();
                    out.push(seq);
                }
                _ => break,
            }
        }
        out
    }
}

impl Groups {
    /// Applies `f` to group `name` and re-files the group in the serving order.
    fn change<R>(&mut self, name: &str, f: impl FnOnce(&mut Group) -> R) -> R {
        let old = self.groups.get(name).and_then(Group::key);
        let g = self.groups.entry(name.into()).or_default();
        let out = f(g);
        let new = g.key();
        let gone = g.ready.is_empty() && g.in_flight.is_empty();
        if old != new {
            if let Some(k) = old {
                self.available.remove(&(k, name.into()));
            }
            if let Some(k) = new {
                self.available.insert((k, name.into()));
            }
        }
        if gone {
            self.groups.remove(name);
        }
        out
    }
}

/// Gives back a map's spare capacity once most of it is unused (maps never shrink by themselves,
/// so a drained queue would otherwise keep the memory of its peak).
pub(crate) fn shrink_map<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 4 * map.len() + 64 {
        map.shrink_to_fit();
    }
}

impl Ready {
    /// See [`shrink_map`].
    pub fn shrink(&mut self) {
        if let Ready::Fifo(g) = self {
            shrink_map(&mut g.groups);
        }
    }

    pub fn new(fifo: bool) -> Ready {
        if fifo {
            Ready::Fifo(Groups::default())
        } else {
            Ready::Standard(BTreeSet::new())
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Ready::Standard(s) => s.len(),
            Ready::Fifo(g) => g.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A message of `group` became visible at `since_ms`.
    pub fn insert(&mut self, seq: u64, group: &str, since_ms: u64) {
        match self {
            Ready::Standard(s) => {
                s.insert(seq);
            }
            Ready::Fifo(g) => {
                g.ticks += 1;
                let since = (since_ms, g.ticks);
                let added = g.change(group, |grp| grp.ready.insert(seq, since).is_none());
                g.len += added as usize;
            }
        }
    }

    pub fn remove(&mut self, seq: u64, group: &str) -> bool {
        match self {
            Ready::Standard(s) => s.remove(&seq),
            Ready::Fifo(g) => {
                if !g
                    .groups
                    .get(group)
                    .is_some_and(|grp| grp.ready.contains_key(&seq))
                {
                    return false;
                }
                g.change(group, |grp| grp.ready.remove(&seq));
                g.len -= 1;
                true
            }
        }
    }

    /// Takes up to `max` messages to hand out. Standard: the oldest. FIFO: the receivable
    /// messages of the group that has waited longest, in order (the caller takes the next group
    /// with a further call, once these are in flight).
    pub fn pop(&mut self, max: usize) -> Vec<u64> {
        match self {
            Ready::Standard(s) => (0..max).map_while(|_| s.pop_first()).collect(),
            Ready::Fifo(g) => {
                let Some((_, name)) = g.available.first().cloned() else {
                    return Vec::new();
                };
                let taken = g.change(&name, |grp| grp.take(max));
                g.len -= taken.len();
                taken
            }
        }
    }

    /// Message `seq` of `group` entered (`true`) or left flight: the messages of a group behind
    /// one in flight are not receivable.
    pub fn flight(&mut self, group: &str, seq: u64, entered: bool) {
        if let Ready::Fifo(g) = self {
            g.change(group, |grp| {
                if entered {
                    grp.in_flight.insert(seq);
                } else {
                    grp.in_flight.remove(&seq);
                }
            });
        }
    }
}

/// Remembered sends for deduplication: key → (message id, sequence number, expiry).
#[derive(Debug, Default)]
pub struct Dedup {
    entries: HashMap<String, DedupEntry>,
    /// (expiry, key), to forget old entries cheaply.
    expiry: BTreeSet<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupEntry {
    pub message_id: String,
    pub sequence_number: String,
    pub expires_ms: u64,
}

const DEDUP_VERSION: u8 = 1;

impl DedupEntry {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = crate::storage::Enc::new(DEDUP_VERSION);
        e.str(&self.message_id)
            .str(&self.sequence_number)
            .u64(self.expires_ms);
        e.finish()
    }

    pub fn decode(buf: &[u8]) -> crate::storage::StoreResult<DedupEntry> {
        let mut d = crate::storage::Dec::new(buf, DEDUP_VERSION)?;
        Ok(DedupEntry {
            message_id: d.str()?.to_string(),
            sequence_number: d.str()?.to_string(),
            expires_ms: d.u64()?,
        })
    }
}

impl Dedup {
    /// See [`shrink_map`].
    pub fn shrink(&mut self) {
        shrink_map(&mut self.entries);
    }

    /// The key a deduplication id is remembered under, per `DeduplicationScope`.
    pub fn key(scope_group: bool, group: &str, dedup_id: &str) -> String {
        if scope_group {
            format!("{group}\u{0}{dedup_id}")
        } else {
            dedup_id.to_string()
        }
    }

    /// Drops entries whose window has passed; returns their keys.
    pub fn forget_expired(&mut self, now: u64) -> Vec<String> {
        let mut gone = Vec::new();
        while let Some((at, _)) = self.expiry.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.expiry.pop_first()
                && self.entries.get(&key).is_some_and(|e| e.expires_ms <= now)
            {
                self.entries.remove(&key);
                gone.push(key);
            }
        }
        gone
    }

    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }

    pub fn get(&self, key: &str, now: u64) -> Option<&DedupEntry> {
        self.entries.get(key).filter(|e| e.expires_ms > now)
    }

    pub fn insert(&mut self, key: String, entry: DedupEntry) {
        self.expiry.insert((entry.expires_ms, key.clone()));
        self.entries.insert(key, entry);
    }

    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.expiry.clear();
    }
}

/// Sequence numbers: 20 digits, increasing per queue (so per group), and still increasing after a
/// restart because they start from the clock.
#[derive(Debug, Default)]
pub struct Sequencer {
    last: u128,
}

impl Sequencer {
    pub fn next(&mut self, now_ms: u64) -> String {
        self.last = (self.last + 1).max(now_ms as u128 * 10_000_000);
        format!("{:020}", self.last)
    }

    pub fn observe(&mut self, seen: &str) {
        if let Ok(n) = seen.parse::<u128>() {
            self.last = self.last.max(n);
        }
    }
}

/// AWS's rule for MessageGroupId and MessageDeduplicationId: 1..=128 characters, alphanumeric or
/// punctuation.
pub fn validate_token(param: &str, value: &str) -> ApiResult<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_value(
            param,
            value,
            &format!(
                "{param} can only include alphanumeric and punctuation characters. 1 to 128 in length."
            ),
        ))
    }
}

/// AWS's queue name rule for FIFO queues.
pub fn valid_fifo_name(name: &str) -> bool {
    name.strip_suffix(".fifo")
        .is_some_and(super::attributes::valid_queue_name)
        && name.len() <= 80
}

pub fn fifo_name_error() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameterValue,
        "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_lock_behind_in_flight_messages_and_keep_order() {
        let mut r = Ready::new(true);
        for (seq, g) in [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "c")] {
            r.insert(seq, g, 100);
        }
        // One receive takes a group's messages in order before the next group.
        assert_eq!(r.pop(1), vec![1]);
        r.flight("a", 1, true);
        // a's next message is behind one in flight: the next receive gets b.
        assert_eq!(r.pop(10), vec![2, 4]);
        r.flight("b", 2, true);
        r.flight("b", 4, true);
        assert_eq!(r.pop(10), vec![5]);
        r.flight("c", 5, true);
        assert!(
            r.pop(10).is_empty(),
            "every remaining message is behind one in flight"
        );
        r.flight("a", 1, false);
        assert_eq!(r.pop(10), vec![3]);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn messages_ahead_of_the_first_in_flight_stay_receivable() {
        let mut r = Ready::new(true);
        r.insert(1, "g", 10);
        r.insert(2, "g", 10);
        assert_eq!(r.pop(10), vec![1, 2]);
        r.flight("g", 1, true);
        r.flight("g", 2, true);
        // 1 returns (ChangeMessageVisibility 0); 2 stays in flight: 1 is receivable, alone.
        r.flight("g", 1, false);
        r.insert(1, "g", 20);
        r.insert(3, "g", 15);
        assert_eq!(r.pop(10), vec![1]);
        assert!(r.remove(3, "g"));
        assert!(!r.remove(3, "g"));
        assert!(r.is_empty());
    }

    /// AWS's recorded example: sent A1 B1 B2 C1 A2; receive 3 → A1 A2 B1; once they return,
    /// receive 10 → C1 A1 A2 B1 B2.
    #[test]
    fn groups_served_in_the_order_their_first_message_became_available() {
        let mut r = Ready::new(true);
        let sent = [(1, "a"), (2, "b"), (3, "b"), (4, "c"), (5, "a")];
        for (seq, g) in sent {
            r.insert(seq, g, 100);
        }
        let group = |seq: u64| sent.iter().find(|(s, _)| *s == seq).unwrap().1;
        let mut got = r.pop(3);
        got.extend(r.pop(3 - got.len()));
        assert_eq!(got, vec![1, 5, 2]);
        for &seq in &got {
            r.flight(group(seq), seq, true);
        }
        // They return at 200, in the order they were received.
        for &seq in &got {
            r.flight(group(seq), seq, false);
            r.insert(seq, group(seq), 200);
        }
        let mut all = Vec::new();
        while all.len() < 10 {
            let batch = r.pop(10 - all.len());
            if batch.is_empty() {
                break;
            }
            for &seq in &batch {
                r.flight(group(seq), seq, true);
            }
            all.extend(batch);
        }
        assert_eq!(all, vec![4, 1, 5, 2, 3]);
    }

    #[test]
    fn dedup_window() {
        let mut d = Dedup::default();
        let k = Dedup::key(false, "g", "id");
        d.insert(
            k.clone(),
            DedupEntry {
                message_id: "m".into(),
                sequence_number: "1".into(),
                expires_ms: 100,
            },
        );
        assert!(d.get(&k, 99).is_some());
        assert!(d.get(&k, 100).is_none());
        assert_eq!(d.forget_expired(100), vec![k]);
        assert!(d.entries.is_empty());
        assert_ne!(Dedup::key(true, "g1", "id"), Dedup::key(true, "g2", "id"));
    }

    #[test]
    fn sequence_numbers_increase() {
        let mut s = Sequencer::default();
        let a = s.next(1_000);
        let b = s.next(1_000);
        assert_eq!(a.len(), 20);
        assert!(b > a);
        s.observe("50000000000000000000");
        assert_eq!(
            s.next(0),
            "50000000000000000001",
            "continues after the highest one seen"
        );
    }

    #[test]
    fn tokens_and_names() {
        assert!(validate_token("MessageGroupId", "a-b_c!{}").is_ok());
        assert!(validate_token("MessageGroupId", "").is_err());
        assert!(validate_token("MessageGroupId", "é").is_err());
        assert!(validate_token("MessageGroupId", &"x".repeat(129)).is_err());
        assert!(valid_fifo_name("q.fifo"));
        assert!(!valid_fifo_name("q"));
        assert!(!valid_fifo_name(".fifo"));
    }
}
