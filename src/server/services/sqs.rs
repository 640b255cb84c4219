//! SQS: awsJson 1.0 (`AmazonSQS.*`) and awsQuery. Quirks: old clients post to the queue URL and
//! leave `QueueUrl` out of the form, and queue-less actions are refused there; awsJson answers an
//! unknown operation with `UnknownOperationException` before anything else; `X-Amzn-Trace-Id` on a
//! send becomes `AWSTraceHeader`; awsQuery answers have a JSON form.

use super::{Answer, Entry, RequestLine};
use crate::App;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::{Params, Protocol, Service, query, xml};
use serde_json::{Map, Value};

/// The SQS entry.
pub struct Sqs;

/// Actions SQS shares with SNS; a form naming a topic is SNS's.
const SHARED_WITH_SNS: &[&str] = &["AddPermission", "RemovePermission"];

impl Entry for Sqs {
    fn service(&self) -> Service {
        Service::Sqs
    }

    fn json_target(&self) -> Option<(&'static str, Protocol)> {
        Some(("AmazonSQS", Protocol::AwsJson10))
    }

    fn claims(&self, action: &str, has: &dyn Fn(&str) -> bool) -> bool {
        crate::sqs::ACTIONS.contains(&action)
            && !(SHARED_WITH_SNS.contains(&action) && has("TopicArn"))
    }

    fn query_shape(&self) -> &'static query::QueryShape {
        &query::SQS
    }

    fn xml_shape(&self) -> &'static xml::XmlShape {
        &xml::SQS
    }

    fn query_json_names(&self) -> Option<&'static [(&'static str, &'static str)]> {
        Some(crate::protocol::query_json::SQS_NAMES)
    }

    fn prepare(&self, r: &RequestLine, params: &mut Map<String, Value>) -> ApiResult<()> {
        if r.protocol != Protocol::AwsQuery && !crate::sqs::ACTIONS.contains(&r.action) {
            return Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Operation {} is not supported.", r.action),
            ));
        }
        if r.queue_path {
            if r.protocol == Protocol::AwsQuery && matches!(r.action, "CreateQueue" | "ListQueues")
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidAction,
                    format!("The action {} is not valid for this endpoint.", r.action),
                ));
            }
            if !params.contains_key("QueueUrl") {
                params.insert(
                    "QueueUrl".into(),
                    format!("http://{}{}", r.caller.host, r.path).into(),
                );
            }
        }
        if let Some(trace) = r.trace_id {
            crate::sqs::apply_trace_header(r.action, params, trace);
        }
        Ok(())
    }

    fn call<'a>(
        &'a self,
        app: &'a App,
        action: &'a str,
        caller: &'a Caller,
        p: Params,
    ) -> Answer<'a> {
        Box::pin(app.sqs.answer(action, caller, p))
    }
}
