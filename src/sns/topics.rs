//! Topics: create (idempotent with equal attributes), delete, list, attributes, tags, the access
//! policy (`AddPermission`/`RemovePermission`) and the data protection policy.

use super::{Sns, arn_prefix, encode, invalid, not_found, page, parse_arn, policy, required};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::{Op, keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Topic attributes a user may set; the feedback attributes are stored and returned as given.
const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "DisplayName",
    "Policy",
    "TracingConfig",
    "KmsMasterKeyId",
    "SignatureVersion",
    "ContentBasedDeduplication",
    "ArchivePolicy",
    "FifoThroughputScope",
    "MaximumMessageSize",
];

fn is_feedback(name: &str) -> bool {
    ["HTTP", "Firehose", "Lambda", "SQS", "Application"]
        .iter()
        .any(|p| {
            name.strip_prefix(p).is_some_and(|rest| {
                matches!(
                    rest,
                    "SuccessFeedbackRoleArn"
                        | "SuccessFeedbackSampleRate"
                        | "FailureFeedbackRoleArn"
                )
            })
        })
}

/// One topic, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Topic {
    pub arn: String,
    pub name: String,
    pub account: String,
    pub region: String,
    /// Attributes set explicitly, spelled as AWS spells them (`DeliveryPolicy` already normalized).
    pub attributes: BTreeMap<String, String>,
    /// Tags in the order they were first set.
    pub tags: Vec<(String, String)>,
    pub data_protection_policy: Option<String>,
}

impl Topic {
    pub fn is_fifo(&self) -> bool {
        self.attributes
            .get("FifoTopic")
            .is_some_and(|v| v == "true")
    }

    pub fn content_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true")
    }

    /// `MaximumMessageSize`: body and attributes together, 256 KiB unless set (up to 1 MiB).
    pub fn max_message_size(&self) -> usize {
        self.attributes
            .get("MaximumMessageSize")
            .and_then(|v| v.parse().ok())
            .unwrap_or(super::DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// "1" (SHA1withRSA, the default) or "2" (SHA256withRSA).
    pub fn signature_version(&self) -> &str {
        self.attributes
            .get("SignatureVersion")
            .map_or("1", String::as_str)
    }

    pub fn effective_policy(&self) -> Value {
        policy::effective_topic(self.attributes.get("DeliveryPolicy").map(String::as_str))
    }

    fn record(&self) -> Op {
        Op::Put(keys::named(keys::TOPIC, &self.arn), encode(self))
    }
}

/// AWS's topic name rule; FIFO names end in `.fifo`.
fn valid_name(name: &str, fifo: bool) -> bool {
    let base = if fifo {
        match name.strip_suffix(".fifo") {
            Some(b) => b,
            None => return false,
        }
    } else {
        name
    };
    !base.is_empty()
        && name.len() <= 256
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks and normalizes one attribute; `Ok(None)` means "remove it".
fn check_attribute(name: &str, value: &str, creating: bool) -> ApiResult<Option<String>> {
    let bad_value = || {
        invalid(format!(
            "Attributes Reason: {name}: Invalid value [{value}]"
        ))
    };
    match name {
        "DeliveryPolicy" => policy::normalize_topic(value),
        "Policy" | "ArchivePolicy" => {
            if value.is_empty() {
                return Ok(None);
            }
            serde_json::from_str::<Value>(value)
                .ok()
                .filter(Value::is_object)
                .map(|_| Some(value.to_string()))
                .ok_or_else(|| invalid(format!("{name}: failed to parse JSON")))
        }
        "SignatureVersion" => match value {
            "1" | "2" => Ok(Some(value.into())),
            _ => Err(invalid(format!(
                "Attributes Reason: SignatureVersion: Invalid value [{value}]. Must be 1 or 2."
            ))),
        },
        "TracingConfig" => match value {
            "PassThrough" | "Active" => Ok(Some(value.into())),
            _ => Err(bad_value()),
        },
        "MaximumMessageSize" => match value.parse::<usize>() {
            Ok(n) if (1024..=1_048_576).contains(&n) => Ok(Some(n.to_string())),
            _ => Err(invalid(format!(
                "Attributes Reason: MaximumMessageSize: Invalid value [{value}]. Must be an integer between 1024 and 1048576."
            ))),
        },
        "FifoThroughputScope" => match value {
            "Topic" | "MessageGroup" => Ok(Some(value.into())),
            _ => Err(bad_value()),
        },
        "FifoTopic" if !creating => Err(invalid("AttributeName")),
        "ContentBasedDeduplication" | "FifoTopic" => match value.to_ascii_lowercase().as_str() {
            "true" => Ok(Some("true".into())),
            "false" => Ok(Some("false".into())),
            _ => Err(bad_value()),
        },
        n if SETTABLE.contains(&n) || is_feedback(n) => Ok(Some(value.into())),
        _ => Err(invalid("AttributeName")),
    }
}

fn tags_of(p: &Params) -> ApiResult<Vec<(String, String)>> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for t in p.list("Tags")? {
        let k = t.str("Key")?.unwrap_or("").to_string();
        let v = t.str("Value")?.unwrap_or("").to_string();
        if tags.iter().any(|(e, _)| *e == k) {
            return Err(invalid("Duplicated keys are not allowed."));
        }
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(invalid(
                "Tags Reason: a tag key must be 1 to 128 characters, a value at most 256",
            ));
        }
        tags.push((k, v));
    }
    Ok(tags)
}

fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect(),
    )
}

impl Sns {
    /// Resolves a `TopicArn`-like parameter to an ARN of the caller's region.
    pub(super) fn topic_arn<'a>(
        &self,
        caller: &Caller,
        param: &str,
        value: &'a str,
    ) -> ApiResult<&'a str> {
        let arn = parse_arn(param, value)?;
        if arn.region != caller.region {
            return Err(invalid(param));
        }
        Ok(value)
    }

    /// Runs `f` on the topic named by parameter `TopicArn`.
    pub(super) fn with_topic<T>(
        &self,
        caller: &Caller,
        p: &Params,
        f: impl FnOnce(&Topic) -> T,
    ) -> ApiResult<T> {
        let arn = self.topic_arn(caller, "TopicArn", required(p, "TopicArn")?)?;
        let state = self.read();
        state
            .topics
            .get(arn)
            .map(f)
            .ok_or_else(|| not_found("Topic"))
    }

    /// Changes the topic `arn` with `f` and persists it.
    async fn update_topic(
        &self,
        arn: &str,
        f: impl FnOnce(&mut Topic) -> ApiResult<()>,
    ) -> ApiResult<()> {
        let op = {
            let mut state = self.write();
            let t = state
                .topics
                .get_mut(arn)
                .ok_or_else(|| not_found("Topic"))?;
            f(t)?;
            t.record()
        };
        self.persist(vec![op]).await
    }

    pub(super) async fn create_topic(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let name = required(&p, "Name")?;
        let given = p.string_map("Attributes")?;
        let fifo = given
            .get("FifoTopic")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !valid_name(name, fifo) {
            return Err(invalid("Topic Name"));
        }
        let mut attributes = BTreeMap::new();
        for (k, v) in &given {
            if let Some(v) = check_attribute(k, v, true).map_err(|e| {
                if e.message == "Invalid parameter: AttributeName" {
                    invalid(format!("Attributes Reason: Unknown attribute {k}"))
                } else {
                    e
                }
            })? {
                attributes.insert(k.clone(), v);
            }
        }
        if attributes.get("FifoTopic").is_some_and(|v| v == "false") {
            attributes.remove("FifoTopic");
        }
        if !fifo && attributes.contains_key("ContentBasedDeduplication") {
            return Err(invalid(
                "Attributes Reason: ContentBasedDeduplication: Content-based deduplication can only be set for FIFO topics",
            ));
        }
        if fifo {
            attributes
                .entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        }
        let tags = tags_of(&p)?;
        let arn = format!("{}{name}", arn_prefix(caller));
        // The record is submitted under the lock, and a CreateTopic that finds the topic waits for
        // everything submitted before it: nobody is told of a topic a kill -9 could take back.
        let pending = {
            let mut state = self.write();
            if let Some(t) = state.topics.get(&arn) {
                let differs = attributes.iter().any(|(k, v)| {
                    (given.contains_key(k) || k != "ContentBasedDeduplication")
                        && t.attributes.get(k) != Some(v)
                });
                if differs {
                    return Err(invalid(
                        "Attributes Reason: Topic already exists with different attributes",
                    ));
                }
                if !tags.iter().all(|tag| t.tags.contains(tag)) {
                    return Err(invalid(
                        "Tags Reason: Topic already exists with different tags",
                    ));
                }
                self.durable.barrier()
            } else {
                let topic = Topic {
                    arn: arn.clone(),
                    name: name.to_string(),
                    account: caller.account.clone(),
                    region: caller.region.clone(),
                    attributes,
                    tags,
                    data_protection_policy: p.str("DataProtectionPolicy")?.map(String::from),
                };
                let pending = self.durable.submit(vec![topic.record()]);
                state.topics.insert(arn.clone(), topic);
                pending
            }
        };
        super::stored(pending).await?;
        Ok(json!({"TopicArn": arn}))
    }

    pub(super) async fn delete_topic(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?;
        let ops = {
            let mut state = self.write();
            if state.topics.remove(arn).is_none() {
                return Ok(json!({}));
            }
            let fifo = self
                .fifo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(arn);
            let subs: Vec<String> = state
                .subscriptions
                .values()
                .filter(|s| s.topic_arn == arn)
                .map(|s| s.arn.clone())
                .collect();
            let mut ops = vec![Op::Delete(keys::named(keys::TOPIC, arn))];
            ops.extend(fifo.map(|f| f.forget(arn)).unwrap_or_default());
            for s in &subs {
                state.subscriptions.remove(s);
                ops.push(Op::Delete(keys::named(keys::SUBSCRIPTION, s)));
            }
            (ops, subs)
        };
        let (ops, subs) = ops;
        self.persist(ops).await?;
        for s in subs {
            self.delivery.cancel(&s);
        }
        Ok(json!({}))
    }

    pub(super) fn list_topics(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let prefix = arn_prefix(caller);
        let arns: Vec<(String, Value)> = self
            .read()
            .topics
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| (k.clone(), json!({"TopicArn": k})))
            .collect();
        let (topics, next) = page(arns, p.str("NextToken")?, 100)?;
        Ok(json!({"Topics": topics, "NextToken": next}))
    }

    pub(super) fn get_topic_attributes(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?;
        let state = self.read();
        let t = state.topics.get(arn).ok_or_else(|| not_found("Topic"))?;
        let (mut confirmed, mut pending) = (0, 0);
        let prefix = format!("{arn}:");
        let subscriptions = state
            .subscriptions
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(_, s)| s);
        for s in subscriptions {
            if s.confirmed {
                confirmed += 1;
            } else {
                pending += 1;
            }
        }
        let mut a = Map::new();
        let policy = t
            .attributes
            .get("Policy")
            .cloned()
            .unwrap_or_else(|| policy::default_topic_policy(&t.arn, &t.account).to_string());
        a.insert("Policy".into(), json!(policy));
        a.insert("Owner".into(), json!(t.account));
        a.insert("SubscriptionsPending".into(), json!(pending.to_string()));
        a.insert("TopicArn".into(), json!(t.arn));
        a.insert(
            "EffectiveDeliveryPolicy".into(),
            json!(t.effective_policy().to_string()),
        );
        a.insert(
            "SubscriptionsConfirmed".into(),
            json!(confirmed.to_string()),
        );
        a.insert(
            "DisplayName".into(),
            json!(t.attributes.get("DisplayName").cloned().unwrap_or_default()),
        );
        a.insert("SubscriptionsDeleted".into(), json!("0"));
        for (k, v) in &t.attributes {
            if !matches!(k.as_str(), "Policy" | "DisplayName") {
                a.insert(k.clone(), json!(v));
            }
        }
        Ok(json!({"Attributes": a}))
    }

    pub(super) async fn set_topic_attributes(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?;
        let name = required(&p, "AttributeName")?;
        let value =
            p.0.get("AttributeValue")
                .and_then(Value::as_str)
                .unwrap_or("");
        let checked = check_attribute(name, value, false)?;
        self.update_topic(arn, |t| {
            if name == "ContentBasedDeduplication" && !t.is_fifo() {
                return Err(invalid("ContentBasedDeduplication: Content-based deduplication can only be set for FIFO topics"));
            }
            match checked {
                Some(v) => t.attributes.insert(name.to_string(), v),
                None => t.attributes.remove(name),
            };
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    fn resource_topic<'a>(&self, caller: &Caller, p: &'a Params) -> ApiResult<&'a str> {
        let arn = required(p, "ResourceArn")?;
        parse_arn("ResourceArn", arn)?;
        if !self.read().topics.contains_key(arn) || !arn.starts_with(&arn_prefix(caller)) {
            return Err(ApiError::new(
                ErrorCode::ResourceNotFound,
                "Resource does not exist",
            ));
        }
        Ok(arn)
    }

    pub(super) async fn tag_resource(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.resource_topic(caller, &p)?;
        let tags = tags_of(&p)?;
        self.update_topic(arn, |t| {
            for (k, v) in tags {
                match t.tags.iter_mut().find(|(e, _)| *e == k) {
                    Some(e) => e.1 = v,
                    None => t.tags.push((k, v)),
                }
            }
            if t.tags.len() > 50 {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameter,
                    "Could not complete request: tag quota of per resource exceeded",
                ));
            }
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(super) async fn untag_resource(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.resource_topic(caller, &p)?;
        let keys = p.strings("TagKeys")?;
        self.update_topic(arn, |t| {
            t.tags.retain(|(k, _)| !keys.contains(k));
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(super) fn list_tags_for_resource(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.resource_topic(caller, &p)?;
        let state = self.read();
        let tags = state
            .topics
            .get(arn)
            .map(|t| tags_json(&t.tags))
            .unwrap_or(json!([]));
        Ok(json!({"Tags": tags}))
    }

    pub(super) async fn add_permission(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?;
        let label = required(&p, "Label")?.to_string();
        let accounts = p.strings("AWSAccountId")?;
        let actions = p.strings("ActionName")?;
        if accounts.is_empty() {
            return Err(invalid(
                "AWSAccountId Reason: no value for required parameter",
            ));
        }
        if actions.is_empty() {
            return Err(invalid(
                "ActionName Reason: no value for required parameter",
            ));
        }
        let one_or_many = |v: Vec<String>| if v.len() == 1 { json!(v[0]) } else { json!(v) };
        let principal = one_or_many(
            accounts
                .iter()
                .map(|a| format!("arn:aws:iam::{a}:root"))
                .collect(),
        );
        let action = one_or_many(actions.iter().map(|a| format!("SNS:{a}")).collect());
        self.update_topic(arn, |t| {
            let mut doc = current_policy(t);
            let statements = statements(&mut doc);
            if statements.iter().any(|s| s["Sid"] == json!(label)) {
                return Err(invalid("Statement already exists"));
            }
            statements.push(json!({"Sid": label, "Effect": "Allow", "Principal": {"AWS": principal}, "Action": action, "Resource": t.arn}));
            t.attributes.insert("Policy".into(), doc.to_string());
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(super) async fn remove_permission(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?;
        let label = required(&p, "Label")?.to_string();
        self.update_topic(arn, |t| {
            let mut doc = current_policy(t);
            statements(&mut doc).retain(|s| s["Sid"] != json!(label));
            t.attributes.insert("Policy".into(), doc.to_string());
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }

    pub(super) fn get_data_protection_policy(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "ResourceArn", required(&p, "ResourceArn")?)?;
        let state = self.read();
        let t = state.topics.get(arn).ok_or_else(|| not_found("Topic"))?;
        Ok(json!({"DataProtectionPolicy": t.data_protection_policy}))
    }

    pub(super) async fn put_data_protection_policy(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let arn = self.topic_arn(caller, "ResourceArn", required(&p, "ResourceArn")?)?;
        let doc = required(&p, "DataProtectionPolicy")?.to_string();
        if !serde_json::from_str::<Value>(&doc).is_ok_and(|v| v.is_object()) {
            return Err(invalid("DataProtectionPolicy Reason: failed to parse JSON"));
        }
        self.update_topic(arn, |t| {
            t.data_protection_policy = Some(doc);
            Ok(())
        })
        .await?;
        Ok(json!({}))
    }
}

fn current_policy(t: &Topic) -> Value {
    t.attributes
        .get("Policy")
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| policy::default_topic_policy(&t.arn, &t.account))
}

fn statements(doc: &mut Value) -> &mut Vec<Value> {
    if !doc["Statement"].is_array() {
        doc["Statement"] = json!([]);
    }
    match doc["Statement"].as_array_mut() {
        Some(s) => s,
        None => unreachable!("just made an array"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes() {
        assert!(valid_name(&"a".repeat(256), false));
        assert!(!valid_name(&"a".repeat(257), false));
        assert!(valid_name("t.fifo", true));
        assert!(!valid_name("t.fifo", false));
        assert!(!valid_name("t", true));
        assert!(!valid_name("a b", false));
        assert_eq!(
            check_attribute("SignatureVersion", "2", false)
                .unwrap()
                .as_deref(),
            Some("2")
        );
        assert!(check_attribute("SignatureVersion", "3", false).is_err());
        assert_eq!(
            check_attribute("Nope", "x", false).unwrap_err().message,
            "Invalid parameter: AttributeName"
        );
        assert_eq!(
            check_attribute("FifoTopic", "true", false)
                .unwrap_err()
                .message,
            "Invalid parameter: AttributeName"
        );
        assert!(check_attribute("HTTPSuccessFeedbackSampleRate", "50", false).is_ok());
        assert_eq!(check_attribute("DeliveryPolicy", "", false).unwrap(), None);
    }
}
