//! Per-path indexes that turn an event leaf into the few rule branches it could satisfy.
//!
//! This is what makes matching cost independent of the number of rules: each branch is filed
//! under one "anchor" condition, and a leaf finds the branches whose anchor it satisfies with
//! hash lookups (exact values, case-folded values, prefixes and suffixes by each distinct length
//! in use, wildcard literal heads and tails) or a segment-tree stab (numeric ranges). Only those
//! candidates are then checked in full. The index is only a filter, so it must never miss a branch
//! whose anchor holds; it may return extra candidates.

use super::matcher::{Exact, Leaf, Matcher, fold};
use super::trie::FxMap;

/// Strings keyed by a prefix (or suffix) of the value, with the distinct key lengths in use.
#[derive(Debug, Default)]
pub(crate) struct Affix {
    map: FxMap<Box<str>, Vec<u32>>,
    lens: Vec<usize>,
}

impl Affix {
    fn add(&mut self, key: &str, b: u32) {
        self.map.entry(key.into()).or_default().push(b);
        if let Err(at) = self.lens.binary_search(&key.len()) {
            self.lens.insert(at, key.len());
        }
    }

    fn prefixes(&self, s: &str, out: &mut Vec<u32>) {
        for &n in &self.lens {
            if n > s.len() {
                break;
            }
            if let Some(k) = s.get(..n)
                && let Some(v) = self.map.get(k)
            {
                out.extend_from_slice(v);
            }
        }
    }

    fn suffixes(&self, s: &str, out: &mut Vec<u32>) {
        for &n in &self.lens {
            if n > s.len() {
                break;
            }
            if let Some(k) = s.get(s.len() - n..)
                && let Some(v) = self.map.get(k)
            {
                out.extend_from_slice(v);
            }
        }
    }
}

/// Closed integer intervals, stabbed by a point: a segment tree over the elementary segments.
#[derive(Debug, Default)]
pub(crate) struct Intervals {
    pending: Vec<((i64, i64), u32)>,
    bounds: Vec<i64>,
    tree: Vec<Vec<u32>>,
    segments: usize,
}

impl Intervals {
    fn add(&mut self, keys: (i64, i64), b: u32) {
        if keys.0 <= keys.1 {
            self.pending.push((keys, b));
        }
    }

    fn build(&mut self) {
        let mut bounds: Vec<i64> = Vec::with_capacity(self.pending.len() * 2);
        for &((lo, hi), _) in &self.pending {
            bounds.push(lo);
            if hi < i64::MAX {
                bounds.push(hi + 1);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        self.segments = bounds.len();
        self.tree = vec![Vec::new(); 4 * self.segments.max(1)];
        self.bounds = bounds;
        let pending = std::mem::take(&mut self.pending);
        for ((lo, hi), b) in pending {
            let first = self.bounds.partition_point(|&x| x < lo);
            let last = if hi == i64::MAX {
                self.segments - 1
            } else {
                self.bounds.partition_point(|&x| x < hi + 1) - 1
            };
            if first <= last {
                self.insert(1, 0, self.segments - 1, first, last, b);
            }
        }
    }

    fn insert(&mut self, node: usize, l: usize, r: usize, a: usize, z: usize, b: u32) {
        if a <= l && r <= z {
            self.tree[node].push(b);
            return;
        }
        let mid = (l + r) / 2;
        if a <= mid {
            self.insert(2 * node, l, mid, a, z, b);
        }
        if z > mid {
            self.insert(2 * node + 1, mid + 1, r, a, z, b);
        }
    }

    fn stab(&self, key: i64, out: &mut Vec<u32>) {
        if self.segments == 0 {
            return;
        }
        let j = self.bounds.partition_point(|&x| x <= key);
        if j == 0 {
            return;
        }
        let j = j - 1;
        let (mut node, mut l, mut r) = (1, 0, self.segments - 1);
        loop {
            out.extend_from_slice(&self.tree[node]);
            if l == r {
                return;
            }
            let mid = (l + r) / 2;
            if j <= mid {
                node *= 2;
                r = mid;
            } else {
                node = 2 * node + 1;
                l = mid + 1;
            }
        }
    }
}

/// Everything filed under one path.
#[derive(Debug, Default)]
pub(crate) struct PathIndex {
    exact_str: FxMap<Box<str>, Vec<u32>>,
    exact_num: FxMap<i64, Vec<u32>>,
    exact_num_text: FxMap<Box<str>, Vec<u32>>,
    exact_bool: [Vec<u32>; 2],
    exact_null: Vec<u32>,
    prefix: Affix,
    suffix: Affix,
    prefix_ic: Affix,
    suffix_ic: Affix,
    equals_ic: FxMap<Box<str>, Vec<u32>>,
    wild_head: Affix,
    wild_tail: Affix,
    /// Candidates for every string leaf (CIDR blocks, wildcards with no literal end).
    any_string: Vec<u32>,
    numeric: Intervals,
    /// Candidates for any leaf at all (anything-but, exists).
    any_leaf: Vec<u32>,
    folds: bool,
}

/// Which bucket of its path's index a condition is filed in: branches sharing a bucket are all
/// candidates together, so the anchor of a branch is chosen to be its rarest bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Bucket {
    /// A bucket selected by a key (value, prefix, suffix, wildcard head or tail).
    Keyed(u8, Box<str>),
    /// Numeric ranges: selective through the interval tree, whatever their number.
    Numeric,
    /// Candidates for every leaf, or every string leaf, at the path.
    Broad(u8),
}

/// The bucket a condition is filed in; `None` for conditions that cannot anchor a branch.
pub(crate) fn bucket(m: &Matcher) -> Option<Bucket> {
    let keyed = |tag: u8, key: &str| Some(Bucket::Keyed(tag, key.into()));
    match m {
        Matcher::Exact(Exact::Str(s)) => keyed(0, s),
        Matcher::Exact(Exact::Num(t, _)) => keyed(1, t),
        Matcher::Exact(Exact::Bool(b)) => keyed(2, if *b { "t" } else { "f" }),
        Matcher::Exact(Exact::Null) => keyed(2, "n"),
        Matcher::Prefix(s) => keyed(3, s),
        Matcher::Suffix(s) => keyed(4, s),
        Matcher::PrefixIc(s) => keyed(5, s),
        Matcher::SuffixIc(s) => keyed(6, s),
        Matcher::EqualsIc(s) => keyed(7, s),
        Matcher::Wildcard(w) => {
            let (head, tail) = (&w.pieces[0], &w.pieces[w.pieces.len() - 1]);
            if let Some(lit) = w.literal() {
                keyed(0, lit)
            } else if !head.is_empty() {
                keyed(8, head)
            } else if !tail.is_empty() {
                keyed(9, tail)
            } else {
                Some(Bucket::Broad(0))
            }
        }
        Matcher::Numeric(_) => Some(Bucket::Numeric),
        Matcher::Ip(_) => Some(Bucket::Broad(0)),
        Matcher::Exists(false) => None,
        _ => Some(Bucket::Broad(1)),
    }
}

impl PathIndex {
    /// Files branch `b` under condition `m`.
    pub(crate) fn add(&mut self, m: &Matcher, b: u32) {
        match m {
            Matcher::Exact(Exact::Str(s)) => {
                self.exact_str.entry(s.as_str().into()).or_default().push(b)
            }
            Matcher::Exact(Exact::Num(t, v)) => {
                self.exact_num_text
                    .entry(t.as_str().into())
                    .or_default()
                    .push(b);
                if let Some(v) = v {
                    self.exact_num.entry(*v).or_default().push(b);
                }
            }
            Matcher::Exact(Exact::Bool(x)) => self.exact_bool[*x as usize].push(b),
            Matcher::Exact(Exact::Null) => self.exact_null.push(b),
            Matcher::Prefix(s) => self.prefix.add(s, b),
            Matcher::Suffix(s) => self.suffix.add(s, b),
            Matcher::PrefixIc(s) => {
                self.folds = true;
                self.prefix_ic.add(s, b)
            }
            Matcher::SuffixIc(s) => {
                self.folds = true;
                self.suffix_ic.add(s, b)
            }
            Matcher::EqualsIc(s) => {
                self.folds = true;
                self.equals_ic.entry(s.as_str().into()).or_default().push(b)
            }
            Matcher::Wildcard(w) => {
                let (head, tail) = (&w.pieces[0], &w.pieces[w.pieces.len() - 1]);
                if let Some(lit) = w.literal() {
                    self.exact_str.entry(lit.into()).or_default().push(b);
                } else if !head.is_empty() {
                    self.wild_head.add(head, b);
                } else if !tail.is_empty() {
                    self.wild_tail.add(tail, b);
                } else {
                    self.any_string.push(b);
                }
            }
            Matcher::Ip(_) => self.any_string.push(b),
            Matcher::Numeric(r) => self.numeric.add(r.keys(), b),
            Matcher::Exists(false) => {}
            _ => self.any_leaf.push(b),
        }
    }

    /// Finishes building (the numeric tree is built once, after all additions).
    pub(crate) fn seal(&mut self) {
        self.numeric.build();
    }

    /// Appends the branches whose anchor this leaf may satisfy.
    pub(crate) fn candidates(&self, leaf: &Leaf<'_>, out: &mut Vec<u32>) {
        match leaf {
            Leaf::Str(s) => {
                if let Some(v) = self.exact_str.get(s.as_ref()) {
                    out.extend_from_slice(v);
                }
                self.prefix.prefixes(s, out);
                self.suffix.suffixes(s, out);
                self.wild_head.prefixes(s, out);
                self.wild_tail.suffixes(s, out);
                if self.folds {
                    let f = fold(s);
                    if let Some(v) = self.equals_ic.get(f.as_ref()) {
                        out.extend_from_slice(v);
                    }
                    self.prefix_ic.prefixes(&f, out);
                    self.suffix_ic.suffixes(&f, out);
                }
                out.extend_from_slice(&self.any_string);
            }
            Leaf::Num(t, v) => {
                if let Some(x) = self.exact_num_text.get(t.as_ref()) {
                    out.extend_from_slice(x);
                }
                if let Some(v) = v {
                    if let Some(x) = self.exact_num.get(v) {
                        out.extend_from_slice(x);
                    }
                    self.numeric.stab(2 * v, out);
                }
            }
            Leaf::Bool(x) => out.extend_from_slice(&self.exact_bool[*x as usize]),
            Leaf::Null => out.extend_from_slice(&self.exact_null),
        }
        out.extend_from_slice(&self.any_leaf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stab_exactly() {
        let mut iv = Intervals::default();
        iv.add((0, 10), 1);
        iv.add((5, 5), 2);
        iv.add((i64::MIN, 3), 3);
        iv.add((9, i64::MAX), 4);
        iv.build();
        let stab = |k| {
            let mut out = Vec::new();
            iv.stab(k, &mut out);
            out.sort();
            out
        };
        assert_eq!(stab(-100), vec![3]);
        assert_eq!(stab(0), vec![1, 3]);
        assert_eq!(stab(4), vec![1]);
        assert_eq!(stab(5), vec![1, 2]);
        assert_eq!(stab(10), vec![1, 4]);
        assert_eq!(stab(11), vec![4]);
        assert_eq!(stab(i64::MAX), vec![4]);
    }

    #[test]
    fn affixes_by_length() {
        let mut a = Affix::default();
        a.add("ab", 1);
        a.add("", 2);
        a.add("abc", 3);
        let mut out = Vec::new();
        a.prefixes("abd", &mut out);
        assert_eq!(out, vec![2, 1]);
        let mut out = Vec::new();
        a.suffixes("xabc", &mut out);
        assert_eq!(out, vec![2, 3]);
        let mut out = Vec::new();
        a.prefixes("é", &mut out);
        assert_eq!(out, vec![2]);
    }
}
