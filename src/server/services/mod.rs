//! One entry per service: the request path asks it, and only it, what the service's actions are,
//! how its awsQuery forms and XML answers are shaped, which request quirks it has, and how to run
//! an action. Adding a service adds a file here and a line in [`ALL`], never a branch in the server.

mod events;
mod sns;
mod sqs;
mod sts;

use crate::App;
use crate::caller::Caller;
use crate::error::ApiResult;
use crate::protocol::{Output, Params, Protocol, Service, query, xml};
use serde_json::{Map, Value};
use std::future::Future;
use std::pin::Pin;

/// What an action answers: its output or an error, once the service has run it.
pub type Answer<'a> = Pin<Box<dyn Future<Output = ApiResult<Output>> + Send + 'a>>;

/// The parts of an HTTP request a service's quirks may read.
pub struct RequestLine<'a> {
    pub protocol: Protocol,
    pub action: &'a str,
    /// The URL path, e.g. `/000000000000/queue` when an old SQS client posts to a queue URL.
    pub path: &'a str,
    pub caller: &'a Caller,
    /// The `X-Amzn-Trace-Id` header, which SQS and SNS turn into `AWSTraceHeader`.
    pub trace_id: Option<&'a str>,
    /// Whether the path is a queue URL's (`/{account}/{queue}`).
    pub queue_path: bool,
}

/// What the request path needs to know about one service.
pub trait Entry: Sync {
    fn service(&self) -> Service;

    /// The `X-Amz-Target` prefix and awsJson flavour, for services that speak awsJson.
    fn json_target(&self) -> Option<(&'static str, Protocol)> {
        None
    }

    /// Whether an awsQuery request without a credential scope is for this service, from its
    /// action and whether the form carries a member (`has`).
    fn claims(&self, action: &str, has: &dyn Fn(&str) -> bool) -> bool;

    /// How flattened awsQuery members map to the JSON member names.
    fn query_shape(&self) -> &'static query::QueryShape {
        &query::PLAIN
    }

    /// How lists and maps are written in the service's XML answers.
    fn xml_shape(&self) -> &'static xml::XmlShape {
        &xml::PLAIN
    }

    /// The JSON member names of the service's awsQuery answers in AWS's JSON form (for awsQuery
    /// requests that accept `application/json`), if the service has that form.
    fn query_json_names(&self) -> Option<&'static [(&'static str, &'static str)]> {
        None
    }

    /// Request quirks: fill in parameters from the request line, or refuse the request before
    /// the service runs.
    fn prepare(&self, _request: &RequestLine, _params: &mut Map<String, Value>) -> ApiResult<()> {
        Ok(())
    }

    /// A plain GET resource the service serves outside its API (SNS's signing certificate), as
    /// (content type, body).
    fn resource(&self, _app: &App, _path: &str) -> Option<(&'static str, String)> {
        None
    }

    /// Runs one action.
    fn call<'a>(
        &'a self,
        app: &'a App,
        action: &'a str,
        caller: &'a Caller,
        p: Params,
    ) -> Answer<'a>;
}

/// Every service, in the order awsQuery routing asks them to claim a request without a
/// credential scope (the first one that claims it wins; SQS answers what nobody claims).
pub const ALL: [&dyn Entry; 4] = [&sts::Sts, &sqs::Sqs, &sns::Sns, &events::Events];

/// The entry of `service`.
pub fn entry(service: Service) -> &'static dyn Entry {
    ALL.into_iter()
        .find(|e| e.service() == service)
        .unwrap_or(&sqs::Sqs)
}
