//! Targets of a rule: at most five, each with an Id unique on its rule. A malformed request
//! fails whole (a bad Id, an input setting AWS refuses, too many targets); a target that is
//! well-formed but unusable (an Arn that is not an ARN, a FIFO queue without a message group)
//! is refused alone in `FailedEntries`.

use super::state::{self, Registry, bus_name, page};
use super::transform;
use super::validate::{Checks, NAME_PATTERN, is_name, required};
use super::{buses, rules, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

/// Most targets on one rule.
pub const MAX_TARGETS: usize = 5;

/// Checks one target's members; request-level problems go to `checks` or return an error.
fn check_target(i: usize, t: &Params, checks: &mut Checks) -> ApiResult<()> {
    let at = |m: &str| format!("targets.{}.member.{m}", i + 1);
    match t.str("Id")? {
        None => checks.null(&at("id")),
        Some(id) => {
            if !is_name(id) {
                checks.fail(
                    id,
                    &at("id"),
                    &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
                );
            }
            checks.max_len(id, &at("id"), 64);
        }
    }
    match t.str("Arn")? {
        None => checks.null(&at("arn")),
        Some(arn) => checks.max_len(arn, &at("arn"), 1600),
    }
    if let Some(input) = t.str("Input")? {
        checks.max_len(input, &at("input"), 8192);
    }
    if let Some(path) = t.str("InputPath")? {
        checks.max_len(path, &at("inputPath"), 256);
    }
    if let Some(Value::Object(rp)) = t.get("RetryPolicy") {
        if let Some(n) = rp.get("MaximumRetryAttempts").and_then(Value::as_i64)
            && !(0..=185).contains(&n)
        {
            checks.fail(
                &n.to_string(),
                &at("retryPolicy.maximumRetryAttempts"),
                if n < 0 {
                    "Member must have value greater than or equal to 0"
                } else {
                    "Member must have value less than or equal to 185"
                },
            );
        }
        if let Some(n) = rp.get("MaximumEventAgeInSeconds").and_then(Value::as_i64)
            && !(60..=86_400).contains(&n)
        {
            checks.fail(
                &n.to_string(),
                &at("retryPolicy.maximumEventAgeInSeconds"),
                if n < 60 {
                    "Member must have value greater than or equal to 60"
                } else {
                    "Member must have value less than or equal to 86400"
                },
            );
        }
    }
    Ok(())
}

/// The input settings, validated as PutTargets validates them.
fn check_input(t: &Params) -> ApiResult<()> {
    input_mode(t).map(|_| ())
}

/// How a target (as PutTargets stored it) shapes what it receives.
pub(super) fn input_mode(t: &Params) -> ApiResult<transform::InputMode> {
    let id = t.str("Id")?.unwrap_or("");
    let transformer = match t.get("InputTransformer") {
        None => None,
        Some(Value::Object(m)) => {
            let paths = match m.get("InputPathsMap") {
                Some(Value::Object(p)) => p.clone(),
                None | Some(Value::Null) => Map::new(),
                Some(_) => return Err(validation("Parameter InputPathsMap is not valid.")),
            };
            Some((paths, m.get("InputTemplate").and_then(Value::as_str)))
        }
        Some(_) => return Err(validation("Parameter InputTransformer is not valid.")),
    };
    transform::validate(
        id,
        t.str("Input")?,
        t.str("InputPath")?,
        transformer.as_ref().map(|(m, tpl)| (m, *tpl)),
    )
    .map_err(validation)
}

/// Why a well-formed target is refused on its own, if it is.
fn entry_failure(t: &Params) -> ApiResult<Option<String>> {
    let arn = t.str("Arn")?.unwrap_or("");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2].is_empty() || parts[5].is_empty() {
        return Ok(Some("Provided Arn is not in correct format.".into()));
    }
    let group = t
        .get("SqsParameters")
        .and_then(|s| s.get("MessageGroupId"))
        .and_then(Value::as_str);
    if parts[2] == "sqs" && parts[5].ends_with(".fifo") && group.is_none() {
        return Ok(Some(format!(
            "Parameter(s) SqsParameters must be specified for target: {}.",
            t.str("Id")?.unwrap_or("")
        )));
    }
    Ok(None)
}

pub fn put(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    required(p, "Rule", "rule")?;
    let list = p.list("Targets")?;
    let mut checks = Checks::new();
    if list.is_empty() {
        checks.null("targets");
    }
    for (i, t) in list.iter().enumerate() {
        check_target(i, t, &mut checks)?;
    }
    checks.done()?;
    for t in &list {
        check_input(t)?;
    }
    let rule = rules::find(reg, c, p, now, "Rule")?;
    let mut failed = Vec::new();
    let mut accepted: Vec<Value> = Vec::new();
    for t in &list {
        let id = t.str("Id")?.unwrap_or("").to_string();
        match entry_failure(t)? {
            Some(message) => failed.push(json!({
                "TargetId": id, "ErrorCode": "ValidationException", "ErrorMessage": message,
            })),
            None => {
                accepted.retain(|a| a["Id"] != id.as_str());
                accepted.push(Value::Object(t.0.clone()));
            }
        }
    }
    let mut targets = rule.targets.clone();
    for t in accepted {
        match targets.iter_mut().find(|e| e["Id"] == t["Id"]) {
            Some(e) => *e = t,
            None => targets.push(t),
        }
    }
    if targets.len() > MAX_TARGETS {
        return Err(ApiError::new(
            ErrorCode::LimitExceededException,
            "The requested resource exceeds the maximum number allowed.",
        ));
    }
    rule.set_targets(targets);
    let count = failed.len();
    let out = json!({"FailedEntryCount": count, "FailedEntries": failed});
    Ok((out, vec![state::put_rule(rule)]))
}

pub fn remove(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let ids = p.strings("Ids")?;
    if ids.is_empty() {
        let mut checks = Checks::new();
        checks.null("ids");
        checks.done()?;
    }
    let rule = rules::find(reg, c, p, now, "Rule")?;
    let mut targets = std::mem::take(&mut rule.targets);
    targets.retain(|t| !ids.iter().any(|id| t["Id"] == id.as_str()));
    rule.set_targets(targets);
    Ok((
        json!({"FailedEntryCount": 0, "FailedEntries": []}),
        vec![state::put_rule(rule)],
    ))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let rule = rules::find(reg, c, p, now, "Rule")?;
    let (items, next) = page(&rule.targets, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"Targets": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

/// Rules on one bus with a target of the given ARN, in name order.
pub fn rule_names(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let arn = required(p, "TargetArn", "targetArn")?;
    let bus = bus_name(p.str("EventBusName")?);
    let scope = reg.scope(c, now);
    if !scope.buses.contains_key(&bus) {
        return Err(buses::bus_missing(&bus));
    }
    let names: Vec<Value> = scope
        .rules
        .get(&bus)
        .map(|m| {
            m.values()
                .filter(|r| r.targets.iter().any(|t| t["Arn"] == arn))
                .map(|r| Value::String(r.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let (items, next) = page(&names, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"RuleNames": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}
