//! One published message, validated as AWS validates it: the message and its structure, the
//! subject, message attributes of every data type, the size limit, and the FIFO fields.

use super::envelope::Attr;
use super::{DEFAULT_MAX_MESSAGE_SIZE, invalid, uuid};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One message, validated.
#[derive(Debug)]
pub(super) struct Message {
    pub(super) id: String,
    pub(super) text: String,
    pub(super) subject: Option<String>,
    /// `MessageStructure=json`: the message per protocol (`default` and string members).
    pub(super) per_protocol: Option<BTreeMap<String, String>>,
    pub(super) attributes: BTreeMap<String, Attr>,
    pub(super) group_id: Option<String>,
    pub(super) dedup_id: Option<String>,
    pub(super) trace_header: Option<String>,
}

impl Message {
    /// The text a subscription of `protocol` gets.
    pub(super) fn text_for(&self, protocol: &str) -> &str {
        match &self.per_protocol {
            Some(m) => m
                .get(protocol)
                .or_else(|| m.get("default"))
                .map_or("", String::as_str),
            None => &self.text,
        }
    }
}

fn value_invalid(msg: String) -> ApiError {
    ApiError::new(ErrorCode::ParameterValueInvalid, msg)
}

/// Message attributes with AWS's checks; `path` is the validation path prefix (SNS-005).
fn parse_attributes(p: &Params, path: &str) -> ApiResult<BTreeMap<String, Attr>> {
    use base64::Engine;
    let Some(Value::Object(map)) = p.get("MessageAttributes") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (name, v) in map {
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(value_invalid(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let Some(data_type) = field("DataType") else {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{path}messageAttributes.{name}.member.dataType' failed to satisfy constraint: Member must not be null"
                ),
            ));
        };
        let (base, custom) = match data_type.split_once('.') {
            Some((b, c)) => (b, Some(c)),
            None => (data_type, None),
        };
        if !matches!(base, "String" | "Number" | "Binary") || custom.is_some_and(str::is_empty) {
            return Err(value_invalid(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        let empty = || {
            value_invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            ))
        };
        let attr = if base == "Binary" {
            let b64 = field("BinaryValue").ok_or_else(empty)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| {
                    value_invalid(format!(
                        "The message attribute '{name}' has an invalid binary value."
                    ))
                })?;
            if bytes.is_empty() {
                return Err(empty());
            }
            Attr {
                data_type: data_type.to_string(),
                string_value: None,
                binary_value: Some(bytes),
            }
        } else {
            let s = field("StringValue").ok_or_else(empty)?;
            if base == "Number" && s.trim().parse::<f64>().is_err() {
                return Err(value_invalid(format!(
                    "Could not cast message attribute '{name}' value to number."
                )));
            }
            if data_type == "String.Array"
                && !serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_array())
            {
                return Err(value_invalid(format!(
                    "The message attribute '{name}' with type 'String.Array' must use field 'String' with a JSON array as value."
                )));
            }
            Attr {
                data_type: data_type.to_string(),
                string_value: Some(s.to_string()),
                binary_value: None,
            }
        };
        out.insert(name.clone(), attr);
    }
    Ok(out)
}

/// What a message counts towards the size limit: body, and name, type and value of each attribute.
pub(super) fn size_of(text: &str, attributes: &BTreeMap<String, Attr>) -> usize {
    text.len()
        + attributes
            .iter()
            .map(|(k, a)| {
                k.len()
                    + a.data_type.len()
                    + a.string_value.as_ref().map_or(0, String::len)
                    + a.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

/// `parse_message_sized` with AWS's default size limit.
pub(super) fn parse_message(
    p: &Params,
    path: &str,
    fifo: Option<bool>,
    content_dedup: bool,
) -> ApiResult<Message> {
    parse_message_sized(p, path, fifo, content_dedup, DEFAULT_MAX_MESSAGE_SIZE)
}

/// Validates one message (a Publish or one batch entry) for a topic that is FIFO or not (None:
/// no topic, an SMS), deduplicates by content or not, and takes messages up to `max_size`.
pub(super) fn parse_message_sized(
    p: &Params,
    path: &str,
    fifo: Option<bool>,
    content_dedup: bool,
    max_size: usize,
) -> ApiResult<Message> {
    let text = match p.0.get("Message") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("Message")),
        None => {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{path}message' failed to satisfy constraint: Member must not be null"
                ),
            ));
        }
    };
    if text.is_empty() {
        return Err(invalid("Empty message"));
    }
    let per_protocol = match p.str("MessageStructure")? {
        None => None,
        Some("json") => {
            let no_default =
                || invalid("Message Structure - No default entry in JSON message body");
            let v: Value = serde_json::from_str(&text)
                .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
            let obj = v.as_object().ok_or_else(no_default)?;
            if !obj.get("default").is_some_and(Value::is_string) {
                return Err(no_default());
            }
            Some(
                obj.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
            )
        }
        Some(other) => {
            return Err(invalid(format!(
                "MessageStructure Reason: {other} is not a valid message structure"
            )));
        }
    };
    let subject = p.str("Subject")?.map(String::from);
    if let Some(s) = &subject
        && (s.chars().count() > 100
            || s.chars().any(|c| c.is_control())
            || s.starts_with(char::is_whitespace))
    {
        return Err(invalid("Subject"));
    }
    let attributes = parse_attributes(p, path)?;
    if size_of(&text, &attributes) > max_size {
        return Err(invalid("Message too long"));
    }
    let group_id = p.str("MessageGroupId")?.map(String::from);
    let mut dedup_id = p.str("MessageDeduplicationId")?.map(String::from);
    match fifo {
        Some(true) => {
            if group_id.is_none() {
                return Err(invalid(
                    "The MessageGroupId parameter is required for FIFO topics",
                ));
            }
            if dedup_id.is_none() {
                if !content_dedup {
                    return Err(invalid(
                        "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
                dedup_id = Some(hex(&Sha256::digest(text.as_bytes())));
            }
        }
        Some(false) if dedup_id.is_some() => {
            return Err(invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        _ => {}
    }
    Ok(Message {
        id: uuid(),
        text,
        subject,
        per_protocol,
        attributes,
        group_id,
        dedup_id,
        trace_header: None,
    })
}

use crate::ids::hex;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        Params::from_value(v).unwrap()
    }

    #[test]
    fn attribute_errors_as_aws_words_them() {
        let err = |attrs: Value| {
            parse_message(
                &params(json!({"Message": "m", "MessageAttributes": attrs})),
                "",
                Some(false),
                false,
            )
            .unwrap_err()
        };
        let e = err(json!({"attr1": {"DataType": "Binary", "BinaryValue": ""}}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::ParameterValueInvalid,
                "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type 'Binary'."
            )
        );
        let e = err(json!({"attr1": {"StringValue": "value"}}));
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'messageAttributes.attr1.member.dataType' failed to satisfy constraint: Member must not be null"
        );
        for bad in ["InvalidType", "String.", "Stringprefixed"] {
            assert!(
                err(json!({"attr1": {"DataType": bad, "StringValue": "v"}}))
                    .message
                    .contains("invalid message attribute type"),
                "{bad}"
            );
        }
        for good in ["String.prefixed", "String.  prefixed.", "String.Array"] {
            let v = if good == "String.Array" { "[1]" } else { "v" };
            assert!(parse_message(&params(json!({"Message": "m", "MessageAttributes": {"a-b": {"DataType": good, "StringValue": v}}})), "", Some(false), false).is_ok(), "{good}");
        }
        assert_eq!(
            err(json!({"a^*?": {"DataType": "String", "StringValue": "v"}})).message,
            "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots."
        );
    }

    #[test]
    fn message_rules() {
        let m = |v: Value, fifo: bool, cbd: bool| parse_message(&params(v), "", Some(fifo), cbd);
        assert_eq!(
            m(json!({"Message": ""}), false, false).unwrap_err().message,
            "Invalid parameter: Empty message"
        );
        let attr = json!({"attr1": {"DataType": "Number", "StringValue": "1"}});
        assert!(
            m(
                json!({"Message": "x".repeat(262_132), "MessageAttributes": attr}),
                false,
                false
            )
            .is_ok()
        );
        assert_eq!(
            m(
                json!({"Message": "x".repeat(262_133), "MessageAttributes": attr}),
                false,
                false
            )
            .unwrap_err()
            .message,
            "Invalid parameter: Message too long"
        );
        let no_default =
            "Invalid parameter: Message Structure - No default entry in JSON message body";
        assert_eq!(
            m(
                json!({"Message": "{\"sqs\":\"x\"}", "MessageStructure": "json"}),
                false,
                false
            )
            .unwrap_err()
            .message,
            no_default
        );
        assert_eq!(
            m(
                json!({"Message": "{\"default\":{\"o\":1}}", "MessageStructure": "json"}),
                false,
                false
            )
            .unwrap_err()
            .message,
            no_default
        );
        let j = m(json!({"Message": "{\"default\":\"d\",\"sqs\":\"s\",\"http\":{\"o\":1}}", "MessageStructure": "json"}), false, false).unwrap();
        assert_eq!(
            (j.text_for("sqs"), j.text_for("http"), j.text_for("email")),
            ("s", "d", "d")
        );
        assert!(
            m(
                json!({"Message": "x", "MessageDeduplicationId": "d"}),
                false,
                false
            )
            .unwrap_err()
            .message
            .contains("not valid for this topic type")
        );
        assert!(
            m(json!({"Message": "x", "MessageGroupId": "g"}), true, false)
                .unwrap_err()
                .message
                .contains("ContentBasedDeduplication")
        );
        let f = m(json!({"Message": "x", "MessageGroupId": "g"}), true, true).unwrap();
        assert_eq!(f.dedup_id.unwrap().len(), 64);
        let big = params(json!({"Message": "x".repeat(300_000)}));
        assert!(parse_message_sized(&big, "", Some(false), false, 1_048_576).is_ok());
        assert!(parse_message_sized(&big, "", Some(false), false, 262_144).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_messages_never_panic(
            message in ".{0,40}",
            structure in proptest::option::of("json|xml|"),
            name in "[ -~]{0,12}",
            data_type in "(String|Number|Binary)?[.A-Za-z ]{0,8}",
            value in ".{0,20}",
            group in proptest::option::of("[ -~]{0,10}"),
            fifo in proptest::option::of(proptest::bool::ANY),
        ) {
            let mut v = json!({"Message": message, "MessageAttributes": {name: {"DataType": data_type, "StringValue": value, "BinaryValue": value}}});
            if let Some(s) = structure { v["MessageStructure"] = json!(s); }
            if let Some(g) = group { v["MessageGroupId"] = json!(g); }
            let _ = parse_message(&params(v), "", fifo, true);
        }
    }
}
