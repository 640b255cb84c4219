//! EventBridge: awsJson 1.1 (`AWSEvents.*`) only.

use super::{Answer, Entry};
use crate::App;
use crate::caller::Caller;
use crate::protocol::{Params, Protocol, Service};

/// The EventBridge entry.
pub struct Events;

impl Entry for Events {
    fn service(&self) -> Service {
        Service::Events
    }

    fn json_target(&self) -> Option<(&'static str, Protocol)> {
        Some(("AWSEvents", Protocol::AwsJson11))
    }

    fn claims(&self, _action: &str, _has: &dyn Fn(&str) -> bool) -> bool {
        false
    }

    fn call<'a>(
        &'a self,
        app: &'a App,
        action: &'a str,
        caller: &'a Caller,
        p: Params,
    ) -> Answer<'a> {
        Box::pin(async move { app.events.call(action, caller, p).await.map(Into::into) })
    }
}
