//! PutEvents: each entry is checked and wrapped in AWS's envelope, matched against the enabled
//! rules of its bus, and every matching target that ferry delivers to gets one job in the delivery
//! engine, recorded before the answer (`jobs.rs` makes each target's job: queues, topics, buses,
//! API destinations; other kinds fail into their DLQ).

use super::envelope::Accepted;
use super::jobs::Routed;
use super::{Events, Matched, envelope, uuid};
use crate::caller::Caller;
use crate::delivery::Job;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Map, Value, json};

impl Events {
    pub(super) async fn put_events(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let entries = take_entries(p)?;
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
        // `Value::Array`, not `json!`, which would copy every result once more.
        let mut out = Map::with_capacity(2);
        out.insert("FailedEntryCount".into(), failed.into());
        out.insert("Entries".into(), Value::Array(results));
        Ok(Value::Object(out))
    }

    /// The deliveries one accepted event causes on its bus: one job per target of every enabled
    /// rule it matches (targets of kinds ferry does not deliver to fail into their DLQ).
    /// PutEvents, schedules, replays and bus targets all enter a bus here.
    pub(super) fn route(
        &self,
        accepted: &Accepted,
        event_id: &str,
        ingestion: &str,
        trace: Option<&str>,
    ) -> Vec<Job> {
        self.route_from(accepted, event_id, ingestion, trace, false)
    }

    /// `route`, for an event that may have come from another bus's rule (`hopped`).
    pub(super) fn route_from(
        &self,
        accepted: &Accepted,
        event_id: &str,
        ingestion: &str,
        trace: Option<&str>,
        hopped: bool,
    ) -> Vec<Job> {
        let bus = &accepted.bus;
        let text = to_text(&accepted.event);
        let routed = Routed {
            event: &accepted.event,
            event_text: &text,
            event_id,
            ingestion_time: ingestion,
            trace,
            hopped,
            region: &bus.region,
        };
        let mut jobs = Vec::new();
        let matched = self.matching(&bus.account, &bus.region, &bus.name, &accepted.event, &text);
        for rule in matched {
            for plan in rule.plans.iter().flatten() {
                jobs.extend(self.job_for(&rule, plan, &routed));
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
        let text = to_text(event);
        let routed = Routed {
            event,
            event_text: &text,
            event_id,
            ingestion_time: ingestion,
            trace: None,
            hopped: false,
            region: event.get("region").and_then(Value::as_str).unwrap_or(""),
        };
        rule.plans
            .iter()
            .flatten()
            .filter_map(|plan| self.job_for(rule, plan, &routed))
            .collect()
    }
}

/// `Entries`, moved out of the request rather than copied; a member that is not a list of
/// structures gets `Params::list`'s error.
fn take_entries(p: Params) -> ApiResult<Vec<Map<String, Value>>> {
    let structures =
        matches!(p.get("Entries"), Some(Value::Array(a)) if a.iter().all(Value::is_object));
    if !structures {
        return Ok(p.list("Entries")?.into_iter().map(|e| e.0).collect());
    }
    let Params(mut members) = p;
    let Some(Value::Array(list)) = members.remove("Entries") else {
        return Ok(Vec::new());
    };
    Ok(list
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect())
}

/// An event as the text targets receive: the same as its `Display`, written straight into a
/// buffer rather than through a formatter.
fn to_text(event: &Value) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| event.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Entries are taken as `Params::list` reads them, errors and all.
    #[test]
    fn entries_read_as_params_list_reads_them() {
        let params = |v: Value| Params::from_value(v).unwrap();
        for v in [
            json!({"Entries": [{"Source": "s"}, {"Detail": "{}"}]}),
            json!({"Entries": []}),
            json!({"Entries": ""}),
            json!({"Entries": null}),
            json!({}),
            json!({"Entries": [{"Source": "s"}, 1]}),
            json!({"Entries": "x"}),
            json!({"Entries": {"Source": "s"}}),
        ] {
            let listed = params(v.clone())
                .list("Entries")
                .map(|l| l.into_iter().map(|e| e.0).collect::<Vec<_>>());
            let taken = take_entries(params(v.clone()));
            match (listed, taken) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{v}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{v}"),
                (a, b) => panic!("{v}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn event_text_is_its_display() {
        let e = json!({"version": "0", "detail": {"s": "é\"\n\u{1}", "n": [1.5, -0.0, 1e300]}});
        assert_eq!(to_text(&e), e.to_string());
    }
}
