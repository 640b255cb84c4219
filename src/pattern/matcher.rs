//! What one condition means against one value, and what one `$or` branch means against an event.
//!
//! An event is seen as its leaves: (dot-joined path, scalar value) pairs; arrays are transparent
//! and objects are not values. A branch matches when every field has a matching leaf (or, for
//! `exists: false`, no leaf at all), and the chosen leaves agree on array elements: two leaves
//! inside the same array must come from the same element, as AWS's matcher requires (a rule on
//! `a.b` and `a.c` does not match `b` from one element of `a` and `c` from another).

use std::borrow::Cow;

use super::cidr::{self, IpRange};
use super::numeric::Range;
use super::wildcard::Wildcard;

/// A scalar value of an event, borrowed from the event text where possible.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Leaf<'a> {
    Str(Cow<'a, str>),
    /// Literal text and, if within the dialect's limits, the value in millionths.
    Num(Cow<'a, str>, Option<i64>),
    Bool(bool),
    Null,
}

/// One leaf with the array elements it sits in: (array id, element index), outermost first.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub leaf: Leaf<'a>,
    pub arrays: Vec<(u32, u32)>,
}

/// An exact value in a pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Exact {
    Str(String),
    Num(String, Option<i64>),
    Bool(bool),
    Null,
}

/// One condition of a field (the items of a pattern array are alternatives).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    Exact(Exact),
    /// An exact string that is an IP literal, matched as that address.
    Ip(IpRange),
    Prefix(String),
    Suffix(String),
    /// Lower-cased operands.
    PrefixIc(String),
    SuffixIc(String),
    EqualsIc(String),
    Wildcard(Wildcard),
    Numeric(Range),
    Exists(bool),
    /// `anything-but` a string or list of strings.
    ButStrings(Vec<String>),
    /// `anything-but` a number or list of numbers (in millionths).
    ButNumbers(Vec<i64>),
    ButIc(Vec<String>),
    ButPrefix(Vec<String>),
    ButSuffix(Vec<String>),
    ButWildcard(Vec<Wildcard>),
}

/// Case folding used on both sides of every case-insensitive comparison.
pub(crate) fn fold(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|c| !c.is_ascii_uppercase() && c < 0x80) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

impl Matcher {
    /// Whether this condition holds for one leaf (`Exists` is decided per field, not here).
    pub(crate) fn matches(&self, leaf: &Leaf<'_>) -> bool {
        match (self, leaf) {
            (Matcher::Exists(e), _) => *e,
            (Matcher::Exact(Exact::Str(p)), Leaf::Str(s)) => p == s.as_ref(),
            (Matcher::Exact(Exact::Num(t, v)), Leaf::Num(et, ev)) => {
                t == et.as_ref() || (v.is_some() && v == ev)
            }
            (Matcher::Exact(Exact::Bool(b)), Leaf::Bool(e)) => b == e,
            (Matcher::Exact(Exact::Null), Leaf::Null) => true,
            (Matcher::Exact(_), _) => false,
            (Matcher::Ip(r), Leaf::Str(s)) => cidr::ip_of(s).is_some_and(|ip| r.contains(ip)),
            (Matcher::Prefix(p), Leaf::Str(s)) => s.starts_with(p.as_str()),
            (Matcher::Suffix(p), Leaf::Str(s)) => s.ends_with(p.as_str()),
            (Matcher::PrefixIc(p), Leaf::Str(s)) => fold(s).starts_with(p.as_str()),
            (Matcher::SuffixIc(p), Leaf::Str(s)) => fold(s).ends_with(p.as_str()),
            (Matcher::EqualsIc(p), Leaf::Str(s)) => fold(s) == p.as_str(),
            (Matcher::Wildcard(w), Leaf::Str(s)) => w.matches(s),
            (Matcher::Numeric(r), Leaf::Num(_, Some(v))) => r.contains(*v),
            (Matcher::ButStrings(xs), Leaf::Str(s)) => !xs.iter().any(|x| x == s.as_ref()),
            (Matcher::ButNumbers(xs), Leaf::Num(_, Some(v))) => !xs.contains(v),
            (Matcher::ButIc(xs), Leaf::Str(s)) => {
                let f = fold(s);
                !xs.iter().any(|x| x == f.as_ref())
            }
            (Matcher::ButPrefix(xs), Leaf::Str(s)) => !xs.iter().any(|x| s.starts_with(x.as_str())),
            (Matcher::ButSuffix(xs), Leaf::Str(s)) => !xs.iter().any(|x| s.ends_with(x.as_str())),
            (Matcher::ButWildcard(xs), Leaf::Str(s)) => !xs.iter().any(|w| w.matches(s)),
            // Every anything-but form matches a present value of another type.
            (
                Matcher::ButStrings(_)
                | Matcher::ButNumbers(_)
                | Matcher::ButIc(_)
                | Matcher::ButPrefix(_)
                | Matcher::ButSuffix(_)
                | Matcher::ButWildcard(_),
                _,
            ) => true,
            _ => false,
        }
    }
}

/// One field of a branch: a dot-joined path and its alternatives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub path: String,
    pub matchers: Vec<Matcher>,
}

/// One `$or` branch: all fields must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Branch {
    pub fields: Vec<Field>,
}

/// Steps the array-consistency search may take before giving the benefit of the doubt.
const SEARCH_BUDGET: usize = 100_000;

impl Branch {
    /// Evaluates the branch; `leaves(i)` gives the event's leaves at the path of field `i`.
    pub(crate) fn matches<'e, 'a: 'e>(&self, leaves: impl Fn(usize) -> &'e [Entry<'a>]) -> bool {
        let holds = |f: &Field, e: &Entry<'_>| {
            f.matchers
                .iter()
                .any(|m| !matches!(m, Matcher::Exists(false)) && m.matches(&e.leaf))
        };
        // First pass, without allocating: is every field satisfied, and are arrays involved?
        let mut any_arrays = false;
        for (i, f) in self.fields.iter().enumerate() {
            let ls = leaves(i);
            let mut ok = ls.is_empty() && f.matchers.contains(&Matcher::Exists(false));
            for e in ls {
                if holds(f, e) {
                    ok = true;
                    if e.arrays.is_empty() {
                        break;
                    }
                    any_arrays = true;
                }
            }
            if !ok {
                return false;
            }
        }
        if !any_arrays || self.fields.len() < 2 {
            return true;
        }
        // Arrays are involved: the chosen leaves must agree on array elements.
        // For each field: the leaves that satisfy it (None = satisfied by absence).
        let mut options: Vec<Vec<Option<&'e Entry<'a>>>> = Vec::with_capacity(self.fields.len());
        for (i, f) in self.fields.iter().enumerate() {
            let ls = leaves(i);
            let mut opts = Vec::new();
            if ls.is_empty() && f.matchers.contains(&Matcher::Exists(false)) {
                opts.push(None);
            }
            opts.extend(ls.iter().filter(|e| holds(f, e)).map(Some));
            options.push(opts);
        }
        // Fields with fewer options first keeps the search small.
        options.sort_by_key(|o| o.len());
        let mut chosen: Vec<&Entry<'a>> = Vec::new();
        let mut budget = SEARCH_BUDGET;
        consistent(&options, 0, &mut chosen, &mut budget)
    }
}

fn compatible(a: &Entry<'_>, b: &Entry<'_>) -> bool {
    a.arrays
        .iter()
        .all(|(id, ix)| b.arrays.iter().all(|(id2, ix2)| id != id2 || ix == ix2))
}

fn consistent<'e, 'a>(
    options: &[Vec<Option<&'e Entry<'a>>>],
    depth: usize,
    chosen: &mut Vec<&'e Entry<'a>>,
    budget: &mut usize,
) -> bool {
    if depth == options.len() {
        return true;
    }
    for opt in &options[depth] {
        if *budget == 0 {
            return true;
        }
        *budget -= 1;
        match opt {
            None => {
                if consistent(options, depth + 1, chosen, budget) {
                    return true;
                }
            }
            Some(e) => {
                if chosen.iter().all(|c| compatible(c, e)) {
                    chosen.push(e);
                    let ok = consistent(options, depth + 1, chosen, budget);
                    chosen.pop();
                    if ok {
                        return true;
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Leaf<'_> {
        Leaf::Str(Cow::Borrowed(v))
    }

    #[test]
    fn types_do_not_mix() {
        let m = Matcher::Exact(Exact::Str("101".into()));
        assert!(m.matches(&s("101")));
        assert!(!m.matches(&Leaf::Num("101".into(), Some(101_000_000))));
        let n = Matcher::Exact(Exact::Num("300".into(), Some(300_000_000)));
        assert!(n.matches(&Leaf::Num("300.0".into(), Some(300_000_000))));
        assert!(!n.matches(&s("300")));
        assert!(!Matcher::Prefix("1".into()).matches(&Leaf::Num("12".into(), Some(12))));
    }

    #[test]
    fn anything_but_matches_other_types() {
        assert!(Matcher::ButPrefix(vec!["init".into()]).matches(&Leaf::Num("12".into(), Some(1))));
        assert!(Matcher::ButIc(vec!["x".into()]).matches(&Leaf::Null));
        assert!(!Matcher::ButIc(vec!["x".into()]).matches(&s("X")));
        assert!(Matcher::ButStrings(vec!["101".into()]).matches(&Leaf::Num("101".into(), Some(1))));
        assert!(!Matcher::ButNumbers(vec![5]).matches(&Leaf::Num("5e-6".into(), Some(5))));
    }

    #[test]
    fn array_elements_must_agree() {
        let field = |p: &str, v: &str| Field {
            path: p.into(),
            matchers: vec![Matcher::Exact(Exact::Str(v.into()))],
        };
        let b = Branch {
            fields: vec![field("a.b", "1"), field("a.c", "4")],
        };
        let e = |v: &'static str, ix| Entry {
            leaf: s(v),
            arrays: vec![(0, ix)],
        };
        let ab = [e("1", 0), e("3", 1)];
        let ac = [e("2", 0), e("4", 1)];
        assert!(!b.matches(|i| if i == 0 { &ab[..] } else { &ac[..] }));
        let ac2 = [e("4", 0), e("2", 1)];
        assert!(b.matches(|i| if i == 0 { &ab[..] } else { &ac2[..] }));
    }
}
