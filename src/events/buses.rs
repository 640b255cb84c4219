//! Event buses, the bus policy (PutPermission / RemovePermission) and tags on buses and rules.

use super::state::{self, Bus, Registry, Rule, Tags, bus_name, page};
use super::validate::{Checks, required};
use super::{not_found, ts, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

pub fn bus_missing(name: &str) -> ApiError {
    not_found(format!("Event bus {name} does not exist."))
}

/// The bus a request names (by name or ARN), or AWS's not-found error.
pub fn find<'r>(
    reg: &'r mut Registry,
    c: &Caller,
    given: Option<&str>,
    now: u64,
) -> ApiResult<&'r mut Bus> {
    let name = bus_name(given);
    reg.scope(c, now)
        .buses
        .get_mut(&name)
        .ok_or_else(|| bus_missing(&name))
}

fn describe_bus(b: &Bus) -> Value {
    let mut o = Map::new();
    o.insert("Name".into(), b.name.clone().into());
    o.insert("Arn".into(), b.arn().into());
    if let Some(d) = &b.description {
        o.insert("Description".into(), d.clone().into());
    }
    if let Some(k) = &b.kms_key {
        o.insert("KmsKeyIdentifier".into(), k.clone().into());
    }
    if let Some(d) = &b.dead_letter {
        o.insert("DeadLetterConfig".into(), d.clone());
    }
    if let Some(p) = &b.policy {
        o.insert("Policy".into(), p.to_string().into());
    }
    o.insert("CreationTime".into(), ts(b.created_ms));
    o.insert("LastModifiedTime".into(), ts(b.modified_ms));
    Value::Object(o)
}

fn dead_letter(p: &Params) -> ApiResult<Option<Value>> {
    match p.get("DeadLetterConfig") {
        None => Ok(None),
        Some(v @ Value::Object(m)) => {
            if let Some(arn) = m.get("Arn").and_then(Value::as_str)
                && !arn.starts_with("arn:")
            {
                return Err(validation(format!(
                    "1 validation error detected: Value '{arn}' at 'deadLetterConfig.arn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:sqs:([a-z]|\\d|\\-)*:(\\d{{12}})?:[a-zA-Z0-9_\\-]+$"
                )));
            }
            Ok(Some(v.clone()))
        }
        Some(_) => Err(validation("Parameter DeadLetterConfig is not valid.")),
    }
}

/// Reads `Tags` (a list of `{Key, Value}`).
pub fn tags_param(p: &Params) -> ApiResult<Tags> {
    let mut out = Vec::new();
    let mut c = Checks::new();
    for (i, t) in p.list("Tags")?.iter().enumerate() {
        let key = t.str("Key")?;
        let value = t.str("Value")?;
        match key {
            None => c.null(&format!("tags.{}.member.key", i + 1)),
            Some(k) if k.is_empty() || k.chars().count() > 128 => c.fail(
                k,
                &format!("tags.{}.member.key", i + 1),
                "Member must have length between 1 and 128",
            ),
            _ => {}
        }
        match value {
            None => c.null(&format!("tags.{}.member.value", i + 1)),
            Some(v) => c.max_len(v, &format!("tags.{}.member.value", i + 1), 256),
        }
        if let (Some(k), Some(v)) = (key, value) {
            out.push((k.to_string(), v.to_string()));
        }
    }
    c.done()?;
    Ok(out)
}

/// Adds or replaces tags, keeping first-added order.
pub fn merge_tags(into: &mut Tags, new: Tags) {
    for (k, v) in new {
        match into.iter_mut().find(|(ek, _)| *ek == k) {
            Some(e) => e.1 = v,
            None => into.push((k, v)),
        }
    }
}

pub fn create(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let name = required(p, "Name", "name")?;
    let mut checks = Checks::new();
    checks.name(name, "name", 256, true);
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    checks.done()?;
    if let Some(source) = p.str("EventSourceName")? {
        return Err(not_found(format!("Event source {source} does not exist.")));
    }
    if name.contains('/') {
        return Err(validation(
            "Event bus name must not contain '/': such names belong to partner event sources.",
        ));
    }
    let dlq = dead_letter(p)?;
    let tags = tags_param(p)?;
    let scope = reg.scope(c, now);
    if scope.buses.contains_key(name) {
        return Err(ApiError::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("Event bus {name} already exists."),
        ));
    }
    let bus = Bus {
        account: c.account.clone(),
        region: c.region.clone(),
        name: name.into(),
        description: p.str("Description")?.map(String::from),
        kms_key: p.str("KmsKeyIdentifier")?.map(String::from),
        dead_letter: dlq,
        policy: None,
        created_ms: now,
        modified_ms: now,
        tags,
    };
    let mut out = Map::new();
    out.insert("EventBusArn".into(), bus.arn().into());
    if let Some(d) = &bus.description {
        out.insert("Description".into(), d.clone().into());
    }
    if let Some(k) = &bus.kms_key {
        out.insert("KmsKeyIdentifier".into(), k.clone().into());
    }
    if let Some(d) = &bus.dead_letter {
        out.insert("DeadLetterConfig".into(), d.clone());
    }
    let op = state::put_bus(&bus);
    scope.buses.insert(name.into(), bus);
    Ok((Value::Object(out), vec![op]))
}

pub fn describe(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let bus = find(reg, c, p.str("Name")?, now)?;
    Ok(describe_bus(bus))
}

pub fn update(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let dlq = dead_letter(p)?;
    if let Some(d) = p.str("Description")? {
        let mut checks = Checks::new();
        checks.max_len(d, "description", 512);
        checks.done()?;
    }
    let bus = find(reg, c, p.str("Name")?, now)?;
    if let Some(d) = p.str("Description")? {
        bus.description = Some(d.into());
    }
    if let Some(k) = p.str("KmsKeyIdentifier")? {
        bus.kms_key = Some(k.into());
    }
    if dlq.is_some() {
        bus.dead_letter = dlq;
    }
    bus.modified_ms = now;
    let mut out = Map::new();
    out.insert("Arn".into(), bus.arn().into());
    out.insert("Name".into(), bus.name.clone().into());
    if let Some(d) = &bus.description {
        out.insert("Description".into(), d.clone().into());
    }
    if let Some(k) = &bus.kms_key {
        out.insert("KmsKeyIdentifier".into(), k.clone().into());
    }
    if let Some(d) = &bus.dead_letter {
        out.insert("DeadLetterConfig".into(), d.clone());
    }
    Ok((Value::Object(out), vec![state::put_bus(bus)]))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let all: Vec<Value> = reg
        .scope(c, now)
        .buses
        .values()
        .filter(|b| b.name.starts_with(prefix))
        .map(describe_bus)
        .collect();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"EventBuses": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

pub fn delete(reg: &mut Registry, c: &Caller, p: &Params) -> Changed {
    let name = bus_name(Some(required(p, "Name", "name")?));
    if name == "default" {
        return Err(validation("Cannot delete event bus default."));
    }
    let scope = reg.scope(c, 0);
    let mut ops = Vec::new();
    if let Some(bus) = scope.buses.remove(&name) {
        ops.push(state::delete_bus(&bus));
    }
    for rule in scope.rules.remove(&name).unwrap_or_default().values() {
        ops.push(state::delete_rule(rule));
    }
    scope.matchers.remove(&name);
    Ok((json!({}), ops))
}

pub fn put_permission(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let policy_doc = p.str("Policy")?;
    let statement = match policy_doc {
        Some(_) => None,
        None => {
            let action = p.str("Action")?;
            let principal = p.str("Principal")?;
            let sid = p.str("StatementId")?;
            let (Some(action), Some(principal), Some(sid)) = (action, principal, sid) else {
                return Err(validation(
                    "Parameter Policy is not valid. Reason: either Policy or Action, Principal and StatementId must be provided.",
                ));
            };
            if action != "events:PutEvents" {
                return Err(validation(
                    "Provided value in parameter 'action' is not supported.",
                ));
            }
            let principal_ok = principal == "*"
                || (principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()));
            if !principal_ok {
                return Err(validation(
                    "Parameter Principal is not valid. Reason: Principal must be a 12-digit AWS account id or *.",
                ));
            }
            let mut checks = Checks::new();
            checks.max_len(sid, "statementId", 64);
            checks.done()?;
            Some((action, principal, sid))
        }
    };
    let condition = match p.get("Condition") {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    };
    let policy_value = match policy_doc {
        Some(doc) => Some(
            serde_json::from_str::<Value>(doc)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| {
                    validation(
                        "Parameter Policy is not valid. Reason: the policy is not a JSON object.",
                    )
                })?,
        ),
        None => None,
    };
    let bus = find(reg, c, p.str("EventBusName")?, now)?;
    if let Some(v) = policy_value {
        bus.policy = Some(v);
    } else if let Some((action, principal, sid)) = statement {
        let mut st = Map::new();
        st.insert("Sid".into(), sid.into());
        st.insert("Effect".into(), "Allow".into());
        st.insert(
            "Principal".into(),
            if principal == "*" {
                Value::from("*")
            } else {
                json!({"AWS": format!("arn:aws:iam::{principal}:root")})
            },
        );
        st.insert("Action".into(), action.into());
        st.insert("Resource".into(), bus.arn().into());
        if let Some(cond) = condition {
            let key = cond.get("Key").cloned().unwrap_or(Value::Null);
            let value = cond.get("Value").cloned().unwrap_or(Value::Null);
            let mut inner = Map::new();
            if let Some(k) = key.as_str() {
                inner.insert(k.into(), value);
            }
            let ty = cond
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or("StringEquals");
            st.insert("Condition".into(), json!({ ty: inner }));
        }
        let policy = bus
            .policy
            .get_or_insert_with(|| json!({"Version": "2012-10-17", "Statement": []}));
        if !policy["Statement"].is_array() {
            policy["Statement"] = json!([]);
        }
        let list = policy["Statement"].as_array_mut().expect("array");
        match list.iter_mut().find(|s| s["Sid"] == sid) {
            Some(existing) => *existing = Value::Object(st),
            None => list.push(Value::Object(st)),
        }
    }
    bus.modified_ms = now;
    Ok((json!({}), vec![state::put_bus(bus)]))
}

pub fn remove_permission(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let all = matches!(p.get("RemoveAllPermissions"), Some(Value::Bool(true)))
        || p.str("RemoveAllPermissions").ok().flatten() == Some("true");
    let sid = p.str("StatementId")?.map(String::from);
    let bus = find(reg, c, p.str("EventBusName")?, now)?;
    if all {
        bus.policy = None;
    } else {
        let Some(sid) = sid else {
            return Err(validation(
                "Parameter StatementId is not valid. Reason: StatementId must be provided unless RemoveAllPermissions is true.",
            ));
        };
        let Some(policy) = bus.policy.as_mut() else {
            return Err(not_found("EventBus does not have a policy.".into()));
        };
        let list = policy["Statement"].as_array_mut();
        let Some(list) = list else {
            return Err(not_found(
                "Statement with the provided id does not exist.".into(),
            ));
        };
        let before = list.len();
        list.retain(|s| s["Sid"] != sid.as_str());
        if list.len() == before {
            return Err(not_found(
                "Statement with the provided id does not exist.".into(),
            ));
        }
        if list.is_empty() {
            bus.policy = None;
        }
    }
    bus.modified_ms = now;
    Ok((json!({}), vec![state::put_bus(bus)]))
}

/// What a tagging ARN names: a bus, or a rule on a bus.
enum Tagged {
    Bus(String),
    Rule(String, String),
}

fn tagged(arn: &str) -> ApiResult<(String, String, Tagged)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let invalid = || {
        validation(format!(
            "Parameter ResourceARN is not valid. Reason: {arn} is not the ARN of an event bus or a rule."
        ))
    };
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "events" {
        return Err(invalid());
    }
    let (region, account) = (parts[3].to_string(), parts[4].to_string());
    let what = if let Some(name) = parts[5].strip_prefix("event-bus/") {
        Tagged::Bus(name.into())
    } else if let Some(rest) = parts[5].strip_prefix("rule/") {
        match rest.rsplit_once('/') {
            Some((bus, rule)) => Tagged::Rule(bus.into(), rule.into()),
            None => Tagged::Rule("default".into(), rest.into()),
        }
    } else {
        return Err(invalid());
    };
    Ok((account, region, what))
}

/// Runs `f` on the tags of the resource an ARN names; returns its answer and the write.
fn with_tags<T>(
    reg: &mut Registry,
    p: &Params,
    now: u64,
    f: impl FnOnce(&mut Tags) -> ApiResult<T>,
) -> ApiResult<(T, Op)> {
    let arn = required(p, "ResourceARN", "resourceARN")?;
    let (account, region, what) = tagged(arn)?;
    let scope = reg.scope_of(&account, &region, now);
    match what {
        Tagged::Bus(name) => {
            let bus = scope
                .buses
                .get_mut(&name)
                .ok_or_else(|| bus_missing(&name))?;
            let out = f(&mut bus.tags)?;
            Ok((out, state::put_bus(bus)))
        }
        Tagged::Rule(bus, name) => {
            if !scope.buses.contains_key(&bus) {
                return Err(bus_missing(&bus));
            }
            let rule: &mut Rule = scope
                .rules
                .get_mut(&bus)
                .and_then(|m| m.get_mut(&name))
                .ok_or_else(|| super::rules::rule_missing(&name, &bus))?;
            let out = f(&mut rule.tags)?;
            Ok((out, state::put_rule(rule)))
        }
    }
}

pub fn tag(reg: &mut Registry, _c: &Caller, p: &Params, now: u64) -> Changed {
    let new = tags_param(p)?;
    let ((), op) = with_tags(reg, p, now, |tags| {
        let mut merged = tags.clone();
        merge_tags(&mut merged, new);
        if merged.len() > 50 {
            return Err(ApiError::new(
                ErrorCode::LimitExceededException,
                "The resource has more than 50 tags.",
            ));
        }
        *tags = merged;
        Ok(())
    })?;
    Ok((json!({}), vec![op]))
}

pub fn untag(reg: &mut Registry, _c: &Caller, p: &Params, now: u64) -> Changed {
    let keys = p.strings("TagKeys")?;
    let ((), op) = with_tags(reg, p, now, |tags| {
        tags.retain(|(k, _)| !keys.contains(k));
        Ok(())
    })?;
    Ok((json!({}), vec![op]))
}

pub fn list_tags(reg: &mut Registry, _c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let (list, _) = with_tags(reg, p, now, |tags| {
        Ok(tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect::<Vec<Value>>())
    })?;
    Ok(json!({"Tags": list}))
}
