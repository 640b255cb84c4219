//! FIFO queues: the ready set ordered per message group with group locking, deduplication
//! windows, sequence numbers, and the validation of FIFO parameters.
//!
//! A group is *locked* while any of its messages is in flight: its messages are not handed out,
//! so two consumers never hold the same group at once and order within a group holds across
//! visibility timeouts and redrives. Other groups keep flowing.

use crate::error::{ApiError, ApiResult, ErrorCode};
use std::collections::{BTreeSet, HashMap};

/// How long a deduplication id (or content hash) is remembered, from the first send.
pub const DEDUP_WINDOW_MS: u64 = 5 * 60 * 1000;

/// Messages that are visible now, in the order receives take them.
#[derive(Debug)]
pub enum Ready {
    /// Standard queues: oldest first.
    Standard(BTreeSet<u64>),
    /// FIFO queues: oldest first within each group; locked groups are skipped.
    Fifo(Groups),
}

#[derive(Debug, Default)]
pub struct Groups {
    groups: HashMap<Box<str>, Group>,
    /// (head sequence, group) of every unlocked group with ready messages.
    available: BTreeSet<(u64, Box<str>)>,
    len: usize,
}

#[derive(Debug, Default)]
struct Group {
    ready: BTreeSet<u64>,
    in_flight: usize,
}

impl Groups {
    fn head(&self, name: &str) -> Option<u64> {
        self.groups.get(name).and_then(|g| g.ready.first().copied())
    }

    /// Re-indexes `name` in `available` after its head or lock changed.
    fn reindex(&mut self, name: &str, old_head: Option<u64>, was_available: bool) {
        if let (Some(h), true) = (old_head, was_available) {
            self.available.remove(&(h, name.into()));
        }
        let Some(g) = self.groups.get(name) else {
            return;
        };
        if g.in_flight == 0
            && let Some(&h) = g.ready.first()
        {
            self.available.insert((h, name.into()));
        }
        if g.ready.is_empty() && g.in_flight == 0 {
            self.groups.remove(name);
        }
    }

    fn is_available(&self, name: &str) -> bool {
        self.groups
            .get(name)
            .is_some_and(|g| g.in_flight == 0 && !g.ready.is_empty())
    }

    fn change(&mut self, name: &str, f: impl FnOnce(&mut Group)) {
        let old_head = self.head(name);
        let was = self.is_available(name);
        f(self.groups.entry(name.into()).or_default());
        self.reindex(name, old_head, was);
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

    pub fn insert(&mut self, seq: u64, group: &str) {
        match self {
            Ready::Standard(s) => {
                s.insert(seq);
            }
            Ready::Fifo(g) => {
                let mut added = false;
                g.change(group, |grp| added = grp.ready.insert(seq));
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
                    .is_some_and(|grp| grp.ready.contains(&seq))
                {
                    return false;
                }
                g.change(group, |grp| {
                    grp.ready.remove(&seq);
                });
                g.len -= 1;
                true
            }
        }
    }

    /// Takes the next message to hand out. FIFO: from `prefer` (a group this receive already
    /// holds) while it has ready messages, else from the unlocked group with the oldest head.
    pub fn pop(&mut self, prefer: Option<&str>) -> Option<u64> {
        match self {
            Ready::Standard(s) => s.pop_first(),
            Ready::Fifo(g) => {
                let name: Box<str> = match prefer.filter(|p| g.head(p).is_some()) {
                    Some(p) => p.into(),
                    None => g.available.first()?.1.clone(),
                };
                let seq = g.head(&name)?;
                g.change(&name, |grp| {
                    grp.ready.remove(&seq);
                });
                g.len -= 1;
                Some(seq)
            }
        }
    }

    /// A message of `group` entered (+1) or left (-1) flight; groups lock while any is in flight.
    pub fn flight(&mut self, group: &str, delta: isize) {
        if let Ready::Fifo(g) = self {
            g.change(group, |grp| {
                grp.in_flight = grp.in_flight.saturating_add_signed(delta)
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
    fn groups_lock_while_in_flight_and_keep_order() {
        let mut r = Ready::new(true);
        for (seq, g) in [(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "c")] {
            r.insert(seq, g);
        }
        assert_eq!(r.pop(None), Some(1));
        r.flight("a", 1);
        // a is locked: the next receive gets b, not a's second message.
        assert_eq!(r.pop(None), Some(2));
        r.flight("b", 1);
        // but the receive holding a may take more of a, in order.
        assert_eq!(r.pop(Some("a")), Some(3));
        assert_eq!(r.pop(None), Some(5));
        r.flight("c", 1);
        assert_eq!(r.pop(None), None, "every remaining group is locked");
        r.flight("b", -1);
        assert_eq!(r.pop(None), Some(4));
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn message_returning_from_flight_goes_first_again() {
        let mut r = Ready::new(true);
        r.insert(1, "g");
        r.insert(2, "g");
        assert_eq!(r.pop(None), Some(1));
        r.flight("g", 1);
        assert_eq!(r.pop(None), None);
        // visibility timeout: 1 is ready again and the group unlocks
        r.insert(1, "g");
        r.flight("g", -1);
        assert_eq!(r.pop(None), Some(1));
        assert!(r.remove(2, "g"));
        assert!(!r.remove(2, "g"));
        assert!(r.is_empty());
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
