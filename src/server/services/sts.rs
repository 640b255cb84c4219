//! STS: `GetCallerIdentity` and `AssumeRole` over awsJson 1.0 or awsQuery.

use super::{Answer, Entry};
use crate::App;
use crate::caller::Caller;
use crate::protocol::{Params, Protocol, Service};

/// The STS entry.
pub struct Sts;

impl Entry for Sts {
    fn service(&self) -> Service {
        Service::Sts
    }

    fn json_target(&self) -> Option<(&'static str, Protocol)> {
        Some(("AWSSecurityTokenServiceV20110615", Protocol::AwsJson10))
    }

    fn claims(&self, action: &str, _has: &dyn Fn(&str) -> bool) -> bool {
        matches!(action, "GetCallerIdentity" | "AssumeRole")
    }

    fn call<'a>(
        &'a self,
        _app: &'a App,
        action: &'a str,
        caller: &'a Caller,
        p: Params,
    ) -> Answer<'a> {
        Box::pin(async move { crate::sts::call(action, caller, p).map(Into::into) })
    }
}
