//! awsJson 1.0/1.1 request bodies in, JSON out, and AWS's JSON error shape: `__type` plus `message`,
//! with `x-amzn-query-error: <legacy code>;Sender` for services that were awsQuery before (SQS).

use super::{Output, Protocol, Rendered, Service};
use crate::error::{ApiError, ApiResult, ErrorCode, Fault};
use serde_json::{Map, Value, json};

mod writer;
pub use writer::{to_vec, to_vec_of};

/// Parses an awsJson body; an empty body is an empty input.
pub fn decode(body: &[u8]) -> ApiResult<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::new(
            ErrorCode::SerializationException,
            "Start of structure or map found where not expected.",
        )),
        Err(e) => Err(ApiError::new(
            ErrorCode::SerializationException,
            format!("Could not parse request body: {e}"),
        )),
    }
}

fn content_type(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::AwsJson11 => "application/x-amz-json-1.1",
        _ => "application/x-amz-json-1.0",
    }
}

pub fn render_ok(protocol: Protocol, output: &Output) -> Rendered {
    let body = match output {
        Output::Value(v) => to_vec(v),
        Output::Typed(t) => t.json(),
    };
    Rendered {
        status: 200,
        content_type: content_type(protocol),
        headers: Vec::new(),
        body,
    }
}

/// The `__type` shape SQS's awsJson answers name: its model calls the two common validation codes
/// by longer names than their awsQuery codes (which `x-amzn-query-error` still carries).
fn sqs_shape(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidParameterValue => "InvalidParameterValueException",
        ErrorCode::MissingParameter => "MissingRequiredParameterException",
        other => other.shape_name(),
    }
}

pub fn render_error(service: Service, protocol: Protocol, err: &ApiError) -> Rendered {
    let shape = err.code.shape_name();
    let mut headers = Vec::new();
    let type_name = match service {
        Service::Sqs => {
            let fault = match err.code.fault() {
                Fault::Sender => "Sender",
                Fault::Receiver => "Receiver",
            };
            headers.push((
                "x-amzn-query-error",
                format!("{};{fault}", err.code.legacy_code()),
            ));
            format!("com.amazonaws.sqs#{}", sqs_shape(err.code))
        }
        _ => shape.to_string(),
    };
    let body = json!({"__type": type_name, "message": err.message})
        .to_string()
        .into_bytes();
    Rendered {
        status: err.code.status(),
        content_type: content_type(protocol),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_error_shape() {
        let r = render_error(
            Service::Sqs,
            Protocol::AwsJson10,
            &ApiError::new(ErrorCode::QueueDoesNotExist, "gone"),
        );
        assert_eq!(r.status, 400);
        assert_eq!(
            r.headers,
            vec![(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender".to_string()
            )]
        );
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}"#
        );
    }

    #[test]
    fn sqs_validation_shapes_keep_their_query_codes() {
        for (code, shape, legacy) in [
            (
                ErrorCode::InvalidParameterValue,
                "InvalidParameterValueException",
                "InvalidParameterValue",
            ),
            (
                ErrorCode::MissingParameter,
                "MissingRequiredParameterException",
                "MissingParameter",
            ),
        ] {
            let r = render_error(Service::Sqs, Protocol::AwsJson10, &ApiError::new(code, "m"));
            let body: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(body["__type"], format!("com.amazonaws.sqs#{shape}"));
            assert_eq!(r.headers[0].1, format!("{legacy};Sender"));
        }
        let r = render_error(
            Service::Events,
            Protocol::AwsJson11,
            &ApiError::new(ErrorCode::MissingParameter, "m"),
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["__type"], "MissingParameter");
    }

    #[test]
    fn bodies() {
        assert!(decode(b"").unwrap().is_empty());
        assert_eq!(
            decode(b"[1]").unwrap_err().code,
            ErrorCode::SerializationException
        );
        assert_eq!(
            decode(b"{bad").unwrap_err().code,
            ErrorCode::SerializationException
        );
        assert_eq!(decode(br#"{"a":1}"#).unwrap()["a"], 1);
    }
}
