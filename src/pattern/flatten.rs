//! Turning an event into leaves: (dot-joined path, scalar) pairs, as AWS's matcher sees it.
//!
//! Two readers share the meaning. `flatten_jval` walks a parsed document and keeps every leaf;
//! it serves TestEventPattern, SNS bodies and the reference evaluator. `scan` reads event text
//! directly and keeps only the paths some rule mentions, skipping every other subtree at memory
//! speed (strings are skipped eight bytes at a time): a rule set never pays for the parts of
//! a 1 KB event it does not look at, which is most of it. Path strings are built by joining keys
//! with `.`, so an event key that itself contains a dot lands on the same path as the nested
//! form, which is how AWS behaves.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::json::{self, JVal};
use super::matcher::{Entry, Leaf};
use super::numeric::NumLimits;

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

/// What a rule set wants at one path: its leaves (with the path's id) and/or its subtree.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Want {
    pub leaf: Option<u32>,
    pub descend: bool,
}

fn number_leaf<'a>(text: Cow<'a, str>, limits: NumLimits) -> Leaf<'a> {
    let v = limits.scaled(&text).ok();
    Leaf::Num(text, v)
}

/// Every leaf of a parsed document, with its path.
pub(crate) fn flatten_jval<'a>(v: &'a JVal, limits: NumLimits) -> Vec<(String, Entry<'a>)> {
    let mut out = Vec::new();
    let mut arrays = Vec::new();
    let mut next = 0u32;
    walk(
        v,
        &mut String::new(),
        &mut arrays,
        &mut next,
        limits,
        &mut out,
    );
    out
}

fn walk<'a>(
    v: &'a JVal,
    path: &mut String,
    arrays: &mut Vec<(u32, u32)>,
    next: &mut u32,
    limits: NumLimits,
    out: &mut Vec<(String, Entry<'a>)>,
) {
    let leaf = match v {
        JVal::Obj(members) => {
            for (k, child) in members {
                let len = path.len();
                if len > 0 {
                    path.push('.');
                }
                path.push_str(k);
                walk(child, path, arrays, next, limits, out);
                path.truncate(len);
            }
            return;
        }
        JVal::Arr(items) => {
            let id = *next;
            *next += 1;
            for (ix, item) in items.iter().enumerate() {
                arrays.push((id, ix as u32));
                walk(item, path, arrays, next, limits, out);
                arrays.pop();
            }
            return;
        }
        JVal::Str(s) => Leaf::Str(Cow::Borrowed(s)),
        JVal::Num(t) => number_leaf(Cow::Borrowed(t), limits),
        JVal::Bool(b) => Leaf::Bool(*b),
        JVal::Null => Leaf::Null,
    };
    out.push((
        path.clone(),
        Entry {
            leaf,
            arrays: arrays.clone(),
        },
    ));
}

/// Reads event text, keeping the leaves at paths `want` asks for. Fails on text that is not a
/// JSON object (the reader checks structure as far as it reads, not every skipped byte).
pub(crate) fn scan<'a>(
    src: &'a str,
    want: &impl Fn(&str) -> Want,
    limits: NumLimits,
    out: &mut Vec<(u32, Entry<'a>)>,
) -> Result<(), ()> {
    let mut s = Scanner {
        src,
        b: src.as_bytes(),
        i: 0,
        path: String::with_capacity(64),
        arrays: Vec::new(),
        next_array: 0,
        limits,
    };
    s.ws();
    if s.peek() != Some(b'{') {
        return Err(());
    }
    s.value(
        Want {
            leaf: None,
            descend: true,
        },
        want,
        out,
        0,
    )?;
    s.ws();
    if s.i != s.b.len() {
        return Err(());
    }
    Ok(())
}

struct Scanner<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    path: String,
    arrays: Vec<(u32, u32)>,
    next_array: u32,
    limits: NumLimits,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

#[inline]
fn has_byte(w: u64, b: u8) -> bool {
    let x = w ^ (ONES * b as u64);
    (x.wrapping_sub(ONES) & !x & HIGHS) != 0
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// Moves to the next `"` or `\` from the current position.
    #[inline]
    fn to_quote_or_escape(&mut self) {
        while self.i + 8 <= self.b.len() {
            let w = u64::from_le_bytes(self.b[self.i..self.i + 8].try_into().unwrap_or([0; 8]));
            if has_byte(w, b'"') || has_byte(w, b'\\') {
                break;
            }
            self.i += 8;
        }
        while let Some(c) = self.peek() {
            if c == b'"' || c == b'\\' {
                return;
            }
            self.i += 1;
        }
    }

    /// Skips a string whose opening quote is at `i`.
    fn skip_string(&mut self) -> Result<(), ()> {
        self.i += 1;
        loop {
            self.to_quote_or_escape();
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(_) => self.i += 2,
                None => return Err(()),
            }
        }
    }

    /// Reads a string whose opening quote is at `i`, borrowing when it has no escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, ()> {
        let start = self.i;
        self.i += 1;
        self.to_quote_or_escape();
        match self.peek() {
            Some(b'"') => {
                let s = self.src.get(start + 1..self.i).ok_or(())?;
                self.i += 1;
                Ok(Cow::Borrowed(s))
            }
            Some(_) => {
                let (s, end) = json::read_string(self.b, start).map_err(|_| ())?;
                self.i = end;
                Ok(Cow::Owned(s))
            }
            None => Err(()),
        }
    }

    /// Skips one value of any kind without looking inside.
    fn skip_value(&mut self) -> Result<(), ()> {
        let mut depth = 0usize;
        loop {
            match self.peek().ok_or(())? {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return Ok(());
                    }
                    depth -= 1;
                    self.i += 1;
                }
                b',' if depth == 0 => return Ok(()),
                _ => self.i += 1,
            }
            if depth == 0 {
                // A scalar ends at the next delimiter; a container just closed.
                let c = self.b.get(self.i.wrapping_sub(1)).copied();
                if matches!(c, Some(b'}' | b']' | b'"')) {
                    return Ok(());
                }
            }
        }
    }

    fn value(
        &mut self,
        here: Want,
        want: &impl Fn(&str) -> Want,
        out: &mut Vec<(u32, Entry<'a>)>,
        depth: usize,
    ) -> Result<(), ()> {
        if depth > json::MAX_DEPTH {
            return Err(());
        }
        match self.peek().ok_or(())? {
            b'{' => {
                if !here.descend {
                    return self.skip_value();
                }
                self.i += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(());
                    }
                    let key = self.string()?;
                    let len = self.path.len();
                    if len > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(&key);
                    let w = want(&self.path);
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(());
                    }
                    self.i += 1;
                    self.ws();
                    if w.leaf.is_none() && !w.descend {
                        self.skip_value()?;
                    } else {
                        self.value(w, want, out, depth + 1)?;
                    }
                    self.path.truncate(len);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(()),
                    }
                }
            }
            b'[' => {
                let id = self.next_array;
                self.next_array += 1;
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(());
                }
                let mut ix = 0u32;
                loop {
                    self.ws();
                    self.arrays.push((id, ix));
                    let r = self.value(here, want, out, depth + 1);
                    self.arrays.pop();
                    r?;
                    ix += 1;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(()),
                    }
                }
            }
            c => {
                let leaf = match c {
                    b'"' => {
                        if here.leaf.is_none() {
                            return self.skip_string();
                        }
                        Leaf::Str(self.string()?)
                    }
                    b't' | b'f' | b'n' => {
                        let (word, leaf): (&[u8], Leaf<'a>) = match c {
                            b't' => (b"true", Leaf::Bool(true)),
                            b'f' => (b"false", Leaf::Bool(false)),
                            _ => (b"null", Leaf::Null),
                        };
                        if !self.b[self.i..].starts_with(word) {
                            return Err(());
                        }
                        self.i += word.len();
                        leaf
                    }
                    _ => {
                        let start = self.i;
                        let end = json::number_end(self.b, start).ok_or(())?;
                        self.i = end;
                        if here.leaf.is_none() {
                            return Ok(());
                        }
                        let text = self.src.get(start..end).ok_or(())?;
                        number_leaf(Cow::Borrowed(text), self.limits)
                    }
                };
                if let Some(id) = here.leaf {
                    out.push((
                        id,
                        Entry {
                            leaf,
                            arrays: self.arrays.clone(),
                        },
                    ));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::numeric::EVENTBRIDGE;

    fn paths(src: &str) -> Vec<(String, String)> {
        let v = json::parse(src).unwrap();
        flatten_jval(&v, EVENTBRIDGE)
            .into_iter()
            .map(|(p, e)| (p, format!("{:?}", e.leaf)))
            .collect()
    }

    #[test]
    fn dotted_keys_join_like_nesting() {
        let a = paths(r#"{"detail":{"state.status":"running"}}"#);
        let b = paths(r#"{"detail":{"state":{"status":"running"}}}"#);
        assert_eq!(a, b);
        assert_eq!(a[0].0, "detail.state.status");
    }

    #[test]
    fn arrays_are_transparent_objects_are_not_leaves() {
        let p = paths(r#"{"a":[1,[2,{"b":null}]],"c":{},"d":[]}"#);
        let names: Vec<&str> = p.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, vec!["a", "a", "a.b"]);
    }

    #[test]
    fn scan_keeps_only_wanted_paths_and_skips_the_rest() {
        let src = r#"{"x":{"y":"s\"kip","z":[1,{"q":"\\"}]},"a":{"b":["v1","v\u00e92"],"c":1.5e1},"n":null}"#;
        let want = |p: &str| match p {
            "a" => Want {
                leaf: None,
                descend: true,
            },
            "a.b" => Want {
                leaf: Some(0),
                descend: false,
            },
            "a.c" => Want {
                leaf: Some(1),
                descend: false,
            },
            "n" => Want {
                leaf: Some(2),
                descend: false,
            },
            _ => Want::default(),
        };
        let mut out = Vec::new();
        scan(src, &want, EVENTBRIDGE, &mut out).unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].1.leaf, Leaf::Str("v1".into()));
        assert_eq!(out[1].1.leaf, Leaf::Str("vé2".into()));
        assert_eq!(out[1].1.arrays, vec![(0, 1)]);
        assert_eq!(out[2].1.leaf, Leaf::Num("1.5e1".into(), Some(15_000_000)));
        assert_eq!(out[3].1.leaf, Leaf::Null);
    }

    #[test]
    fn scan_refuses_garbage_without_panicking() {
        let want = |_: &str| Want {
            leaf: Some(0),
            descend: true,
        };
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"",
            "{\"a\":}",
            "{\"a\":tru}",
            "{\"a\":1,}",
            "{\"a\":\"\\",
        ] {
            let mut out = Vec::new();
            assert!(scan(bad, &want, EVENTBRIDGE, &mut out).is_err(), "{bad:?}");
        }
    }
}
