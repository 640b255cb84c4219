//! Topics as a target of the delivery engine: EventBridge rules publish their (transformed)
//! event to a topic here, through the same checks and fan-out as `Publish`, as the topic's owner
//! (the account and region in its ARN). A FIFO topic gets the target's message group and the
//! event id as deduplication id.

use super::Sns;
use crate::caller::Caller;
use crate::delivery::{Inbox, QueueError, QueueMessage};
use crate::error::ErrorCode;
use crate::protocol::Params;
use serde_json::{Map, json};
use std::future::Future;
use std::pin::Pin;

impl Inbox for Sns {
    fn send<'a>(
        &'a self,
        topic_arn: &'a str,
        m: QueueMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>> {
        Box::pin(async move {
            let parts: Vec<&str> = topic_arn.splitn(6, ':').collect();
            let (Some(region), Some(account)) = (parts.get(3), parts.get(4)) else {
                return Err(QueueError::Missing);
            };
            let mut p = Map::new();
            p.insert("TopicArn".into(), json!(topic_arn));
            p.insert("Message".into(), json!(m.body));
            if let Some(g) = m.group_id {
                p.insert("MessageGroupId".into(), json!(g));
            }
            if let Some(d) = m.dedup_id {
                p.insert("MessageDeduplicationId".into(), json!(d));
            }
            if let Some(t) = m.trace_header {
                p.insert(super::TRACE_PARAM.into(), json!(t));
            }
            let caller = Caller::local(account, region);
            match self.publish(&caller, Params(p)).await {
                Ok(_) => Ok(()),
                Err(e) if e.code == ErrorCode::NotFound => Err(QueueError::Missing),
                Err(e) if e.code == ErrorCode::InternalFailure => {
                    Err(QueueError::Unavailable(e.message))
                }
                Err(e) => Err(QueueError::Rejected(e.message)),
            }
        })
    }
}
