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

use super::Loc;
use std::hash::BuildHasher;

/// How many maps the index is split into.
pub const SHARDS: usize = 64;

type Map = foldhash::HashMap<Box<[u8]>, Loc>;

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

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Loc> {
        let i = self.shard(key);
        self.shards[i].get_mut(key)
    }

    pub fn insert(&mut self, key: &[u8], loc: Loc) {
        let i = self.shard(key);
        self.shards[i].insert(key.into(), loc);
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
            .flat_map(|m| m.iter().map(|(k, l)| (&k[..], l)))
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
            index.insert(&n.to_be_bytes(), loc(n));
        }
        assert_eq!(index.len(), 10_000);
        assert!(index.shards.iter().all(|m| !m.is_empty()), "keys spread");
        for n in (0..10_000u32).step_by(2) {
            assert_eq!(index.remove(&n.to_be_bytes()), Some(loc(n)));
        }
        index.get_mut(&1u32.to_be_bytes()).unwrap().off = 99;
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
}
