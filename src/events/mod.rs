//! Amazon EventBridge. Actions read [`Params`] and return JSON-shaped output; they never see HTTP.
//!
//! Layout:
//! - `state.rs`: the records (buses, rules with their targets, connections, API destinations,
//!   archives), their sled keys, and the per-(account, region) registry rebuilt on start.
//! - `buses.rs`: event buses, the bus policy (Put/RemovePermission) and tags on buses and rules.
//! - `rules.rs`: rules (pattern and schedule validation), enable/disable, listing.
//! - `targets.rs`: Put/RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget.
//! - `connections.rs`: connections and API destinations. `archives.rs`: archives.
//! - `put.rs`: PutEvents, recording one delivery per matching target in the delivery engine;
//!   `jobs.rs`: each target kind's delivery (queue, topic, bus, API destination, or a failure
//!   into the DLQ for kinds ferry does not deliver to); `delivery_target.rs`: buses as targets.
//! - `archive_log.rs`: the events archives hold (message log), their counts and retention.
//! - `replay.rs`: Start/Describe/List/CancelReplay and the task that replays archived events.
//! - `scheduler.rs`: the task that fires scheduled rules on the server's clock.
//! - `schedule.rs`, `cron.rs`, `transform.rs`, `envelope.rs`: pure: schedule expressions and
//!   when they fire; target input (Input, InputPath, InputTransformer); PutEvents entries and
//!   their envelope.
//! - `Events::matching`: which enabled rules (one compiled rule set per bus) an event reaches.
//! - `validate.rs`: AWS's "N validation errors detected" messages.
//! - tests: `tests.rs` (buses, rules, tags, rebuild), `resources_tests.rs`, `matching_tests.rs`.
//!
//! The AWS answers the tests assert (EB-nnn) are listed in `compat-tests/events-aws-facts.md`.

mod archive_log;
mod archives;
mod buses;
mod connections;
pub mod cron;
mod delivery_target;
pub mod envelope;
mod jobs;
mod put;
mod replay;
mod rules;
pub mod schedule;
mod scheduler;
mod state;
mod targets;
pub mod transform;
mod validate;

use crate::caller::Caller;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::{Durable, Op, StoreResult, keys};
use serde_json::{Value, json};
use state::Registry;
use std::sync::{Arc, Mutex, MutexGuard};

/// The EventBridge service: every account's and region's resources, and the shared write path.
pub struct Events {
    registry: Mutex<Registry>,
    /// The registry's `api_version`, read without its lock.
    api_version: Arc<std::sync::atomic::AtomicU64>,
    durable: Arc<Durable>,
    clock: Clock,
    /// Where PutEvents records its deliveries; `lib.rs` connects it at start.
    delivery: std::sync::OnceLock<Arc<crate::delivery::Delivery>>,
    /// Most rules on one bus (`--max-rules-per-bus`; AWS's default quota is 300).
    max_rules: std::sync::atomic::AtomicUsize,
    /// Sequence of archived events (their keys sort by event time, then this).
    next_archived: std::sync::atomic::AtomicU64,
    /// Wakes the scheduler when a rule changes, and the replay runner when a replay does.
    schedule_wake: tokio::sync::Notify,
    replay_wake: tokio::sync::Notify,
}

impl Events {
    /// Rebuilds every bus, rule, connection, API destination, archive (with the index of its
    /// events), replay and schedule record from the store.
    pub fn open(durable: Arc<Durable>, clock: Clock) -> StoreResult<Arc<Events>> {
        let registry = Registry::load(durable.store_of(keys::EVENTS).as_ref())?;
        let events = Arc::new(Events {
            api_version: registry.api_version.clone(),
            registry: Mutex::new(registry),
            durable,
            clock,
            delivery: std::sync::OnceLock::new(),
            max_rules: rules::MAX_RULES_PER_BUS.into(),
            next_archived: Default::default(),
            schedule_wake: Default::default(),
            replay_wake: Default::default(),
        });
        events.load_archived()?;
        Ok(events)
    }

    /// Starts the background work (call from inside the runtime, after `deliver_through`): the
    /// scheduler, the replay runner (which resumes unfinished replays), and the hourly removal
    /// of archived events past their retention. Aborting the tasks stops them (tests use this
    /// to play a process that dies).
    pub fn start_background(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let me = self.clone();
        let schedules = tokio::spawn(async move { me.run_schedules().await });
        let me = self.clone();
        let replays = tokio::spawn(async move { me.run_replays().await });
        let me = Arc::downgrade(self);
        let retention = tokio::spawn(async move {
            let hour = std::time::Duration::from_secs(3600);
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(me) = me.upgrade() else { return };
                if let Err(e) = me.expire_archived().wait().await {
                    tracing::warn!(error = %e, "events: removing expired archived events failed");
                }
            }
        });
        vec![schedules, replays, retention]
    }

    /// Raises or lowers the number of rules a bus may have (AWS's quota is adjustable too).
    pub fn limit_rules_per_bus(&self, max: usize) {
        self.max_rules
            .store(max, std::sync::atomic::Ordering::Relaxed);
    }

    /// Connects the delivery engine that PutEvents records into.
    pub fn deliver_through(&self, delivery: Arc<crate::delivery::Delivery>) {
        let _ = self.delivery.set(delivery);
    }

    /// Forgets every resource (the store is cleared by the caller).
    pub fn reset(&self) {
        let mut reg = self.lock();
        let api_version = reg.api_version.clone();
        *reg = Registry::default();
        reg.api_version = api_version;
        reg.api_changed();
        drop(reg);
        self.schedule_wake.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Runs `f` under the registry lock; the ops it returns are queued in the same critical
    /// section (so the store sees changes in memory's order) and awaited after it.
    async fn change<T>(
        &self,
        f: impl FnOnce(&mut Registry, u64) -> ApiResult<(T, Vec<Op>)>,
    ) -> ApiResult<T> {
        let pending = {
            let mut reg = self.lock();
            let (out, ops) = f(&mut reg, self.now_ms())?;
            (out, self.durable.submit(ops))
        };
        let (out, pending) = pending;
        pending
            .wait()
            .await
            .map_err(|e| ApiError::internal("events: store write failed", e))?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&mut Registry, u64) -> ApiResult<T>) -> ApiResult<T> {
        let mut reg = self.lock();
        f(&mut reg, self.now_ms())
    }

    /// Dispatches one EventBridge action.
    pub async fn call(&self, action: &str, caller: &Caller, p: Params) -> ApiResult<Value> {
        let c = caller;
        let out = match action {
            "TestEventPattern" => test_event_pattern(p),
            "PutEvents" => self.put_events(c, p).await,
            // Buses, policy, tags.
            "CreateEventBus" => self.change(|r, now| buses::create(r, c, &p, now)).await,
            "DescribeEventBus" => self.read(|r, now| buses::describe(r, c, &p, now)),
            "UpdateEventBus" => self.change(|r, now| buses::update(r, c, &p, now)).await,
            "ListEventBuses" => self.read(|r, now| buses::list(r, c, &p, now)),
            "DeleteEventBus" => self.change(|r, _| buses::delete(r, c, &p)).await,
            "PutPermission" => {
                self.change(|r, now| buses::put_permission(r, c, &p, now))
                    .await
            }
            "RemovePermission" => {
                self.change(|r, now| buses::remove_permission(r, c, &p, now))
                    .await
            }
            "TagResource" => self.change(|r, now| buses::tag(r, c, &p, now)).await,
            "UntagResource" => self.change(|r, now| buses::untag(r, c, &p, now)).await,
            "ListTagsForResource" => self.read(|r, now| buses::list_tags(r, c, &p, now)),
            // Rules.
            "PutRule" => {
                let max = self.max_rules.load(std::sync::atomic::Ordering::Relaxed);
                self.change(|r, now| rules::put(r, c, &p, now, max)).await
            }
            "DescribeRule" => self.read(|r, now| rules::describe(r, c, &p, now)),
            "ListRules" => self.read(|r, now| rules::list(r, c, &p, now)),
            "EnableRule" => {
                self.change(|r, now| rules::set_state(r, c, &p, now, "ENABLED"))
                    .await
            }
            "DisableRule" => {
                self.change(|r, now| rules::set_state(r, c, &p, now, "DISABLED"))
                    .await
            }
            "DeleteRule" => self.change(|r, now| rules::delete(r, c, &p, now)).await,
            // Targets.
            "PutTargets" => self.change(|r, now| targets::put(r, c, &p, now)).await,
            "RemoveTargets" => self.change(|r, now| targets::remove(r, c, &p, now)).await,
            "ListTargetsByRule" => self.read(|r, now| targets::list(r, c, &p, now)),
            "ListRuleNamesByTarget" => self.read(|r, now| targets::rule_names(r, c, &p, now)),
            // Connections and API destinations.
            "CreateConnection" => {
                self.change(|r, now| connections::create(r, c, &p, now))
                    .await
            }
            "DescribeConnection" => self.read(|r, _| connections::describe(r, c, &p)),
            "UpdateConnection" => {
                self.change(|r, now| connections::update(r, c, &p, now))
                    .await
            }
            "DeauthorizeConnection" => {
                self.change(|r, now| connections::deauthorize(r, c, &p, now))
                    .await
            }
            "DeleteConnection" => self.change(|r, _| connections::delete(r, c, &p)).await,
            "ListConnections" => self.read(|r, _| connections::list(r, c, &p)),
            "CreateApiDestination" => {
                self.change(|r, now| connections::create_destination(r, c, &p, now))
                    .await
            }
            "DescribeApiDestination" => {
                self.read(|r, _| connections::describe_destination(r, c, &p))
            }
            "UpdateApiDestination" => {
                self.change(|r, now| connections::update_destination(r, c, &p, now))
                    .await
            }
            "DeleteApiDestination" => {
                self.change(|r, _| connections::delete_destination(r, c, &p))
                    .await
            }
            "ListApiDestinations" => self.read(|r, _| connections::list_destinations(r, c, &p)),
            // Archives and replays.
            "CreateArchive" => self.change(|r, now| archives::create(r, c, &p, now)).await,
            "DescribeArchive" => self.read(|r, _| archives::describe(r, c, &p)),
            "UpdateArchive" => self.change(|r, now| archives::update(r, c, &p, now)).await,
            "DeleteArchive" => self.change(|r, _| archives::delete(r, c, &p)).await,
            "ListArchives" => self.read(|r, now| archives::list(r, c, &p, now)),
            "StartReplay" => self.change(|r, now| replay::start(r, c, &p, now)).await,
            "DescribeReplay" => self.read(|r, _| replay::describe(r, c, &p)),
            "ListReplays" => self.read(|r, _| replay::list(r, c, &p)),
            "CancelReplay" => self.change(|r, _| replay::cancel(r, c, &p)).await,
            _ => out_of_scope(action),
        };
        match action {
            "PutRule" | "EnableRule" | "DisableRule" | "DeleteRule" => {
                self.schedule_wake.notify_one()
            }
            "StartReplay" | "CancelReplay" => self.replay_wake.notify_one(),
            _ => {}
        }
        out
    }
}

/// A rule an event matched, with what delivering to its targets needs. Made once per change
/// of the rule (kept beside it in the registry), not once per event.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub rule_name: String,
    pub rule_arn: String,
    /// The rule's targets as stored: `Id`, `Arn`, input settings, `RetryPolicy`,
    /// `DeadLetterConfig`, per-kind parameters.
    pub targets: Vec<Value>,
    /// Each target read once, in the same order; `None` for one nothing is delivered to.
    plans: Vec<Option<jobs::TargetPlan>>,
}

impl Matched {
    /// What routing to `rule`'s targets needs, read from the rule as it is now.
    fn of(rule: &state::Rule) -> Matched {
        let rule_arn = rule.arn();
        Matched {
            rule_name: rule.name.clone(),
            plans: rule
                .targets
                .iter()
                .map(|t| jobs::TargetPlan::of(&rule_arn, t))
                .collect(),
            rule_arn,
            targets: rule.targets.clone(),
        }
    }
}

impl Events {
    /// The enabled rules of `bus` in (`account`, `region`) that `event` (an envelope) matches,
    /// in name order, with their targets: what PutEvents hands the delivery engine. The cost
    /// does not grow with the number of rules on the bus. An unknown bus matches nothing (AWS
    /// accepts such events and delivers them nowhere, EB-066). A replayed event (it carries
    /// `replay-name`) reaches only the rules its replay's `FilterArns` name. `text` is `event`
    /// serialized, which the caller makes once for matching and for the targets that receive
    /// the whole event: the rule set reads only the parts of it that rules look at.
    pub fn matching(
        &self,
        account: &str,
        region: &str,
        bus: &str,
        event: &Value,
        text: &str,
    ) -> Vec<Arc<Matched>> {
        let mut reg = self.lock();
        let scope = reg.scope_of(account, region, self.now_ms());
        let replay = event
            .get("replay-name")
            .and_then(Value::as_str)
            .and_then(|n| scope.replays.get(n));
        let bus_arn = replay.map(|_| state::bus_arn(account, region, bus));
        let Some(set) = scope.matchers.get(bus) else {
            return Vec::new();
        };
        let mut names = set.matches(text);
        names.sort();
        let replay = replay.cloned();
        let Some(rules) = scope.rules.get_mut(bus) else {
            return Vec::new();
        };
        let mut matched = Vec::with_capacity(names.len());
        for n in &names {
            let Some(r) = rules.get_mut(n) else { continue };
            let m = match &r.routing {
                Some(m) => m.clone(),
                None => {
                    let m = Arc::new(Matched::of(r));
                    r.routing = Some(m.clone());
                    m
                }
            };
            let admitted = match (&replay, &bus_arn) {
                (Some(p), Some(b)) => p.admits(b, &m.rule_arn),
                _ => true,
            };
            if admitted {
                matched.push(m);
            }
        }
        matched
    }
}

/// Actions ferry does not serve: what AWS answers an account that cannot use them, or, for the
/// actions that wait for the delivery engine, a clear `UnknownOperationException`.
fn out_of_scope(action: &str) -> ApiResult<Value> {
    const PARTNER: &[&str] = &[
        "ActivateEventSource",
        "CreatePartnerEventSource",
        "DeactivateEventSource",
        "DeletePartnerEventSource",
        "DescribeEventSource",
        "DescribePartnerEventSource",
        "ListEventSources",
        "ListPartnerEventSourceAccounts",
        "ListPartnerEventSources",
        "PutPartnerEvents",
    ];
    const ENDPOINTS: &[&str] = &[
        "CreateEndpoint",
        "DeleteEndpoint",
        "DescribeEndpoint",
        "ListEndpoints",
        "UpdateEndpoint",
    ];
    if PARTNER.contains(&action) {
        return Err(ApiError::new(
            ErrorCode::OperationDisabledException,
            format!(
                "Operation {action} is not available for this account: partner event sources need an AWS SaaS partner account, which ferry does not emulate."
            ),
        ));
    }
    if ENDPOINTS.contains(&action) {
        return Err(ApiError::new(
            ErrorCode::OperationDisabledException,
            format!(
                "Operation {action} is not available for this account: global endpoints need Route 53 health checks and event replication across regions, which ferry does not emulate."
            ),
        ));
    }
    Err(ApiError::new(
        ErrorCode::UnknownOperation,
        format!("Operation {action} is not supported by this version of ferry yet."),
    ))
}

fn test_event_pattern(p: Params) -> ApiResult<Value> {
    let pattern = p.required_str("EventPattern")?;
    let event = p.required_str("Event")?;
    match crate::pattern::test_event_pattern(pattern, event) {
        Ok(result) => Ok(json!({"Result": result})),
        Err(e) => {
            let code = match e.code {
                "InvalidEventPatternException" => ErrorCode::InvalidEventPatternException,
                _ => ErrorCode::ValidationException,
            };
            Err(ApiError::new(code, e.message))
        }
    }
}

/// Epoch seconds as awsJson timestamps carry them.
fn ts(ms: u64) -> Value {
    json!(ms as f64 / 1000.0)
}

pub use crate::ids::uuid;

fn not_found(message: String) -> ApiError {
    ApiError::new(ErrorCode::EventsResourceNotFound, message)
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationException, message)
}

#[cfg(test)]
mod matching_tests;
#[cfg(test)]
mod resources_tests;
#[cfg(test)]
mod tests;
