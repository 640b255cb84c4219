//! Queue attributes: AWS's names, defaults and validation, and the parsed settings the hot path
//! reads. Explicitly set attributes are kept in canonical string form; everything else is derived.

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const DEFAULT_VISIBILITY: u32 = 30;
pub const DEFAULT_RETENTION: u32 = 345_600;
pub const MAX_VISIBILITY: u32 = 43_200;
pub const MAX_DELAY: u32 = 900;
pub const MAX_WAIT: u32 = 20;

/// Attributes a client may set on a standard queue.
pub const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
];

/// Attributes only FIFO queues have.
pub const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Read-only attributes GetQueueAttributes computes.
pub const COMPUTED: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// The durable record of a queue (its configuration, not its messages).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueRecord {
    pub account: String,
    pub region: String,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_s: u64,
    pub modified_s: u64,
}

impl QueueRecord {
    pub fn is_fifo(&self) -> bool {
        self.attributes
            .get("FifoQueue")
            .is_some_and(|v| v == "true")
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:sqs:{}:{}:{}", self.region, self.account, self.name)
    }
}

/// A parsed `RedrivePolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub dead_letter_arn: String,
    pub max_receive_count: u32,
}

/// The settings the message path needs, parsed once per change.
#[derive(Debug, Clone)]
pub struct Settings {
    pub delay: u32,
    pub max_size: usize,
    pub retention: u32,
    pub wait: u32,
    pub visibility: u32,
    pub redrive: Option<Redrive>,
    pub fifo: bool,
    /// FIFO: deduplicate by a SHA-256 of the body when no deduplication id is given.
    pub content_dedup: bool,
    /// FIFO: `DeduplicationScope` is `messageGroup`.
    pub dedup_per_group: bool,
}

/// AWS's rule on the high-throughput pair: per-group throughput needs per-group deduplication.
pub fn check_fifo_combination(attrs: &BTreeMap<String, String>) -> ApiResult<()> {
    let per_group_limit = attrs
        .get("FifoThroughputLimit")
        .is_some_and(|v| v == "perMessageGroupId");
    let queue_scope = attrs.get("DeduplicationScope").is_none_or(|v| v == "queue");
    if per_group_limit && queue_scope {
        return Err(ApiError::new(
            ErrorCode::InvalidAttributeValue,
            "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is only valid when DeduplicationScope is messageGroup.",
        ));
    }
    Ok(())
}

impl Settings {
    pub fn from_attributes(attrs: &BTreeMap<String, String>, max_size: usize) -> Settings {
        let num = |name: &str, default: u32| {
            attrs
                .get(name)
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Settings {
            delay: num("DelaySeconds", 0),
            max_size: attrs
                .get("MaximumMessageSize")
                .and_then(|v| v.parse().ok())
                .unwrap_or(max_size),
            retention: num("MessageRetentionPeriod", DEFAULT_RETENTION),
            wait: num("ReceiveMessageWaitTimeSeconds", 0),
            visibility: num("VisibilityTimeout", DEFAULT_VISIBILITY),
            redrive: attrs
                .get("RedrivePolicy")
                .and_then(|p| parse_redrive(p).ok()),
            fifo: attrs.get("FifoQueue").is_some_and(|v| v == "true"),
            content_dedup: attrs
                .get("ContentBasedDeduplication")
                .is_some_and(|v| v == "true"),
            dedup_per_group: attrs
                .get("DeduplicationScope")
                .is_some_and(|v| v == "messageGroup"),
        }
    }
}

fn invalid_attribute(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidAttributeValue,
        format!("Invalid value for the parameter {name}."),
    )
}

pub fn unknown_attribute(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidAttributeName,
        format!("Unknown Attribute {name}."),
    )
}

fn int_in(name: &str, value: &str, min: u64, max: u64) -> ApiResult<String> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n.to_string()),
        _ => Err(invalid_attribute(name)),
    }
}

/// Validates one attribute for CreateQueue/SetQueueAttributes on a standard queue and returns its
/// canonical form; `None` means "remove" (AWS clears `Policy` and `RedrivePolicy` set to "").
/// Cross-queue checks (the dead-letter target exists) are done by the caller.
pub fn validate(
    name: &str,
    value: &str,
    max_message_size: usize,
    fifo: bool,
) -> ApiResult<Option<String>> {
    // A standard queue has no FIFO attributes, not even `FifoQueue=false`.
    if FIFO_ONLY.contains(&name) && !fifo {
        return Err(unknown_attribute(name));
    }
    let one_of = |allowed: &[&str]| {
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(value))
            .map(|a| a.to_string())
            .ok_or_else(|| invalid_attribute(name))
    };
    let canonical = match name {
        "DelaySeconds" => int_in(name, value, 0, MAX_DELAY as u64)?,
        "MaximumMessageSize" => int_in(name, value, 1024, max_message_size as u64)?,
        "MessageRetentionPeriod" => int_in(name, value, 60, 1_209_600)?,
        "ReceiveMessageWaitTimeSeconds" => int_in(name, value, 0, MAX_WAIT as u64)?,
        "VisibilityTimeout" => int_in(name, value, 0, MAX_VISIBILITY as u64)?,
        "KmsDataKeyReusePeriodSeconds" => int_in(name, value, 60, 86_400)?,
        "KmsMasterKeyId" if value.is_empty() => return Ok(None),
        "KmsMasterKeyId" => value.to_string(),
        "SqsManagedSseEnabled" => match value.to_ascii_lowercase().as_str() {
            "true" | "false" => value.to_ascii_lowercase(),
            _ => return Err(invalid_attribute(name)),
        },
        "Policy" => {
            if value.is_empty() {
                return Ok(None);
            }
            match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(_)) => value.to_string(),
                _ => return Err(invalid_attribute(name)),
            }
        }
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            let r = parse_redrive(value)?;
            serde_json::json!({"deadLetterTargetArn": r.dead_letter_arn, "maxReceiveCount": r.max_receive_count})
                .to_string()
        }
        "RedriveAllowPolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            canonical_allow_policy(value)?
        }
        // The queue type is fixed by CreateQueue: `true` again is a no-op.
        "FifoQueue" => match one_of(&["true", "false"])?.as_str() {
            "true" => "true".to_string(),
            _ => {
                return Err(ApiError::new(
                    ErrorCode::InvalidAttributeValue,
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
                ));
            }
        },
        "ContentBasedDeduplication" => one_of(&["true", "false"])?,
        "DeduplicationScope" => one_of(&["messageGroup", "queue"])?,
        "FifoThroughputLimit" => one_of(&["perQueue", "perMessageGroupId"])?,
        _ => return Err(unknown_attribute(name)),
    };
    Ok(Some(canonical))
}

fn redrive_error(value: &str, reason: &str) -> ApiError {
    ApiError::invalid_value("RedrivePolicy", value, reason)
}

/// Parses a RedrivePolicy JSON document (maxReceiveCount may be a number or a numeric string).
pub fn parse_redrive(value: &str) -> ApiResult<Redrive> {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(value) else {
        return Err(redrive_error(
            value,
            "Redrive policy is not a valid JSON map.",
        ));
    };
    let arn = match map.get("deadLetterTargetArn") {
        Some(Value::String(s)) if parse_arn(s).is_some() => s.clone(),
        Some(_) => {
            return Err(redrive_error(
                value,
                "Invalid value for deadLetterTargetArn.",
            ));
        }
        None => {
            return Err(redrive_error(
                value,
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            ));
        }
    };
    let count = match map.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        None => {
            return Err(redrive_error(
                value,
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
        Some(_) => None,
    };
    match count {
        Some(n) if (1..=1000).contains(&n) => Ok(Redrive {
            dead_letter_arn: arn,
            max_receive_count: n as u32,
        }),
        _ => Err(redrive_error(
            value,
            &format!(
                "Invalid value for maxReceiveCount: {}, valid values are from 1 to 1000 both inclusive.",
                map.get("maxReceiveCount")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
                    .trim_matches('"')
            ),
        )),
    }
}

/// The parts of a `RedriveAllowPolicy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowPolicy {
    AllowAll,
    DenyAll,
    ByQueue(Vec<String>),
}

pub fn parse_allow_policy(value: &str) -> ApiResult<AllowPolicy> {
    let bad = |reason: &str| ApiError::invalid_value("RedriveAllowPolicy", value, reason);
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(value) else {
        return Err(bad("Redrive allow policy is not a valid JSON map."));
    };
    let arns: Option<Vec<String>> = match map.get("sourceQueueArns") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| bad("sourceQueueArns must be a list of strings."))
                })
                .collect::<ApiResult<_>>()?,
        ),
        Some(_) => return Err(bad("sourceQueueArns must be a list of strings.")),
    };
    match map.get("redrivePermission").and_then(Value::as_str) {
        Some("allowAll") if arns.is_none() => Ok(AllowPolicy::AllowAll),
        Some("denyAll") if arns.is_none() => Ok(AllowPolicy::DenyAll),
        Some("allowAll" | "denyAll") => Err(bad(
            "sourceQueueArns is only allowed with redrivePermission byQueue.",
        )),
        Some("byQueue") => match arns {
            Some(a) if (1..=10).contains(&a.len()) => Ok(AllowPolicy::ByQueue(a)),
            _ => Err(bad(
                "redrivePermission byQueue needs between 1 and 10 sourceQueueArns.",
            )),
        },
        _ => Err(bad(
            "redrivePermission must be one of allowAll, denyAll, byQueue.",
        )),
    }
}

fn canonical_allow_policy(value: &str) -> ApiResult<String> {
    Ok(match parse_allow_policy(value)? {
        AllowPolicy::AllowAll => r#"{"redrivePermission":"allowAll"}"#.to_string(),
        AllowPolicy::DenyAll => r#"{"redrivePermission":"denyAll"}"#.to_string(),
        AllowPolicy::ByQueue(arns) => {
            serde_json::json!({"redrivePermission": "byQueue", "sourceQueueArns": arns}).to_string()
        }
    })
}

/// Splits `arn:aws:sqs:region:account:name` into (region, account, name).
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!name.is_empty() && !account.is_empty()).then_some((region, account, name))
}

/// AWS's queue name rule for standard queues.
pub fn valid_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            validate("VisibilityTimeout", "43200", 1 << 20, false)
                .unwrap()
                .unwrap(),
            "43200"
        );
        assert_eq!(
            validate("VisibilityTimeout", "43201", 1 << 20, false)
                .unwrap_err()
                .code,
            ErrorCode::InvalidAttributeValue
        );
        assert_eq!(
            validate("DelaySeconds", "-1", 1 << 20, false)
                .unwrap_err()
                .message,
            "Invalid value for the parameter DelaySeconds."
        );
        assert_eq!(
            validate("MaximumMessageSize", "1048577", 1 << 20, false)
                .unwrap_err()
                .code,
            ErrorCode::InvalidAttributeValue
        );
        assert_eq!(
            validate("Bogus", "1", 1 << 20, false).unwrap_err().message,
            "Unknown Attribute Bogus."
        );
        assert_eq!(validate("Policy", "", 1 << 20, false).unwrap(), None);
        assert_eq!(
            validate("KmsMasterKeyId", "", 1 << 20, false).unwrap(),
            None
        );
        for v in ["true", "false"] {
            assert_eq!(
                validate("FifoQueue", v, 1 << 20, false)
                    .unwrap_err()
                    .message,
                "Unknown Attribute FifoQueue."
            );
        }
        assert_eq!(
            validate("FifoQueue", "true", 1 << 20, true).unwrap(),
            Some("true".into())
        );
        assert_eq!(
            validate("FifoQueue", "false", 1 << 20, true)
                .unwrap_err()
                .message,
            "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
        );
    }

    #[test]
    fn redrive() {
        let r = parse_redrive(r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"5"}"#).unwrap();
        assert_eq!(r.max_receive_count, 5);
        let canon = validate("RedrivePolicy", r#"{"maxReceiveCount":"5","deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#, 1 << 20, false)
            .unwrap()
            .unwrap();
        assert_eq!(
            canon,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":5}"#
        );
        assert!(parse_redrive("not json").is_err());
        assert!(
            parse_redrive(r#"{"deadLetterTargetArn":"arn:aws:sqs:r:1:q","maxReceiveCount":0}"#)
                .is_err()
        );
        assert!(parse_redrive(r#"{"maxReceiveCount":3}"#).is_err());
    }

    #[test]
    fn allow_policy() {
        assert_eq!(
            parse_allow_policy(r#"{"redrivePermission":"denyAll"}"#).unwrap(),
            AllowPolicy::DenyAll
        );
        assert!(parse_allow_policy(r#"{"redrivePermission":"byQueue"}"#).is_err());
        assert!(
            parse_allow_policy(r#"{"redrivePermission":"allowAll","sourceQueueArns":["a"]}"#)
                .is_err()
        );
    }

    #[test]
    fn names_and_arns() {
        assert!(valid_queue_name("a-b_C9"));
        assert!(!valid_queue_name(""));
        assert!(!valid_queue_name("a.b"));
        assert!(!valid_queue_name(&"x".repeat(81)));
        assert_eq!(
            parse_arn("arn:aws:sqs:eu-west-1:123456789012:q"),
            Some(("eu-west-1", "123456789012", "q"))
        );
        assert_eq!(parse_arn("arn:aws:sns:eu-west-1:123456789012:q"), None);
    }
}
