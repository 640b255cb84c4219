//! Scheduled rules fire on the server's clock. One task sleeps until the next rule is due (or
//! until a rule changes: PutRule, Enable/DisableRule and DeleteRule wake it), then sends each
//! due rule's targets AWS's scheduled event (EB-041: `detail-type` "Scheduled Event", `source`
//! "aws.events", `resources` [the rule's ARN], `detail` {}, `time` the scheduled minute). The
//! event goes to that rule's targets only; it is not put on the bus, so other rules and archives
//! do not see it. Only the default bus can hold schedules (PutRule refuses others, EB-036).
//!
//! `rate(N unit)` counts whole periods from when the schedule was first seen (AWS: "a rate
//! expression starts when you create the scheduled event rule"); `cron(...)` fires at its
//! matching minutes, UTC (`cron.rs`). A changed expression starts afresh.
//!
//! Each rule's last firing is a record of its own (`Fired`), written before its deliveries are
//! recorded, so a restart never fires the same slot twice (a crash between the two writes loses
//! that one firing rather than doubling it). Slots that passed while ferry was down are not
//! fired as a burst: AWS never stops, so it would have delivered the last of them, late rather
//! than never; ferry fires only the most recent missed slot, once, and then keeps the schedule.
//! Slots that pass while a rule is DISABLED are skipped, as in AWS: enabling it again does not
//! fire them.

use super::cron::scheduled_event;
use super::schedule::{self, Schedule};
use super::state::{self, Scope};
use super::{Events, Matched, uuid};
use crate::storage::Op;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const DAY_MS: u64 = 86_400_000;
/// Most cron slots walked to find the latest missed one (a year of daily slots, a day of minutes).
const MAX_WALK: usize = 2_000;

/// When a scheduled rule last fired.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Fired {
    pub account: String,
    pub region: String,
    pub rule: String,
    /// The expression these times belong to.
    pub expression: String,
    /// When the schedule started; rates count whole periods from here.
    pub anchor_ms: u64,
    /// The slot of the last firing (at first the anchor): the next is the first slot after it.
    pub last_ms: u64,
    /// Seen DISABLED: slots that pass until it is enabled again are skipped.
    #[serde(default)]
    pub paused: bool,
}

/// One firing to deliver.
struct Fire {
    rule: Matched,
    event: Value,
    id: String,
}

/// The latest slot in (`last`, `now`], if any: what fires now.
fn latest_due(s: &Schedule, anchor: u64, last: u64, now: u64) -> Option<u64> {
    let first = s.next_after(anchor, last)?;
    if first > now {
        return None;
    }
    if let Schedule::Rate { seconds } = s {
        let period = seconds * 1000;
        return Some(anchor + (now - anchor) / period * period);
    }
    let mut slot = first;
    let recent = now.saturating_sub(DAY_MS);
    if recent > first
        && let Some(s2) = s.next_after(anchor, recent)
        && s2 <= now
    {
        slot = s2;
    }
    for _ in 0..MAX_WALK {
        match s.next_after(anchor, slot) {
            Some(n) if n <= now => slot = n,
            _ => break,
        }
    }
    Some(slot)
}

/// Brings one scope's firing records in line with its rules at `now`: the firings due, the
/// writes, and the earliest next slot.
fn tick(scope: &mut Scope, now: u64, fires: &mut Vec<Fire>, ops: &mut Vec<Op>) -> Option<u64> {
    let Scope { rules, fired, .. } = scope;
    let scheduled = rules.get("default");
    fired.retain(|name, f| {
        let keep = scheduled
            .and_then(|m| m.get(name))
            .is_some_and(|r| r.schedule.is_some());
        if !keep {
            ops.push(state::delete_fired(f));
        }
        keep
    });
    let mut next: Option<u64> = None;
    for rule in scheduled.into_iter().flat_map(|m| m.values()) {
        let Some(expr) = rule.schedule.as_deref() else {
            continue;
        };
        let Ok(sched) = schedule::parse(expr) else {
            continue;
        };
        let fresh = || Fired {
            account: rule.account.clone(),
            region: rule.region.clone(),
            rule: rule.name.clone(),
            expression: expr.to_string(),
            anchor_ms: now,
            last_ms: now,
            paused: false,
        };
        let mut changed = false;
        let f = fired.entry(rule.name.clone()).or_insert_with(|| {
            changed = true;
            fresh()
        });
        if f.expression != expr {
            *f = fresh();
            changed = true;
        }
        if rule.state == "DISABLED" {
            if !f.paused {
                f.paused = true;
                changed = true;
            }
        } else {
            if f.paused {
                f.paused = false;
                f.last_ms = f.last_ms.max(now);
                changed = true;
            }
            if let Some(slot) = latest_due(&sched, f.anchor_ms, f.last_ms, now) {
                f.last_ms = slot;
                changed = true;
                let id = uuid();
                let matched = Matched::of(rule);
                fires.push(Fire {
                    event: scheduled_event(
                        &id,
                        &rule.account,
                        &rule.region,
                        &matched.rule_arn,
                        slot,
                    ),
                    rule: matched,
                    id,
                });
            }
            if let Some(n) = sched.next_after(f.anchor_ms, f.last_ms) {
                next = Some(next.map_or(n, |m| m.min(n)));
            }
        }
        if changed {
            ops.push(state::put_fired(f));
        }
    }
    next
}

impl Events {
    /// Fires what is due and says when the next rule is (None: no enabled schedule).
    pub(super) async fn fire_due(&self) -> Option<u64> {
        let (fires, next, pending) = {
            let mut reg = self.lock();
            let now = self.now_ms();
            let (mut fires, mut ops, mut next) = (Vec::new(), Vec::new(), None::<u64>);
            for scope in reg.scopes_mut() {
                if let Some(n) = tick(scope, now, &mut fires, &mut ops) {
                    next = Some(next.map_or(n, |m| m.min(n)));
                }
            }
            (fires, next, self.durable.submit(ops))
        };
        if let Err(e) = pending.wait().await {
            // Without the record a restart could fire these again: skip them.
            tracing::warn!(error = %e, "events: recording schedule firings failed");
            return Some(self.now_ms() + 1_000);
        }
        if fires.is_empty() {
            return next;
        }
        let Some(delivery) = self.delivery.get().cloned() else {
            return next;
        };
        let ingestion = super::envelope::iso_millis(self.now_ms());
        let mut jobs = Vec::new();
        for f in &fires {
            jobs.extend(self.route_rule(&f.rule, &f.event, &f.id, &ingestion));
        }
        if let Err(e) = delivery.submit(jobs).wait().await {
            tracing::warn!(error = %e, "events: recording scheduled deliveries failed");
        }
        next
    }

    /// The scheduler: fire what is due, sleep until the next slot or a rule change, repeat.
    pub(super) async fn run_schedules(&self) {
        loop {
            let next = self.fire_due().await;
            match next {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(self.clock.instant_at(at)) => {}
                        _ = self.schedule_wake.notified() => {}
                    }
                }
                None => self.schedule_wake.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn a_rate_fires_the_latest_missed_period_once() {
        let s = schedule::parse("rate(5 minutes)").unwrap();
        assert_eq!(latest_due(&s, 0, 0, 4 * MIN), None);
        assert_eq!(latest_due(&s, 0, 0, 5 * MIN), Some(5 * MIN));
        // Down for an hour: one firing, the last slot, then the schedule goes on.
        assert_eq!(latest_due(&s, 0, 5 * MIN, 67 * MIN), Some(65 * MIN));
        assert_eq!(s.next_after(0, 65 * MIN), Some(70 * MIN));
    }

    fn scope_with(state: &str) -> Scope {
        let mut scope = Scope::default();
        let rule = super::super::state::Rule {
            account: "1".into(),
            region: "r".into(),
            bus: "default".into(),
            name: "t".into(),
            schedule: Some("rate(1 minute)".into()),
            state: state.into(),
            ..Default::default()
        };
        scope
            .rules
            .entry("default".into())
            .or_default()
            .insert("t".into(), rule);
        scope
    }

    #[test]
    fn ticks_record_fire_pause_and_forget() {
        let mut scope = scope_with("ENABLED");
        let (mut fires, mut ops) = (Vec::new(), Vec::new());
        // First sight: recorded, anchored, not fired.
        assert_eq!(tick(&mut scope, 0, &mut fires, &mut ops), Some(MIN));
        assert!(fires.is_empty());
        assert_eq!(ops.len(), 1);
        ops.clear();
        assert_eq!(tick(&mut scope, MIN - 1, &mut fires, &mut ops), Some(MIN));
        assert!(
            fires.is_empty() && ops.is_empty(),
            "nothing due, nothing written"
        );
        assert_eq!(tick(&mut scope, MIN, &mut fires, &mut ops), Some(2 * MIN));
        assert_eq!(fires.len(), 1);
        assert_eq!(fires[0].event["resources"][0], "arn:aws:events:r:1:rule/t");
        assert_eq!(scope.fired["t"].last_ms, MIN);
        // Disabled: no firing and no next slot; enabled later, the skipped slots stay skipped.
        scope
            .rules
            .get_mut("default")
            .unwrap()
            .get_mut("t")
            .unwrap()
            .state = "DISABLED".into();
        fires.clear();
        assert_eq!(tick(&mut scope, 5 * MIN, &mut fires, &mut ops), None);
        assert!(fires.is_empty() && scope.fired["t"].paused);
        scope
            .rules
            .get_mut("default")
            .unwrap()
            .get_mut("t")
            .unwrap()
            .state = "ENABLED".into();
        assert_eq!(
            tick(&mut scope, 5 * MIN + 5, &mut fires, &mut ops),
            Some(6 * MIN)
        );
        assert!(fires.is_empty());
        // Deleted: its record goes.
        scope.rules.clear();
        ops.clear();
        assert_eq!(tick(&mut scope, 7 * MIN, &mut fires, &mut ops), None);
        assert!(scope.fired.is_empty());
        assert!(matches!(ops.as_slice(), [Op::Delete(_)]));
    }

    /// The task sleeps until the next slot and is woken by rule changes.
    #[tokio::test(start_paused = true)]
    async fn the_scheduler_sleeps_until_due_and_wakes_on_change() {
        use super::super::tests::{caller, ok, service};
        let e = service();
        let _tasks = e.start_background();
        ok(
            &e,
            "PutRule",
            serde_json::json!({"Name": "t", "ScheduleExpression": "rate(1 hour)"}),
        )
        .await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let c = caller();
        let fired = |e: &Events| e.lock().scope(&c, 0).fired.get("t").cloned();
        let first = fired(&e).expect("recorded on the change, without waiting");
        assert_eq!(first.last_ms, first.anchor_ms);
        tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
        assert_eq!(fired(&e).unwrap().last_ms, first.anchor_ms + 3_600_000);
        ok(&e, "DeleteRule", serde_json::json!({"Name": "t"})).await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert!(fired(&e).is_none(), "forgotten at the next tick");
    }

    #[test]
    fn a_cron_fires_the_latest_missed_slot_once() {
        let s = schedule::parse("cron(0/10 * * * ? *)").unwrap();
        assert_eq!(latest_due(&s, 0, 0, 9 * MIN), None);
        assert_eq!(latest_due(&s, 0, 0, 10 * MIN), Some(10 * MIN));
        // Three days down: the last ten-minute slot before now.
        let now = 3 * DAY_MS + 25 * MIN;
        assert_eq!(
            latest_due(&s, 0, 10 * MIN, now),
            Some(3 * DAY_MS + 20 * MIN)
        );
        // A yearly cron down for two years: its latest slot.
        let y = schedule::parse("cron(0 0 1 1 ? *)").unwrap();
        let jan_1971 = 365 * DAY_MS;
        let jan_1972 = 730 * DAY_MS;
        assert_eq!(latest_due(&y, 0, 0, jan_1972 + DAY_MS * 40), Some(jan_1972));
        assert_eq!(latest_due(&y, 0, jan_1971, jan_1971 + 1), None);
    }
}
