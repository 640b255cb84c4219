//! Bookkeeping of deliveries for one queue: which messages were acknowledged to the sender, which
//! arrived, how often, and with which id. Lost and duplicated messages are counted from it.

use std::collections::{HashMap, HashSet};

/// Deliveries to one queue, keyed by [`crate::body::key`].
#[derive(Debug, Default)]
pub struct Tracker {
    /// Acknowledged sends, with the id the sender was given (checked on arrival when known).
    expected: HashMap<u64, Option<String>>,
    /// Sends that got no usable answer (timeout, error): they may arrive or not, either is fine.
    maybe: HashSet<u64>,
    /// How often each known key arrived.
    seen: HashMap<u64, u32>,
    /// Expected keys seen at least once.
    seen_expected: usize,
    /// Arrivals that are no message of this run (unreadable body or unknown key).
    pub unknown: u64,
    /// Arrivals whose id differs from the one the sender was given.
    pub id_mismatch: u64,
}

impl Tracker {
    /// Records an acknowledged send.
    pub fn expect(&mut self, key: u64, id: Option<String>) {
        self.maybe.remove(&key);
        if self.expected.insert(key, id).is_none() && self.seen.contains_key(&key) {
            self.seen_expected += 1;
        }
    }

    /// Records a send whose outcome is unknown.
    pub fn maybe(&mut self, key: u64) {
        if !self.expected.contains_key(&key) {
            self.maybe.insert(key);
        }
    }

    /// Records an arrival (`key` is `None` for a body that is not one of ours); true the first
    /// time a known key arrives.
    pub fn observe(&mut self, key: Option<u64>, id: Option<&str>) -> bool {
        let Some(key) = key else {
            self.unknown += 1;
            return false;
        };
        let expected = match self.expected.get(&key) {
            Some(want) => {
                if let (Some(want), Some(got)) = (want, id)
                    && want != got
                {
                    self.id_mismatch += 1;
                }
                true
            }
            None if self.maybe.contains(&key) => false,
            None => {
                self.unknown += 1;
                return false;
            }
        };
        let n = self.seen.entry(key).or_insert(0);
        *n += 1;
        if *n == 1 && expected {
            self.seen_expected += 1;
        }
        *n == 1
    }

    /// Every acknowledged send has arrived.
    pub fn complete(&self) -> bool {
        self.seen_expected == self.expected.len()
    }

    /// Acknowledged sends.
    pub fn expected(&self) -> u64 {
        self.expected.len() as u64
    }

    /// Acknowledged sends that never arrived.
    pub fn lost(&self) -> u64 {
        (self.expected.len() - self.seen_expected) as u64
    }

    /// Arrivals beyond the first of each message.
    pub fn duplicates(&self) -> u64 {
        self.seen
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum()
    }

    /// Distinct messages of this run that arrived.
    pub fn unique(&self) -> u64 {
        self.seen.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_duplicates_unknown_and_ids() {
        let mut t = Tracker::default();
        for k in 0..5 {
            t.expect(k, Some(format!("id{k}")));
        }
        t.maybe(9);
        assert!(!t.complete());
        assert!(t.observe(Some(0), Some("id0")));
        assert!(!t.observe(Some(0), Some("id0")));
        assert!(t.observe(Some(1), Some("other")));
        assert!(t.observe(Some(2), None));
        assert!(t.observe(Some(9), None)); // sent without an answer: delivered, not unknown, never lost
        assert!(!t.observe(Some(42), None));
        assert!(!t.observe(None, None));
        assert_eq!((t.expected(), t.lost(), t.duplicates()), (5, 2, 1));
        assert_eq!((t.unknown, t.id_mismatch, t.unique()), (2, 1, 4));
        t.observe(Some(3), None);
        t.observe(Some(4), None);
        assert!(t.complete());
        assert_eq!(t.lost(), 0);
    }

    #[test]
    fn an_arrival_before_its_acknowledgement_still_counts() {
        let mut t = Tracker::default();
        t.maybe(7);
        t.observe(Some(7), None);
        t.expect(7, None);
        assert!(t.complete());
        assert_eq!((t.lost(), t.unknown), (0, 0));
    }

    #[test]
    fn nothing_expected_is_complete() {
        assert!(Tracker::default().complete());
    }
}
