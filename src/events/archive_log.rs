//! The events an archive holds. Every event accepted on a bus that an archive's pattern matches
//! (no pattern: every event) is written to the message log (key family `keys::ARCHIVED`) in the
//! same PutEvents that accepted it, before the answer. In memory each archive keeps only an index
//! (event time, sequence) → (when archived, size), so `EventCount` and `SizeBytes` are exact at
//! once (AWS reconciles them within 24 hours) and a replay reads bodies back one by one.
//!
//! Replayed events (they carry `replay-name`) are never archived again, as AWS's managed rule on
//! the source bus ensures. Scheduled events go to their rule's targets only, not onto the bus,
//! so they are not archived either. Events older than `RetentionDays` (0 = forever) are removed
//! by [`Events::expire_archived`], which `start_background` runs hourly.

use super::Events;
use super::envelope::Accepted;
use super::state::{Archive, bus_arn};
use crate::error::{ApiError, ApiResult};
use crate::pattern::{Dialect, Pattern};
use crate::storage::{Op, Pending, StoreError, StoreResult, keys};
use serde_json::Value;
use std::collections::BTreeMap;

const VERSION: u8 = 1;
const DAY_MS: u64 = 86_400_000;

/// One archived event as the index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub archived_ms: u64,
    pub size: u64,
}

/// An archive's compiled pattern and the index of the events it holds (never serialized: the
/// events are records of their own, found again at start).
#[derive(Debug, Clone, Default)]
pub struct Held {
    pattern: Option<Pattern>,
    /// (event time in ms, sequence) → stored event.
    pub entries: BTreeMap<(u64, u64), Stored>,
    pub size_bytes: u64,
}

impl Held {
    /// Compiles the archive's pattern (already validated by Create/UpdateArchive).
    pub fn set_pattern(&mut self, src: Option<&str>) {
        self.pattern = src.and_then(|s| Pattern::parse(s, Dialect::EventBridge).ok());
    }

    fn insert(&mut self, at: (u64, u64), s: Stored) {
        if let Some(old) = self.entries.insert(at, s) {
            self.size_bytes -= old.size;
        }
        self.size_bytes += s.size;
    }
}

/// The key of one archived event.
pub fn key(a: &Archive, time_ms: u64, seq: u64) -> Vec<u8> {
    let mut k = vec![keys::ARCHIVED];
    for part in [&a.account, &a.region, &a.name] {
        k.extend_from_slice(part.as_bytes());
        k.push(0);
    }
    k.extend_from_slice(&time_ms.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// (account, region, archive name, event time ms, sequence) of an archived event's key.
pub fn split_key(k: &[u8]) -> Option<(String, String, String, u64, u64)> {
    let rest = k.strip_prefix(&[keys::ARCHIVED])?;
    let mut parts = Vec::with_capacity(3);
    let mut at = 0;
    for _ in 0..3 {
        let end = at + rest[at..].iter().position(|b| *b == 0)?;
        parts.push(String::from_utf8(rest[at..end].to_vec()).ok()?);
        at = end + 1;
    }
    let tail = rest.get(at..)?;
    if tail.len() != 16 {
        return None;
    }
    let time = u64::from_be_bytes(tail[..8].try_into().ok()?);
    let seq = u64::from_be_bytes(tail[8..].try_into().ok()?);
    let name = parts.pop()?;
    let region = parts.pop()?;
    let account = parts.pop()?;
    Some((account, region, name, time, seq))
}

/// version | archived_ms | size | the event's JSON.
fn encode(s: Stored, event: &Value) -> Vec<u8> {
    let mut v = vec![VERSION];
    v.extend_from_slice(&s.archived_ms.to_be_bytes());
    v.extend_from_slice(&s.size.to_be_bytes());
    v.extend_from_slice(event.to_string().as_bytes());
    v
}

/// The index half of a stored event (bodies are read back only when replayed).
pub fn decode_header(v: &[u8]) -> StoreResult<Stored> {
    let bad = || StoreError("bad archived event record".into());
    if v.first() != Some(&VERSION) || v.len() < 17 {
        return Err(bad());
    }
    Ok(Stored {
        archived_ms: u64::from_be_bytes(v[1..9].try_into().map_err(|_| bad())?),
        size: u64::from_be_bytes(v[9..17].try_into().map_err(|_| bad())?),
    })
}

/// The event of a stored record.
pub fn decode_event(v: &[u8]) -> StoreResult<Value> {
    decode_header(v)?;
    serde_json::from_slice(&v[17..]).map_err(|e| StoreError(format!("archived event: {e}")))
}

/// What AWS counts for an event's size (as for a PutEvents entry: time, source, detail type,
/// detail and resources).
fn size_of(event: &Value) -> u64 {
    let s = |k: &str| event.get(k).and_then(Value::as_str).map_or(0, str::len);
    let detail = event.get("detail").map_or(0, |d| d.to_string().len());
    let resources: usize = event
        .get("resources")
        .and_then(Value::as_array)
        .map_or(0, |a| {
            a.iter().filter_map(Value::as_str).map(str::len).sum()
        });
    (14 + s("source") + s("detail-type") + detail + resources) as u64
}

/// Seconds of an envelope's `time` (`YYYY-MM-DDThh:mm:ssZ`), in ms.
fn event_time_ms(event: &Value) -> Option<u64> {
    let t = event.get("time")?.as_str()?;
    let secs = super::envelope::parse_iso(t)?;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

impl Events {
    /// Records `events` into every archive of their bus whose pattern they match, in memory and
    /// in the store, under the registry lock; await the result before answering PutEvents.
    pub(super) fn archive(&self, events: &[Accepted]) -> Pending {
        let mut ops = Vec::new();
        let mut reg = self.lock();
        let now = self.now_ms();
        for a in events {
            if a.event.get("replay-name").is_some() {
                continue;
            }
            let bus = &a.bus;
            let scope = reg.scope_of(&bus.account, &bus.region, now);
            if scope.archives.is_empty() {
                continue;
            }
            let arn = bus_arn(&bus.account, &bus.region, &bus.name);
            let time = event_time_ms(&a.event).unwrap_or(now);
            for archive in scope.archives.values_mut() {
                let wanted = archive.source_arn == arn
                    && archive
                        .held
                        .pattern
                        .as_ref()
                        .is_none_or(|p| p.matches_value(&a.event));
                if !wanted {
                    continue;
                }
                let seq = self
                    .next_archived
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let stored = Stored {
                    archived_ms: now,
                    size: size_of(&a.event),
                };
                ops.push(Op::Put(key(archive, time, seq), encode(stored, &a.event)));
                archive.held.insert((time, seq), stored);
            }
        }
        self.durable.submit(ops)
    }

    /// Removes the archived events older than their archive's `RetentionDays`.
    pub fn expire_archived(&self) -> Pending {
        let mut reg = self.lock();
        let now = self.now_ms();
        let mut ops = Vec::new();
        for scope in reg.scopes_mut() {
            for a in scope.archives.values_mut() {
                if a.retention_days <= 0 {
                    continue;
                }
                let keep_ms = (a.retention_days as u64).saturating_mul(DAY_MS);
                let old: Vec<(u64, u64)> = a
                    .held
                    .entries
                    .iter()
                    .filter(|(_, s)| s.archived_ms.saturating_add(keep_ms) <= now)
                    .map(|(at, _)| *at)
                    .collect();
                for at in old {
                    if let Some(s) = a.held.entries.remove(&at) {
                        a.held.size_bytes -= s.size;
                        ops.push(Op::Delete(key(a, at.0, at.1)));
                    }
                }
            }
        }
        self.durable.submit(ops)
    }

    /// Files the archived events found in the store under their archives at start; events of
    /// archives that are gone (a delete cut short by a crash) are forgotten.
    pub(super) fn load_archived(&self) -> StoreResult<()> {
        let mut reg = self.lock();
        let mut orphans = Vec::new();
        let mut next = 0;
        self.durable.scan(&[keys::ARCHIVED], &mut |k, v| {
            let (account, region, name, time, seq) =
                split_key(k).ok_or_else(|| StoreError("bad archived event key".into()))?;
            next = next.max(seq + 1);
            let stored = decode_header(v)?;
            match reg.scope_of(&account, &region, 0).archives.get_mut(&name) {
                Some(a) => a.held.insert((time, seq), stored),
                None => orphans.push(Op::Delete(k.to_vec())),
            }
            Ok(())
        })?;
        self.next_archived
            .store(next, std::sync::atomic::Ordering::Relaxed);
        self.durable.submit_detached(orphans);
        Ok(())
    }

    /// Reads one archived event back.
    pub(super) fn read_archived(&self, key: &[u8]) -> ApiResult<Option<Value>> {
        let raw = self
            .durable
            .get(key)
            .map_err(|e| ApiError::internal("events: reading an archived event failed", e))?;
        match raw {
            None => Ok(None),
            Some(v) => decode_event(&v)
                .map(Some)
                .map_err(|e| ApiError::internal("events: bad archived event", e)),
        }
    }
}

/// The writes that remove every event of a deleted archive.
pub fn delete_all(a: &Archive) -> Vec<Op> {
    a.held
        .entries
        .keys()
        .map(|(t, s)| Op::Delete(key(a, *t, *s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_round_trip_in_time_order() {
        let a = Archive {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: "arch".into(),
            ..Archive::default()
        };
        let k1 = key(&a, 1_000, 7);
        let k2 = key(&a, 2_000, 1);
        assert!(k1 < k2);
        assert_eq!(
            split_key(&k1),
            Some((
                "000000000000".into(),
                "us-east-1".into(),
                "arch".into(),
                1_000,
                7
            ))
        );
        assert_eq!(split_key(b"xbad"), None);
    }

    #[test]
    fn records_round_trip() {
        let e = json!({"time": "2024-01-01T00:00:00Z", "source": "s", "detail-type": "dt",
            "resources": ["r1"], "detail": {"a": 1}});
        let s = Stored {
            archived_ms: 5,
            size: size_of(&e),
        };
        assert_eq!(s.size, 14 + 1 + 2 + 7 + 2);
        let v = encode(s, &e);
        assert_eq!(decode_header(&v).unwrap(), s);
        assert_eq!(decode_event(&v).unwrap(), e);
        assert!(decode_header(&[2, 0]).is_err());
        assert_eq!(event_time_ms(&e), Some(1_704_067_200_000));
    }
}
