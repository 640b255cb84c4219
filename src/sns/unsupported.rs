//! SMS and mobile push: ferry sends neither. The read-only SMS actions answer as AWS answers an
//! account that never changed them; actions that would send or configure something answer AWS's
//! `InvalidAction` for an action this endpoint does not serve, clearly.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Value, json};

pub(super) fn call(action: &str, _caller: &Caller, p: &Params) -> ApiResult<Value> {
    match action {
        "GetSMSAttributes" => Ok(json!({"attributes": {"MonthlySpendLimit": "1"}})),
        "GetSMSSandboxAccountStatus" => Ok(json!({"IsInSandbox": true})),
        "ListPhoneNumbersOptedOut" => Ok(json!({"phoneNumbers": []})),
        "ListSMSSandboxPhoneNumbers" => Ok(json!({"PhoneNumbers": []})),
        "ListOriginationNumbers" => Ok(json!({"PhoneNumbers": []})),
        "ListPlatformApplications" => Ok(json!({"PlatformApplications": []})),
        "CheckIfPhoneNumberIsOptedOut" => {
            let n = p.str("phoneNumber")?.unwrap_or("");
            let digits = n.strip_prefix('+').unwrap_or(n);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(super::invalid(
                    "PhoneNumber Reason: input incorrectly formatted",
                ));
            }
            Ok(json!({"isOptedOut": false}))
        }
        _ => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("The action {action} is not valid for this endpoint."),
        )),
    }
}
