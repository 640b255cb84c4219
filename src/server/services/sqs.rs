//! SQS: awsJson 1.0 (`AmazonSQS.*`) and awsQuery. Quirks: old clients post to the queue URL and
//! leave `QueueUrl` out of the form; awsJson answers an unknown operation with
//! `UnknownOperationException` before anything else.

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

    fn prepare(&self, r: &RequestLine, params: &mut Map<String, Value>) -> ApiResult<()> {
        if r.protocol != Protocol::AwsQuery && !crate::sqs::ACTIONS.contains(&r.action) {
            return Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Operation {} is not supported.", r.action),
            ));
        }
        if !params.contains_key("QueueUrl") && r.path.matches('/').count() == 2 {
            params.insert(
                "QueueUrl".into(),
                format!("http://{}{}", r.caller.host, r.path).into(),
            );
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
        Box::pin(app.sqs.call(action, caller, p))
    }
}
