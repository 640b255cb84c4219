//! What subscribers receive: the JSON envelope AWS writes (its key order, its `"Key" : value`
//! layout), the raw body, AWS's HTTP headers, and timestamps in AWS's format.

use serde_json::Value;
use std::collections::BTreeMap;

/// One published message attribute: the shape a queue keeps it in, so that a delivery carries
/// the publisher's attributes as they are.
pub type Attr = crate::delivery::QueueAttribute;

/// The kinds of envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Notification => "Notification",
            Kind::SubscriptionConfirmation => "SubscriptionConfirmation",
            Kind::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [
            Kind::Notification,
            Kind::SubscriptionConfirmation,
            Kind::UnsubscribeConfirmation,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The fields of one envelope; `render` writes them in AWS's order for the kind.
pub struct Envelope<'a> {
    pub kind: Kind,
    pub message_id: &'a str,
    pub topic_arn: &'a str,
    pub subject: Option<&'a str>,
    pub message: &'a str,
    pub timestamp_ms: u64,
    /// FIFO topics only.
    pub sequence_number: Option<&'a str>,
    /// Confirmations only.
    pub token: Option<&'a str>,
    pub subscribe_url: Option<&'a str>,
    /// Notifications only.
    pub unsubscribe_url: Option<&'a str>,
    pub attributes: &'a BTreeMap<String, Attr>,
    /// `SignatureVersion`, `Signature`, `SigningCertURL` (absent on FIFO topics).
    pub signature: Option<Signature>,
}

/// The signature fields of an envelope.
pub struct Signature {
    pub version: String,
    pub value: String,
    pub cert_url: String,
}

fn push_field(out: &mut String, first: &mut bool, key: &str, value: &str) {
    if !*first {
        out.push_str(",\n");
    }
    *first = false;
    out.push_str("  ");
    out.push_str(&Value::from(key).to_string());
    out.push_str(" : ");
    out.push_str(value);
}

fn quoted(s: &str) -> String {
    Value::from(s).to_string()
}

impl Envelope<'_> {
    /// AWS's string to sign: `name\nvalue\n` for each signed field, in AWS's order
    /// (`Subject` only when present).
    pub fn string_to_sign(&self) -> String {
        let timestamp = timestamp(self.timestamp_ms);
        let fields: Vec<(&str, Option<&str>)> = match self.kind {
            Kind::Notification => vec![
                ("Message", Some(self.message)),
                ("MessageId", Some(self.message_id)),
                ("Subject", self.subject),
                ("Timestamp", Some(&timestamp)),
                ("TopicArn", Some(self.topic_arn)),
                ("Type", Some(self.kind.as_str())),
            ],
            _ => vec![
                ("Message", Some(self.message)),
                ("MessageId", Some(self.message_id)),
                ("SubscribeURL", Some(self.subscribe_url.unwrap_or(""))),
                ("Timestamp", Some(&timestamp)),
                ("Token", Some(self.token.unwrap_or(""))),
                ("TopicArn", Some(self.topic_arn)),
                ("Type", Some(self.kind.as_str())),
            ],
        };
        let mut out = String::with_capacity(256 + self.message.len());
        for (k, v) in fields {
            if let Some(v) = v {
                out.push_str(k);
                out.push('\n');
                out.push_str(v);
                out.push('\n');
            }
        }
        out
    }

    /// The envelope as AWS writes it:
    /// `{\n  "Type" : "Notification",\n  "MessageId" : "…",\n  …\n}`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(512 + self.message.len());
        out.push_str("{\n");
        let mut first = true;
        let mut f = |k: &str, v: String| push_field(&mut out, &mut first, k, &v);
        f("Type", quoted(self.kind.as_str()));
        f("MessageId", quoted(self.message_id));
        match self.kind {
            Kind::Notification => {
                if let Some(seq) = self.sequence_number {
                    f("SequenceNumber", quoted(seq));
                }
                f("TopicArn", quoted(self.topic_arn));
                if let Some(s) = self.subject {
                    f("Subject", quoted(s));
                }
                f("Message", quoted(self.message));
                f("Timestamp", quoted(&timestamp(self.timestamp_ms)));
                if let Some(sig) = &self.signature {
                    f("SignatureVersion", quoted(&sig.version));
                    f("Signature", quoted(&sig.value));
                    f("SigningCertURL", quoted(&sig.cert_url));
                }
                if let Some(u) = self.unsubscribe_url {
                    f("UnsubscribeURL", quoted(u));
                }
                if !self.attributes.is_empty() {
                    let mut m = String::from("{\n");
                    let n = self.attributes.len();
                    for (i, (k, a)) in self.attributes.iter().enumerate() {
                        m.push_str("    ");
                        m.push_str(&quoted(k));
                        m.push_str(" : ");
                        m.push_str(&attribute_json(a));
                        m.push_str(if i + 1 < n { ",\n" } else { "\n" });
                    }
                    m.push_str("  }");
                    f("MessageAttributes", m);
                }
            }
            Kind::SubscriptionConfirmation | Kind::UnsubscribeConfirmation => {
                f("Token", quoted(self.token.unwrap_or("")));
                f("TopicArn", quoted(self.topic_arn));
                f("Message", quoted(self.message));
                f("SubscribeURL", quoted(self.subscribe_url.unwrap_or("")));
                f("Timestamp", quoted(&timestamp(self.timestamp_ms)));
                if let Some(sig) = &self.signature {
                    f("SignatureVersion", quoted(&sig.version));
                    f("Signature", quoted(&sig.value));
                    f("SigningCertURL", quoted(&sig.cert_url));
                }
            }
        }
        out.push_str("\n}");
        out
    }
}

/// `{"Type":"String","Value":"v"}`; binary values in base64.
fn attribute_json(a: &Attr) -> String {
    use base64::Engine;
    let value = match (&a.string_value, &a.binary_value) {
        (Some(s), _) => s.clone(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        (None, None) => String::new(),
    };
    format!(
        "{{\"Type\":{},\"Value\":{}}}",
        quoted(&a.data_type),
        quoted(&value)
    )
}

/// `2012-05-02T00:54:06.655Z` from epoch milliseconds.
pub fn timestamp(ms: u64) -> String {
    crate::clock::iso_millis(ms)
}

/// The headers AWS sends with every HTTP/S delivery.
pub fn http_headers(
    kind: Kind,
    message_id: &str,
    topic_arn: &str,
    subscription_arn: Option<&str>,
    raw: bool,
    content_type: &str,
) -> Vec<(String, String)> {
    let mut h = vec![
        (
            "x-amz-sns-message-type".to_string(),
            kind.as_str().to_string(),
        ),
        ("x-amz-sns-message-id".to_string(), message_id.to_string()),
        ("x-amz-sns-topic-arn".to_string(), topic_arn.to_string()),
    ];
    if let Some(s) = subscription_arn {
        h.push(("x-amz-sns-subscription-arn".to_string(), s.to_string()));
    }
    if raw {
        h.push(("x-amz-sns-rawdelivery".to_string(), "true".to_string()));
    }
    h.push(("Content-Type".to_string(), content_type.to_string()));
    h.push((
        "User-Agent".to_string(),
        "Amazon Simple Notification Service Agent".to_string(),
    ));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_335_920_046_655), "2012-05-02T00:54:06.655Z");
        assert_eq!(timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn golden_notification() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "a".to_string(),
            Attr {
                data_type: "String".into(),
                string_value: Some("v".into()),
                binary_value: None,
            },
        );
        attrs.insert(
            "b".to_string(),
            Attr {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some(b"hi".to_vec()),
            },
        );
        let e = Envelope {
            kind: Kind::Notification,
            message_id: "m",
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t",
            subject: Some("s"),
            message: "line\n\"q\" ö",
            timestamp_ms: 1_335_920_046_655,
            sequence_number: None,
            token: None,
            subscribe_url: None,
            unsubscribe_url: Some("http://h/?Action=Unsubscribe&SubscriptionArn=x"),
            attributes: &attrs,
            signature: None,
        };
        assert_eq!(
            e.render(),
            "{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : \"m\",\n  \"TopicArn\" : \"arn:aws:sns:us-east-1:000000000000:t\",\n  \"Subject\" : \"s\",\n  \"Message\" : \"line\\n\\\"q\\\" ö\",\n  \"Timestamp\" : \"2012-05-02T00:54:06.655Z\",\n  \"UnsubscribeURL\" : \"http://h/?Action=Unsubscribe&SubscriptionArn=x\",\n  \"MessageAttributes\" : {\n    \"a\" : {\"Type\":\"String\",\"Value\":\"v\"},\n    \"b\" : {\"Type\":\"Binary\",\"Value\":\"aGk=\"}\n  }\n}"
        );
        let parsed: Value = serde_json::from_str(&e.render()).unwrap();
        assert_eq!(parsed["Message"], "line\n\"q\" ö");
        assert_eq!(
            e.string_to_sign(),
            "Message\nline\n\"q\" ö\nMessageId\nm\nSubject\ns\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
    }
}
