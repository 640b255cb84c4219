//! Lookup structures shared by the rule set: a fast hasher and the trie of wanted paths.
//!
//! Matching cost is dominated by reading the event, so the reader must decide in a few
//! nanoseconds, for each key it meets, whether any rule cares about what is below it. The trie
//! answers that per key (short keys compared in place, larger fan-outs hashed), and the hasher
//! keeps every index lookup cheap.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A fast, non-cryptographic hash for path and value lookups (inputs are not adversarial in a
/// way that matters for a local emulator, and the maps are built from the user's own rules).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with the fast hasher.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The paths a rule set looks at, as a trie of keys (a path `a.b.c` is the steps `a`, `b`,
/// `c`). Reading an event walks it key by key, so no path string is ever built or hashed, and
/// an event key containing dots takes several steps at once, landing where the nested form would.
#[derive(Debug, Clone)]
pub(crate) struct PathTrie {
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// The path id when some rule has a field at exactly this path.
    leaf: Option<u32>,
    /// Children by key; searched linearly while small (most objects have few wanted keys).
    small: Vec<(Box<str>, u32)>,
    big: Option<FxMap<Box<str>, u32>>,
}

/// Children kept in a plain list up to this many, then in a hash map.
const SMALL: usize = 8;

/// The root of every trie.
pub(crate) const ROOT: u32 = 0;

impl Default for PathTrie {
    fn default() -> Self {
        PathTrie {
            nodes: vec![Node::default()],
        }
    }
}

impl PathTrie {
    /// The node for `path`, created if needed.
    fn insert(&mut self, path: &str) -> u32 {
        let mut node = ROOT;
        for key in path.split('.') {
            node = match self.step(node, key) {
                Some(n) => n,
                None => {
                    let n = self.nodes.len() as u32;
                    self.nodes.push(Node::default());
                    let parent = &mut self.nodes[node as usize];
                    if let Some(big) = parent.big.as_mut() {
                        big.insert(key.into(), n);
                    } else {
                        parent.small.push((key.into(), n));
                        if parent.small.len() > SMALL {
                            parent.big = Some(parent.small.drain(..).collect());
                        }
                    }
                    n
                }
            };
        }
        node
    }

    /// The path id of `path`, assigning `next` if the path is new; returns (id, was_new).
    pub(crate) fn leaf_id(&mut self, path: &str, next: u32) -> (u32, bool) {
        let n = self.insert(path) as usize;
        match self.nodes[n].leaf {
            Some(id) => (id, false),
            None => {
                self.nodes[n].leaf = Some(next);
                (next, true)
            }
        }
    }

    /// The path id of a dot-joined path, if some rule looks at it.
    pub(crate) fn find(&self, path: &str) -> Option<u32> {
        let mut node = ROOT;
        for key in path.split('.') {
            node = self.step(node, key)?;
        }
        self.nodes[node as usize].leaf
    }

    #[inline]
    fn step(&self, node: u32, key: &str) -> Option<u32> {
        let n = &self.nodes[node as usize];
        match &n.big {
            Some(big) => big.get(key).copied(),
            None => n
                .small
                .iter()
                .find(|(k, _)| k.len() == key.len() && k.as_ref() == key)
                .map(|(_, c)| *c),
        }
    }

    /// Follows an event key (which may itself contain dots) from `node`.
    #[inline]
    pub(crate) fn child(&self, node: u32, key: &str) -> Option<u32> {
        if !key.as_bytes().contains(&b'.') {
            return self.step(node, key);
        }
        let mut n = node;
        for part in key.split('.') {
            n = self.step(n, part)?;
        }
        Some(n)
    }

    #[inline]
    pub(crate) fn leaf(&self, node: u32) -> Option<u32> {
        self.nodes[node as usize].leaf
    }

    #[inline]
    pub(crate) fn has_children(&self, node: u32) -> bool {
        let n = &self.nodes[node as usize];
        !n.small.is_empty() || n.big.is_some()
    }
}
