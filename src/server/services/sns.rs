//! SNS: awsQuery only (every botocore model of SNS speaks it). Also reached by plain GET links
//! (`SubscribeURL`, `UnsubscribeURL`), which carry the action in the URL's query string.

use super::{Answer, Entry, RequestLine};
use crate::App;
use crate::caller::Caller;
use crate::error::ApiResult;
use crate::protocol::{Params, Service, query, xml};
use serde_json::{Map, Value};

/// The SNS entry.
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
    "GetDataProtectionPolicy",
    "PutDataProtectionPolicy",
    "CreatePlatformApplication",
    "GetPlatformApplicationAttributes",
    "SetPlatformApplicationAttributes",
    "DeletePlatformApplication",
    "ListPlatformApplications",
    "CreatePlatformEndpoint",
    "GetEndpointAttributes",
    "SetEndpointAttributes",
    "DeleteEndpoint",
    "ListEndpointsByPlatformApplication",
    "GetSMSAttributes",
    "SetSMSAttributes",
    "CheckIfPhoneNumberIsOptedOut",
    "OptInPhoneNumber",
    "ListPhoneNumbersOptedOut",
    "GetSMSSandboxAccountStatus",
    "CreateSMSSandboxPhoneNumber",
    "DeleteSMSSandboxPhoneNumber",
    "VerifySMSSandboxPhoneNumber",
    "ListSMSSandboxPhoneNumbers",
    "ListOriginationNumbers",
];

/// SNS forms name members as the model does (`Attributes.entry.1.key`,
/// `MessageAttributes.entry.1.Name`, `Tags.member.1.Key`); only maps need folding. Tags stay a
/// list so that a repeated key can be refused.
const QUERY: query::QueryShape = query::QueryShape {
    renames: &[],
    maps: &["Attributes", "MessageAttributes", "attributes"],
};

/// SNS wraps lists in `member` and maps in `entry`/`key`/`value`.
const XML: xml::XmlShape = xml::XmlShape {
    lists: &[],
    maps: &[
        ("Attributes", "entry", "key", "value"),
        ("attributes", "entry", "key", "value"),
    ],
    wrapped: true,
};

impl Entry for Sns {
    fn service(&self) -> Service {
        Service::Sns
    }

    fn claims(&self, action: &str, has: &dyn Fn(&str) -> bool) -> bool {
        ACTIONS.contains(&action) || has("TopicArn")
    }

    fn query_shape(&self) -> &'static query::QueryShape {
        &QUERY
    }

    fn xml_shape(&self) -> &'static xml::XmlShape {
        &XML
    }

    /// The publisher's `X-Amzn-Trace-Id` travels with the message (param `AWSTraceHeader`).
    fn prepare(&self, r: &RequestLine, params: &mut Map<String, Value>) -> ApiResult<()> {
        params.remove(crate::sns::TRACE_PARAM);
        if let Some(t) = r.trace_id {
            params.insert(crate::sns::TRACE_PARAM.into(), t.into());
        }
        Ok(())
    }

    fn resource(&self, app: &App, path: &str) -> Option<(&'static str, String)> {
        app.sns
            .certificate(path)
            .map(|pem| ("application/x-x509-ca-cert", pem))
    }

    fn call<'a>(
        &'a self,
        app: &'a App,
        action: &'a str,
        caller: &'a Caller,
        p: Params,
    ) -> Answer<'a> {
        Box::pin(async move { app.sns.call(action, caller, p).await.map(Into::into) })
    }
}
