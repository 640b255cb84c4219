//! EventBridge's records and where they live. Each record is JSON behind a version byte under
//! `keys::events(kind, [account, region, names...])`; a rule's record carries its targets (at
//! most five), so a target change is one write. In memory the records sit in one registry per
//! (account, region); the `default` bus exists in every one without being written until it
//! changes.

use crate::caller::Caller;
use crate::error::ApiResult;
use crate::pattern::{Dialect, Pattern, RuleSet};
use crate::storage::{Op, Store, StoreError, StoreResult, decode_json, encode_json, keys};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

const VERSION: u8 = 1;
/// Second key byte of each record kind (after `keys::EVENTS`).
pub const KIND_BUS: u8 = b'b';
pub const KIND_RULE: u8 = b'r';
pub const KIND_CONNECTION: u8 = b'c';
pub const KIND_DESTINATION: u8 = b'a';
pub const KIND_ARCHIVE: u8 = b'v';
pub const KIND_REPLAY: u8 = b'p';
pub const KIND_FIRED: u8 = b'f';

/// A tag, kept in the order it was first added (ListTagsForResource answers in that order).
pub type Tags = Vec<(String, String)>;

/// An event bus; its rules are stored apart so a rule change does not rewrite the bus.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Bus {
    pub account: String,
    pub region: String,
    pub name: String,
    pub description: Option<String>,
    pub kms_key: Option<String>,
    pub dead_letter: Option<Value>,
    pub policy: Option<Value>,
    pub created_ms: u64,
    pub modified_ms: u64,
    pub tags: Tags,
}

/// A rule with its targets, which always change with it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Rule {
    pub account: String,
    pub region: String,
    pub bus: String,
    pub name: String,
    pub event_pattern: Option<String>,
    pub schedule: Option<String>,
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub managed_by: Option<String>,
    pub tags: Tags,
    /// Targets as the caller gave them (validated), in the order they were put.
    pub targets: Vec<Value>,
    /// What routing an event to this rule needs, made from it on first use (`Events::matching`);
    /// cleared by every change to the rule's targets (`Rule::set_targets`) or pattern and state
    /// (`Scope::index_rule`).
    #[serde(skip)]
    pub routing: Option<std::sync::Arc<super::Matched>>,
}

/// A connection: how to authorize against an HTTP endpoint (secrets included, never shown).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Connection {
    pub account: String,
    pub region: String,
    pub name: String,
    pub uuid: String,
    pub secret_suffix: String,
    pub description: Option<String>,
    pub authorization_type: String,
    pub auth_parameters: Value,
    pub state: String,
    pub created_ms: u64,
    pub modified_ms: u64,
    pub authorized_ms: u64,
}

/// An API destination: an HTTP endpoint and the connection that authorizes calls to it.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Destination {
    pub account: String,
    pub region: String,
    pub name: String,
    pub uuid: String,
    pub description: Option<String>,
    pub connection_arn: String,
    pub endpoint: String,
    pub method: String,
    pub rate_limit: i64,
    pub created_ms: u64,
    pub modified_ms: u64,
}

/// An archive of a bus's events.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Archive {
    pub account: String,
    pub region: String,
    pub name: String,
    pub source_arn: String,
    pub description: Option<String>,
    pub event_pattern: Option<String>,
    pub retention_days: i64,
    pub created_ms: u64,
    /// The events it holds (records of their own) and its compiled pattern.
    #[serde(skip)]
    pub held: super::archive_log::Held,
}

/// One (account, region).
/// Everything of one (account, region), which AWS keeps apart.
#[derive(Default)]
pub struct Scope {
    pub buses: BTreeMap<String, Bus>,
    /// Rules by bus name, then rule name.
    pub rules: BTreeMap<String, BTreeMap<String, Rule>>,
    /// The enabled pattern rules of each bus compiled together, so matching an event costs the
    /// same with 5 rules as with 1,000. Kept in step by [`Scope::index_rule`].
    pub matchers: HashMap<String, RuleSet<String>>,
    pub connections: BTreeMap<String, Connection>,
    pub destinations: BTreeMap<String, Destination>,
    pub archives: BTreeMap<String, Archive>,
    /// Replays by name (names are unique per account and region).
    pub replays: BTreeMap<String, super::replay::Replay>,
    /// When each scheduled rule of the default bus last fired, by rule name.
    pub fired: BTreeMap<String, super::scheduler::Fired>,
}

impl Scope {
    /// Files a rule in its bus's matcher when it is enabled and has a pattern; removes it
    /// otherwise. Call after every change to a rule's pattern or state.
    pub fn index_rule(&mut self, bus: &str, name: &str) {
        if let Some(r) = self.rules.get_mut(bus).and_then(|m| m.get_mut(name)) {
            r.routing = None;
        }
        let compiled = self
            .rules
            .get(bus)
            .and_then(|m| m.get(name))
            .filter(|r| r.state != "DISABLED")
            .and_then(|r| r.event_pattern.as_deref())
            .and_then(|src| Pattern::parse(src, Dialect::EventBridge).ok());
        let set = self.matchers.entry(bus.to_string()).or_default();
        match compiled {
            Some(p) => {
                set.insert(name.to_string(), p);
            }
            None => {
                set.remove(&name.to_string());
            }
        }
    }
}

/// Every scope ferry has seen.
#[derive(Default)]
pub struct Registry {
    /// By account, then region: found from borrowed names, with no allocation per event.
    scopes: HashMap<String, HashMap<String, Scope>>,
    /// Bumped by every change to a connection or an API destination: API-destination targets
    /// resolved under an older value are resolved again (`jobs.rs`). Shared with `Events`, which
    /// reads it without taking the registry's lock.
    pub api_version: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn bad(what: &str) -> StoreError {
    StoreError(format!("bad events {what} record"))
}

impl Registry {
    /// Marks every resolved API-destination request stale (after a change to a connection or an
    /// API destination, under the registry's lock).
    pub fn api_changed(&self) {
        self.api_version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Rebuilds every record from the store at start.
    pub fn load(store: &dyn Store) -> StoreResult<Registry> {
        let mut reg = Registry::default();
        store.scan(&[keys::EVENTS], &mut |k, v| {
            match k.get(1).copied() {
                Some(KIND_BUS) => {
                    let b: Bus = decode_json(VERSION, v, "event bus")?;
                    reg.raw(&b.account, &b.region)
                        .buses
                        .insert(b.name.clone(), b);
                }
                Some(KIND_RULE) => {
                    let r: Rule = decode_json(VERSION, v, "rule")?;
                    let (bus, name) = (r.bus.clone(), r.name.clone());
                    let scope = reg.raw(&r.account, &r.region);
                    scope
                        .rules
                        .entry(bus.clone())
                        .or_default()
                        .insert(name.clone(), r);
                    scope.index_rule(&bus, &name);
                }
                Some(KIND_CONNECTION) => {
                    let c: Connection = decode_json(VERSION, v, "connection")?;
                    reg.raw(&c.account, &c.region)
                        .connections
                        .insert(c.name.clone(), c);
                }
                Some(KIND_DESTINATION) => {
                    let d: Destination = decode_json(VERSION, v, "api destination")?;
                    reg.raw(&d.account, &d.region)
                        .destinations
                        .insert(d.name.clone(), d);
                }
                Some(KIND_ARCHIVE) => {
                    let mut a: Archive = decode_json(VERSION, v, "archive")?;
                    a.held.set_pattern(a.event_pattern.as_deref());
                    reg.raw(&a.account, &a.region)
                        .archives
                        .insert(a.name.clone(), a);
                }
                Some(KIND_REPLAY) => {
                    let r: super::replay::Replay = decode_json(VERSION, v, "replay")?;
                    reg.raw(&r.account, &r.region)
                        .replays
                        .insert(r.name.clone(), r);
                }
                Some(KIND_FIRED) => {
                    let f: super::scheduler::Fired = decode_json(VERSION, v, "schedule")?;
                    reg.raw(&f.account, &f.region)
                        .fired
                        .insert(f.rule.clone(), f);
                }
                _ => return Err(bad("key")),
            }
            Ok(())
        })?;
        Ok(reg)
    }

    /// Every scope, for the background work that spans them (schedules, retention, replays).
    pub fn scopes_mut(&mut self) -> impl Iterator<Item = &mut Scope> {
        self.scopes.values_mut().flat_map(HashMap::values_mut)
    }

    fn raw(&mut self, account: &str, region: &str) -> &mut Scope {
        let present = self
            .scopes
            .get(account)
            .is_some_and(|r| r.contains_key(region));
        if !present {
            self.scopes
                .entry(account.to_string())
                .or_default()
                .insert(region.to_string(), Scope::default());
        }
        self.scopes
            .get_mut(account)
            .and_then(|r| r.get_mut(region))
            .expect("the scope is there: inserted just above if it was not")
    }

    /// The caller's scope, with its `default` bus.
    pub fn scope(&mut self, c: &Caller, now: u64) -> &mut Scope {
        self.scope_of(&c.account, &c.region, now)
    }

    /// A scope named by account and region (cross-account ARNs, tagging).
    pub fn scope_of(&mut self, account: &str, region: &str, now: u64) -> &mut Scope {
        let s = self.raw(account, region);
        if s.buses.contains_key("default") {
            return s;
        }
        s.buses.entry("default".into()).or_insert_with(|| Bus {
            account: account.into(),
            region: region.into(),
            name: "default".into(),
            created_ms: now,
            modified_ms: now,
            ..Bus::default()
        });
        s
    }
}

/// The write that stores a bus (the `delete_*` twins remove a record).
pub fn put_bus(b: &Bus) -> Op {
    Op::Put(
        keys::events(KIND_BUS, &[&b.account, &b.region, &b.name]),
        encode_json(VERSION, b),
    )
}

pub fn delete_bus(b: &Bus) -> Op {
    Op::Delete(keys::events(KIND_BUS, &[&b.account, &b.region, &b.name]))
}

fn rule_key(r: &Rule) -> Vec<u8> {
    keys::events(KIND_RULE, &[&r.account, &r.region, &r.bus, &r.name])
}

pub fn put_rule(r: &Rule) -> Op {
    Op::Put(rule_key(r), encode_json(VERSION, r))
}

pub fn delete_rule(r: &Rule) -> Op {
    Op::Delete(rule_key(r))
}

pub fn put_connection(c: &Connection) -> Op {
    Op::Put(
        keys::events(KIND_CONNECTION, &[&c.account, &c.region, &c.name]),
        encode_json(VERSION, c),
    )
}

pub fn delete_connection(c: &Connection) -> Op {
    Op::Delete(keys::events(
        KIND_CONNECTION,
        &[&c.account, &c.region, &c.name],
    ))
}

pub fn put_destination(d: &Destination) -> Op {
    Op::Put(
        keys::events(KIND_DESTINATION, &[&d.account, &d.region, &d.name]),
        encode_json(VERSION, d),
    )
}

pub fn delete_destination(d: &Destination) -> Op {
    Op::Delete(keys::events(
        KIND_DESTINATION,
        &[&d.account, &d.region, &d.name],
    ))
}

pub fn put_archive(a: &Archive) -> Op {
    Op::Put(
        keys::events(KIND_ARCHIVE, &[&a.account, &a.region, &a.name]),
        encode_json(VERSION, a),
    )
}

pub fn delete_archive(a: &Archive) -> Op {
    Op::Delete(keys::events(
        KIND_ARCHIVE,
        &[&a.account, &a.region, &a.name],
    ))
}

pub fn put_replay(r: &super::replay::Replay) -> Op {
    Op::Put(
        keys::events(KIND_REPLAY, &[&r.account, &r.region, &r.name]),
        encode_json(VERSION, r),
    )
}

pub fn put_fired(f: &super::scheduler::Fired) -> Op {
    Op::Put(
        keys::events(KIND_FIRED, &[&f.account, &f.region, &f.rule]),
        encode_json(VERSION, f),
    )
}

pub fn delete_fired(f: &super::scheduler::Fired) -> Op {
    Op::Delete(keys::events(KIND_FIRED, &[&f.account, &f.region, &f.rule]))
}

/// A bus's ARN, which policies, tags and archives name it by.
pub fn bus_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:events:{region}:{account}:event-bus/{name}")
}

impl Bus {
    pub fn arn(&self) -> String {
        bus_arn(&self.account, &self.region, &self.name)
    }
}

impl Rule {
    /// Replaces the targets, and forgets what was read from the old ones.
    pub fn set_targets(&mut self, targets: Vec<Value>) {
        self.targets = targets;
        self.routing = None;
    }

    /// Rules on the default bus have no bus segment in their ARN.
    pub fn arn(&self) -> String {
        if self.bus == "default" {
            format!(
                "arn:aws:events:{}:{}:rule/{}",
                self.region, self.account, self.name
            )
        } else {
            format!(
                "arn:aws:events:{}:{}:rule/{}/{}",
                self.region, self.account, self.bus, self.name
            )
        }
    }
}

impl Connection {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:events:{}:{}:connection/{}/{}",
            self.region, self.account, self.name, self.uuid
        )
    }

    /// Where AWS would keep the connection's secrets (Secrets Manager).
    pub fn secret_arn(&self) -> String {
        format!(
            "arn:aws:secretsmanager:{}:{}:secret:events!connection/{}/{}-{}",
            self.region, self.account, self.name, self.uuid, self.secret_suffix
        )
    }
}

impl Destination {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:events:{}:{}:api-destination/{}/{}",
            self.region, self.account, self.name, self.uuid
        )
    }
}

impl Archive {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:events:{}:{}:archive/{}",
            self.region, self.account, self.name
        )
    }
}

/// A bus parameter that may be a name or a bus ARN (`EventBusName`, `Name` of DescribeEventBus).
pub fn bus_name(name_or_arn: Option<&str>) -> String {
    match name_or_arn {
        None | Some("") => "default".into(),
        Some(s) => match s.strip_prefix("arn:") {
            Some(_) => s
                .split_once(":event-bus/")
                .map_or(s, |(_, n)| n)
                .to_string(),
            None => s.to_string(),
        },
    }
}

/// One page of `items` (already in order) after the token, with the next token when more remain.
/// Tokens are the offset, so they are opaque to clients and cheap to check.
pub fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    limit: Option<i64>,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("ferry-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| super::validation("The NextToken provided is not valid."))?,
    };
    let limit = match limit {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(n) => {
            return Err(super::validation(format!(
                "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
                if n < 1 {
                    "greater than or equal to 1"
                } else {
                    "less than or equal to 100"
                }
            )));
        }
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| format!("ferry-{end}"));
    Ok((items[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStore;

    #[test]
    fn records_survive_a_reload() {
        let store = MemoryStore::default();
        let bus = Bus {
            account: "1".into(),
            region: "r".into(),
            name: "b".into(),
            tags: vec![("k".into(), "v".into())],
            ..Bus::default()
        };
        let rule = Rule {
            account: "1".into(),
            region: "r".into(),
            bus: "b".into(),
            name: "x".into(),
            state: "ENABLED".into(),
            targets: vec![serde_json::json!({"Id": "t", "Arn": "a"})],
            ..Rule::default()
        };
        store.write(&[put_bus(&bus), put_rule(&rule)]).unwrap();
        let mut reg = Registry::load(&store).unwrap();
        let s = reg.scope_of("1", "r", 0);
        assert_eq!(s.buses["b"].tags, bus.tags);
        assert_eq!(s.rules["b"]["x"].targets.len(), 1);
        assert!(s.buses.contains_key("default"));
        store.write(&[delete_rule(&rule)]).unwrap();
        let mut reg = Registry::load(&store).unwrap();
        assert!(
            reg.scope_of("1", "r", 0)
                .rules
                .get("b")
                .is_none_or(|m| m.is_empty())
        );
    }

    #[test]
    fn arns() {
        let mut r = Rule {
            account: "1".into(),
            region: "r".into(),
            bus: "default".into(),
            name: "x".into(),
            ..Rule::default()
        };
        assert_eq!(r.arn(), "arn:aws:events:r:1:rule/x");
        r.bus = "b".into();
        assert_eq!(r.arn(), "arn:aws:events:r:1:rule/b/x");
        assert_eq!(bus_name(Some("arn:aws:events:r:1:event-bus/b")), "b");
        assert_eq!(bus_name(None), "default");
    }

    #[test]
    fn paging() {
        let items: Vec<u32> = (0..6).collect();
        let (a, t) = page(&items, None, Some(3)).unwrap();
        assert_eq!(a, [0, 1, 2]);
        let (b, t2) = page(&items, t.as_deref(), Some(5)).unwrap();
        assert_eq!(b, [3, 4, 5]);
        assert_eq!(t2, None);
        assert!(page(&items, Some("nope"), None).is_err());
        assert!(page(&items, None, Some(0)).is_err());
    }
}
