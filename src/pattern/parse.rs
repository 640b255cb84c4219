//! The compiler front end: pattern text to branches of field conditions, with AWS's checks.
//!
//! The walk follows AWS's rule compiler token for token, in document order, so the first problem
//! reported is the one AWS reports, with the same reason text. `$or` forks the branches built so
//! far, one copy per alternative; a field written twice in one branch keeps the later value.
//! EventBridge and SNS share this walk and differ only in numeric limits, the operators they
//! accept, and SNS's extra limits (checked in `sns.rs`).

use super::cidr;
use super::complexity;
use super::error::{ErrorKind, PatternError};
use super::json::{self, JVal};
use super::matcher::{Branch, Exact, Field, Matcher, fold};
use super::numeric::{self, Bound, NumLimits, Range};
use super::wildcard::{self, Wildcard};

/// Which service's language a pattern is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// EventBridge event patterns (rules, archives, TestEventPattern).
    EventBridge,
    /// SNS filter policy with `FilterPolicyScope` `MessageAttributes` (flat keys only).
    SnsMessageAttributes,
    /// SNS filter policy with `FilterPolicyScope` `MessageBody` (nested keys).
    SnsMessageBody,
}

impl Dialect {
    pub(crate) fn kind(self) -> ErrorKind {
        match self {
            Dialect::EventBridge => ErrorKind::InvalidEventPattern,
            _ => ErrorKind::InvalidParameter,
        }
    }

    pub(crate) fn limits(self) -> NumLimits {
        match self {
            Dialect::EventBridge => numeric::EVENTBRIDGE,
            _ => numeric::SNS,
        }
    }
}

/// Field names AWS refuses inside `$or` (operator names and names it keeps for later use).
const RESERVED_IN_OR: &[&str] = &[
    "exact",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
];

/// Most branches a pattern may expand to through `$or`; beyond this AWS calls it too complex.
pub(crate) const MAX_BRANCHES: usize = 1_000;

/// A compiled event pattern or filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) branches: Vec<Branch>,
    pub(crate) dialect: Dialect,
}

/// Parses and validates pattern text.
pub(crate) fn parse(src: &str, dialect: Dialect) -> Result<Pattern, PatternError> {
    let c = Compiler {
        dialect,
        err: dialect.kind(),
    };
    let v = json::parse(src).map_err(|e| c.json_error(src, e))?;
    let JVal::Obj(members) = v else {
        return Err(c.fail("Filter is not an object"));
    };
    let mut rules: Vec<Vec<Field>> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    c.object(&mut rules, &mut path, &members, false)?;
    let branches: Vec<Branch> = rules.into_iter().map(|fields| Branch { fields }).collect();
    // Checked once the whole rule is read, as AWS evaluates the compiled rule.
    let cap = wildcard::MAX_COMPLEXITY + 1;
    if complexity::rule_complexity(&branches, cap) > wildcard::MAX_COMPLEXITY {
        return Err(c.fail(wildcard::TOO_COMPLEX));
    }
    Ok(Pattern { branches, dialect })
}

struct Compiler {
    dialect: Dialect,
    err: ErrorKind,
}

type R<T> = Result<T, PatternError>;

impl Compiler {
    fn fail(&self, reason: impl Into<String>) -> PatternError {
        PatternError::new(self.err, reason)
    }

    fn json_error(&self, src: &str, e: json::JsonError) -> PatternError {
        if self.dialect != Dialect::EventBridge {
            return self.fail("failed to parse JSON.");
        }
        // AWS reads the pattern as a stream: a first token that is not `{` is refused as such
        // before the rest is read.
        let first = src.trim_start_matches([' ', '\t', '\n', '\r']);
        if first.is_empty()
            || first.starts_with([
                '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
            ])
            || ["true", "false", "null"]
                .iter()
                .any(|w| first.starts_with(w) && e.offset > 0)
        {
            return self.fail("Filter is not an object");
        }
        // Otherwise AWS passes its JSON parser's message through; its wording is reproduced.
        let rest = src.get(e.offset..).unwrap_or("");
        match rest.chars().next() {
            None => self.fail("Unexpected end-of-input"),
            Some(_)
                if e.what == json::UNRECOGNIZED_TOKEN || rest.starts_with(char::is_alphabetic) =>
            {
                let word: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
                self.fail(format!(
                    "Unrecognized token '{word}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
                ))
            }
            Some(ch) => self.fail(format!(
                "Unexpected character ('{ch}' (code {})): {}",
                ch as u32, e.what
            )),
        }
    }

    fn object(
        &self,
        rules: &mut Vec<Vec<Field>>,
        path: &mut Vec<String>,
        members: &[(String, JVal)],
        in_or: bool,
    ) -> R<()> {
        if members.is_empty() {
            return Err(self.fail("Empty objects are not allowed"));
        }
        for (key, value) in members {
            if key == "$or" {
                self.or(rules, path, value)?;
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
                return Err(self.fail(format!(
                    "{key} is Ruler reserved fieldName which cannot be used inside $or."
                )));
            }
            match value {
                JVal::Obj(inner) => {
                    if self.dialect == Dialect::SnsMessageAttributes {
                        return Err(self.fail(
                            "Filter policy scope MessageAttributes does not support nested filter policy",
                        ));
                    }
                    path.push(key.clone());
                    self.object(rules, path, inner, in_or)?;
                    path.pop();
                }
                JVal::Arr(items) => {
                    let name = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{}.{}", path.join("."), key)
                    };
                    self.write_rules(rules, name, items)?;
                }
                _ => return Err(self.fail(format!("\"{key}\" must be an object or an array"))),
            }
        }
        Ok(())
    }

    fn or(&self, rules: &mut Vec<Vec<Field>>, path: &mut Vec<String>, value: &JVal) -> R<()> {
        let current = std::mem::take(rules);
        let JVal::Arr(items) = value else {
            return Err(self.fail("It must be an Array followed with $or."));
        };
        for item in items {
            let JVal::Obj(members) = item else {
                return Err(self.fail("Only JSON object is allowed in array of $or relationship."));
            };
            let mut fork = current.clone();
            if fork.is_empty() {
                fork.push(Vec::new());
            }
            self.object(&mut fork, path, members, true)?;
            rules.extend(fork);
            if rules.len() > MAX_BRANCHES {
                return Err(self.fail(wildcard::TOO_COMPLEX));
            }
        }
        if items.len() < 2 {
            return Err(self.fail("There must have at least 2 Objects in $or relationship."));
        }
        Ok(())
    }

    fn write_rules(&self, rules: &mut Vec<Vec<Field>>, name: String, items: &[JVal]) -> R<()> {
        let mut matchers = Vec::with_capacity(items.len());
        for item in items {
            matchers.push(match item {
                JVal::Obj(members) => self.expression(members)?,
                JVal::Str(s) => match cidr::exact_ip(s) {
                    Some(r) => Matcher::Ip(r),
                    None => Matcher::Exact(Exact::Str(s.clone())),
                },
                JVal::Num(t) => Matcher::Exact(Exact::Num(
                    t.to_string(),
                    self.dialect.limits().scaled(t).ok(),
                )),
                JVal::Bool(b) => Matcher::Exact(Exact::Bool(*b)),
                JVal::Null => Matcher::Exact(Exact::Null),
                JVal::Arr(_) => {
                    return Err(
                        self.fail("Match value must be String, number, true, false, or null")
                    );
                }
            });
        }
        if matchers.is_empty() {
            return Err(self.fail("Empty arrays are not allowed"));
        }
        if rules.is_empty() {
            rules.push(Vec::new());
        }
        for rule in rules.iter_mut() {
            let field = Field {
                path: name.clone(),
                matchers: matchers.clone(),
            };
            match rule.iter_mut().find(|f| f.path == name) {
                Some(existing) => *existing = field,
                None => rule.push(field),
            }
        }
        Ok(())
    }

    /// One `{ "operator": operand }` item.
    fn expression(&self, members: &[(String, JVal)]) -> R<Matcher> {
        let Some((op, operand)) = members.first() else {
            return Err(self.fail("Match expression name not found"));
        };
        let only_one = || -> R<()> {
            if members.len() > 1 {
                Err(self.fail("Only one key allowed in match expression"))
            } else {
                Ok(())
            }
        };
        let too_many = || -> R<()> {
            if members.len() > 1 {
                Err(self.fail("Too many elements in numeric expression"))
            } else {
                Ok(())
            }
        };
        let m = match op.as_str() {
            "prefix" | "suffix" => {
                let prefix = op == "prefix";
                match operand {
                    JVal::Obj(inner) => {
                        let m = self.ignore_case_affix(inner, prefix)?;
                        only_one()?;
                        return Ok(m);
                    }
                    JVal::Str(s) if prefix => Matcher::Prefix(s.clone()),
                    JVal::Str(s) => Matcher::Suffix(s.clone()),
                    _ => return Err(self.fail(format!("{op} match pattern must be a string"))),
                }
            }
            "numeric" => {
                let JVal::Arr(items) = operand else {
                    return Err(self.fail("Value of numeric must be an array."));
                };
                let m = self.numeric(items)?;
                too_many()?;
                return Ok(m);
            }
            "anything-but" => {
                let m = self.anything_but(operand)?;
                too_many()?;
                return Ok(m);
            }
            "exists" => match operand {
                JVal::Bool(b) => Matcher::Exists(*b),
                _ => return Err(self.fail("exists match pattern must be either true or false.")),
            },
            "cidr" => match operand {
                JVal::Str(s) => Matcher::Ip(cidr::parse_cidr(s).map_err(|r| self.fail(r))?),
                _ => return Err(self.fail("prefix match pattern must be a string")),
            },
            "equals-ignore-case" => match operand {
                JVal::Str(s) => Matcher::EqualsIc(fold(s).into_owned()),
                _ => return Err(self.fail("equals-ignore-case match pattern must be a string")),
            },
            "wildcard" if self.dialect == Dialect::EventBridge => match operand {
                JVal::Str(s) => Matcher::Wildcard(self.wildcard(s)?),
                _ => return Err(self.fail("wildcard match pattern must be a string")),
            },
            _ => return Err(self.fail(format!("Unrecognized match type {op}"))),
        };
        only_one()?;
        Ok(m)
    }

    fn wildcard(&self, s: &str) -> R<Wildcard> {
        Wildcard::parse(s).map_err(|r| self.fail(r))
    }

    /// `{"prefix": {"equals-ignore-case": "..."}}` and the suffix twin.
    fn ignore_case_affix(&self, inner: &[(String, JVal)], prefix: bool) -> R<Matcher> {
        let word = if prefix { "Prefix" } else { "Suffix" };
        let Some((op, operand)) = inner.first() else {
            return Err(self.fail(format!("{word} expression name not found")));
        };
        if op != "equals-ignore-case" {
            return Err(self.fail(format!(
                "Unsupported {} pattern: {op}",
                word.to_ascii_lowercase()
            )));
        }
        let JVal::Str(s) = operand else {
            return Err(self.fail("equals-ignore-case match pattern must be a string"));
        };
        if inner.len() > 1 {
            return Err(self.fail("Only one key allowed in match expression"));
        }
        let s = fold(s).into_owned();
        Ok(if prefix {
            Matcher::PrefixIc(s)
        } else {
            Matcher::SuffixIc(s)
        })
    }

    fn number(&self, text: &str) -> R<i64> {
        let l = self.dialect.limits();
        l.scaled(text).map_err(|e| self.fail(l.message(e)))
    }

    fn numeric(&self, items: &[JVal]) -> R<Matcher> {
        let text = |i: usize| items.get(i).map_or("]".to_string(), JVal::token_text);
        let num = |i: usize| match items.get(i) {
            Some(JVal::Num(t)) => Some(t.to_string()),
            _ => None,
        };
        let Some(JVal::Str(op)) = items.first() else {
            return Err(self.fail(format!("Invalid member in numeric match: {}", text(0))));
        };
        let must = |i: usize, what: &str| -> R<String> {
            num(i).ok_or_else(|| self.fail(format!("Value of {what} must be numeric")))
        };
        let bound = |t: &str, open: bool| -> R<Bound> {
            Ok(Bound {
                value: self.number(t)?,
                open,
            })
        };
        let range = match op.as_str() {
            "=" => {
                let v = must(1, "equals")?;
                if items.len() > 2 {
                    return Err(self.fail("Too many elements in numeric expression"));
                }
                let b = bound(&v, false)?;
                Range {
                    lo: Some(b),
                    hi: Some(b),
                }
            }
            ">" | ">=" => {
                let lo = must(1, op)?;
                let open = op == ">";
                if items.len() == 2 {
                    Range {
                        lo: Some(bound(&lo, open)?),
                        hi: None,
                    }
                } else {
                    let Some(JVal::Str(op2)) = items.get(2) else {
                        return Err(self.fail(format!("Bad value in numeric range: {}", text(2))));
                    };
                    if op2 != "<" && op2 != "<=" {
                        return Err(self.fail(format!("Bad numeric range operator: {op2}")));
                    }
                    let hi = must(3, op2)?;
                    if items.len() > 4 {
                        return Err(self.fail("Too many terms in numeric range expression"));
                    }
                    let (lo, hi) = (bound(&lo, open)?, bound(&hi, op2 == "<")?);
                    if lo.value >= hi.value {
                        return Err(self.fail("Bottom must be less than top"));
                    }
                    Range {
                        lo: Some(lo),
                        hi: Some(hi),
                    }
                }
            }
            "<" | "<=" => {
                let hi = must(1, op)?;
                if items.len() > 2 {
                    return Err(self.fail("Too many elements in numeric expression"));
                }
                Range {
                    lo: None,
                    hi: Some(bound(&hi, op == "<")?),
                }
            }
            _ => return Err(self.fail(format!("Unrecognized numeric range operator: {op}"))),
        };
        Ok(Matcher::Numeric(range))
    }

    fn anything_but(&self, operand: &JVal) -> R<Matcher> {
        if let JVal::Obj(inner) = operand {
            let Some((k, v)) = inner.first() else {
                return Err(self.fail("Anything-But expression name not found"));
            };
            let wildcard_ok = self.dialect == Dialect::EventBridge;
            let supported = matches!(k.as_str(), "equals-ignore-case" | "prefix" | "suffix")
                || (k == "wildcard" && wildcard_ok);
            if !supported {
                return Err(self.fail(format!("Unsupported anything-but pattern: {k}")));
            }
            let m = self.anything_but_set(k, v)?;
            if inner.len() > 1 {
                return Err(self.fail("Too many elements in numeric expression"));
            }
            return Ok(m);
        }
        match operand {
            JVal::Str(s) => Ok(Matcher::ButStrings(vec![s.clone()])),
            JVal::Num(t) => Ok(Matcher::ButNumbers(vec![self.number(t)?])),
            JVal::Arr(items) => {
                let (mut strings, mut numbers) = (Vec::new(), Vec::new());
                for item in items {
                    match item {
                        JVal::Str(s) => strings.push(s.clone()),
                        JVal::Num(t) => numbers.push(self.number(t)?),
                        _ => {
                            return Err(self.fail(
                                "Inside anything but list, start|null|boolean is not supported.",
                            ));
                        }
                    }
                }
                match (strings.is_empty(), numbers.is_empty()) {
                    (false, true) => Ok(Matcher::ButStrings(strings)),
                    (true, false) => Ok(Matcher::ButNumbers(numbers)),
                    _ => Err(self.fail(
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                    )),
                }
            }
            _ => {
                Err(self
                    .fail("Value of anything-but must be an array or single string/number value."))
            }
        }
    }

    /// `anything-but` with `equals-ignore-case`, `prefix`, `suffix` or `wildcard`.
    fn anything_but_set(&self, kind: &str, operand: &JVal) -> R<Matcher> {
        let values: Vec<&JVal> = match operand {
            JVal::Arr(items) => items.iter().collect(),
            JVal::Str(_) | JVal::Num(_) => vec![operand],
            _ => {
                return Err(self.fail(
                    "Value of anything-but must be an array or single string/number value.",
                ));
            }
        };
        let mut strings = Vec::with_capacity(values.len());
        for v in values {
            let JVal::Str(s) = v else {
                return Err(self.fail(match kind {
                    "equals-ignore-case" => {
                        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
                    }
                    "wildcard" => "wildcard match pattern must be a string",
                    _ => "prefix/suffix match pattern must be a string",
                }));
            };
            if s.is_empty() && (kind == "prefix" || kind == "suffix") {
                return Err(self.fail("Null prefix/suffix not allowed"));
            }
            strings.push(s.clone());
        }
        Ok(match kind {
            "equals-ignore-case" => {
                Matcher::ButIc(strings.iter().map(|s| fold(s).into_owned()).collect())
            }
            "prefix" => Matcher::ButPrefix(strings),
            "suffix" => Matcher::ButSuffix(strings),
            _ => Matcher::ButWildcard(
                strings
                    .iter()
                    .map(|s| self.wildcard(s))
                    .collect::<R<Vec<_>>>()?,
            ),
        })
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
