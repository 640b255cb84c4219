//! What SNS accepts in a subscription: protocols, endpoints per protocol, and each subscription
//! attribute with AWS's reason texts; confirmation tokens.

use super::{invalid, policy};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pattern::{FilterPolicy, FilterPolicyScope};
use serde_json::Value;

/// Protocols SNS accepts; `sqs`, `http` and `https` are delivered, the others stored.
pub(super) const PROTOCOLS: &[&str] = &[
    "sqs",
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "lambda",
    "firehose",
    "application",
];

/// Checks one subscription attribute. Returns the value to store (None: remove it) or the
/// reason AWS gives, without its prefix (which differs between Subscribe and Set).
pub(super) fn check_attribute(
    name: &str,
    value: &str,
    scope: FilterPolicyScope,
    fifo_pair: bool,
) -> Result<Option<String>, String> {
    match name {
        "RawMessageDelivery" => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Some("true".into())),
            "false" => Ok(Some("false".into())),
            _ => Err(format!("RawMessageDelivery: Invalid value [{value}]. Must be true or false.")),
        },
        "FilterPolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            FilterPolicy::parse(value, scope)
                .map(|_| Some(value.to_string()))
                .map_err(|e| format!("FilterPolicy: {}", e.reason))
        }
        "FilterPolicyScope" => FilterPolicyScope::from_name(value)
            .map(|s| Some(s.as_str().to_string()))
            .ok_or_else(|| format!("FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes")),
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            let p: Value = serde_json::from_str(value).map_err(|_| "RedrivePolicy: failed to parse JSON".to_string())?;
            let arn = p["deadLetterTargetArn"].as_str().unwrap_or("");
            if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
                return Err("RedrivePolicy: deadLetterTargetArn is an invalid arn".into());
            }
            if fifo_pair && !arn.ends_with(".fifo") {
                return Err("RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.".into());
            }
            Ok(Some(value.to_string()))
        }
        "DeliveryPolicy" => policy::normalize_subscription(value).map_err(|e| {
            e.message.strip_prefix("Invalid parameter: ").unwrap_or(&e.message).to_string()
        }),
        "SubscriptionRoleArn" | "ReplayPolicy" => Ok(Some(value.to_string())),
        _ => Err(String::new()),
    }
}

/// Checks an endpoint for its protocol.
pub(super) fn check_endpoint(protocol: &str, endpoint: &str) -> ApiResult<()> {
    let ok = match protocol {
        "sqs" => {
            endpoint.starts_with("arn:")
                && endpoint.split(':').nth(2) == Some("sqs")
                && endpoint.split(':').count() == 6
        }
        "http" => endpoint.starts_with("http://"),
        "https" => endpoint.starts_with("https://"),
        "email" | "email-json" => endpoint.contains('@'),
        "sms" => {
            let digits = endpoint.strip_prefix('+').unwrap_or(endpoint);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("Invalid SMS endpoint: {endpoint}"),
                ));
            }
            true
        }
        _ => endpoint.starts_with("arn:"),
    };
    if ok {
        Ok(())
    } else if protocol == "sqs" {
        Err(invalid("SQS endpoint ARN"))
    } else {
        Err(invalid(
            "Endpoint Reason: Endpoint must match the specified protocol",
        ))
    }
}

/// Tokens are 288 hex characters, as AWS's are.
pub(super) fn new_token() -> String {
    (0..9)
        .map(|_| format!("{:032x}", rand::random::<u128>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_reasons() {
        let s = FilterPolicyScope::MessageAttributes;
        assert_eq!(
            check_attribute("RawMessageDelivery", "TrUe", s, false),
            Ok(Some("true".into()))
        );
        assert_eq!(
            check_attribute("RawMessageDelivery", "wrongvalue", s, false).unwrap_err(),
            "RawMessageDelivery: Invalid value [wrongvalue]. Must be true or false."
        );
        assert_eq!(check_attribute("FilterPolicy", "", s, false), Ok(None));
        assert_eq!(
            check_attribute("FilterPolicy", r#"{"key":[]}"#, s, false).unwrap_err(),
            "FilterPolicy: Empty arrays are not allowed"
        );
        assert_eq!(
            check_attribute(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"fake-arn"}"#,
                s,
                false
            )
            .unwrap_err(),
            "RedrivePolicy: deadLetterTargetArn is an invalid arn"
        );
        assert_eq!(
            check_attribute(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq"}"#,
                s,
                true
            )
            .unwrap_err(),
            "RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic."
        );
        assert_eq!(
            check_attribute("FakeAttribute", "x", s, false).unwrap_err(),
            ""
        );
    }

    #[test]
    fn endpoints() {
        assert!(check_endpoint("sqs", "arn:aws:sqs:us-east-1:000000000000:q").is_ok());
        assert!(check_endpoint("sqs", "http://x").is_err());
        assert!(check_endpoint("http", "http://example.com/").is_ok());
        for bad in [
            "NAA+15551234567",
            "+15--551234567",
            "+15551234567.",
            "/+15551234567",
            "invalid-number",
        ] {
            assert_eq!(
                check_endpoint("sms", bad).unwrap_err().message,
                format!("Invalid SMS endpoint: {bad}")
            );
        }
        assert!(check_endpoint("sms", "+15551234567").is_ok());
        assert_eq!(new_token().len(), 288);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_attributes_never_panic(name in "[A-Za-z]{0,20}", value in ".{0,60}", fifo in proptest::bool::ANY) {
            let _ = check_attribute(&name, &value, FilterPolicyScope::MessageBody, fifo);
            let _ = check_attribute(&name, &value, FilterPolicyScope::MessageAttributes, fifo);
            for known in ["RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy", "DeliveryPolicy"] {
                let _ = check_attribute(known, &value, FilterPolicyScope::MessageBody, fifo);
            }
            let _ = check_endpoint("sms", &value);
            let _ = check_endpoint("sqs", &value);
        }
    }
}
