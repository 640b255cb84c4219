//! Errors as AWS spells them, so the HTTP layer can pass them through unchanged.
//!
//! A refused EventBridge pattern is `InvalidEventPatternException` with
//! `Event pattern is not valid. Reason: <reason>`; a refused SNS filter policy is
//! `InvalidParameter` with `Invalid parameter: FilterPolicy: <reason>`. The reason texts come from
//! the shared compiler (AWS runs the same rule compiler behind both services). AWS appends a
//! second line with the parser location (`at [Source: ...; line: 1, column: N]`) to most reasons;
//! we give the first line only, which is what clients compare in practice.

use std::fmt;

/// Which service refused the pattern, and so which error code and prefix apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// EventBridge: `InvalidEventPatternException`.
    InvalidEventPattern,
    /// SNS: `InvalidParameter`.
    InvalidParameter,
}

/// A pattern or filter policy that AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// Which service's error this is.
    pub kind: ErrorKind,
    /// The reason alone, e.g. `Empty arrays are not allowed`.
    pub reason: String,
}

impl PatternError {
    pub(crate) fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        PatternError {
            kind,
            reason: reason.into(),
        }
    }

    /// The AWS error code: `InvalidEventPatternException` or `InvalidParameter`.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::InvalidEventPattern => "InvalidEventPatternException",
            ErrorKind::InvalidParameter => "InvalidParameter",
        }
    }

    /// The full message AWS returns, prefix included.
    pub fn message(&self) -> String {
        match self.kind {
            ErrorKind::InvalidEventPattern => {
                format!("Event pattern is not valid. Reason: {}", self.reason)
            }
            ErrorKind::InvalidParameter => {
                format!("Invalid parameter: FilterPolicy: {}", self.reason)
            }
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for PatternError {}

/// What `TestEventPattern` answers instead of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEventPatternError {
    /// `InvalidEventPatternException` (bad pattern) or `ValidationException` (bad event).
    pub code: &'static str,
    /// The message exactly as AWS sends it.
    pub message: String,
}

impl fmt::Display for TestEventPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for TestEventPatternError {}

impl From<PatternError> for TestEventPatternError {
    fn from(e: PatternError) -> Self {
        TestEventPatternError {
            code: e.code(),
            message: e.message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_service_prefixes() {
        let e = PatternError::new(
            ErrorKind::InvalidEventPattern,
            "Empty arrays are not allowed",
        );
        assert_eq!(e.code(), "InvalidEventPatternException");
        assert_eq!(
            e.message(),
            "Event pattern is not valid. Reason: Empty arrays are not allowed"
        );
        let e = PatternError::new(ErrorKind::InvalidParameter, "Filter policy is too complex");
        assert_eq!(e.code(), "InvalidParameter");
        assert_eq!(
            e.message(),
            "Invalid parameter: FilterPolicy: Filter policy is too complex"
        );
    }
}
