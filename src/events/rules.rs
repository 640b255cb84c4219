//! Rules: an event pattern or a schedule on a bus, a state, and (in `targets.rs`) up to five
//! targets. Patterns are validated by the shared matcher exactly as TestEventPattern validates
//! them, including AWS's wildcard complexity limit.

use super::schedule;
use super::state::{self, Registry, Rule, bus_name, page};
use super::validate::{Checks, name};
use super::{buses, not_found, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pattern::Pattern;
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

/// Most rules on one bus (AWS's default quota).
pub const MAX_RULES_PER_BUS: usize = 300;

pub const STATES: [&str; 3] = [
    "ENABLED",
    "DISABLED",
    "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
];

pub fn rule_missing(rule: &str, bus: &str) -> ApiError {
    not_found(format!("Rule {rule} does not exist on EventBus {bus}."))
}

/// Validates a rule's pattern as AWS does (the same validator as TestEventPattern).
pub fn check_pattern(src: &str) -> ApiResult<()> {
    Pattern::parse_rule(src)
        .map(|_| ())
        .map_err(|e| ApiError::new(ErrorCode::InvalidEventPatternException, e.message()))
}

/// The rule a request names on the bus it names.
pub fn find<'r>(
    reg: &'r mut Registry,
    c: &Caller,
    p: &Params,
    now: u64,
    member: &str,
) -> ApiResult<&'r mut Rule> {
    let rule = name(p, member, &member.to_ascii_lowercase(), 64)?;
    let bus = bus_name(p.str("EventBusName")?);
    let scope = reg.scope(c, now);
    if !scope.buses.contains_key(&bus) {
        return Err(buses::bus_missing(&bus));
    }
    scope
        .rules
        .get_mut(&bus)
        .and_then(|m| m.get_mut(rule))
        .ok_or_else(|| rule_missing(rule, &bus))
}

fn describe_rule(r: &Rule, created_by: bool) -> Value {
    let mut o = Map::new();
    o.insert("Name".into(), r.name.clone().into());
    o.insert("Arn".into(), r.arn().into());
    if let Some(p) = &r.event_pattern {
        o.insert("EventPattern".into(), p.clone().into());
    }
    if let Some(s) = &r.schedule {
        o.insert("ScheduleExpression".into(), s.clone().into());
    }
    o.insert("State".into(), r.state.clone().into());
    if let Some(d) = &r.description {
        o.insert("Description".into(), d.clone().into());
    }
    if let Some(a) = &r.role_arn {
        o.insert("RoleArn".into(), a.clone().into());
    }
    if let Some(m) = &r.managed_by {
        o.insert("ManagedBy".into(), m.clone().into());
    }
    o.insert("EventBusName".into(), r.bus.clone().into());
    if created_by {
        o.insert("CreatedBy".into(), r.account.clone().into());
    }
    Value::Object(o)
}

pub fn put(reg: &mut Registry, c: &Caller, p: &Params, now: u64, max_rules: usize) -> Changed {
    let rule_name = name(p, "Name", "name", 64)?;
    let pattern = p.str("EventPattern")?;
    let sched = p.str("ScheduleExpression")?;
    let state = p.str("State")?;
    let mut checks = Checks::new();
    if let Some(s) = sched {
        checks.max_len(s, "scheduleExpression", 256);
    }
    if let Some(s) = state {
        checks.one_of(s, "state", &STATES);
    }
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    if let Some(r) = p.str("RoleArn")? {
        checks.max_len(r, "roleArn", 1600);
    }
    checks.done()?;
    let bus = bus_name(p.str("EventBusName")?);
    if pattern.is_none() && sched.is_none() {
        return Err(validation(
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ));
    }
    if let Some(s) = sched {
        if bus != "default" {
            return Err(validation(
                "ScheduleExpression is supported only on the default event bus.",
            ));
        }
        schedule::parse(s).map_err(validation)?;
    }
    if let Some(src) = pattern {
        check_pattern(src)?;
    }
    let tags = buses::tags_param(p)?;
    let scope = reg.scope(c, now);
    if !scope.buses.contains_key(&bus) {
        return Err(buses::bus_missing(&bus));
    }
    let rules = scope.rules.entry(bus.clone()).or_default();
    if !rules.contains_key(rule_name) && rules.len() >= max_rules {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "The requested resource exceeds the maximum number allowed: {max_rules} rules per event bus."
            ),
        ));
    }
    let rule = rules.entry(rule_name.to_string()).or_insert_with(|| Rule {
        account: c.account.clone(),
        region: c.region.clone(),
        bus: bus.clone(),
        name: rule_name.into(),
        ..Rule::default()
    });
    rule.event_pattern = pattern.map(String::from);
    rule.schedule = sched.map(String::from);
    rule.state = state.unwrap_or("ENABLED").into();
    rule.description = p.str("Description")?.map(String::from);
    rule.role_arn = p.str("RoleArn")?.map(String::from);
    buses::merge_tags(&mut rule.tags, tags);
    let out = (json!({"RuleArn": rule.arn()}), vec![state::put_rule(rule)]);
    scope.index_rule(&bus, rule_name);
    Ok(out)
}

pub fn describe(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    find(reg, c, p, now, "Name").map(|r| describe_rule(r, true))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let bus = bus_name(p.str("EventBusName")?);
    let scope = reg.scope(c, now);
    if !scope.buses.contains_key(&bus) {
        return Err(buses::bus_missing(&bus));
    }
    let all: Vec<Value> = scope
        .rules
        .get(&bus)
        .map(|m| {
            m.values()
                .filter(|r| r.name.starts_with(prefix))
                .map(|r| describe_rule(r, false))
                .collect()
        })
        .unwrap_or_default();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"Rules": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

pub fn set_state(reg: &mut Registry, c: &Caller, p: &Params, now: u64, to: &str) -> Changed {
    let rule = find(reg, c, p, now, "Name")?;
    rule.state = to.into();
    let (bus, name) = (rule.bus.clone(), rule.name.clone());
    let op = state::put_rule(rule);
    reg.scope(c, now).index_rule(&bus, &name);
    Ok((json!({}), vec![op]))
}

/// Deleting a rule that does not exist succeeds, as in AWS; one with targets is refused.
pub fn delete(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let rule_name = name(p, "Name", "name", 64)?;
    let bus = bus_name(p.str("EventBusName")?);
    let scope = reg.scope(c, now);
    if !scope.buses.contains_key(&bus) {
        return Err(buses::bus_missing(&bus));
    }
    let Some(rules) = scope.rules.get_mut(&bus) else {
        return Ok((json!({}), Vec::new()));
    };
    let Some(rule) = rules.get(rule_name) else {
        return Ok((json!({}), Vec::new()));
    };
    if rule.managed_by.is_some() && !matches!(p.get("Force"), Some(Value::Bool(true))) {
        return Err(ApiError::new(
            ErrorCode::ManagedRuleException,
            format!(
                "Rule {rule_name} is managed by {} and can only be deleted with Force.",
                rule.managed_by.clone().unwrap_or_default()
            ),
        ));
    }
    if !rule.targets.is_empty() {
        return Err(validation("Rule can't be deleted since it has targets."));
    }
    let op = state::delete_rule(rule);
    rules.remove(rule_name);
    scope.index_rule(&bus, rule_name);
    Ok((json!({}), vec![op]))
}
