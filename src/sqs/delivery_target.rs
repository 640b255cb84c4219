//! SQS as a target of the delivery engine: messages from SNS and EventBridge arrive in-process,
//! through the same validation and commit path as `SendMessage` (a batch of them in one commit).

use super::Sqs;
use crate::caller::Caller;
use crate::delivery::{Pushed, QueueError, QueueMessage, Queues};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::Params;
use serde_json::{Map, Value, json};

impl Queues for Sqs {
    fn push(&self, queue_arn: &str, messages: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError> {
        let Some(q) = self.by_arn(queue_arn) else {
            return Err(QueueError::Missing);
        };
        let caller = Caller::local(&q.account, &q.region);
        let mut taken = Vec::with_capacity(messages.len());
        let refused = messages
            .iter()
            .map(
                |m| match self.build_message(&caller, &q, &Params(send_params(m)), false) {
                    Ok(message) => {
                        taken.push(message);
                        None
                    }
                    Err(e) => Some(QueueError::Rejected(e.message)),
                },
            )
            .collect();
        let (_, stored) = self.enqueue_now(&q, taken, false).map_err(refusal)?;
        Ok(Pushed {
            stored: Box::pin(async move { stored.wait(&q).await.map_err(refusal) }),
            refused,
        })
    }
}

/// What a queue's error means to the delivery engine.
fn refusal(e: ApiError) -> QueueError {
    match e.code {
        ErrorCode::QueueDoesNotExist => QueueError::Missing,
        ErrorCode::InternalFailure => QueueError::Unavailable(e.message),
        _ => QueueError::Rejected(e.message),
    }
}

/// The `SendMessage` parameters that carry `m`.
fn send_params(m: &QueueMessage) -> Map<String, Value> {
    use base64::Engine;
    let mut p = Map::new();
    p.insert("MessageBody".into(), json!(m.body));
    if !m.attributes.is_empty() {
        let attrs: Map<String, Value> = m
            .attributes
            .iter()
            .map(|(k, a)| {
                let mut v = Map::new();
                v.insert("DataType".into(), json!(a.data_type));
                if let Some(s) = &a.string_value {
                    v.insert("StringValue".into(), json!(s));
                }
                if let Some(b) = &a.binary_value {
                    v.insert(
                        "BinaryValue".into(),
                        json!(base64::engine::general_purpose::STANDARD.encode(b)),
                    );
                }
                (k.clone(), Value::Object(v))
            })
            .collect();
        p.insert("MessageAttributes".into(), Value::Object(attrs));
    }
    if let Some(g) = &m.group_id {
        p.insert("MessageGroupId".into(), json!(g));
    }
    if let Some(d) = &m.dedup_id {
        p.insert("MessageDeduplicationId".into(), json!(d));
    }
    if let Some(t) = &m.trace_header {
        p.insert(
            "MessageSystemAttributes".into(),
            json!({"AWSTraceHeader": {"DataType": "String", "StringValue": t}}),
        );
    }
    p
}
