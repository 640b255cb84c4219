//! awsJson 1.0/1.1 request bodies in, JSON out, and AWS's JSON error shape: `__type` plus `message`,
//! with `x-amzn-query-error: <legacy code>;Sender` for services that were awsQuery before (SQS).

use super::{Output, Protocol, Rendered, Service};
use crate::error::{ApiError, ApiResult, ErrorCode, Fault};
use serde_json::{Map, Value, json};

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

/// `serde_json::to_vec`, byte for byte, made cheaper for what answers are made of: long strings
/// (bodies, receipt handles) that need no escaping are copied whole rather than byte by byte, and
/// the buffer is sized once. Answers are rendered on every request, so this is on the hot path.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Numbers exactly as serde_json writes them (itoa / ryu); writing to a Vec cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, v);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string as serde_json escapes it: `"` and `\`, and control characters below 0x20
/// (`\b \t \n \f \r` by name, the others as `\u00XX`); nothing else.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Whole chunks that need no escape are copied at once; the test has no early exit inside
    // a chunk, so it compiles to vector code.
    let plain = |b: u8| (b >= 0x20) & (b != b'"') & (b != b'\\');
    let mut start = 0;
    for (c, chunk) in bytes.chunks(32).enumerate() {
        if chunk.iter().fold(true, |acc, &b| acc & plain(b)) {
            continue;
        }
        for (j, &b) in chunk.iter().enumerate() {
            if !plain(b) {
                escape(out, bytes, &mut start, c * 32 + j, b);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Copies `bytes[*start..i]`, then the escape of `b` (the byte at `i`).
fn escape(out: &mut Vec<u8>, bytes: &[u8], start: &mut usize, i: usize, b: u8) {
    out.extend_from_slice(&bytes[*start..i]);
    *start = i + 1;
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        }
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

    /// The writer is serde_json's, byte for byte, on everything JSON can hold.
    #[test]
    fn writer_matches_serde_json() {
        let samples = [
            json!(null),
            json!({"a": [1, -2, 3.5, 1e300, 0.1, true, false, null], "": {}, "e": []}),
            json!({"s": "plain", "q": "a\"b\\c/d", "c": "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}"}),
            json!({"u": "é ☃ 𝄞 \u{fffd}", "k\"ey\n": "v", "n": u64::MAX, "i": i64::MIN}),
            json!([[], [[]], {"x": {"y": {"z": "deep"}}}]),
        ];
        for v in samples {
            assert_eq!(to_vec(&v), serde_json::to_vec(&v).unwrap(), "{v}");
        }
    }

    proptest::proptest! {
        #[test]
        fn writer_matches_serde_json_on_any_string(s in "\\PC*|[\\x00-\\x7f]*", k in ".*") {
            let v = json!({k: [s.clone(), {"s": s}]});
            proptest::prop_assert_eq!(to_vec(&v), serde_json::to_vec(&v).unwrap());
        }
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
