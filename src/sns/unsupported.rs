//! What is left of SMS: the sandbox and origination-number lists answer as for an account that
//! has none; anything else answers `InvalidAction`, clearly.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Value, json};

/// Answers an SNS action nothing else serves.
pub(super) fn call(action: &str, _caller: &Caller, _p: &Params) -> ApiResult<Value> {
    match action {
        "GetSMSSandboxAccountStatus" => Ok(json!({"IsInSandbox": true})),
        "ListSMSSandboxPhoneNumbers" => Ok(json!({"PhoneNumbers": []})),
        "ListOriginationNumbers" => Ok(json!({"PhoneNumbers": []})),
        _ => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        )),
    }
}
