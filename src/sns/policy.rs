//! Delivery policies and the topic access policy: how AWS rewrites what users set, what it
//! reports as effective, and the retry schedule and request headers that follow for HTTP.

use super::invalid;
use crate::delivery::{Backoff, RetryPolicy};
use crate::error::ApiResult;
use serde_json::{Map, Value, json};

/// AWS's effective HTTP delivery policy of a topic that set none.
pub fn default_effective() -> Value {
    json!({"http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"
        },
        "disableSubscriptionOverrides": false,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
    }})
}

fn parse_object(name: &str, text: &str) -> ApiResult<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid(format!("{name}: failed to parse JSON"))),
    }
}

/// A topic's `DeliveryPolicy` as AWS stores it: `http` gains `disableSubscriptionOverrides`
/// (first) and loses null members. None means the attribute is removed (an empty string).
pub fn normalize_topic(text: &str) -> ApiResult<Option<String>> {
    if text.is_empty() {
        return Ok(None);
    }
    let mut m = parse_object("DeliveryPolicy", text)?;
    if let Some(Value::Object(http)) = m.get("http").cloned() {
        let mut out = Map::new();
        out.insert(
            "disableSubscriptionOverrides".into(),
            http.get("disableSubscriptionOverrides")
                .cloned()
                .unwrap_or(json!(false)),
        );
        for (k, v) in http {
            if k != "disableSubscriptionOverrides" && !v.is_null() {
                out.insert(k, v);
            }
        }
        m.insert("http".into(), Value::Object(out));
    }
    check_retry_policies(&m)?;
    Ok(Some(Value::Object(m).to_string()))
}

/// A subscription's `DeliveryPolicy` as AWS stores it: every top-level member, missing ones
/// null, `guaranteed` false by default, in AWS's order.
pub fn normalize_subscription(text: &str) -> ApiResult<Option<String>> {
    if text.is_empty() {
        return Ok(None);
    }
    let m = parse_object("DeliveryPolicy", text)?;
    check_retry_policies(&m)?;
    let get = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    let out = json!({
        "healthyRetryPolicy": get("healthyRetryPolicy"),
        "sicklyRetryPolicy": get("sicklyRetryPolicy"),
        "throttlePolicy": get("throttlePolicy"),
        "requestPolicy": get("requestPolicy"),
        "guaranteed": m.get("guaranteed").cloned().unwrap_or(json!(false)),
    });
    Ok(Some(out.to_string()))
}

/// Refuses retry policies that are not objects of numbers within AWS's bounds.
fn check_retry_policies(m: &Map<String, Value>) -> ApiResult<()> {
    let http = m.get("http").and_then(Value::as_object);
    let policies = [
        m.get("healthyRetryPolicy"),
        http.and_then(|h| h.get("defaultHealthyRetryPolicy")),
    ];
    for p in policies.into_iter().flatten().filter(|p| !p.is_null()) {
        let Some(o) = p.as_object() else {
            return Err(invalid(
                "DeliveryPolicy: healthyRetryPolicy must be an object",
            ));
        };
        for (k, v) in o {
            match k.as_str() {
                "backoffFunction" if v.as_str().and_then(Backoff::from_name).is_none() => {
                    return Err(invalid(format!(
                        "DeliveryPolicy: backoffFunction must be one of linear, arithmetic, geometric, exponential: {v}"
                    )));
                }
                "minDelayTarget" | "maxDelayTarget" | "numRetries" | "numNoDelayRetries"
                | "numMinDelayRetries" | "numMaxDelayRetries" => {
                    let n = v.as_u64().ok_or_else(|| {
                        invalid(format!(
                            "DeliveryPolicy: {k} must be a non-negative integer"
                        ))
                    })?;
                    if (k.ends_with("DelayTarget") && !(1..=3600).contains(&n))
                        || (k == "numRetries" && n > 100)
                    {
                        return Err(invalid(format!("DeliveryPolicy: {k} is out of range: {n}")));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The effective topic policy: AWS's defaults with the topic's `http` members laid over them.
pub fn effective_topic(policy: Option<&str>) -> Value {
    let mut eff = default_effective();
    let set = policy.and_then(|p| serde_json::from_str::<Value>(p).ok());
    if let (Some(Value::Object(http)), Some(Value::Object(target))) = (
        set.as_ref().and_then(|s| s.get("http")),
        eff.get_mut("http"),
    ) {
        for (k, v) in http {
            match (target.get_mut(k), v) {
                (Some(Value::Object(base)), Value::Object(over)) => {
                    for (kk, vv) in over {
                        base.insert(kk.clone(), vv.clone());
                    }
                }
                _ => {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    eff
}

/// A subscription's effective policy, from the topic's effective one and its own.
pub fn effective_subscription(topic_effective: &Value, own: Option<&str>) -> Value {
    let http = &topic_effective["http"];
    let overrides = !http["disableSubscriptionOverrides"]
        .as_bool()
        .unwrap_or(false);
    let own: Value = own
        .filter(|_| overrides)
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    let merged = |base: &Value, over: &Value| match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut m = b.clone();
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
            Value::Object(m)
        }
        (b, Value::Null) => b.clone(),
        (_, o) => o.clone(),
    };
    json!({
        "healthyRetryPolicy": merged(&http["defaultHealthyRetryPolicy"], &own["healthyRetryPolicy"]),
        "sicklyRetryPolicy": merged(&http["defaultSicklyRetryPolicy"], &own["sicklyRetryPolicy"]),
        "throttlePolicy": merged(&http["defaultThrottlePolicy"], &own["throttlePolicy"]),
        "requestPolicy": merged(&http["defaultRequestPolicy"], &own["requestPolicy"]),
        "guaranteed": own["guaranteed"].as_bool().unwrap_or(false),
    })
}

/// What an HTTP/S subscription's deliveries follow: its retry schedule, its rate limit and its
/// content type, from the topic's `DeliveryPolicy` and its own.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpPlan {
    pub retry: RetryPolicy,
    pub max_per_second: Option<u32>,
    pub content_type: String,
}

impl HttpPlan {
    pub fn of(topic_policy: Option<&str>, own: Option<&str>) -> HttpPlan {
        let eff = effective_subscription(&effective_topic(topic_policy), own);
        HttpPlan {
            retry: retry_of(&eff),
            max_per_second: rate_of(&eff),
            content_type: content_type_of(&eff),
        }
    }
}

/// Plans by the policy texts they come from: merging policies takes longer than the rest of a
/// delivery's preparation, and a server sees few distinct policies.
#[derive(Default)]
pub struct HttpPlans(std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<HttpPlan>>>);

/// Distinct policy pairs kept before the cache starts afresh.
const MAX_PLANS: usize = 1024;

impl HttpPlans {
    pub fn get(&self, topic_policy: Option<&str>, own: Option<&str>) -> std::sync::Arc<HttpPlan> {
        // The key marks absent policies apart from empty ones.
        let part = |p: Option<&str>| p.map_or_else(|| "\u{1}".to_string(), |p| format!("\u{2}{p}"));
        let key = format!("{}\u{0}{}", part(topic_policy), part(own));
        let mut plans = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(plan) = plans.get(&key) {
            return plan.clone();
        }
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        let plan = std::sync::Arc::new(HttpPlan::of(topic_policy, own));
        plans.insert(key, plan.clone());
        plan
    }
}

/// The retry schedule an effective subscription policy describes.
pub fn retry_of(effective: &Value) -> RetryPolicy {
    let p = &effective["healthyRetryPolicy"];
    let n = |k: &str, d: u32| {
        p[k].as_u64()
            .map_or(d, |v| v.min(u64::from(u32::MAX)) as u32)
    };
    let min = n("minDelayTarget", 20);
    RetryPolicy::Phased {
        num_retries: n("numRetries", 3),
        num_no_delay: n("numNoDelayRetries", 0),
        num_min_delay: n("numMinDelayRetries", 0),
        num_max_delay: n("numMaxDelayRetries", 0),
        min_delay_s: min,
        max_delay_s: n("maxDelayTarget", min),
        backoff: p["backoffFunction"]
            .as_str()
            .and_then(Backoff::from_name)
            .unwrap_or(Backoff::Linear),
    }
}

/// `throttlePolicy.maxReceivesPerSecond` of an effective subscription policy.
pub fn rate_of(effective: &Value) -> Option<u32> {
    effective["throttlePolicy"]["maxReceivesPerSecond"]
        .as_u64()
        .map(|n| n.clamp(1, u64::from(u32::MAX)) as u32)
}

/// The `Content-Type` an effective subscription policy asks for.
pub fn content_type_of(effective: &Value) -> String {
    effective["requestPolicy"]["headerContentType"]
        .as_str()
        .unwrap_or("text/plain; charset=UTF-8")
        .to_string()
}

/// AWS's default access policy of a topic (SNS-011).
pub fn default_topic_policy(topic_arn: &str, account: &str) -> Value {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"],
            "Resource": topic_arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_policy_gains_disable_overrides_and_loses_nulls() {
        assert_eq!(
            normalize_topic(
                r#"{"http":{"defaultRequestPolicy":{"headerContentType":"application/json"}}}"#
            )
            .unwrap()
            .unwrap(),
            r#"{"http":{"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"application/json"}}}"#
        );
        assert_eq!(
            normalize_topic(r#"{"http":{"defaultHealthyRetryPolicy":null}}"#)
                .unwrap()
                .unwrap(),
            r#"{"http":{"disableSubscriptionOverrides":false}}"#
        );
        assert_eq!(normalize_topic("").unwrap(), None);
        assert!(normalize_topic("{nope").is_err());
        let eff = effective_topic(Some(
            r#"{"http":{"defaultRequestPolicy":{"headerContentType":"application/json"}}}"#,
        ));
        assert_eq!(
            eff["http"]["defaultRequestPolicy"]["headerContentType"],
            "application/json"
        );
        assert_eq!(eff["http"]["defaultHealthyRetryPolicy"]["numRetries"], 3);
    }

    #[test]
    fn subscription_policy_lists_every_member() {
        assert_eq!(
            normalize_subscription(r#"{"requestPolicy":{"headerContentType":"text/csv"}}"#)
                .unwrap()
                .unwrap(),
            r#"{"healthyRetryPolicy":null,"sicklyRetryPolicy":null,"throttlePolicy":null,"requestPolicy":{"headerContentType":"text/csv"},"guaranteed":false}"#
        );
        let own = normalize_subscription(
            r#"{"healthyRetryPolicy":{"numRetries":5,"minDelayTarget":1,"maxDelayTarget":1}}"#,
        )
        .unwrap();
        let eff = effective_subscription(&effective_topic(None), own.as_deref());
        assert_eq!(
            retry_of(&eff),
            RetryPolicy::Phased {
                num_retries: 5,
                num_no_delay: 0,
                num_min_delay: 0,
                num_max_delay: 0,
                min_delay_s: 1,
                max_delay_s: 1,
                backoff: Backoff::Linear
            }
        );
        assert_eq!(content_type_of(&eff), "text/plain; charset=UTF-8");
        assert_eq!(rate_of(&eff), None);
        let own =
            normalize_subscription(r#"{"throttlePolicy":{"maxReceivesPerSecond":5}}"#).unwrap();
        assert_eq!(
            rate_of(&effective_subscription(
                &effective_topic(None),
                own.as_deref()
            )),
            Some(5)
        );
        assert!(
            normalize_subscription(r#"{"healthyRetryPolicy":{"backoffFunction":"cubic"}}"#)
                .is_err()
        );
    }
}
