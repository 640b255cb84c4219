//! Archives of a bus's events: pattern, retention, and the counts of what they hold. Recording
//! the events is `archive_log.rs`; replaying them is `replay.rs`.

use super::archive_log;
use super::buses::bus_missing;
use super::rules::check_pattern;
use super::state::{self, Archive, Registry, page};
use super::validate::{Checks, required};
use super::{not_found, ts, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

pub(super) fn missing(name: &str) -> ApiError {
    not_found(format!("Archive {name} does not exist."))
}

/// The bus an `EventSourceArn` names, which must be the caller's and exist (AWS answers "does
/// not exist" for another account's bus too, EB-103).
fn source_bus(reg: &mut Registry, c: &Caller, arn: &str, now: u64) -> ApiResult<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let bus = parts
        .get(5)
        .and_then(|r| r.strip_prefix("event-bus/"))
        .filter(|_| parts.len() == 6 && parts[0] == "arn" && parts[2] == "events");
    let Some(bus) = bus else {
        return Err(validation(format!(
            "Parameter EventSourceArn is not valid. Reason: {arn} is not the ARN of an event bus."
        )));
    };
    let own = parts[4] == c.account && parts[3] == c.region;
    let found = own && reg.scope(c, now).buses.contains_key(bus);
    if found { Ok(()) } else { Err(bus_missing(bus)) }
}

fn entry(a: &Archive, full: bool) -> Value {
    let mut o = Map::new();
    if full {
        o.insert("ArchiveArn".into(), a.arn().into());
    }
    o.insert("ArchiveName".into(), a.name.clone().into());
    o.insert("EventSourceArn".into(), a.source_arn.clone().into());
    if full {
        if let Some(d) = &a.description {
            o.insert("Description".into(), d.clone().into());
        }
        if let Some(p) = &a.event_pattern {
            o.insert("EventPattern".into(), p.clone().into());
        }
    }
    o.insert("State".into(), "ENABLED".into());
    o.insert("RetentionDays".into(), a.retention_days.into());
    o.insert("SizeBytes".into(), a.held.size_bytes.into());
    o.insert("EventCount".into(), (a.held.entries.len() as u64).into());
    o.insert("CreationTime".into(), ts(a.created_ms));
    Value::Object(o)
}

fn check_common(p: &Params, checks: &mut Checks) -> ApiResult<()> {
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    if let Some(n) = p.int("RetentionDays")?
        && n < 0
    {
        checks.fail(
            &n.to_string(),
            "retentionDays",
            "Member must have value greater than or equal to 0",
        );
    }
    Ok(())
}

pub fn create(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let mut checks = Checks::new();
    let name = p.str("ArchiveName")?;
    match name {
        Some(n) => checks.name(n, "archiveName", 48, false),
        None => checks.null("archiveName"),
    }
    let source = p.str("EventSourceArn")?;
    if source.is_none() {
        checks.null("eventSourceArn");
    }
    check_common(p, &mut checks)?;
    checks.done()?;
    let (name, source) = (name.unwrap_or(""), source.unwrap_or(""));
    if let Some(pattern) = p.str("EventPattern")? {
        check_pattern(pattern)?;
    }
    source_bus(reg, c, source, now)?;
    let scope = reg.scope(c, now);
    if scope.archives.contains_key(name) {
        return Err(ApiError::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("Archive {name} already exists."),
        ));
    }
    let mut a = Archive {
        account: c.account.clone(),
        region: c.region.clone(),
        name: name.into(),
        source_arn: source.into(),
        description: p.str("Description")?.map(String::from),
        event_pattern: p.str("EventPattern")?.map(String::from),
        retention_days: p.int("RetentionDays")?.unwrap_or(0),
        created_ms: now,
        held: Default::default(),
    };
    a.held.set_pattern(a.event_pattern.as_deref());
    let out = json!({"ArchiveArn": a.arn(), "State": "ENABLED", "CreationTime": ts(now)});
    let op = state::put_archive(&a);
    scope.archives.insert(name.into(), a);
    Ok((out, vec![op]))
}

pub fn describe(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let name = required(p, "ArchiveName", "archiveName")?;
    reg.scope(c, 0)
        .archives
        .get(name)
        .map(|a| entry(a, true))
        .ok_or_else(|| missing(name))
}

pub fn update(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    let name = required(p, "ArchiveName", "archiveName")?;
    let (desc, pattern, days) = (
        p.str("Description")?,
        p.str("EventPattern")?,
        p.int("RetentionDays")?,
    );
    if desc.is_none() && pattern.is_none() && days.is_none() {
        return Err(validation(
            "At least one of EventPattern, RetentionDays or Description must be provided.",
        ));
    }
    let mut checks = Checks::new();
    check_common(p, &mut checks)?;
    checks.done()?;
    if let Some(src) = pattern {
        check_pattern(src)?;
    }
    let a = reg
        .scope(c, now)
        .archives
        .get_mut(name)
        .ok_or_else(|| missing(name))?;
    if let Some(d) = desc {
        a.description = Some(d.into());
    }
    if let Some(src) = pattern {
        a.event_pattern = Some(src.into());
        a.held.set_pattern(Some(src));
    }
    if let Some(n) = days {
        a.retention_days = n;
    }
    let out = json!({"ArchiveArn": a.arn(), "State": "ENABLED", "CreationTime": ts(a.created_ms)});
    Ok((out, vec![state::put_archive(a)]))
}

pub fn delete(reg: &mut Registry, c: &Caller, p: &Params) -> Changed {
    let name = required(p, "ArchiveName", "archiveName")?;
    let a = reg
        .scope(c, 0)
        .archives
        .remove(name)
        .ok_or_else(|| missing(name))?;
    let mut ops = vec![state::delete_archive(&a)];
    ops.extend(archive_log::delete_all(&a));
    Ok((json!({}), ops))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let source = p.str("EventSourceArn")?;
    let want = p.str("State")?;
    if let Some(arn) = source {
        source_bus(reg, c, arn, now)?;
    }
    let all: Vec<Value> = reg
        .scope(c, now)
        .archives
        .values()
        .filter(|a| {
            a.name.starts_with(prefix)
                && source.is_none_or(|s| s == a.source_arn)
                && want.is_none_or(|w| w == "ENABLED")
        })
        .map(|a| entry(a, false))
        .collect();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"Archives": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}
