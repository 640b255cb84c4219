//! Where each live key's value sits: a hash map split into shards. One map of a million keys
//! doubles in one go, rehashing every key under the log's lock: measured at 35 ms for 230,000
//! keys (its keys live on the heap, so each rehash is a cache miss), a stall every writer shares.
//! With [`SHARDS`] maps each doubling moves a 64th of the keys, and the stalls shrink alike.
//!
//! Keys are ferry's own (a family byte, a queue id, a sequence number; a FIFO deduplication key
//! adds the client's group and deduplication ids). Every send, receive and delete looks keys up
//! here under the log's lock, so the hasher is foldhash rather than SipHash: several times
//! cheaper, still seeded at random per process, so a client cannot aim ids at one bucket without
//! knowing the seed. (ferry serves localhost; SipHash's stronger guarantee against flooding buys
//! nothing a local client could not get by simply sending more.)
//!
//! A key of up to [`INLINE`] bytes (a message's, its state's, a pending delivery's) sits in the
//! map's own slot: no allocation per key, and no pointer to follow when a lookup compares keys or
//! a doubling rehashes them. Longer keys (FIFO deduplication) are boxed.

use super::Loc;
use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash, Hasher};

/// How many maps the index is split into.
pub const SHARDS: usize = 64;

/// The longest key kept in the slot itself.
pub const INLINE: usize = 22;

type Map = foldhash::HashMap<Key, Loc>;

/// A key as the index holds it: in place when short, boxed otherwise. It hashes and compares as
/// its bytes, so the maps are searched with a plain `&[u8]`.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Boxed(Box<[u8]>),
}

/// A slot's key costs 24 bytes, 8 more than a box, and saves the box's heap block (32 bytes).
const _: () = assert!(std::mem::size_of::<Key>() == 24);

impl Key {
    fn new(key: &[u8]) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Boxed(key.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..*len as usize],
            Key::Boxed(b) => b,
        }
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.bytes()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Key {}

pub struct Index {
    /// Picks a key's shard (a seed apart from the maps' own).
    pick: foldhash::fast::RandomState,
    shards: Vec<Map>,
}

impl Default for Index {
    fn default() -> Self {
        Index {
            pick: foldhash::fast::RandomState::default(),
            shards: (0..SHARDS).map(|_| Map::default()).collect(),
        }
    }
}

impl Index {
    fn shard(&self, key: &[u8]) -> usize {
        (self.pick.hash_one(key) >> 58) as usize % SHARDS
    }

    pub fn get(&self, key: &[u8]) -> Option<&Loc> {
        self.shards[self.shard(key)].get(key)
    }

    /// Sets `key`'s location to what `make` makes of the current one (if any), and returns the
    /// location it replaces: one search where `get_mut` and `insert` would make two.
    pub fn put(&mut self, key: &[u8], make: impl FnOnce(Option<&Loc>) -> Loc) -> Option<Loc> {
        let i = self.shard(key);
        let map = &mut self.shards[i];
        if key.len() > INLINE {
            // A long key would be boxed for the search alone; look it up by its bytes first.
            if let Some(slot) = map.get_mut(key) {
                let loc = make(Some(slot));
                return Some(std::mem::replace(slot, loc));
            }
            map.insert(Key::new(key), make(None));
            return None;
        }
        match map.entry(Key::new(key)) {
            Entry::Occupied(mut e) => {
                let loc = make(Some(e.get()));
                Some(e.insert(loc))
            }
            Entry::Vacant(e) => {
                e.insert(make(None));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Loc> {
        let i = self.shard(key);
        self.shards[i].remove(key)
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(Map::len).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Loc)> {
        self.shards
            .iter()
            .flat_map(|m| m.iter().map(|(k, l)| (k.bytes(), l)))
    }

    /// Gives back the spare room of shards that hold far fewer keys than they have room for (a
    /// map never shrinks by itself).
    pub fn trim(&mut self) {
        for m in &mut self.shards {
            if m.capacity() > 4 * m.len() + 64 {
                m.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(n: u32) -> Loc {
        Loc {
            seg: n,
            off: n,
            len: n,
            first: n,
        }
    }

    /// The shards behave as one map: what goes in comes out, removals take, and every key is
    /// listed once.
    #[test]
    fn shards_act_as_one_map() {
        let mut index = Index::default();
        for n in 0..10_000u32 {
            index.put(&n.to_be_bytes(), |_| loc(n));
        }
        assert_eq!(index.len(), 10_000);
        assert!(index.shards.iter().all(|m| !m.is_empty()), "keys spread");
        for n in (0..10_000u32).step_by(2) {
            assert_eq!(index.remove(&n.to_be_bytes()), Some(loc(n)));
        }
        let old = index.put(&1u32.to_be_bytes(), |o| Loc {
            off: 99,
            ..*o.unwrap()
        });
        assert_eq!(old, Some(loc(1)));
        assert_eq!(index.get(&1u32.to_be_bytes()).unwrap().off, 99);
        assert_eq!(index.get(&2u32.to_be_bytes()), None);
        index.trim();
        let mut listed: Vec<u32> = index
            .iter()
            .map(|(k, _)| u32::from_be_bytes(k.try_into().unwrap()))
            .collect();
        listed.sort_unstable();
        assert_eq!(listed, (1..10_000).step_by(2).collect::<Vec<_>>());
    }

    /// Keys short enough to sit in the slot and keys that are boxed are found, replaced and
    /// removed alike, by their bytes; a short key is not the prefix of a longer one.
    #[test]
    fn inline_and_boxed_keys_behave_alike() {
        let mut index = Index::default();
        let keys: Vec<Vec<u8>> = [0, 1, INLINE - 1, INLINE, INLINE + 1, 200]
            .iter()
            .map(|&n| vec![7u8; n])
            .collect();
        for (i, k) in keys.iter().enumerate() {
            index.put(k, |_| loc(i as u32));
        }
        assert_eq!(index.len(), keys.len());
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(index.get(k), Some(&loc(i as u32)), "{} bytes", k.len());
        }
        index.put(&keys[3], |_| loc(30));
        index.put(&keys[4], |_| loc(40));
        assert_eq!(index.len(), keys.len(), "replaced, not added");
        for (k, before) in [(&keys[2], loc(2)), (&keys[5], loc(5))] {
            let seen = std::cell::Cell::new(None);
            let old = index.put(k, |o| {
                seen.set(o.copied());
                loc(50)
            });
            assert_eq!((old, seen.get()), (Some(before), Some(before)));
            assert_eq!(index.get(k), Some(&loc(50)), "{} bytes", k.len());
        }
        assert_eq!(
            index.put(&[9u8; 3], |o| {
                assert!(o.is_none());
                loc(60)
            }),
            None
        );
        assert_eq!(
            index.put(&[9u8; 40], |o| {
                assert!(o.is_none());
                loc(61)
            }),
            None
        );
        assert_eq!(
            index.len(),
            keys.len() + 2,
            "put replaces, or adds what is new"
        );
        assert_eq!(index.remove(&[9u8; 3]), Some(loc(60)));
        assert_eq!(index.remove(&[9u8; 40]), Some(loc(61)));
        assert_eq!(index.remove(&keys[3]), Some(loc(30)));
        assert_eq!(index.remove(&keys[4]), Some(loc(40)));
        assert_eq!(index.get(&keys[3]), None);
        assert_eq!(index.get(&[7u8; 3]), None);
        let mut listed: Vec<usize> = index.iter().map(|(k, _)| k.len()).collect();
        listed.sort_unstable();
        assert_eq!(listed, [0, 1, INLINE - 1, 200]);
    }
}
