//! Subscriptions: subscribe (idempotent with equal attributes), the HTTP confirmation handshake,
//! unsubscribe, listing, and subscription attributes with AWS's validation.

use super::compose::Spec;
use super::envelope::Kind;
use super::subscription_rules::{PROTOCOLS, check_attribute, check_endpoint, new_token};
use super::{Sns, arn_prefix, encode, invalid, not_found, page, parse_arn, policy, required, uuid};
use crate::caller::Caller;
use crate::delivery::{Job, QueueMessage, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pattern::{FilterPolicy, FilterPolicyScope};
use crate::protocol::Params;
use crate::storage::{Op, keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One subscription, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub owner: String,
    /// Attributes set explicitly (`RawMessageDelivery`, `FilterPolicy`, `FilterPolicyScope`,
    /// `RedrivePolicy`, `DeliveryPolicy`, `SubscriptionRoleArn`, `ReplayPolicy`).
    pub attributes: BTreeMap<String, String>,
    pub confirmed: bool,
    pub authenticated: bool,
    pub token: Option<String>,
    /// The host clients reached ferry by, for the URLs in envelopes.
    pub host: String,
    /// Whether they reached it through https (a TLS-terminating proxy), ditto.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub https: bool,
    #[serde(skip)]
    pub filter: Option<FilterPolicy>,
}

impl Subscription {
    /// `scheme://host` as the subscriber's creator reached ferry, for the links in its messages.
    fn base_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// Compiles the filter policy (after load or a change).
    pub fn compile(&mut self) {
        self.filter = self
            .attributes
            .get("FilterPolicy")
            .and_then(|p| FilterPolicy::parse(p, self.scope()).ok());
    }

    pub fn scope(&self) -> FilterPolicyScope {
        self.attributes
            .get("FilterPolicyScope")
            .and_then(|s| FilterPolicyScope::from_name(s))
            .unwrap_or_default()
    }

    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v == "true")
    }

    pub fn dead_letter(&self) -> Option<String> {
        let p: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        p["deadLetterTargetArn"].as_str().map(String::from)
    }

    pub fn is_http(&self) -> bool {
        matches!(self.protocol.as_str(), "http" | "https")
    }

    fn record(&self) -> Op {
        Op::Put(keys::named(keys::SUBSCRIPTION, &self.arn), encode(self))
    }

    /// The ARN as lists show it: pending subscriptions are `PendingConfirmation`.
    fn listed_arn(&self) -> &str {
        if self.confirmed {
            &self.arn
        } else {
            "PendingConfirmation"
        }
    }

    fn summary(&self) -> Value {
        json!({"SubscriptionArn": self.listed_arn(), "Owner": self.owner, "Protocol": self.protocol,
            "Endpoint": self.endpoint, "TopicArn": self.topic_arn})
    }
}

impl Sns {
    pub(super) async fn subscribe(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let topic_arn = self
            .topic_arn(caller, "TopicArn", required(&p, "TopicArn")?)?
            .to_string();
        let protocol = required(&p, "Protocol")?.to_string();
        if !PROTOCOLS.contains(&protocol.as_str()) {
            return Err(invalid(format!(
                "Amazon SNS does not support this protocol string: {protocol}"
            )));
        }
        let endpoint = p.str("Endpoint")?.unwrap_or("").to_string();
        check_endpoint(&protocol, &endpoint)?;
        let return_arn = p
            .str("ReturnSubscriptionArn")?
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let given = p.string_map("Attributes")?;
        let fifo_topic = self.with_topic(caller, &p, |t| t.is_fifo())?;
        if fifo_topic && protocol != "sqs" {
            return Err(invalid(format!("Invalid protocol type: {protocol}")));
        }
        let fifo_pair = fifo_topic && protocol == "sqs" && endpoint.ends_with(".fifo");
        let scope = given
            .get("FilterPolicyScope")
            .and_then(|s| FilterPolicyScope::from_name(s))
            .unwrap_or_default();
        let mut attributes = BTreeMap::new();
        for (k, v) in &given {
            let reason = |r: String| {
                let r = if r.is_empty() {
                    format!("Unknown attribute: {k}")
                } else {
                    r
                };
                invalid(format!("Attributes Reason: {r}"))
            };
            if let Some(v) = check_attribute(k, v, scope, fifo_pair).map_err(reason)? {
                attributes.insert(k.clone(), v);
            }
        }
        if !attributes.contains_key("FilterPolicy") {
            attributes.remove("FilterPolicyScope");
        }
        let (answer, confirmation) = {
            let mut state = self.write();
            if !state.topics.contains_key(&topic_arn) {
                return Err(not_found("Topic"));
            }
            let existing = state.subscriptions.values_mut().find(|s| {
                s.topic_arn == topic_arn && s.protocol == protocol && s.endpoint == endpoint
            });
            if let Some(s) = existing {
                let differs = given.keys().any(|k| {
                    let default = match k.as_str() {
                        "RawMessageDelivery" => Some("false"),
                        "FilterPolicyScope" => Some("MessageAttributes"),
                        _ => None,
                    };
                    let mine = s.attributes.get(k).map(String::as_str).or(default);
                    let theirs = attributes.get(k).map(String::as_str).or(default);
                    mine != theirs
                });
                if differs {
                    return Err(invalid(
                        "Attributes Reason: Subscription already exists with different attributes",
                    ));
                }
                let arn = if s.confirmed || return_arn {
                    s.arn.clone()
                } else {
                    "pending confirmation".into()
                };
                // Another Subscribe may still be writing it: answer once it is on disk.
                (arn, (self.durable.barrier(), None))
            } else {
                let needs_confirmation =
                    matches!(protocol.as_str(), "http" | "https" | "email" | "email-json");
                let mut s = Subscription {
                    arn: format!("{topic_arn}:{}", uuid()),
                    topic_arn: topic_arn.clone(),
                    protocol,
                    endpoint,
                    owner: caller.account.clone(),
                    attributes,
                    confirmed: !needs_confirmation,
                    authenticated: false,
                    token: needs_confirmation.then(new_token),
                    host: caller.host.clone(),
                    https: caller.scheme == "https",
                    filter: None,
                };
                s.compile();
                let arn = if s.confirmed || return_arn {
                    s.arn.clone()
                } else {
                    "pending confirmation".into()
                };
                let version = state
                    .topics
                    .get(&topic_arn)
                    .map_or("1", |t| t.signature_version());
                let confirmation = s
                    .is_http()
                    .then(|| self.confirmation_job(&s, Kind::SubscriptionConfirmation, version));
                // Submitted under the lock, so that a Subscribe that finds it waits for it.
                let pending = self.durable.submit(vec![s.record()]);
                state.subscriptions.insert(s.arn.clone(), s);
                (arn, (pending, confirmation))
            }
        };
        let (pending, job) = confirmation;
        super::stored(pending).await?;
        if let Some(job) = job {
            self.delivery
                .submit(vec![job])
                .wait()
                .await
                .map_err(|e| ApiError::internal("store write failed", e))?;
        }
        Ok(json!({"SubscriptionArn": answer}))
    }

    /// The SubscriptionConfirmation or UnsubscribeConfirmation request for an HTTP subscription
    /// (written and signed at its attempt, `compose.rs`).
    fn confirmation_job(&self, s: &Subscription, kind: Kind, version: &str) -> Job {
        let message = match kind {
            Kind::UnsubscribeConfirmation => format!(
                "You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
                s.arn
            ),
            _ => format!(
                "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                s.topic_arn
            ),
        };
        let spec = Spec {
            kind: kind.as_str().to_string(),
            message_id: uuid(),
            topic_arn: s.topic_arn.clone(),
            subscription_arn: s.arn.clone(),
            subject: None,
            timestamp_ms: self.clock.now_ms(),
            sequence_number: None,
            base_url: s.base_url(),
            signature_version: Some(version.to_string()),
            raw: false,
            content_type: "text/plain; charset=UTF-8".to_string(),
            token: Some(s.token.clone().unwrap_or_default()),
        };
        let lane = match kind {
            Kind::UnsubscribeConfirmation => format!("{}{}", s.arn, super::UNSUBSCRIBE_LANE_SUFFIX),
            _ => s.arn.clone(),
        };
        Job {
            lane,
            ordered: false,
            target: Target::Http {
                url: s.endpoint.clone(),
                headers: Vec::new(),
                compose: Some(spec.encode()),
            },
            message: QueueMessage {
                body: message,
                ..Default::default()
            },
            retry: crate::delivery::RetryPolicy::sns_default(),
            dead_letter: None,
            max_per_second: None,
            attempts: 0,
            recorded_ms: 0,
            rate: None,
            dead_letter_attributes: Default::default(),
        }
    }

    pub(super) async fn confirm_subscription(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let topic_arn = required(&p, "TopicArn")?;
        let token = required(&p, "Token")?;
        let arn = parse_arn("TopicArn", topic_arn).map_err(|_| invalid("Topic"))?;
        // Plain GET links carry no credentials: the topic's own region applies.
        let anonymous = caller.access_key == "anonymous";
        if !anonymous && arn.region != caller.region {
            return Err(invalid("Topic"));
        }
        let authenticate = p
            .str("AuthenticateOnUnsubscribe")?
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let op = {
            let mut state = self.write();
            let found = state
                .subscriptions
                .values_mut()
                .find(|s| s.topic_arn == topic_arn && s.token.as_deref() == Some(token));
            let Some(s) = found else {
                return Err(if token.bytes().all(|b| b.is_ascii_hexdigit()) {
                    invalid("Token")
                } else {
                    ApiError::new(ErrorCode::InvalidParameter, "Invalid token")
                });
            };
            if s.confirmed {
                return Ok(json!({"SubscriptionArn": s.arn}));
            }
            s.confirmed = true;
            s.authenticated = authenticate;
            (s.arn.clone(), s.record())
        };
        self.persist(vec![op.1]).await?;
        Ok(json!({"SubscriptionArn": op.0}))
    }

    /// Checks a `SubscriptionArn` parameter (SNS-068's wording).
    fn subscription_arn<'a>(&self, p: &'a Params) -> ApiResult<&'a str> {
        let arn = required(p, "SubscriptionArn")?;
        let parts = parse_arn("SubscriptionArn", arn)?;
        if !parts.resource.contains(':') {
            return Err(invalid("SubscriptionId"));
        }
        Ok(arn)
    }

    pub(super) async fn unsubscribe(&self, _caller: &Caller, p: Params) -> ApiResult<Value> {
        let arn = self.subscription_arn(&p)?;
        let (op, job) = {
            let mut state = self.write();
            let Some(s) = state.subscriptions.remove(arn) else {
                return Ok(json!({}));
            };
            let version = state
                .topics
                .get(&s.topic_arn)
                .map_or("1", |t| t.signature_version());
            let job = (s.is_http() && s.confirmed)
                .then(|| self.confirmation_job(&s, Kind::UnsubscribeConfirmation, version));
            (Op::Delete(keys::named(keys::SUBSCRIPTION, arn)), job)
        };
        self.persist(vec![op]).await?;
        self.delivery.cancel(arn);
        if let Some(job) = job {
            let _ = self.delivery.submit(vec![job]).wait().await;
        }
        Ok(json!({}))
    }

    pub(super) fn list_subscriptions(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let prefix = arn_prefix(caller);
        let items: Vec<(String, Value)> = self
            .read()
            .subscriptions
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, s)| (k.clone(), s.summary()))
            .collect();
        let (subs, next) = page(items, p.str("NextToken")?, 100)?;
        Ok(json!({"Subscriptions": subs, "NextToken": next}))
    }

    pub(super) fn list_subscriptions_by_topic(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        self.with_topic(caller, &p, |_| ())?;
        let topic = required(&p, "TopicArn")?;
        let prefix = format!("{topic}:");
        let items: Vec<(String, Value)> = self
            .read()
            .subscriptions
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, s)| s.topic_arn == topic)
            .map(|(k, s)| (k.clone(), s.summary()))
            .collect();
        let (subs, next) = page(items, p.str("NextToken")?, 100)?;
        Ok(json!({"Subscriptions": subs, "NextToken": next}))
    }

    pub(super) fn get_subscription_attributes(
        &self,
        _caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let arn = self.subscription_arn(&p)?;
        let state = self.read();
        let s = state
            .subscriptions
            .get(arn)
            .ok_or_else(|| not_found("Subscription"))?;
        let mut a = Map::new();
        a.insert(
            "ConfirmationWasAuthenticated".into(),
            json!(s.authenticated.to_string()),
        );
        a.insert(
            "PendingConfirmation".into(),
            json!((!s.confirmed).to_string()),
        );
        a.insert("Owner".into(), json!(s.owner));
        a.insert("RawMessageDelivery".into(), json!(s.raw().to_string()));
        a.insert("TopicArn".into(), json!(s.topic_arn));
        a.insert("Endpoint".into(), json!(s.endpoint));
        a.insert("Protocol".into(), json!(s.protocol));
        a.insert(
            "SubscriptionPrincipal".into(),
            json!(format!("arn:aws:iam::{}:root", s.owner)),
        );
        a.insert("SubscriptionArn".into(), json!(s.arn));
        if s.is_http() {
            let topic_effective = state
                .topics
                .get(&s.topic_arn)
                .map(|t| t.effective_policy())
                .unwrap_or_else(|| policy::effective_topic(None));
            let eff = policy::effective_subscription(
                &topic_effective,
                s.attributes.get("DeliveryPolicy").map(String::as_str),
            );
            a.insert("EffectiveDeliveryPolicy".into(), json!(eff.to_string()));
        }
        for (k, v) in &s.attributes {
            if k == "RawMessageDelivery"
                || (k == "FilterPolicyScope" && !s.attributes.contains_key("FilterPolicy"))
            {
                continue;
            }
            a.insert(k.clone(), json!(v));
        }
        if s.attributes.contains_key("FilterPolicy")
            && !s.attributes.contains_key("FilterPolicyScope")
        {
            a.insert("FilterPolicyScope".into(), json!("MessageAttributes"));
        }
        Ok(json!({"Attributes": a}))
    }

    pub(super) async fn set_subscription_attributes(
        &self,
        _caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let arn = self.subscription_arn(&p)?;
        let name = required(&p, "AttributeName")?;
        let value =
            p.0.get("AttributeValue")
                .and_then(Value::as_str)
                .unwrap_or("");
        let op = {
            let mut state = self.write();
            let fifo_topic = state
                .subscriptions
                .get(arn)
                .and_then(|s| state.topics.get(&s.topic_arn))
                .is_some_and(|t| t.is_fifo());
            let s = state
                .subscriptions
                .get_mut(arn)
                .ok_or_else(|| not_found("Subscription"))?;
            let fifo_pair = fifo_topic && s.protocol == "sqs" && s.endpoint.ends_with(".fifo");
            let scope = if name == "FilterPolicyScope" {
                FilterPolicyScope::from_name(value).unwrap_or_default()
            } else {
                s.scope()
            };
            let checked = check_attribute(name, value, scope, fifo_pair).map_err(|r| {
                if r.is_empty() {
                    invalid("AttributeName")
                } else {
                    invalid(r)
                }
            })?;
            if name == "FilterPolicyScope"
                && let Some(policy) = s.attributes.get("FilterPolicy")
            {
                FilterPolicy::parse(policy, scope)
                    .map_err(|e| invalid(format!("FilterPolicy: {}", e.reason)))?;
            }
            match checked {
                Some(v) => s.attributes.insert(name.to_string(), v),
                None => s.attributes.remove(name),
            };
            s.compile();
            s.record()
        };
        self.persist(vec![op]).await?;
        Ok(json!({}))
    }
}
