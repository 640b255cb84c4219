//! What one matched target's delivery is, by the kind its ARN names: an SQS queue (standard, or
//! FIFO with `SqsParameters.MessageGroupId`), an SNS topic, another event bus (the event itself,
//! one hop only), an API destination (its endpoint, method, the target's `HttpParameters` and the
//! connection's parameters and authorization, at the destination's rate), or a kind ferry does not
//! deliver to (Lambda, Kinesis, Step Functions, ...), whose delivery fails into the target's DLQ.
//! Every job carries the target's `RetryPolicy` (AWS's defaults: 185 retries, 24 hours) and
//! `DeadLetterConfig`, with `RULE_ARN` and `TARGET_ARN` for the dead letter.

use super::state::{Connection, Destination};
use super::{Events, Matched, targets, transform};
use crate::delivery::{ApiCall, Job, OAuth, QueueMessage, Rate, RetryPolicy, Target, with_query};
use crate::protocol::Params;
use serde_json::Value;
use std::collections::BTreeMap;

/// AWS's defaults for a target without a `RetryPolicy`.
const DEFAULT_RETRIES: u32 = 185;
const DEFAULT_MAX_AGE_S: u64 = 86_400;

/// The event being routed and where it came from.
pub(super) struct Routed<'a> {
    pub event: &'a Value,
    /// `event` serialized once, for every target that receives the whole event.
    pub event_text: &'a str,
    pub event_id: &'a str,
    pub ingestion_time: &'a str,
    pub trace: Option<&'a str>,
    /// The event came to this bus from another bus's rule: it goes no further bus-wards.
    pub hopped: bool,
    /// The region of the bus the event is on.
    pub region: &'a str,
}

/// The parts of an ARN: (service, region, account, resource).
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    Some((service, region, account, resource))
}

/// Where a target's deliveries go, read from its ARN once.
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Queue,
    Topic,
    /// Another event bus, in this region.
    Bus {
        region: String,
    },
    ApiDestination,
    /// A kind ferry stores and lists but does not deliver to (the ARN's service).
    Other {
        service: String,
    },
}

/// One target of a rule, read once per change of the rule rather than once per event: its ARN
/// and kind, input mode, lane, FIFO group, retry policy and dead-letter queue.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TargetPlan {
    arn: String,
    kind: Kind,
    mode: transform::InputMode,
    lane: String,
    fifo: bool,
    group_id: Option<String>,
    retry: RetryPolicy,
    dead_letter: Option<String>,
    /// The target as stored, for what is read at delivery time (API destinations).
    target: Value,
    /// An API destination's request, as last resolved.
    api: ApiCache,
}

/// An API-destination target's request and rate, with the registry's `api_version` they were
/// resolved under: resolving reads the destination, its connection and the target's
/// `HttpParameters`, and costs more than the rest of an event's delivery.
#[derive(Default)]
struct ApiCache(std::sync::Mutex<Option<(u64, ApiRequest)>>);

/// What an API-destination target's deliveries are made of.
#[derive(Clone)]
struct ApiRequest {
    target: Target,
    rate: Option<Rate>,
    /// The connection's `BodyParameters`, added to a JSON object body.
    body: Vec<(String, String)>,
}

impl ApiRequest {
    /// A request that is never made: every attempt fails as `target` says.
    fn refused(target: Target, rate: Option<Rate>) -> ApiRequest {
        ApiRequest {
            target,
            rate,
            body: Vec::new(),
        }
    }
}

impl ApiCache {
    fn get(&self, version: u64) -> Option<ApiRequest> {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((v, request)) if *v == version => Some(request.clone()),
            _ => None,
        }
    }

    fn put(&self, version: u64, request: &ApiRequest) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((version, request.clone()));
    }
}

/// A plan's copy starts with nothing cached; plans compare by what they were made from.
impl Clone for ApiCache {
    fn clone(&self) -> Self {
        ApiCache::default()
    }
}

impl PartialEq for ApiCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ApiCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiCache")
    }
}

impl TargetPlan {
    /// The plan of one stored target of the rule `rule_arn`; `None` when it has no ARN or input
    /// settings that no longer validate, so nothing is delivered to it.
    pub(super) fn of(rule_arn: &str, target: &Value) -> Option<TargetPlan> {
        let t = Params(target.as_object()?.clone());
        let arn = t.str("Arn").ok()??.to_string();
        let mode = targets::input_mode(&t).ok()?;
        let (service, region, _, resource) = arn_parts(&arn).unwrap_or(("", "", "", ""));
        let kind = match service {
            "sqs" => Kind::Queue,
            "sns" => Kind::Topic,
            "events" if resource.starts_with("event-bus/") => Kind::Bus {
                region: region.to_string(),
            },
            "events" if resource.starts_with("api-destination/") => Kind::ApiDestination,
            _ => Kind::Other {
                service: service.to_string(),
            },
        };
        let fifo = arn.ends_with(".fifo");
        let group_id = target
            .pointer("/SqsParameters/MessageGroupId")
            .and_then(Value::as_str)
            .map(String::from);
        let retry = target.get("RetryPolicy");
        let max_retries = retry
            .and_then(|r| r.get("MaximumRetryAttempts"))
            .and_then(Value::as_u64)
            .map_or(DEFAULT_RETRIES, |n| n as u32);
        let max_age_s = retry
            .and_then(|r| r.get("MaximumEventAgeInSeconds"))
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_MAX_AGE_S);
        Some(TargetPlan {
            lane: format!("{rule_arn}/{}", t.str("Id").ok().flatten().unwrap_or("")),
            kind,
            mode,
            // FIFO queues and topics: one message group, set on the target.
            group_id: if fifo { group_id } else { None },
            fifo,
            retry: if max_retries == 0 {
                RetryPolicy::Never
            } else {
                RetryPolicy::Exponential {
                    max_retries,
                    max_age_s,
                }
            },
            dead_letter: target
                .pointer("/DeadLetterConfig/Arn")
                .and_then(Value::as_str)
                .map(String::from),
            arn,
            target: target.clone(),
            api: ApiCache::default(),
        })
    }
}

impl Events {
    /// The delivery of `r.event` to one target of a matched rule, if the input settings give it
    /// something to receive.
    pub(super) fn job_for(&self, rule: &Matched, plan: &TargetPlan, r: &Routed) -> Option<Job> {
        let arn = plan.arn.as_str();
        let mut message = QueueMessage {
            body: String::new(),
            attributes: Default::default(),
            group_id: plan.group_id.clone(),
            // FIFO queues and topics: the event id against duplicates.
            dedup_id: plan.fifo.then(|| r.event_id.to_string()),
            trace_header: r.trace.map(String::from),
        };
        let mut rate = None;
        let mut body_parameters = Vec::new();
        let target_kind = match &plan.kind {
            Kind::Queue => Target::Queue { arn: arn.into() },
            Kind::Topic => Target::Topic { arn: arn.into() },
            Kind::Bus { region } => {
                if r.hopped {
                    // One hop only: an event that came from another bus's rule is not routed
                    // to a third bus.
                    let code = if region != r.region {
                        "THIRD_REGION_HOP_DETECTED"
                    } else {
                        "THIRD_ACCOUNT_HOP_DETECTED"
                    };
                    Target::Unreachable {
                        code: code.into(),
                        message: format!(
                            "The event came to this bus from another event bus and is not sent on to {arn}."
                        ),
                    }
                } else {
                    // A bus gets the event itself, envelope unchanged.
                    message.body = r.event_text.to_string();
                    Target::Bus { arn: arn.into() }
                }
            }
            Kind::ApiDestination => {
                let request = self.api_target(arn, plan);
                rate = request.rate;
                body_parameters = request.body;
                request.target
            }
            Kind::Other { service } => Target::Unreachable {
                code: "NO_RESOURCE".into(),
                message: format!(
                    "ferry does not deliver to {service} targets: {arn} is stored and listed only."
                ),
            },
        };
        if message.body.is_empty() {
            message.body = match &plan.mode {
                transform::InputMode::Event => r.event_text.to_string(),
                mode => {
                    let ctx = transform::Context {
                        rule_arn: &rule.rule_arn,
                        rule_name: &rule.rule_name,
                        ingestion_time: r.ingestion_time,
                    };
                    transform::apply(mode, r.event, &ctx)?
                }
            };
        }
        if !body_parameters.is_empty() {
            message.body = with_body_parameters(message.body, body_parameters);
        }
        Some(Job {
            lane: plan.lane.clone(),
            // FIFO queues and topics: one delivery at a time, in order.
            ordered: plan.fifo,
            target: target_kind,
            message,
            retry: plan.retry.clone(),
            dead_letter: plan.dead_letter.clone(),
            max_per_second: None,
            attempts: 0,
            recorded_ms: 0,
            rate,
            // What a dead letter says; without a dead-letter queue there is none to say it.
            dead_letter_attributes: match plan.dead_letter {
                Some(_) => BTreeMap::from([
                    ("RULE_ARN".to_string(), rule.rule_arn.clone()),
                    ("TARGET_ARN".to_string(), arn.to_string()),
                ]),
                None => BTreeMap::new(),
            },
        })
    }

    /// An API destination target: the request as the destination, its connection and the
    /// target's `HttpParameters` describe it, and the destination's rate.
    fn api_target(&self, arn: &str, plan: &TargetPlan) -> ApiRequest {
        let missing = |what: &str| Target::Unreachable {
            code: "NO_RESOURCE".into(),
            message: format!("{what} does not exist."),
        };
        let Some((_, region, account, resource)) = arn_parts(arn) else {
            return ApiRequest::refused(missing(arn), None);
        };
        let name = resource
            .strip_prefix("api-destination/")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let version = self.api_version.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(cached) = plan.api.get(version) {
            return cached;
        }
        let mut reg = self.lock();
        let version = reg.api_version.load(std::sync::atomic::Ordering::SeqCst);
        let scope = reg.scope_of(account, region, self.now_ms());
        let found = scope.destinations.get(name).map(|d| {
            let conn = scope
                .connections
                .values()
                .find(|c| c.arn() == d.connection_arn);
            (d, conn)
        });
        let resolved = match found {
            None => ApiRequest::refused(missing(&format!("API destination {arn}")), None),
            Some((dest, conn)) => resolve_api(dest, conn, &plan.target, missing),
        };
        plan.api.put(version, &resolved);
        resolved
    }
}

/// `body` with the connection's body parameters set in it, when it is a JSON object (the
/// connection's value wins over one of the same name); any other body goes as it is.
fn with_body_parameters(body: String, parameters: Vec<(String, String)>) -> String {
    match serde_json::from_str::<Value>(&body) {
        Ok(Value::Object(mut object)) => {
            for (k, v) in parameters {
                object.insert(k, Value::String(v));
            }
            Value::Object(object).to_string()
        }
        _ => body,
    }
}

/// The request an API-destination target makes, from its destination, the destination's
/// connection and the target's `HttpParameters`; and the destination's rate.
fn resolve_api(
    dest: &Destination,
    conn: Option<&Connection>,
    target: &Value,
    missing: impl Fn(&str) -> Target,
) -> ApiRequest {
    let Some(conn) = conn else {
        return ApiRequest::refused(
            missing(&format!("Connection {}", dest.connection_arn)),
            None,
        );
    };
    let rate = Some(Rate {
        key: dest.arn().into(),
        per_second: u32::try_from(dest.rate_limit.max(1)).unwrap_or(u32::MAX),
    });
    if conn.state == "DEAUTHORIZED" || conn.state == "DEAUTHORIZING" {
        let refused = Target::Unreachable {
            code: "NO_PERMISSIONS".into(),
            message: format!("Connection {} is {}.", conn.arn(), conn.state),
        };
        return ApiRequest::refused(refused, rate);
    }
    let http = target.get("HttpParameters");
    // `*` in the endpoint, in order, from PathParameterValues.
    let mut values = http
        .and_then(|h| h.get("PathParameterValues"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let mut url = String::new();
    for (i, part) in dest.endpoint.split('*').enumerate() {
        if i > 0 {
            url.push_str(values.next().unwrap_or(""));
        }
        url.push_str(part);
    }
    let map_pairs = |v: Option<&Value>| -> Vec<(String, String)> {
        v.and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect()
    };
    let list_pairs = |v: Option<&Value>| -> Vec<(String, String)> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let k = p.get("Key")?.as_str()?;
                let v = p.get("Value")?.as_str()?;
                Some((k.to_string(), v.to_string()))
            })
            .collect()
    };
    let auth = &conn.auth_parameters;
    let invocation = auth.get("InvocationHttpParameters");
    // The connection's parameters win over the target's of the same name.
    let merge = |mut base: Vec<(String, String)>, over: Vec<(String, String)>| {
        for (k, v) in over {
            base.retain(|(b, _)| !b.eq_ignore_ascii_case(&k));
            base.push((k, v));
        }
        base
    };
    let mut headers = merge(
        vec![(
            "content-type".to_string(),
            "application/json; charset=utf-8".to_string(),
        )],
        map_pairs(http.and_then(|h| h.get("HeaderParameters"))),
    );
    headers = merge(
        headers,
        list_pairs(invocation.and_then(|i| i.get("HeaderParameters"))),
    );
    let query = merge(
        map_pairs(http.and_then(|h| h.get("QueryStringParameters"))),
        list_pairs(invocation.and_then(|i| i.get("QueryStringParameters"))),
    );
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
    let mut oauth = None;
    match conn.authorization_type.as_str() {
        "BASIC" => {
            use base64::Engine;
            let b = auth.get("BasicAuthParameters");
            let pair = format!(
                "{}:{}",
                s(b.and_then(|b| b.get("Username"))),
                s(b.and_then(|b| b.get("Password")))
            );
            let basic = base64::engine::general_purpose::STANDARD.encode(pair);
            headers = merge(
                headers,
                vec![("authorization".into(), format!("Basic {basic}"))],
            );
        }
        "API_KEY" => {
            let k = auth.get("ApiKeyAuthParameters");
            let name = s(k.and_then(|k| k.get("ApiKeyName")));
            let value = s(k.and_then(|k| k.get("ApiKeyValue")));
            headers = merge(headers, vec![(name, value)]);
        }
        "OAUTH_CLIENT_CREDENTIALS" => {
            let o = auth.get("OAuthParameters");
            let get = |p: &str| o.and_then(|o| o.pointer(p));
            oauth = Some(OAuth {
                endpoint: s(get("/AuthorizationEndpoint")),
                method: s(get("/HttpMethod")),
                client_id: s(get("/ClientParameters/ClientID")),
                client_secret: s(get("/ClientParameters/ClientSecret")),
                headers: list_pairs(get("/OAuthHttpParameters/HeaderParameters")),
                query: list_pairs(get("/OAuthHttpParameters/QueryStringParameters")),
                body: list_pairs(get("/OAuthHttpParameters/BodyParameters")),
            });
        }
        _ => {}
    }
    ApiRequest {
        target: Target::Api(std::sync::Arc::new(ApiCall {
            method: dest.method.clone(),
            url: with_query(&url, &query),
            headers,
            oauth,
        })),
        rate,
        body: list_pairs(invocation.and_then(|i| i.get("BodyParameters"))),
    }
}

#[cfg(test)]
mod tests {
    use super::{arn_parts, with_body_parameters};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_arn_text_splits_without_panicking(s in ".{0,80}") {
            if let Some((service, region, account, resource)) = arn_parts(&s) {
                prop_assert!(s.ends_with(resource));
                prop_assert!(!service.contains(':') && !region.contains(':') && !account.contains(':'));
            }
        }
    }

    #[test]
    fn body_parameters_go_into_json_object_bodies_only() {
        let params = || vec![("k".to_string(), "v".to_string())];
        assert_eq!(
            with_body_parameters(r#"{"a":1,"k":2}"#.into(), params()),
            r#"{"a":1,"k":"v"}"#
        );
        for body in [r#""a string""#, "[1]", "not json", ""] {
            assert_eq!(with_body_parameters(body.into(), params()), body);
        }
    }

    #[test]
    fn arns_split_into_their_parts() {
        assert_eq!(
            arn_parts("arn:aws:events:eu-west-1:123456789012:api-destination/d/u"),
            Some(("events", "eu-west-1", "123456789012", "api-destination/d/u"))
        );
        assert_eq!(
            arn_parts("arn:aws:sqs:us-east-1:1:q:with:colons"),
            Some(("sqs", "us-east-1", "1", "q:with:colons"))
        );
        assert_eq!(arn_parts("not-an-arn"), None);
    }
}
