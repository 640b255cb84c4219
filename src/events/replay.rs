//! Replays: StartReplay, DescribeReplay, ListReplays, CancelReplay, and the background runner
//! that sends an archive's events back onto their bus.
//!
//! A replay moves STARTING → RUNNING → COMPLETED, or (CancelReplay while STARTING or RUNNING)
//! CANCELLING → CANCELLED, or FAILED when its archive is deleted under it. As AWS documents, it
//! works through the window by the events' own `time`, one minute at a time (minutes without
//! events are skipped); `EventLastReplayedTime` is the time of the last event replayed. Each
//! replayed event keeps its envelope (and `id`) with `"replay-name"` added, reaches only the
//! rules named in `FilterArns` (all rules of the bus without it; `Events::matching` applies the
//! filter) and is not archived again.
//!
//! Replays are records in sled, written at every change of state and after every minute
//! replayed. After a restart an unfinished replay resumes from the first minute not yet
//! recorded as done (the events of a minute cut short may be delivered twice: at least once,
//! as EventBridge promises), and a CANCELLING one becomes CANCELLED.

use super::archives;
use super::buses::bus_missing;
use super::envelope::{Accepted, BusRef, bus_ref, iso_millis, parse_iso};
use super::rules::rule_missing;
use super::state::{self, Registry, page};
use super::validate::{Checks, required};
use super::{Events, not_found, ts, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

/// Most replays STARTING or RUNNING at once in one account and region (AWS's quota).
pub const MAX_ACTIVE: usize = 10;

const MINUTE_MS: u64 = 60_000;

/// A replay as stored.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Replay {
    pub account: String,
    pub region: String,
    pub name: String,
    pub description: Option<String>,
    /// The archive's ARN (`EventSourceArn`) and name.
    pub archive_arn: String,
    pub archive: String,
    /// The destination bus's ARN and the rules it is limited to, as given.
    pub destination: String,
    pub filter_arns: Option<Vec<String>>,
    /// The window of event times, [start, end), in ms.
    pub start_ms: u64,
    pub end_ms: u64,
    pub state: String,
    pub reason: Option<String>,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub last_replayed_ms: Option<u64>,
    /// Events earlier than this have been replayed.
    pub progress_ms: u64,
}

impl Replay {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:events:{}:{}:replay/{}",
            self.region, self.account, self.name
        )
    }

    fn active(&self) -> bool {
        matches!(self.state.as_str(), "STARTING" | "RUNNING" | "CANCELLING")
    }

    /// Whether a replayed event may reach `rule_arn` on `bus_arn`.
    pub fn admits(&self, bus_arn: &str, rule_arn: &str) -> bool {
        self.destination != bus_arn
            || self
                .filter_arns
                .as_ref()
                .is_none_or(|f| f.iter().any(|a| a == rule_arn))
    }
}

fn missing(name: &str) -> ApiError {
    not_found(format!("Replay {name} does not exist."))
}

/// A timestamp member (epoch seconds, or ISO-8601 text) in ms.
fn time_ms(p: &Params, member: &str) -> ApiResult<Option<u64>> {
    let bad = || {
        validation(format!(
            "Parameter {member} is not valid. Reason: not a timestamp."
        ))
    };
    match p.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| Some((f * 1000.0) as u64))
            .ok_or_else(bad),
        Some(Value::String(s)) => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| (f * 1000.0) as u64)
            .or_else(|| {
                parse_iso(s)
                    .and_then(|x| u64::try_from(x).ok())
                    .map(|x| x * 1000)
            })
            .map(Some)
            .ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// The archive an `EventSourceArn` names, which must be the caller's.
fn archive_name<'a>(c: &Caller, arn: &'a str) -> ApiResult<&'a str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let name = parts
        .get(5)
        .and_then(|r| r.strip_prefix("archive/"))
        .filter(|n| parts.len() == 6 && parts[0] == "arn" && parts[2] == "events" && !n.is_empty());
    let Some(name) = name else {
        return Err(validation(format!(
            "Parameter EventSourceArn is not valid. Reason: {arn} is not the ARN of an archive."
        )));
    };
    if parts[4] != c.account || parts[3] != c.region {
        return Err(archives::missing(name));
    }
    Ok(name)
}

pub fn start(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let mut checks = Checks::new();
    let name = p.str("ReplayName")?;
    match name {
        Some(n) => checks.name(n, "replayName", 64, false),
        None => checks.null("replayName"),
    }
    let source = p.str("EventSourceArn")?;
    if source.is_none() {
        checks.null("eventSourceArn");
    }
    let (from, to) = (time_ms(p, "EventStartTime")?, time_ms(p, "EventEndTime")?);
    if from.is_none() {
        checks.null("eventStartTime");
    }
    if to.is_none() {
        checks.null("eventEndTime");
    }
    let dest = match p.get("Destination") {
        Some(Value::Object(m)) => Some(Params(m.clone())),
        _ => None,
    };
    let dest_arn = match &dest {
        None => {
            checks.null("destination");
            None
        }
        Some(d) => {
            let arn = d.str("Arn")?;
            if arn.is_none() {
                checks.null("destination.arn");
            }
            arn
        }
    };
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    checks.done()?;
    let (name, source, dest_arn) = (
        name.unwrap_or(""),
        source.unwrap_or(""),
        dest_arn.unwrap_or(""),
    );
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(0));
    if from / 1000 >= to / 1000 {
        return Err(validation(
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
        ));
    }
    if to / 1000 > now / 1000 {
        return Err(validation(
            "Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.",
        ));
    }
    let filters = match dest.as_ref().and_then(|d| d.get("FilterArns")) {
        None | Some(Value::Null) => None,
        Some(_) => Some(
            dest.as_ref()
                .map(|d| d.strings("FilterArns"))
                .transpose()?
                .unwrap_or_default(),
        ),
    };
    let archive = archive_name(c, source)?;
    let scope = reg.scope(c, now);
    if scope.replays.contains_key(name) {
        return Err(ApiError::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("Replay {name} already exists."),
        ));
    }
    let source_bus = scope
        .archives
        .get(archive)
        .map(|a| a.source_arn.clone())
        .ok_or_else(|| archives::missing(archive))?;
    let bus: BusRef = bus_ref(Some(dest_arn), &c.account, &c.region)
        .filter(|_| dest_arn.starts_with("arn:"))
        .ok_or_else(|| {
            validation(format!(
                "Parameter Destination.Arn is not valid. Reason: {dest_arn} is not the ARN of an event bus."
            ))
        })?;
    let own = bus.account == c.account && bus.region == c.region;
    if !own || !scope.buses.contains_key(&bus.name) {
        return Err(bus_missing(&bus.name));
    }
    if state::bus_arn(&bus.account, &bus.region, &bus.name) != source_bus {
        return Err(validation(
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
        ));
    }
    for arn in filters.iter().flatten() {
        check_filter(scope, &bus.name, arn)?;
    }
    if scope.replays.values().filter(|r| r.active()).count() >= MAX_ACTIVE {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            "The requested resource exceeds the maximum number allowed.",
        ));
    }
    let r = Replay {
        account: c.account.clone(),
        region: c.region.clone(),
        name: name.into(),
        description: p.str("Description")?.map(String::from),
        archive_arn: source.into(),
        archive: archive.into(),
        destination: dest_arn.into(),
        filter_arns: filters,
        start_ms: from,
        end_ms: to,
        state: "STARTING".into(),
        reason: None,
        started_ms: now,
        ended_ms: None,
        last_replayed_ms: None,
        progress_ms: from,
    };
    let out = json!({"ReplayArn": r.arn(), "State": "STARTING", "ReplayStartTime": ts(now)});
    let op = state::put_replay(&r);
    scope.replays.insert(name.into(), r);
    Ok((out, vec![op]))
}

/// A `FilterArns` member must be a rule of the destination bus.
fn check_filter(scope: &state::Scope, bus: &str, arn: &str) -> ApiResult<()> {
    let rules = scope.rules.get(bus);
    if rules.is_some_and(|m| m.values().any(|r| r.arn() == arn)) {
        return Ok(());
    }
    let rest = arn.split_once(":rule/").map(|(_, r)| r);
    let named = match rest {
        Some(r) if bus == "default" && !r.contains('/') => Some(r),
        Some(r) => r.strip_prefix(bus).and_then(|r| r.strip_prefix('/')),
        None => None,
    };
    match named {
        Some(rule) => Err(rule_missing(rule, bus)),
        None => Err(validation(format!(
            "Parameter Destination.FilterArns is not valid. Reason: {arn} is not the ARN of a rule on event bus {bus}."
        ))),
    }
}

fn entry(r: &Replay, full: bool) -> Value {
    let mut o = Map::new();
    o.insert("ReplayName".into(), r.name.clone().into());
    if full {
        o.insert("ReplayArn".into(), r.arn().into());
        if let Some(d) = &r.description {
            o.insert("Description".into(), d.clone().into());
        }
    }
    o.insert("State".into(), r.state.clone().into());
    if let Some(why) = &r.reason {
        o.insert("StateReason".into(), why.clone().into());
    }
    o.insert("EventSourceArn".into(), r.archive_arn.clone().into());
    if full {
        let mut d = json!({"Arn": r.destination});
        if let Some(f) = &r.filter_arns {
            d["FilterArns"] = json!(f);
        }
        o.insert("Destination".into(), d);
    }
    o.insert("EventStartTime".into(), ts(r.start_ms));
    o.insert("EventEndTime".into(), ts(r.end_ms));
    if let Some(t) = r.last_replayed_ms {
        o.insert("EventLastReplayedTime".into(), ts(t));
    }
    o.insert("ReplayStartTime".into(), ts(r.started_ms));
    if let Some(t) = r.ended_ms {
        o.insert("ReplayEndTime".into(), ts(t));
    }
    Value::Object(o)
}

pub fn describe(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let name = required(p, "ReplayName", "replayName")?;
    reg.scope(c, 0)
        .replays
        .get(name)
        .map(|r| entry(r, true))
        .ok_or_else(|| missing(name))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let source = p.str("EventSourceArn")?;
    let want = p.str("State")?;
    let all: Vec<Value> = reg
        .scope(c, 0)
        .replays
        .values()
        .filter(|r| {
            r.name.starts_with(prefix)
                && source.is_none_or(|s| s == r.archive_arn)
                && want.is_none_or(|w| w == r.state)
        })
        .map(|r| entry(r, false))
        .collect();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"Replays": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

pub fn cancel(reg: &mut Registry, c: &Caller, p: &Params) -> Changed {
    let name = required(p, "ReplayName", "replayName")?;
    let r = reg
        .scope(c, 0)
        .replays
        .get_mut(name)
        .ok_or_else(|| missing(name))?;
    if !matches!(r.state.as_str(), "STARTING" | "RUNNING") {
        return Err(ApiError::new(
            ErrorCode::IllegalStatusException,
            format!(
                "Replay {name} is {} and can be cancelled only while it is STARTING or RUNNING.",
                r.state
            ),
        ));
    }
    r.state = "CANCELLING".into();
    let out = json!({"ReplayArn": r.arn(), "State": "CANCELLING"});
    Ok((out, vec![state::put_replay(r)]))
}

/// One minute of a running replay, read under the registry lock and sent after it.
struct Batch {
    keys: Vec<Vec<u8>>,
    bus: BusRef,
    done_to: u64,
}

impl Events {
    /// Runs replays until none is left, then waits for StartReplay or CancelReplay.
    pub(super) async fn run_replays(&self) {
        loop {
            let active: Vec<(String, String, String)> = {
                let mut reg = self.lock();
                reg.scopes_mut()
                    .flat_map(|s| s.replays.values())
                    .filter(|r| r.active())
                    .map(|r| (r.account.clone(), r.region.clone(), r.name.clone()))
                    .collect()
            };
            if active.is_empty() {
                self.replay_wake.notified().await;
                continue;
            }
            for (account, region, name) in active {
                if let Err(e) = self.replay_step(&account, &region, &name).await {
                    tracing::warn!(replay = %name, error = %e, "replay step failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// Moves one replay on by one state change or one minute of events.
    async fn replay_step(&self, account: &str, region: &str, name: &str) -> ApiResult<()> {
        let (batch, pending) = {
            let mut reg = self.lock();
            let now = self.now_ms();
            let scope = reg.scope_of(account, region, now);
            let Some(r) = scope.replays.get(name) else {
                return Ok(());
            };
            let mut r = r.clone();
            let mut batch = None;
            match r.state.as_str() {
                "CANCELLING" => {
                    r.state = "CANCELLED".into();
                    r.ended_ms = Some(now);
                }
                "STARTING" => r.state = "RUNNING".into(),
                "RUNNING" => match scope.archives.get(&r.archive) {
                    None => {
                        r.state = "FAILED".into();
                        r.reason = Some(format!("Archive {} does not exist.", r.archive));
                        r.ended_ms = Some(now);
                    }
                    Some(a) => {
                        let next = a
                            .held
                            .entries
                            .range((r.progress_ms, 0)..(r.end_ms, 0))
                            .next()
                            .map(|((t, _), _)| *t);
                        match next {
                            None => {
                                r.state = "COMPLETED".into();
                                r.ended_ms = Some(now);
                            }
                            Some(t) => {
                                let done_to = (t - t % MINUTE_MS + MINUTE_MS).min(r.end_ms);
                                let keys = a
                                    .held
                                    .entries
                                    .range((t, 0)..(done_to, 0))
                                    .map(|((t, s), _)| super::archive_log::key(a, *t, *s))
                                    .collect();
                                let bus = bus_ref(Some(&r.destination), account, region)
                                    .unwrap_or_else(|| BusRef {
                                        account: account.into(),
                                        region: region.into(),
                                        name: "default".into(),
                                    });
                                batch = Some(Batch { keys, bus, done_to });
                            }
                        }
                    }
                },
                _ => return Ok(()),
            }
            if batch.is_some() {
                (batch, None)
            } else {
                let op = state::put_replay(&r);
                scope.replays.insert(name.into(), r);
                (None, Some(self.durable.submit(vec![op])))
            }
        };
        if let Some(p) = pending {
            return p
                .wait()
                .await
                .map_err(|e| ApiError::internal("events: replay write failed", e));
        }
        let Some(batch) = batch else { return Ok(()) };
        let delivery = self
            .delivery
            .get()
            .cloned()
            .ok_or_else(|| ApiError::internal("events", "replay has no delivery engine"))?;
        let ingestion = iso_millis(self.now_ms());
        let mut jobs = Vec::new();
        let mut last = None;
        for key in &batch.keys {
            let Some(mut event) = self.read_archived(key)? else {
                continue; // aged out meanwhile
            };
            if let Some((_, _, _, t, _)) = super::archive_log::split_key(key) {
                last = last.max(Some(t));
            }
            let id = event
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Value::Object(m) = &mut event {
                m.insert("replay-name".into(), name.into());
            }
            let accepted = Accepted {
                bus: batch.bus.clone(),
                event,
            };
            jobs.extend(self.route(&accepted, &id, &ingestion, None));
        }
        delivery
            .submit(jobs)
            .wait()
            .await
            .map_err(|e| ApiError::internal("events: recording replayed deliveries failed", e))?;
        let pending = {
            let mut reg = self.lock();
            let scope = reg.scope_of(account, region, 0);
            let Some(r) = scope.replays.get_mut(name).filter(|r| r.active()) else {
                return Ok(());
            };
            r.progress_ms = r.progress_ms.max(batch.done_to);
            if last.is_some() {
                r.last_replayed_ms = last.max(r.last_replayed_ms);
            }
            self.durable.submit(vec![state::put_replay(r)])
        };
        pending
            .wait()
            .await
            .map_err(|e| ApiError::internal("events: replay write failed", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_apply_only_on_the_destination_bus() {
        let r = Replay {
            destination: "arn:aws:events:r:1:event-bus/b".into(),
            filter_arns: Some(vec!["arn:aws:events:r:1:rule/b/x".into()]),
            ..Replay::default()
        };
        assert!(r.admits(
            "arn:aws:events:r:1:event-bus/b",
            "arn:aws:events:r:1:rule/b/x"
        ));
        assert!(!r.admits(
            "arn:aws:events:r:1:event-bus/b",
            "arn:aws:events:r:1:rule/b/y"
        ));
        assert!(r.admits(
            "arn:aws:events:r:1:event-bus/c",
            "arn:aws:events:r:1:rule/c/y"
        ));
        let all = Replay {
            filter_arns: None,
            ..r
        };
        assert!(all.admits(
            "arn:aws:events:r:1:event-bus/b",
            "arn:aws:events:r:1:rule/b/y"
        ));
    }

    #[test]
    fn timestamps_as_numbers_or_text() {
        let p = Params::from_value(
            json!({"A": 1_700_000_000.5, "B": "2024-01-01T00:00:00Z", "C": true}),
        )
        .unwrap();
        assert_eq!(time_ms(&p, "A").unwrap(), Some(1_700_000_000_500));
        assert_eq!(time_ms(&p, "B").unwrap(), Some(1_704_067_200_000));
        assert_eq!(time_ms(&p, "D").unwrap(), None);
        assert!(time_ms(&p, "C").is_err());
    }
}
