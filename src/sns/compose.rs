//! What an HTTP/S subscriber receives, written at each attempt rather than at Publish: the
//! delivery engine keeps the message text and attributes once plus a small [`Spec`], and calls
//! [`Composer`] (connected at open) when it tries the endpoint. That keeps RSA signing (a
//! millisecond or more) and envelope rendering off Publish, and keeps a pending delivery's record
//! small, so an endpoint that never answers costs Publish one short record and no more.

use super::envelope::{self, Envelope, Kind, Signature};
use super::signing::LazySigner;
use crate::delivery::{Compose, QueueMessage};
use serde::{Deserialize, Serialize};

/// The fields of one HTTP/S request besides the message's text and attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Spec {
    /// `Notification`, `SubscriptionConfirmation` or `UnsubscribeConfirmation`.
    pub kind: String,
    pub message_id: String,
    pub topic_arn: String,
    pub subscription_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub timestamp_ms: u64,
    /// FIFO topics only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// `scheme://host` of the URLs in the envelope (the caller's, or the subscription's).
    pub base_url: String,
    /// The topic's `SignatureVersion`; `None` when the envelope carries no signature (FIFO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_version: Option<String>,
    /// `RawMessageDelivery`: the text as it is, no envelope.
    #[serde(default)]
    pub raw: bool,
    pub content_type: String,
    /// Confirmations only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Spec {
    /// The spec as the job records it.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The headers and body of the request for the message `message`.
    fn request(
        &self,
        message: &QueueMessage,
        signer: &LazySigner,
    ) -> Result<(Vec<(String, String)>, String), String> {
        let kind = Kind::parse(&self.kind)
            .ok_or_else(|| format!("unknown SNS message type {:?}", self.kind))?;
        // AWS names the subscription in every request but the SubscriptionConfirmation.
        let subscription =
            (kind != Kind::SubscriptionConfirmation).then_some(self.subscription_arn.as_str());
        let headers = envelope::http_headers(
            kind,
            &self.message_id,
            &self.topic_arn,
            subscription,
            self.raw,
            &self.content_type,
        );
        if self.raw {
            return Ok((headers, message.body.clone()));
        }
        let confirmation = kind != Kind::Notification;
        let subscribe_url = confirmation.then(|| {
            format!(
                "{}/?Action=ConfirmSubscription&TopicArn={}&Token={}",
                self.base_url,
                self.topic_arn,
                self.token.as_deref().unwrap_or("")
            )
        });
        let unsubscribe_url = (!confirmation).then(|| {
            format!(
                "{}/?Action=Unsubscribe&SubscriptionArn={}",
                self.base_url, self.subscription_arn
            )
        });
        let mut e = Envelope {
            kind,
            message_id: &self.message_id,
            topic_arn: &self.topic_arn,
            subject: self.subject.as_deref(),
            message: &message.body,
            timestamp_ms: self.timestamp_ms,
            sequence_number: self.sequence_number.as_deref(),
            token: self.token.as_deref(),
            subscribe_url: subscribe_url.as_deref(),
            unsubscribe_url: unsubscribe_url.as_deref(),
            attributes: &message.attributes,
            signature: None,
        };
        if let Some(version) = &self.signature_version {
            let signer = signer.get();
            e.signature = Some(Signature {
                version: version.clone(),
                value: signer.sign(version, &e.string_to_sign()),
                cert_url: format!("{}{}", self.base_url, signer.cert_path()),
            });
        }
        Ok((headers, e.render()))
    }
}

/// Writes SNS's HTTP/S requests for the delivery engine.
pub(super) struct Composer(pub LazySigner);

impl Compose for Composer {
    fn compose(
        &self,
        spec: &str,
        message: &QueueMessage,
    ) -> Result<(Vec<(String, String)>, String), String> {
        let spec: Spec = serde_json::from_str(spec)
            .map_err(|e| format!("an SNS delivery's record is unreadable: {e}"))?;
        spec.request(message, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::QueueAttribute;

    fn spec(kind: Kind) -> Spec {
        Spec {
            kind: kind.as_str().into(),
            message_id: "m-1".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            subscription_arn: "arn:aws:sns:us-east-1:000000000000:t:s-1".into(),
            subject: Some("hello".into()),
            timestamp_ms: 1_335_920_046_655,
            sequence_number: None,
            base_url: "http://localhost:4566".into(),
            signature_version: Some("1".into()),
            raw: false,
            content_type: "text/plain; charset=UTF-8".into(),
            token: None,
        }
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A composed notification is AWS's envelope with a signature over AWS's string to sign,
    /// and the headers name the subscription; the spec survives its record.
    #[test]
    fn a_notification_is_rendered_and_signed_at_the_attempt() {
        let durable = std::sync::Arc::new(crate::storage::Durable::memory());
        let signer = LazySigner::start(&durable).unwrap();
        let s = spec(Kind::Notification);
        let mut message = QueueMessage {
            body: "line\n\"quoted\"".into(),
            ..Default::default()
        };
        message.attributes.insert(
            "colour".into(),
            QueueAttribute {
                data_type: "String".into(),
                string_value: Some("red".into()),
                binary_value: None,
            },
        );
        let (headers, body) = Composer(signer.clone())
            .compose(&s.encode(), &message)
            .unwrap();
        assert_eq!(
            header(&headers, "x-amz-sns-subscription-arn"),
            Some(s.subscription_arn.as_str())
        );
        assert_eq!(
            header(&headers, "x-amz-sns-message-type"),
            Some("Notification")
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Message"], "line\n\"quoted\"");
        assert_eq!(v["MessageAttributes"]["colour"]["Value"], "red");
        assert_eq!(
            v["UnsubscribeURL"],
            format!(
                "http://localhost:4566/?Action=Unsubscribe&SubscriptionArn={}",
                s.subscription_arn
            )
        );
        let to_sign = "Message\nline\n\"quoted\"\nMessageId\nm-1\nSubject\nhello\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n";
        assert_eq!(v["Signature"], signer.get().sign("1", to_sign));
        assert!(
            v["SigningCertURL"]
                .as_str()
                .unwrap()
                .starts_with("http://localhost:4566/")
        );
    }

    /// Raw delivery sends the text as it is; a confirmation carries its token and SubscribeURL
    /// and no subscription header; an unreadable spec is an error, not a panic.
    #[test]
    fn raw_confirmations_and_bad_specs() {
        let durable = std::sync::Arc::new(crate::storage::Durable::memory());
        let composer = Composer(LazySigner::start(&durable).unwrap());
        let message = QueueMessage {
            body: "as is".into(),
            ..Default::default()
        };
        let raw = Spec {
            raw: true,
            ..spec(Kind::Notification)
        };
        let (headers, body) = composer.compose(&raw.encode(), &message).unwrap();
        assert_eq!(body, "as is");
        assert_eq!(header(&headers, "x-amz-sns-rawdelivery"), Some("true"));

        let confirm = Spec {
            token: Some("tok".into()),
            subject: None,
            ..spec(Kind::SubscriptionConfirmation)
        };
        let (headers, body) = composer.compose(&confirm.encode(), &message).unwrap();
        assert_eq!(header(&headers, "x-amz-sns-subscription-arn"), None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["Token"], "tok");
        assert_eq!(
            v["SubscribeURL"],
            "http://localhost:4566/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:000000000000:t&Token=tok"
        );

        for bad in ["", "{", "{\"kind\":\"Notification\"}", "[]"] {
            assert!(composer.compose(bad, &message).is_err(), "{bad:?}");
        }
        let unknown = Spec {
            kind: "Gossip".into(),
            ..spec(Kind::Notification)
        };
        assert!(composer.compose(&unknown.encode(), &message).is_err());
    }
}
