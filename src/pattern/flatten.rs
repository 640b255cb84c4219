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

use super::json::{self, JVal};
use super::matcher::{Entry, Leaf};
use super::numeric::NumLimits;
use super::trie::{PathTrie, ROOT};

fn number_leaf<'a>(text: Cow<'a, str>, limits: NumLimits) -> Leaf<'a> {
    let v = limits.scaled(&text).ok();
    Leaf::Num(text, v)
}

/// Every leaf of a parsed document, with its path.
pub(crate) fn flatten_jval<'a>(v: &'a JVal, limits: NumLimits) -> Vec<(String, Entry<'a>)> {
    let mut out = Vec::new();
    let mut arrays = Vec::new();
    let mut next = 0u32;
    walk(v, &mut None, &mut arrays, &mut next, limits, &mut out);
    out
}

/// `path` is `None` at the top of the document, so the first key is not preceded by a dot
/// even when it is empty.
fn walk<'a>(
    v: &'a JVal,
    path: &mut Option<String>,
    arrays: &mut Vec<(u32, u32)>,
    next: &mut u32,
    limits: NumLimits,
    out: &mut Vec<(String, Entry<'a>)>,
) {
    let leaf = match v {
        JVal::Obj(members) => {
            for (k, child) in members {
                let mut inner = Some(match path {
                    None => k.clone(),
                    Some(p) => format!("{p}.{k}"),
                });
                walk(child, &mut inner, arrays, next, limits, out);
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
        path.clone().unwrap_or_default(),
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
    trie: &PathTrie,
    limits: NumLimits,
    out: &mut Vec<(u32, Entry<'a>)>,
) -> Result<(), ()> {
    let mut s = Scanner {
        src,
        b: src.as_bytes(),
        i: 0,
        trie,
        arrays: Vec::new(),
        next_array: 0,
        limits,
    };
    s.ws();
    if s.peek() != Some(b'{') {
        return Err(());
    }
    s.value(
        Here {
            leaf: None,
            node: Some(ROOT),
        },
        out,
        0,
    )?;
    s.ws();
    if s.i != s.b.len() {
        return Err(());
    }
    Ok(())
}

/// Where the reader is in the trie: the path id to keep leaves under, and the node to descend
/// from (`None` when nothing below is wanted).
#[derive(Debug, Clone, Copy)]
struct Here {
    leaf: Option<u32>,
    node: Option<u32>,
}

struct Scanner<'a, 't> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    trie: &'t PathTrie,
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

impl<'a> Scanner<'a, '_> {
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
    fn skip_to_quote_or_escape(&mut self) {
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
            self.skip_to_quote_or_escape();
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
        self.skip_to_quote_or_escape();
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

    /// Moves to the next byte that matters inside a skipped container: a quote or a bracket.
    #[inline]
    fn skip_to_structural(&mut self) {
        while self.i + 8 <= self.b.len() {
            let w = u64::from_le_bytes(self.b[self.i..self.i + 8].try_into().unwrap_or([0; 8]));
            // `[`|0x20 is `{` and `]`|0x20 is `}`; nothing else folds onto those two.
            let f = w | (ONES * 0x20);
            if has_byte(w, b'"') || has_byte(f, b'{') || has_byte(f, b'}') {
                break;
            }
            self.i += 8;
        }
        while let Some(c) = self.peek() {
            if matches!(c, b'"' | b'{' | b'}' | b'[' | b']') {
                return;
            }
            self.i += 1;
        }
    }

    /// Skips one value of any kind without looking inside (brackets are counted, not matched).
    fn skip_value(&mut self) -> Result<(), ()> {
        match self.peek().ok_or(())? {
            b'"' => return self.skip_string(),
            b'{' | b'[' => {}
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        return Ok(());
                    }
                    self.i += 1;
                }
                return Err(());
            }
        }
        let mut depth = 0usize;
        loop {
            self.skip_to_structural();
            match self.peek().ok_or(())? {
                b'"' => self.skip_string()?,
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                _ => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
            }
        }
    }

    fn value(
        &mut self,
        here: Here,
        out: &mut Vec<(u32, Entry<'a>)>,
        depth: usize,
    ) -> Result<(), ()> {
        if depth > json::MAX_DEPTH {
            return Err(());
        }
        match self.peek().ok_or(())? {
            b'{' => {
                let Some(node) = here.node else {
                    return self.skip_value();
                };
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
                    let child = self.trie.child(node, &key);
                    let w = Here {
                        leaf: child.and_then(|c| self.trie.leaf(c)),
                        node: child.filter(|&c| self.trie.has_children(c)),
                    };
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(());
                    }
                    self.i += 1;
                    self.ws();
                    if w.leaf.is_none() && w.node.is_none() {
                        self.skip_value()?;
                    } else {
                        self.value(w, out, depth + 1)?;
                    }
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
                    let r = self.value(here, out, depth + 1);
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
        let src = r#"{"x":{"y":"s\"kip","z":[1,{"q":"\\"}]},"a":{"b":["v1","v\u00e92"],"c":1.5e1},"n":null,"a.c":2}"#;
        let mut trie = PathTrie::default();
        assert_eq!(trie.leaf_id("a.b", 0), (0, true));
        assert_eq!(trie.leaf_id("a.c", 1), (1, true));
        assert_eq!(trie.leaf_id("n", 2), (2, true));
        assert_eq!(trie.leaf_id("a.b", 3), (0, false));
        assert_eq!(trie.find("a.c"), Some(1));
        assert_eq!(trie.find("a"), None);
        let mut out = Vec::new();
        scan(src, &trie, EVENTBRIDGE, &mut out).unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out[0].1.leaf, Leaf::Str("v1".into()));
        assert_eq!(out[1].1.leaf, Leaf::Str("vé2".into()));
        assert_eq!(out[1].1.arrays, vec![(0, 1)]);
        assert_eq!(out[2].1.leaf, Leaf::Num("1.5e1".into(), Some(15_000_000)));
        assert_eq!(out[3].1.leaf, Leaf::Null);
        // A dotted event key lands on the nested path.
        assert_eq!(out[4].0, 1);
    }

    #[test]
    fn trie_grows_past_small_nodes() {
        let mut trie = PathTrie::default();
        for i in 0..20 {
            trie.leaf_id(&format!("k{i}"), i);
        }
        for i in 0..20 {
            assert_eq!(trie.find(&format!("k{i}")), Some(i));
        }
        let mut out = Vec::new();
        scan(r#"{"k17":"x","k3":"y"}"#, &trie, EVENTBRIDGE, &mut out).unwrap();
        assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), vec![17, 3]);
    }

    #[test]
    fn scan_refuses_garbage_without_panicking() {
        let mut trie = PathTrie::default();
        trie.leaf_id("a", 0);
        trie.leaf_id("a.b", 1);
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
            assert!(scan(bad, &trie, EVENTBRIDGE, &mut out).is_err(), "{bad:?}");
        }
    }
}
