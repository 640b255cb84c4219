//! Amazon SNS. Actions take decoded [`Params`] and return JSON-shaped output; they never see HTTP.
//! Topics, their attributes, tags and policies live in `topics.rs`; subscriptions and their
//! confirmation in `subscriptions.rs`; `Publish`/`PublishBatch` and fan-out in `publish.rs`; the
//! JSON envelopes subscribers receive in `envelope.rs`, and the HTTP/S requests written from them at
//! each attempt in `compose.rs`; delivery policies in `policy.rs`; SMS and
//! mobile-push actions, answered as AWS answers an account without them, in `unsupported.rs`.
//! Resources are records in the store (`keys::TOPIC`, `keys::SUBSCRIPTION`); FIFO topics'
//! deduplication (`fifo.rs`) is kept as hot records (`keys::TOPIC_DEDUP`); deliveries go through
//! `crate::delivery`.

mod compose;
mod delivery_target;
pub(crate) mod envelope;
mod fifo;
mod message;
mod platform;
mod policy;
mod publish;
mod signing;
mod subscription_rules;
mod subscriptions;
mod topics;
mod unsupported;

use crate::caller::Caller;
use crate::clock::Clock;
use crate::delivery::Delivery;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::{Durable, Op, StoreResult, keys};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use subscriptions::Subscription;
use topics::Topic;

/// The default largest message, body and attributes together (AWS's default
/// `MaximumMessageSize`).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 262_144;

const RECORD_VERSION: u8 = 1;

/// The lane suffix of unsubscribe confirmations, which outlive their subscription.
const UNSUBSCRIBE_LANE_SUFFIX: &str = "#unsubscribe";

/// The parameter the request path fills with the caller's `X-Amzn-Trace-Id` header.
pub const TRACE_PARAM: &str = "AWSTraceHeader";

/// Topics and subscriptions, by ARN (ARNs carry region and account, so this also isolates them).
#[derive(Default)]
struct State {
    topics: BTreeMap<String, Topic>,
    subscriptions: BTreeMap<String, Subscription>,
    /// Platform applications, endpoints and SMS settings, by ARN.
    platform: BTreeMap<String, platform::Record>,
}

/// The SNS service.
pub struct Sns {
    state: RwLock<State>,
    durable: Arc<Durable>,
    delivery: Arc<Delivery>,
    clock: Clock,
    signer: signing::LazySigner,
    /// FIFO topics' deduplication and sequence state, by topic ARN.
    fifo: Mutex<HashMap<String, fifo::FifoState>>,
    /// HTTP/S subscriptions' delivery plans, by policy.
    http_plans: policy::HttpPlans,
}

impl Sns {
    /// Rebuilds topics and subscriptions from the store.
    pub fn open(
        durable: Arc<Durable>,
        delivery: Arc<Delivery>,
        clock: Clock,
    ) -> StoreResult<Arc<Sns>> {
        let mut state = State::default();
        durable.scan(&[keys::TOPIC], &mut |_, v| {
            let t: Topic = crate::storage::decode_json(RECORD_VERSION, v, "topic")?;
            state.topics.insert(t.arn.clone(), t);
            Ok(())
        })?;
        durable.scan(&[keys::SUBSCRIPTION], &mut |_, v| {
            let mut s: Subscription =
                crate::storage::decode_json(RECORD_VERSION, v, "subscription")?;
            s.compile();
            state.subscriptions.insert(s.arn.clone(), s);
            Ok(())
        })?;
        durable.scan(&[keys::PLATFORM], &mut |_, v| {
            let r: platform::Record =
                crate::storage::decode_json(RECORD_VERSION, v, "platform record")?;
            state.platform.insert(r.arn().to_string(), r);
            Ok(())
        })?;
        tracing::info!(
            topics = state.topics.len(),
            subscriptions = state.subscriptions.len(),
            "sns state loaded"
        );
        let (fifo, stale) =
            fifo::load(&durable, clock.now_ms(), &|t| state.topics.contains_key(t))?;
        durable.submit_detached(stale);
        let signer = signing::LazySigner::start(&durable)?;
        delivery.compose_with(Arc::new(compose::Composer(signer.clone())));
        Ok(Arc::new(Sns {
            state: RwLock::new(state),
            durable,
            delivery,
            clock,
            signer,
            fifo: Mutex::new(fifo),
            http_plans: policy::HttpPlans::default(),
        }))
    }

    /// Runs one action.
    pub async fn call(&self, action: &str, caller: &Caller, p: Params) -> ApiResult<Value> {
        match action {
            "CreateTopic" => self.create_topic(caller, p).await,
            "DeleteTopic" => self.delete_topic(caller, p).await,
            "ListTopics" => self.list_topics(caller, p),
            "GetTopicAttributes" => self.get_topic_attributes(caller, p),
            "SetTopicAttributes" => self.set_topic_attributes(caller, p).await,
            "TagResource" => self.tag_resource(caller, p).await,
            "UntagResource" => self.untag_resource(caller, p).await,
            "ListTagsForResource" => self.list_tags_for_resource(caller, p),
            "AddPermission" => self.add_permission(caller, p).await,
            "RemovePermission" => self.remove_permission(caller, p).await,
            "GetDataProtectionPolicy" => self.get_data_protection_policy(caller, p),
            "PutDataProtectionPolicy" => self.put_data_protection_policy(caller, p).await,
            "Subscribe" => self.subscribe(caller, p).await,
            "ConfirmSubscription" => self.confirm_subscription(caller, p).await,
            "Unsubscribe" => self.unsubscribe(caller, p).await,
            "ListSubscriptions" => self.list_subscriptions(caller, p),
            "ListSubscriptionsByTopic" => self.list_subscriptions_by_topic(caller, p),
            "GetSubscriptionAttributes" => self.get_subscription_attributes(caller, p),
            "SetSubscriptionAttributes" => self.set_subscription_attributes(caller, p).await,
            "Publish" => self.publish(caller, p).await,
            "PublishBatch" => self.publish_batch(caller, p).await,
            other => match self.platform_call(other, caller, &p).await {
                Some(answer) => answer,
                None => unsupported::call(other, caller, &p),
            },
        }
    }

    /// The signing certificate, PEM, when `path` is its `SigningCertURL` path.
    pub fn certificate(&self, path: &str) -> Option<String> {
        let signer = self.signer.get();
        (path == signer.cert_path()).then(|| signer.cert_pem.clone())
    }

    /// Whether pending deliveries of `lane` should still go out: a subscription's lane is its
    /// ARN, and lives as long as the subscription; an unsubscribe confirmation always goes out.
    pub fn lane_is_live(&self, lane: &str) -> bool {
        lane.ends_with(UNSUBSCRIBE_LANE_SUFFIX)
            || !lane.starts_with("arn:aws:sns:")
            || self.read().subscriptions.contains_key(lane)
    }

    /// Forgets every topic and subscription (the store is cleared by the caller).
    pub fn reset(&self) {
        let mut s = self.write();
        s.topics.clear();
        s.subscriptions.clear();
        s.platform.clear();
        self.fifo.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `ops` and waits for the flush.
    async fn persist(&self, ops: Vec<Op>) -> ApiResult<()> {
        self.durable
            .submit(ops)
            .wait()
            .await
            .map_err(|e| ApiError::internal("store write failed", e))
    }
}

/// Waits for a batch submitted under the state's lock.
async fn stored(pending: crate::storage::Pending) -> ApiResult<()> {
    pending
        .wait()
        .await
        .map_err(|e| ApiError::internal("store write failed", e))
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    crate::storage::encode_json(RECORD_VERSION, v)
}

/// `InvalidParameter` with AWS's `Invalid parameter: ` prefix.
pub(crate) fn invalid(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameter,
        format!("Invalid parameter: {what}"),
    )
}

/// `NotFound` (404) with AWS's `<what> does not exist`.
pub(crate) fn not_found(what: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("{what} does not exist"))
}

/// A required parameter, as SNS reports its absence.
pub(crate) fn required<'a>(p: &'a Params, name: &str) -> ApiResult<&'a str> {
    match p.str(name)? {
        Some(s) => Ok(s),
        None => Err(invalid(format!(
            "{name} Reason: no value for required parameter"
        ))),
    }
}

/// The parts of an SNS ARN: `arn:aws:sns:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Checks that `value` (parameter `param`) has the 6 parts of an ARN (SNS-003's wording).
pub(crate) fn parse_arn<'a>(param: &str, value: &'a str) -> ApiResult<Arn<'a>> {
    let n = value.split(':').count();
    if n < 6 {
        return Err(invalid(format!(
            "{param} Reason: An ARN must have at least 6 elements, not {n}"
        )));
    }
    let mut parts = value.splitn(6, ':');
    let _arn = parts.next();
    let _partition = parts.next();
    let _service = parts.next();
    let region = parts.next().unwrap_or("");
    let account = parts.next().unwrap_or("");
    let resource = parts.next().unwrap_or("");
    Ok(Arn {
        region,
        account,
        resource,
    })
}

/// `arn:aws:sns:<region>:<account>:` — the prefix of every ARN of the caller's.
pub(crate) fn arn_prefix(caller: &Caller) -> String {
    format!("arn:aws:sns:{}:{}:", caller.region, caller.account)
}

pub(crate) use crate::ids::uuid;

/// One page of a list: at most `size` items after `token` (the last key of the previous page).
pub(crate) fn page<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    size: usize,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => {
            let after = decode_token(t).ok_or_else(|| invalid("NextToken"))?;
            items.partition_point(|(k, _)| *k <= after)
        }
    };
    let rest: Vec<(String, T)> = items.into_iter().skip(start).collect();
    let more = rest.len() > size;
    let mut out = Vec::with_capacity(size.min(rest.len()));
    let mut last = None;
    for (k, v) in rest.into_iter().take(size) {
        last = Some(k);
        out.push(v);
    }
    let next = if more {
        last.map(|k| encode_token(&k))
    } else {
        None
    };
    Ok((out, next))
}

fn encode_token(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_token(t: &str) -> Option<String> {
    use base64::Engine;
    let b = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()?;
    String::from_utf8(b).ok()
}

#[cfg(test)]
mod crash_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_errors_count_parts() {
        for (v, n) in [
            ("randomstring", 1),
            ("", 1),
            ("randomstring:1", 2),
            ("arn:aws:sns:us-east-1:random", 5),
        ] {
            assert_eq!(
                parse_arn("TopicArn", v).unwrap_err().message,
                format!(
                    "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not {n}"
                )
            );
        }
        let a = parse_arn("TopicArn", "arn:aws:sns:us-east-1:000000000000:t:sub").unwrap();
        assert_eq!(
            (a.region, a.account, a.resource),
            ("us-east-1", "000000000000", "t:sub")
        );
    }

    #[test]
    fn pages_resume_after_the_token() {
        let items: Vec<(String, u32)> = (0..250).map(|i| (format!("k{i:03}"), i)).collect();
        let (a, t) = page(items.clone(), None, 100).unwrap();
        assert_eq!((a.len(), a[0]), (100, 0));
        let (b, t) = page(items.clone(), t.as_deref(), 100).unwrap();
        assert_eq!(b[0], 100);
        let (c, t) = page(items.clone(), t.as_deref(), 100).unwrap();
        assert_eq!((c.len(), t), (50, None));
        assert!(page(items, Some("!!"), 100).is_err());
    }
}
