//! AWS's "Rule is too complex" check for wildcard patterns, after its open-source matcher
//! (event-ruler's `MachineComplexityEvaluator`).
//!
//! The measure: wildcard patterns on one field share one automaton; its complexity is the most
//! wildcard-pattern *prefixes* that one input value can match at once, counted per distinct
//! pattern. A prefix ends after any character or `*` of the pattern; a prefix ending in `*`
//! keeps matching whatever follows. So `*a*a*a*` has complexity 7 (`aaa` matches all seven of
//! its prefixes), `a*bb` has 3 (`abb` matches `a*`, `a*b`, `a*bb`), an exact pattern 0, and
//! two patterns add up. A rule's complexity is the largest of its fields'. Matching time grows
//! with it, which is why AWS caps it.
//!
//! The maximum over all inputs is found by walking the subset automaton breadth first over the
//! bytes the patterns mention plus one byte they do not; the walk stops at the cap.

use super::matcher::{Branch, Matcher};
use super::wildcard::Wildcard;
use std::collections::{HashSet, VecDeque};

/// Subsets the walk may visit before it calls the rule too complex (bounds time on hostile
/// patterns; ordinary rules visit a few dozen).
const MAX_SUBSETS: usize = 20_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Byte(u8),
    Star,
}

fn tokens(w: &Wildcard) -> Vec<Tok> {
    let mut t = Vec::new();
    for (i, piece) in w.pieces.iter().enumerate() {
        if i > 0 {
            t.push(Tok::Star);
        }
        t.extend(piece.bytes().map(Tok::Byte));
    }
    t
}

/// The complexity of a rule: the largest over its fields, each field's wildcard patterns
/// (in one `$or` branch) evaluated together. Stops counting at `cap`.
pub(crate) fn rule_complexity(branches: &[Branch], cap: usize) -> usize {
    let mut worst = 0;
    for b in branches {
        for f in &b.fields {
            let ws: Vec<&Wildcard> = f
                .matchers
                .iter()
                .filter_map(|m| match m {
                    Matcher::Wildcard(w) => Some(w),
                    _ => None,
                })
                .collect();
            if !ws.is_empty() {
                worst = worst.max(field_complexity(&ws, cap));
                if worst >= cap {
                    return cap;
                }
            }
        }
    }
    worst
}

/// The most prefixes of `patterns` (duplicates counted once) one input can match, up to `cap`.
pub(crate) fn field_complexity(patterns: &[&Wildcard], cap: usize) -> usize {
    let mut seen = HashSet::new();
    let toks: Vec<Vec<Tok>> = patterns
        .iter()
        .filter(|w| seen.insert(w.pieces.clone()))
        .map(|w| tokens(w))
        .collect();
    // States are (pattern, position); position i means tokens[..i] matched.
    let closure = |set: &mut Vec<(usize, usize)>| {
        let mut i = 0;
        while i < set.len() {
            let (p, pos) = set[i];
            if toks[p].get(pos) == Some(&Tok::Star) && !set.contains(&(p, pos + 1)) {
                set.push((p, pos + 1));
            }
            i += 1;
        }
        set.sort_unstable();
        set.dedup();
    };
    let mut alphabet: Vec<u8> = toks
        .iter()
        .flatten()
        .filter_map(|t| match t {
            Tok::Byte(b) => Some(*b),
            Tok::Star => None,
        })
        .collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    // One byte no pattern mentions stands for all of them (only stars accept it).
    if let Some(other) = (0u8..=255).find(|b| !alphabet.contains(b)) {
        alphabet.push(other);
    }
    let mut start: Vec<(usize, usize)> = (0..toks.len()).map(|p| (p, 0)).collect();
    closure(&mut start);
    let score = |set: &[(usize, usize)]| set.iter().filter(|(_, pos)| *pos > 0).count();
    let mut best = score(&start);
    let mut visited: HashSet<Vec<(usize, usize)>> = HashSet::new();
    let mut queue = VecDeque::new();
    visited.insert(start.clone());
    queue.push_back(start);
    while let Some(set) = queue.pop_front() {
        for &c in &alphabet {
            let mut next = Vec::new();
            for &(p, pos) in &set {
                if toks[p].get(pos) == Some(&Tok::Byte(c)) {
                    next.push((p, pos + 1));
                }
                if pos > 0 && toks[p][pos - 1] == Tok::Star {
                    next.push((p, pos));
                }
            }
            if next.is_empty() {
                continue;
            }
            closure(&mut next);
            best = best.max(score(&next));
            if best >= cap {
                return cap;
            }
            if visited.insert(next.clone()) {
                if visited.len() > MAX_SUBSETS {
                    return cap;
                }
                queue.push_back(next);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(patterns: &[&str]) -> usize {
        let ws: Vec<Wildcard> = patterns
            .iter()
            .map(|p| Wildcard::parse(p).unwrap())
            .collect();
        let refs: Vec<&Wildcard> = ws.iter().collect();
        field_complexity(&refs, 1000)
    }

    /// The values event-ruler's own tests give for these patterns, with the input that reaches
    /// each maximum noted.
    #[test]
    fn matches_event_ruler() {
        assert_eq!(c(&["*"]), 1); // "a": "*"
        assert_eq!(c(&["*", "ab*c"]), 3); // "abc": "*", "ab*", "ab*c"
        assert_eq!(c(&["abc"]), 1);
        assert_eq!(c(&["*ab"]), 2);
        assert_eq!(c(&["*aa"]), 3);
        assert_eq!(c(&["a*b"]), 2);
        assert_eq!(c(&["aa*"]), 2);
        assert_eq!(c(&["a*bc"]), 2);
        assert_eq!(c(&["a*bb"]), 3);
        assert_eq!(c(&["a*bcb"]), 3);
        assert_eq!(c(&["a*bbb"]), 4);
        assert_eq!(c(&["*ab*ad"]), 4);
        assert_eq!(c(&["*ab*d"]), 3);
        assert_eq!(c(&["*aba*"]), 4);
        assert_eq!(c(&["a*b*bb"]), 5);
        assert_eq!(c(&["a*b*cb"]), 4);
        assert_eq!(c(&["a*b*cd"]), 3);
        assert_eq!(c(&["a*b*b"]), 4);
        assert_eq!(c(&["a*bb*"]), 4);
        assert_eq!(c(&["ab*b*"]), 3);
        assert_eq!(c(&["ab*c", "x*xx"]), 3);
        assert_eq!(c(&["*abc", "*abcde"]), 4);
        assert_eq!(c(&["a*bcd", "ab*cd"]), 4);
        assert_eq!(c(&["a*bc", "a*bcde"]), 4);
        assert_eq!(c(&["a*aaa", "aa*aa"]), 7);
        assert_eq!(c(&["a*bc", "abc*d"]), 4);
        assert_eq!(c(&["a*aaa", "aaa*a"]), 6);
        assert_eq!(c(&["a*aax", "aaa*x"]), 5);
        assert_eq!(c(&["a*bc", "abc*"]), 4);
        assert_eq!(c(&["a*aa", "aaa*"]), 5);
        assert_eq!(c(&["abc*", "abcde*"]), 3);
        assert_eq!(c(&["ab*cd", "ab*wx", "ab*yz"]), 6);
        assert_eq!(c(&["*ab*b*b*"]), 7);
        assert_eq!(c(&["*a*a*a*a*a*a*a*a*"]), 17);
        assert_eq!(c(&["*a*a*a*"]), 7);
        assert_eq!(c(&["ab*c", "ab*c"]), 2);
    }

    #[test]
    fn recorded_rules_stay_simple() {
        // Both accepted by AWS in the recorded conformance cases.
        assert!(c(&["/Users/*/dir/dir/dir/dir/dir/doc.txt"]) < 100);
        assert!(c(&["arn:aws:events:us-east-1:*:event-bus/*"]) < 100);
    }

    #[test]
    fn hostile_patterns_stop_at_the_cap() {
        let p = format!("*{}", "a".repeat(150));
        assert_eq!(c(&[&p]), 151);
        let ws = [Wildcard::parse(&p).unwrap()];
        assert_eq!(field_complexity(&[&ws[0]], 100), 100);
        // The search is bounded by MAX_SUBSETS, not by the pattern's length (its time is in
        // `benches/pattern.rs`, not asserted here).
        let many = "*a".repeat(600);
        let ws = [Wildcard::parse(&many).unwrap()];
        assert_eq!(field_complexity(&[&ws[0]], 100), 100);
        let distinct: String = (0..200u8)
            .map(|i| format!("*{}", (b'a' + i % 26) as char))
            .collect();
        let ws = [Wildcard::parse(&distinct).unwrap()];
        assert!(field_complexity(&[&ws[0]], 100) <= 100);
    }
}
