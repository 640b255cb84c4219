//! SNS: awsQuery only (every botocore model of SNS speaks it). Also reached by plain GET links
//! (`SubscribeURL`, `UnsubscribeURL`), which carry the action in the URL's query string.

use super::{Answer, Entry};
use crate::App;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{Params, Service};

pub struct Sns;

/// SNS actions, to tell SNS from SQS when an awsQuery request carries no credential scope.
const ACTIONS: &[&str] = &[
    "CreateTopic",
    "DeleteTopic",
    "ListTopics",
    "GetTopicAttributes",
    "SetTopicAttributes",
    "Subscribe",
    "ConfirmSubscription",
    "Unsubscribe",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "GetSubscriptionAttributes",
    "SetSubscriptionAttributes",
    "Publish",
    "PublishBatch",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "AddPermission",
    "RemovePermission",
];

impl Entry for Sns {
    fn service(&self) -> Service {
        Service::Sns
    }

    fn claims(&self, action: &str, has: &dyn Fn(&str) -> bool) -> bool {
        ACTIONS.contains(&action) || has("TopicArn")
    }

    fn call<'a>(
        &'a self,
        _app: &'a App,
        action: &'a str,
        _caller: &'a Caller,
        _p: Params,
    ) -> Answer<'a> {
        Box::pin(async move {
            Err(ApiError::new(
                ErrorCode::InvalidAction,
                format!("The action {action} is not valid for this endpoint."),
            ))
        })
    }
}
