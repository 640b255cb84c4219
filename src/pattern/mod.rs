//! The EventBridge event-pattern / SNS filter-policy matcher: pure, synchronous, no IO.
//!
//! Why one module for both services: AWS runs the same rule language behind EventBridge rules
//! and SNS filter policies, with different limits and error wrappers, and emulators most often
//! go wrong exactly where the two differ from a naive reading of the docs (arrays, `null`,
//! `anything-but` on missing fields, numbers compared by value). One engine keeps them agreeing.
//!
//! Layout:
//! - `json.rs`: an order-preserving JSON reader with exact number text (patterns, events).
//! - `parse.rs`: pattern text to branches of field conditions, with AWS's reason texts.
//! - `matcher.rs`: what each condition means; branch evaluation with array consistency.
//! - `numeric.rs`, `wildcard.rs`, `cidr.rs`: the operators that need more than a comparison.
//! - `complexity.rs`: AWS's "Rule is too complex" limit on wildcard rules (event-ruler's measure).
//! - `flatten.rs`: events to (path, value) leaves; a fast reader that skips unused subtrees.
//! - `trie.rs`: the trie of paths rules look at, and the fast hasher.
//! - `index.rs`, `ruleset.rs`: many rules compiled into one structure, cost independent of count.
//! - `sns.rs`: SNS filter policies (scopes, attribute types, SNS limits); a topic's policies
//!   can share one `RuleSet` too (`RuleSet::matches_attributes`).
//! - `test_event.rs`: EventBridge `TestEventPattern`, including AWS's event validation.
//! - `error.rs`: AWS error codes and messages.

mod cidr;
mod complexity;
mod error;
mod flatten;
mod index;
mod json;
mod matcher;
mod numeric;
mod parse;
mod ruleset;
mod sns;
mod test_event;
mod trie;
mod wildcard;

pub use error::{ErrorKind, PatternError, TestEventPatternError};
pub use parse::{Dialect, Pattern};
pub use ruleset::RuleSet;
pub use sns::{FilterPolicy, FilterPolicyScope, MessageAttribute};
pub use test_event::test_event_pattern;

use matcher::Entry;

/// Longest pattern EventBridge accepts on a rule (its quota; TestEventPattern allows 4,096).
pub const MAX_RULE_PATTERN_CHARS: usize = 2048;

impl Pattern {
    /// Compiles pattern text in the given dialect, or says why AWS would refuse it.
    pub fn parse(src: &str, dialect: Dialect) -> Result<Pattern, PatternError> {
        parse::parse(src, dialect)
    }

    /// `parse` for a rule's pattern, which EventBridge also limits to 2,048 characters.
    /// The reason text for an oversized pattern is our wording; AWS's is not recorded.
    pub fn parse_rule(src: &str) -> Result<Pattern, PatternError> {
        if src.chars().count() > MAX_RULE_PATTERN_CHARS {
            return Err(PatternError::new(
                ErrorKind::InvalidEventPattern,
                format!(
                    "Event pattern exceeds the maximum length of {MAX_RULE_PATTERN_CHARS} characters"
                ),
            ));
        }
        Self::parse(src, Dialect::EventBridge)
    }

    /// The dialect this pattern was written in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Evaluates this one pattern against event text on its own (no shared index). Text that is
    /// not a JSON object matches nothing. This is the reference the rule set is tested against.
    pub fn matches(&self, event: &str) -> bool {
        match json::parse(event) {
            Ok(v) => self.matches_jval(&v),
            Err(_) => false,
        }
    }

    /// `matches` for an event already parsed by serde_json.
    pub fn matches_value(&self, event: &serde_json::Value) -> bool {
        self.matches_jval(&json::from_serde(event))
    }

    pub(crate) fn matches_jval(&self, v: &json::JVal) -> bool {
        if !matches!(v, json::JVal::Obj(_)) {
            return false;
        }
        let leaves = flatten::flatten_jval(v, self.dialect.limits());
        self.matches_leaves(leaves)
    }

    /// Evaluates against leaves with their paths.
    pub(crate) fn matches_leaves(&self, mut leaves: Vec<(String, Entry<'_>)>) -> bool {
        leaves.sort_by(|a, b| a.0.cmp(&b.0));
        let (paths, entries): (Vec<String>, Vec<Entry<'_>>) = leaves.into_iter().unzip();
        self.branches.iter().any(|b| {
            b.matches(|i| {
                let p = b.fields[i].path.as_str();
                let lo = paths.partition_point(|x| x.as_str() < p);
                let hi = paths.partition_point(|x| x.as_str() <= p);
                &entries[lo..hi]
            })
        })
    }
}

#[cfg(test)]
mod ruleset_tests;
