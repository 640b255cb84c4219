//! SNS subscription filter policies: the shared engine with SNS's scopes, types and limits.
//!
//! `FilterPolicyScope` `MessageAttributes` (the default) matches message attributes: flat keys
//! only; `String` values are strings, `Number` values numbers, `String.Array` values are JSON
//! arrays whose elements are matched one by one, and `Binary` values are never matched (a policy
//! on one sees it as absent). `MessageBody` matches the JSON body like an EventBridge event, with
//! nested keys. SNS allows at most 5 keys and 150 value combinations, and compares numbers
//! within ±1e9 with five decimals. Errors are `InvalidParameter`,
//! `Invalid parameter: FilterPolicy: <reason>`.

use std::borrow::Cow;

use super::error::{ErrorKind, PatternError};
use super::flatten;
use super::json::{self, JVal};
use super::matcher::{Entry, Leaf};
use super::numeric;
use super::parse::{Dialect, Pattern};

/// Where a filter policy looks: `FilterPolicyScope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FilterPolicyScope {
    /// Message attributes (the default).
    #[default]
    MessageAttributes,
    /// The JSON message body.
    MessageBody,
}

impl FilterPolicyScope {
    /// Reads the attribute value as SNS spells it.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "MessageAttributes" => Some(Self::MessageAttributes),
            "MessageBody" => Some(Self::MessageBody),
            _ => None,
        }
    }

    /// The name as SNS spells it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::MessageAttributes => "MessageAttributes",
            Self::MessageBody => "MessageBody",
        }
    }
}

/// One message attribute as a filter policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageAttribute {
    /// `String`, `String.Array`, `Number`, `Binary`, optionally with a `.custom` suffix.
    pub data_type: String,
    /// The string value (for `Binary`, anything; it is ignored).
    pub value: String,
}

/// Most keys a filter policy may name.
pub const MAX_KEYS: usize = 5;
/// Most value combinations a filter policy may expand to.
pub const MAX_COMBINATIONS: usize = 150;
/// Largest filter policy, in bytes.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;

/// A compiled SNS filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    pattern: Pattern,
    scope: FilterPolicyScope,
}

impl FilterPolicy {
    /// Compiles a filter policy for the given scope, or says why SNS would refuse it.
    pub fn parse(src: &str, scope: FilterPolicyScope) -> Result<FilterPolicy, PatternError> {
        let fail = |r: &str| PatternError::new(ErrorKind::InvalidParameter, r);
        if src.len() > MAX_POLICY_BYTES {
            return Err(fail("Filter policy is too long"));
        }
        let dialect = match scope {
            FilterPolicyScope::MessageAttributes => Dialect::SnsMessageAttributes,
            FilterPolicyScope::MessageBody => Dialect::SnsMessageBody,
        };
        let pattern = Pattern::parse(src, dialect)?;
        let mut keys: Vec<&str> = pattern
            .branches
            .iter()
            .flat_map(|b| b.fields.iter().map(|f| f.path.as_str()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() > MAX_KEYS {
            return Err(fail("Filter policy can not have more than 5 keys"));
        }
        let combinations: usize = pattern
            .branches
            .iter()
            .map(|b| {
                b.fields
                    .iter()
                    .fold(1usize, |acc, f| acc.saturating_mul(f.matchers.len()))
            })
            .fold(0usize, |a, b| a.saturating_add(b));
        if combinations > MAX_COMBINATIONS {
            return Err(fail("Filter policy is too complex"));
        }
        Ok(FilterPolicy { pattern, scope })
    }

    /// The scope this policy was compiled for.
    pub fn scope(&self) -> FilterPolicyScope {
        self.scope
    }

    /// The compiled pattern, e.g. to put the policies of a topic into one `RuleSet` (one set
    /// per scope; see `RuleSet::matches_attributes`).
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// Whether a message with these attributes passes (for `MessageAttributes` scope).
    /// Takes any map or list of (name, attribute), e.g. `&HashMap<String, MessageAttribute>`.
    pub fn matches_attributes<'a, N: AsRef<str>>(
        &self,
        attributes: impl IntoIterator<Item = (N, &'a MessageAttribute)>,
    ) -> bool {
        let parsed = parse_attributes(attributes);
        self.pattern.matches_leaves(attribute_leaves(&parsed))
    }

    /// Whether a message with this body passes (for `MessageBody` scope). A body that is not
    /// a JSON object passes nothing.
    pub fn matches_body(&self, body: &str) -> bool {
        match json::parse(body) {
            Ok(v @ JVal::Obj(_)) => self
                .pattern
                .matches_leaves(flatten::flatten_jval(&v, numeric::SNS)),
            _ => false,
        }
    }

    /// Dispatches on the policy's scope.
    pub fn matches_message<'a, N: AsRef<str>>(
        &self,
        body: &str,
        attributes: impl IntoIterator<Item = (N, &'a MessageAttribute)>,
    ) -> bool {
        match self.scope {
            FilterPolicyScope::MessageAttributes => self.matches_attributes(attributes),
            FilterPolicyScope::MessageBody => self.matches_body(body),
        }
    }
}

/// Attributes with `String.Array` values parsed, ready to be seen as leaves.
pub(crate) type ParsedAttributes<'a, N> = Vec<(N, &'a MessageAttribute, Option<JVal>)>;

pub(crate) fn parse_attributes<'a, N: AsRef<str>>(
    attributes: impl IntoIterator<Item = (N, &'a MessageAttribute)>,
) -> ParsedAttributes<'a, N> {
    attributes
        .into_iter()
        .map(|(name, a)| {
            let arr = (a.data_type == "String.Array")
                .then(|| json::parse(&a.value).ok())
                .flatten();
            (name, a, arr)
        })
        .collect()
}

/// The leaves a filter policy sees in message attributes: one per `String` or `Number`
/// attribute, one per element of a `String.Array`, none for `Binary`.
pub(crate) fn attribute_leaves<'a, N: AsRef<str>>(
    parsed: &'a ParsedAttributes<'_, N>,
) -> Vec<(String, Entry<'a>)> {
    let mut leaves: Vec<(String, Entry<'a>)> = Vec::new();
    for (n, (name, a, arr)) in parsed.iter().enumerate() {
        let base = a.data_type.split('.').next().unwrap_or("");
        let mut push = |leaf, arrays| {
            leaves.push((name.as_ref().to_string(), Entry { leaf, arrays }));
        };
        match (base, arr) {
            (_, Some(JVal::Arr(items))) => {
                for (ix, item) in items.iter().enumerate() {
                    let arrays = vec![(n as u32, ix as u32)];
                    match item {
                        JVal::Str(s) => push(Leaf::Str(Cow::Borrowed(s)), arrays),
                        JVal::Num(t) => push(number(t), arrays),
                        JVal::Bool(b) => push(Leaf::Bool(*b), arrays),
                        JVal::Null => push(Leaf::Null, arrays),
                        _ => {}
                    }
                }
            }
            ("String", _) => push(Leaf::Str(Cow::Borrowed(&a.value)), Vec::new()),
            ("Number", _) => push(number(a.value.trim()), Vec::new()),
            _ => {}
        }
    }
    leaves
}

fn number(t: &str) -> Leaf<'_> {
    Leaf::Num(Cow::Borrowed(t), numeric::SNS.scaled(t).ok())
}

#[cfg(test)]
#[path = "sns_tests.rs"]
mod tests;
