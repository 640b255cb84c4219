//! awsQuery answers in JSON, for clients that send `Accept: application/json`: AWS wraps the same
//! output as the XML document would, `{"<Action>Response": {"<Action>Result": …,
//! "ResponseMetadata": {"RequestId": …}}}`, and names some list members as its JSON form does
//! (`queueUrls`, `messages`). Errors mirror `ErrorResponse` the same way.

use super::{Rendered, Service, xml};
use crate::error::{ApiError, Fault};
use serde_json::{Map, Value, json};

/// (awsJson member, its name in the awsQuery JSON form) for SQS results.
pub const SQS_NAMES: &[(&str, &str)] = &[("QueueUrls", "queueUrls"), ("Messages", "messages")];

const CONTENT_TYPE: &str = "application/json";

pub fn render_ok(
    action: &str,
    names: &[(&str, &str)],
    output: &Value,
    request_id: &str,
) -> Rendered {
    let result: Map<String, Value> = match output {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let name = names
                    .iter()
                    .find(|(j, _)| j == k)
                    .map_or(k.as_str(), |(_, n)| n);
                (name.to_string(), v.clone())
            })
            .collect(),
        _ => Map::new(),
    };
    let body = json!({
        format!("{action}Response"): {
            format!("{action}Result"): result,
            "ResponseMetadata": {"RequestId": request_id},
        }
    });
    Rendered {
        status: 200,
        content_type: CONTENT_TYPE,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

pub fn render_error(service: Service, err: &ApiError, request_id: &str) -> Rendered {
    let fault = match err.code.fault() {
        Fault::Sender => "Sender",
        Fault::Receiver => "Receiver",
    };
    let body = json!({"ErrorResponse": {
        "Error": {"Type": fault, "Code": err.code.legacy_code(), "Message": xml::query_message(service, err)},
        "RequestId": request_id,
    }});
    Rendered {
        status: err.code.status(),
        content_type: CONTENT_TYPE,
        headers: Vec::new(),
        body: body.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn wraps_results_like_the_xml_document() {
        let out = json!({"Messages": [{"Body": "a\r\"&quot;"}]});
        let r = render_ok("ReceiveMessage", SQS_NAMES, &out, "rid");
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            v,
            json!({"ReceiveMessageResponse": {
                "ReceiveMessageResult": {"messages": [{"Body": "a\r\"&quot;"}]},
                "ResponseMetadata": {"RequestId": "rid"}}})
        );
        let e = render_error(
            Service::Sqs,
            &ApiError::new(ErrorCode::QueueDoesNotExist, "gone"),
            "rid",
        );
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(
            v["ErrorResponse"]["Error"]["Code"],
            "AWS.SimpleQueueService.NonExistentQueue"
        );
        assert_eq!(e.status, 400);
    }
}
