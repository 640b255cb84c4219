//! PutEvents: each entry is checked and wrapped in AWS's envelope, matched against the enabled
//! rules of its bus, and every matching target that ferry delivers to gets one job in the delivery
//! engine, recorded before the answer. Today that is SQS queues (standard, and FIFO with
//! `SqsParameters.MessageGroupId`), with `Input`, `InputPath` or `InputTransformer`, the target's
//! `RetryPolicy` (AWS's defaults: 185 retries, 24 hours) and `DeadLetterConfig`. Targets of other
//! kinds are stored and listed but not yet delivered to.

use super::envelope::Accepted;
use super::{Events, Matched, envelope, targets, transform, uuid};
use crate::caller::Caller;
use crate::delivery::{Job, QueueMessage, RetryPolicy, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Map, Value, json};

/// AWS's defaults for a target without a `RetryPolicy`.
const DEFAULT_RETRIES: u32 = 185;
const DEFAULT_MAX_AGE_S: u64 = 86_400;

impl Events {
    pub(super) async fn put_events(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let entries: Vec<Map<String, Value>> =
            p.list("Entries")?.into_iter().map(|e| e.0).collect();
        envelope::check_request(&entries, envelope::MAX_REQUEST_BYTES)
            .map_err(|m| ApiError::new(ErrorCode::ValidationException, m))?;
        let delivery = self.delivery.get().cloned().ok_or_else(|| {
            ApiError::internal(
                "events",
                "PutEvents has no delivery engine to deliver through",
            )
        })?;
        let now = self.now_ms();
        let ingestion = envelope::iso_millis(now);
        let mut results = Vec::with_capacity(entries.len());
        let mut failed = 0;
        let mut jobs = Vec::new();
        let mut accepted_all = Vec::new();
        for entry in &entries {
            let id = uuid();
            match envelope::build(entry, &caller.account, &caller.region, &id, now) {
                Err(e) => {
                    failed += 1;
                    results.push(json!({"ErrorCode": e.code, "ErrorMessage": e.message}));
                }
                Ok(accepted) => {
                    let trace = entry.get("TraceHeader").and_then(Value::as_str);
                    jobs.extend(self.route(&accepted, &id, &ingestion, trace));
                    results.push(json!({"EventId": id}));
                    accepted_all.push(accepted);
                }
            }
        }
        let archived = self.archive(&accepted_all);
        delivery
            .submit(jobs)
            .wait()
            .await
            .map_err(|e| ApiError::internal("events: recording deliveries failed", e))?;
        archived
            .wait()
            .await
            .map_err(|e| ApiError::internal("events: archiving events failed", e))?;
        Ok(json!({"FailedEntryCount": failed, "Entries": results}))
    }

    /// The deliveries one accepted event causes on its bus: one job per target of every enabled
    /// rule it matches (and that ferry delivers to). PutEvents, schedules, replays and bus
    /// targets all enter a bus here.
    pub(super) fn route(
        &self,
        accepted: &Accepted,
        event_id: &str,
        ingestion: &str,
        trace: Option<&str>,
    ) -> Vec<Job> {
        let bus = &accepted.bus;
        let mut jobs = Vec::new();
        for rule in self.matching(&bus.account, &bus.region, &bus.name, &accepted.event) {
            for target in &rule.targets {
                jobs.extend(job_for(
                    &rule,
                    target,
                    &accepted.event,
                    event_id,
                    ingestion,
                    trace,
                ));
            }
        }
        jobs
    }
}

impl Events {
    /// The deliveries of `event` to the targets of one rule, without matching: a scheduled
    /// rule fires its own targets.
    pub(super) fn route_rule(
        &self,
        rule: &Matched,
        event: &Value,
        event_id: &str,
        ingestion: &str,
    ) -> Vec<Job> {
        rule.targets
            .iter()
            .filter_map(|t| job_for(rule, t, event, event_id, ingestion, None))
            .collect()
    }
}

/// The delivery of `event` to one target of a matched rule, if ferry delivers to its kind and the
/// input settings give it something to receive.
fn job_for(
    rule: &Matched,
    target: &Value,
    event: &Value,
    event_id: &str,
    ingestion_time: &str,
    trace: Option<&str>,
) -> Option<Job> {
    let t = Params(target.as_object()?.clone());
    let arn = t.str("Arn").ok()??;
    if !arn.starts_with("arn:aws:sqs:") {
        return None;
    }
    let mode = targets::input_mode(&t).ok()?;
    let ctx = transform::Context {
        rule_arn: &rule.rule_arn,
        rule_name: &rule.rule_name,
        ingestion_time,
    };
    let body = transform::apply(&mode, event, &ctx)?;
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
    Some(Job {
        lane: format!(
            "{}/{}",
            rule.rule_arn,
            t.str("Id").ok().flatten().unwrap_or("")
        ),
        ordered: fifo,
        target: Target::Queue {
            arn: arn.to_string(),
        },
        message: QueueMessage {
            body,
            attributes: Default::default(),
            // A FIFO queue target: the group the target names, the event id against duplicates.
            group_id: if fifo { group_id } else { None },
            dedup_id: fifo.then(|| event_id.to_string()),
            trace_header: trace.map(String::from),
        },
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
        max_per_second: None,
        attempts: 0,
        recorded_ms: 0,
    })
}
