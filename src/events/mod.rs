//! Amazon EventBridge. Today: `TestEventPattern`, backed by the shared pattern matcher; buses,
//! rules and targets come with their own issue, and until then other actions answer
//! `UnknownOperationException`.

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Value, json};

pub fn call(action: &str, p: Params) -> ApiResult<Value> {
    match action {
        "TestEventPattern" => test_event_pattern(p),
        _ => Err(ApiError::new(
            ErrorCode::UnknownOperation,
            format!("Operation {action} is not supported by this version of ferry yet."),
        )),
    }
}

fn test_event_pattern(p: Params) -> ApiResult<Value> {
    let pattern = p.required_str("EventPattern")?;
    let event = p.required_str("Event")?;
    match crate::pattern::test_event_pattern(pattern, event) {
        Ok(result) => Ok(json!({"Result": result})),
        Err(e) => {
            let code = match e.code {
                "InvalidEventPatternException" => ErrorCode::InvalidEventPatternException,
                _ => ErrorCode::ValidationException,
            };
            Err(ApiError::new(code, e.message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pattern: &str, event: &str) -> Params {
        Params::from_value(json!({"EventPattern": pattern, "Event": event})).unwrap()
    }

    const EVENT: &str = r#"{"id":"1","source":"s","detail-type":"d","account":"123456789012","region":"us-east-1","time":"2022-07-13T13:48:01Z","resources":[],"detail":{"n":5}}"#;

    #[test]
    fn answers_and_errors() {
        assert_eq!(
            call("TestEventPattern", params(r#"{"source":["s"]}"#, EVENT)).unwrap(),
            json!({"Result": true})
        );
        assert_eq!(
            call(
                "TestEventPattern",
                params(r#"{"detail":{"n":[{"numeric":[">",9]}]}}"#, EVENT)
            )
            .unwrap(),
            json!({"Result": false})
        );
        let e = call("TestEventPattern", params(r#"{"source":[]}"#, EVENT)).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidEventPatternException);
        let e = call("TestEventPattern", params(r#"{"source":["s"]}"#, "{}")).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationException);
        let e = call(
            "TestEventPattern",
            Params::from_value(json!({"Event": EVENT})).unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingParameter);
        assert_eq!(
            call("PutEvents", Params::default()).unwrap_err().code,
            ErrorCode::UnknownOperation
        );
    }
}
