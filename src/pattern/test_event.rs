//! EventBridge `TestEventPattern`: validate the pattern, validate the event, match.
//!
//! The pattern is checked first and refused with `InvalidEventPatternException`. The event must
//! be a JSON object carrying the envelope fields `id`, `account`, `source`, `time`, `region` and
//! `detail-type`; otherwise AWS answers `ValidationException` `Parameter Event is not valid.`
//! The API reference also lists `resources` as mandatory, but AWS accepts events without it
//! (the recorded conformance cases do exactly that), so we do too.

use super::error::TestEventPatternError;
use super::json::{self, JVal};
use super::parse::{Dialect, Pattern};

/// Envelope fields AWS requires in a TestEventPattern event.
pub const REQUIRED_EVENT_FIELDS: [&str; 6] =
    ["id", "account", "source", "time", "region", "detail-type"];

/// What `TestEventPattern` answers: `Ok(Result)` or the AWS error code and message.
pub fn test_event_pattern(pattern: &str, event: &str) -> Result<bool, TestEventPatternError> {
    let pattern = Pattern::parse(pattern, Dialect::EventBridge)?;
    let invalid = || TestEventPatternError {
        code: "ValidationException",
        message: "Parameter Event is not valid.".to_string(),
    };
    let v = json::parse(event).map_err(|_| invalid())?;
    let JVal::Obj(members) = &v else {
        return Err(invalid());
    };
    for field in REQUIRED_EVENT_FIELDS {
        if !members.iter().any(|(k, _)| k == field) {
            return Err(invalid());
        }
    }
    Ok(pattern.matches_jval(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = r#"{"id":"1","account":"123456789012","source":"s","time":"2022-07-13T13:48:01Z","region":"us-east-1","detail-type":"t","detail":{"a":1}}"#;

    #[test]
    fn matches_and_refuses() {
        assert_eq!(
            test_event_pattern(r#"{"detail":{"a":[1]}}"#, EVENT),
            Ok(true)
        );
        assert_eq!(
            test_event_pattern(r#"{"detail":{"a":[2]}}"#, EVENT),
            Ok(false)
        );
        let e = test_event_pattern(r#"{"detail":{"a":[]}}"#, EVENT).unwrap_err();
        assert_eq!(e.code, "InvalidEventPatternException");
        assert_eq!(
            e.message,
            "Event pattern is not valid. Reason: Empty arrays are not allowed"
        );
    }

    #[test]
    fn event_envelope_is_required() {
        for missing in REQUIRED_EVENT_FIELDS {
            let mut v: serde_json::Value = serde_json::from_str(EVENT).unwrap();
            v.as_object_mut().unwrap().remove(missing);
            let e = test_event_pattern(r#"{"source":["s"]}"#, &v.to_string()).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{missing}");
            assert_eq!(e.message, "Parameter Event is not valid.");
        }
        for bad in ["", "[]", "{", "\"x\""] {
            assert_eq!(
                test_event_pattern(r#"{"source":["s"]}"#, bad)
                    .unwrap_err()
                    .code,
                "ValidationException"
            );
        }
    }

    #[test]
    fn pattern_errors_come_before_event_errors() {
        let e = test_event_pattern("{}", "not json").unwrap_err();
        assert_eq!(e.code, "InvalidEventPatternException");
    }
}
