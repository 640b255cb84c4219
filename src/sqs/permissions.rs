//! Queue permissions: AddPermission and RemovePermission keep their statements in the queue's
//! `Policy` attribute, as AWS does.

use super::Sqs;
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Value, json};

/// The most actions one AddPermission may grant.
const MAX_PERMISSION_ACTIONS: usize = 7;

/// Actions AddPermission may grant (AWS's list; `*` grants all).
const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ListQueueTags",
];

impl Sqs {
    pub(super) async fn add_permission(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let label = p.required_str("Label")?.to_string();
        if label.len() > 80
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::invalid_value(
                "Label",
                &label,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        let accounts = p.strings("AWSAccountIds")?;
        if accounts.is_empty() {
            return Err(ApiError::missing("AWSAccountIds"));
        }
        let actions = p.strings("Actions")?;
        if actions.is_empty() {
            return Err(ApiError::missing("Actions"));
        }
        if actions.len() > MAX_PERMISSION_ACTIONS {
            return Err(ApiError::new(
                ErrorCode::OverLimit,
                format!(
                    "{} Actions were found, maximum allowed is {MAX_PERMISSION_ACTIONS}.",
                    actions.len()
                ),
            ));
        }
        for a in &actions {
            if !PERMISSION_ACTIONS.contains(&a.as_str()) {
                return Err(ApiError::invalid_value(
                    "ActionName",
                    a,
                    "Please refer to the appropriate WSDL for a list of valid actions.",
                ));
            }
        }
        let arn = q.arn.clone();
        self.update_record(&q, |r| {
            let mut policy = r
                .attributes
                .get("Policy")
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .unwrap_or_else(|| json!({"Version": "2008-10-17", "Id": format!("{arn}/SQSDefaultPolicy"), "Statement": []}));
            let statements = policy["Statement"].as_array_mut().ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidParameterValue, "The queue's Policy has no Statement list.")
            })?;
            if statements.iter().any(|s| s["Sid"] == label.as_str()) {
                return Err(ApiError::invalid_value("Label", &label, "Already exists."));
            }
            let principals: Vec<Value> = accounts.iter().map(|a| json!(format!("arn:aws:iam::{a}:root"))).collect();
            let acts: Vec<Value> = actions.iter().map(|a| json!(format!("SQS:{a}"))).collect();
            let one_or_list = |mut v: Vec<Value>| if v.len() == 1 { v.remove(0) } else { Value::Array(v) };
            statements.push(json!({
                "Sid": label,
                "Effect": "Allow",
                "Principal": {"AWS": one_or_list(principals)},
                "Action": one_or_list(acts),
                "Resource": arn,
            }));
            r.attributes.insert("Policy".into(), policy.to_string());
            Ok(())
        })
        .await
    }

    pub(super) async fn remove_permission(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let label = p.required_str("Label")?.to_string();
        self.update_record(&q, |r| {
            let not_found = || ApiError::invalid_value("Label", &label, "can't find label.");
            let mut policy = r
                .attributes
                .get("Policy")
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .ok_or_else(not_found)?;
            let statements = policy["Statement"].as_array_mut().ok_or_else(not_found)?;
            let before = statements.len();
            statements.retain(|s| s["Sid"] != label.as_str());
            if statements.len() == before {
                return Err(not_found());
            }
            if statements.is_empty() {
                r.attributes.remove("Policy");
            } else {
                r.attributes.insert("Policy".into(), policy.to_string());
            }
            Ok(())
        })
        .await
    }
}
