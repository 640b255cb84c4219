//! STS `GetCallerIdentity`, so that `aws sts get-caller-identity` and SDK credential checks in CI
//! work against ferry. It answers the caller's account as the design's account rule derives it.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use serde_json::{Value, json};

pub fn call(action: &str, caller: &Caller) -> ApiResult<Value> {
    match action {
        "GetCallerIdentity" => Ok(json!({
            "UserId": caller.access_key,
            "Account": caller.account,
            "Arn": format!("arn:aws:iam::{}:root", caller.account),
        })),
        _ => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {action} for version 2011-06-15"),
        )),
    }
}
