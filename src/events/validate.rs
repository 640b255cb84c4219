//! AWS's model-constraint errors: every broken constraint of a request is collected, in member
//! order, into one `ValidationException` such as
//! `2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: ...; ...`.

use super::validation;
use crate::error::ApiResult;
use crate::protocol::Params;

/// The name pattern of rules, targets, connections, API destinations and archives.
pub const NAME_PATTERN: &str = r"[\.\-_A-Za-z0-9]+";
/// Event bus names may also carry `/` (partner buses).
pub const BUS_PATTERN: &str = r"[/\.\-_A-Za-z0-9]+";

pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

pub fn is_bus_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/'))
}

/// Collects broken constraints.
#[derive(Default)]
pub struct Checks(Vec<String>);

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, value: &str, at: &str, constraint: &str) {
        self.0.push(format!(
            "Value '{value}' at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    pub fn null(&mut self, at: &str) {
        self.0.push(format!(
            "Value null at '{at}' failed to satisfy constraint: Member must not be null"
        ));
    }

    /// A name with a pattern and a maximum length, checked in AWS's order (pattern first).
    pub fn name(&mut self, value: &str, at: &str, max: usize, bus: bool) {
        let (ok, pattern) = if bus {
            (is_bus_name(value), BUS_PATTERN)
        } else {
            (is_name(value), NAME_PATTERN)
        };
        if !ok {
            self.fail(
                value,
                at,
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            );
        }
        let n = value.chars().count();
        if n > max {
            self.fail(
                value,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// A value from a fixed set.
    pub fn one_of(&mut self, value: &str, at: &str, set: &[&str]) {
        if !set.contains(&value) {
            self.fail(
                value,
                at,
                &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
            );
        }
    }

    pub fn max_len(&mut self, value: &str, at: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(
                value,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// The `ValidationException` for everything collected, if anything was.
    pub fn done(self) -> ApiResult<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// A required string member: absent is AWS's "must not be null" error at the member's wire name.
pub fn required<'p>(p: &'p Params, member: &str, at: &str) -> ApiResult<&'p str> {
    match p.str(member)? {
        Some(s) => Ok(s),
        None => {
            let mut c = Checks::new();
            c.null(at);
            c.done().map(|_| "")
        }
    }
}

/// A required name with its pattern and length.
pub fn name<'p>(p: &'p Params, member: &str, at: &str, max: usize) -> ApiResult<&'p str> {
    let v = required(p, member, at)?;
    let mut c = Checks::new();
    c.name(v, at, max, false);
    c.done()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EB-130: the errors come in member order, pattern before length.
    #[test]
    fn several_errors_in_order() {
        let long = "This should fail with two errors 123467890123412341234123412341234";
        let mut c = Checks::new();
        c.name(long, "name", 64, false);
        c.one_of(
            "INVALID",
            "authorizationType",
            &["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"],
        );
        assert_eq!(
            c.done().unwrap_err().message,
            format!(
                "3 validation errors detected: Value '{long}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value '{long}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64; Value 'INVALID' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
            )
        );
        assert!(Checks::new().done().is_ok());
    }
}
