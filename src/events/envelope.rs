//! PutEvents entries: AWS's per-entry validation and the event envelope exactly as AWS builds it.
//! Pure, so the delivery engine gets events ready to match and deliver.
//!
//! The envelope's keys come in AWS's order (`version`, `id`, `detail-type`, `source`, `account`,
//! `time`, `region`, `resources`, `detail`); `time` is UTC to the whole second. `account` and
//! `region` are the sender's, even when the entry names a bus of another account by ARN.

use serde_json::{Map, Value};

/// The request-wide size AWS recorded refusing: one entry with a 256 KiB detail.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Most entries in one PutEvents call.
pub const MAX_ENTRIES: usize = 10;

/// A per-entry refusal, as AWS reports it in the response's `Entries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    pub code: &'static str,
    pub message: String,
}

fn invalid(param: &str, reason: &str) -> EntryError {
    EntryError {
        code: "InvalidArgument",
        message: format!("Parameter {param} is not valid. Reason: {reason}"),
    }
}

/// Which bus an entry is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusRef {
    pub account: String,
    pub region: String,
    pub name: String,
}

/// Reads `EventBusName`: absent means `default`; a name is the caller's; an ARN may name a bus in
/// another account or region.
pub fn bus_ref(name_or_arn: Option<&str>, account: &str, region: &str) -> Option<BusRef> {
    let own = |name: &str| BusRef {
        account: account.into(),
        region: region.into(),
        name: name.into(),
    };
    match name_or_arn {
        None | Some("") => Some(own("default")),
        Some(s) if s.starts_with("arn:") => {
            let parts: Vec<&str> = s.splitn(6, ':').collect();
            if parts.len() != 6 || parts[2] != "events" {
                return None;
            }
            let name = parts[5].strip_prefix("event-bus/")?;
            if name.is_empty() {
                return None;
            }
            Some(BusRef {
                account: parts[4].into(),
                region: parts[3].into(),
                name: name.into(),
            })
        }
        Some(s) => Some(own(s)),
    }
}

/// One accepted entry, with its envelope and the bus it goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub bus: BusRef,
    pub event: Value,
}

/// The bytes AWS counts for an entry: Time (14 when set), Source, DetailType, Detail, Resources.
pub fn entry_size(entry: &Map<String, Value>) -> usize {
    let s = |k: &str| entry.get(k).and_then(Value::as_str).map_or(0, str::len);
    let time = if entry.get("Time").is_some_and(|t| !t.is_null()) {
        14
    } else {
        0
    };
    let resources = entry
        .get("Resources")
        .and_then(Value::as_array)
        .map_or(0, |a| {
            a.iter().filter_map(Value::as_str).map(str::len).sum()
        });
    time + s("Source") + s("DetailType") + s("Detail") + resources
}

/// The request-wide checks of PutEvents, made before any entry: 1 to 10 entries, and the total
/// size within `max_bytes` (AWS: `Total size of the entries in the request is over the limit.`).
pub fn check_request(entries: &[Map<String, Value>], max_bytes: usize) -> Result<(), String> {
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        let bound = if entries.is_empty() {
            "greater than or equal to 1"
        } else {
            "less than or equal to 10"
        };
        return Err(format!(
            "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length {bound}"
        ));
    }
    if entries.iter().map(entry_size).sum::<usize>() > max_bytes {
        return Err("Total size of the entries in the request is over the limit.".into());
    }
    Ok(())
}

/// Seconds since the epoch from an awsJson timestamp (a number, or ISO-8601 text).
fn epoch_seconds(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
        Value::String(s) => parse_iso(s),
        _ => None,
    }
}

/// Validates one entry and builds its envelope; `id` and `now_ms` come from the caller so the
/// result is deterministic.
pub fn build(
    entry: &Map<String, Value>,
    account: &str,
    region: &str,
    id: &str,
    now_ms: u64,
) -> Result<Accepted, EntryError> {
    let text = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let source =
        text("Source").ok_or_else(|| invalid("Source", "Source is a required argument."))?;
    let detail_type = text("DetailType")
        .ok_or_else(|| invalid("DetailType", "DetailType is a required argument."))?;
    let detail =
        text("Detail").ok_or_else(|| invalid("Detail", "Detail is a required argument."))?;
    let detail: Value = match serde_json::from_str(detail) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return Err(EntryError {
                code: "MalformedDetail",
                message: "Detail is malformed.".into(),
            });
        }
    };
    let mut resources = Vec::new();
    if let Some(rs) = entry.get("Resources").filter(|v| !v.is_null()) {
        let list = rs
            .as_array()
            .ok_or_else(|| invalid("Resources", "Resources must be a list of strings."))?;
        for r in list {
            let r = r
                .as_str()
                .ok_or_else(|| invalid("Resources", "Resources must be a list of strings."))?;
            resources.push(Value::String(r.into()));
        }
    }
    let time = match entry.get("Time").filter(|v| !v.is_null()) {
        Some(t) => epoch_seconds(t).ok_or_else(|| invalid("Time", "Time is not valid."))?,
        None => (now_ms / 1000) as i64,
    };
    let bus = bus_ref(text("EventBusName"), account, region).ok_or_else(|| {
        invalid(
            "EventBusName",
            "Provided EventBus is not a valid event bus name or ARN.",
        )
    })?;
    // Sized for its nine members up front: growing an index map re-hashes every key.
    let mut ev = Map::with_capacity(9);
    ev.insert("version".into(), "0".into());
    ev.insert("id".into(), id.into());
    ev.insert("detail-type".into(), detail_type.into());
    ev.insert("source".into(), source.into());
    ev.insert("account".into(), account.into());
    ev.insert("time".into(), iso_seconds(time).into());
    ev.insert("region".into(), region.into());
    ev.insert("resources".into(), Value::Array(resources));
    ev.insert("detail".into(), detail);
    Ok(Accepted {
        bus,
        event: Value::Object(ev),
    })
}

pub use crate::clock::{civil, days_from_civil, iso_millis, iso_seconds};

/// Seconds for `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`.
pub(super) fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" => 0,
        r if r.len() == 6 && (r.starts_with('+') || r.starts_with('-')) => {
            let oh: i64 = r.get(1..3)?.parse().ok()?;
            let om: i64 = r.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if r.starts_with('-') { -o } else { o }
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn envelope_as_aws_builds_it() {
        let e = entry(json!({"Source": "core.update-account-command",
            "DetailType": "core.update-account-command", "Detail": "{\"a\": 1}",
            "Time": 1640995200, "Resources": ["arn:aws:s3:::b"]}));
        let a = build(&e, "111111111111", "eu-west-1", "id-1", 0).unwrap();
        assert_eq!(
            a.event.to_string(),
            r#"{"version":"0","id":"id-1","detail-type":"core.update-account-command","source":"core.update-account-command","account":"111111111111","time":"2022-01-01T00:00:00Z","region":"eu-west-1","resources":["arn:aws:s3:::b"],"detail":{"a":1}}"#
        );
        assert_eq!(a.bus.name, "default");
        // Without Time: now, truncated to the second.
        let e = entry(json!({"Source": "s", "DetailType": "d", "Detail": "{}"}));
        let a = build(&e, "1", "r", "id", 1_700_000_000_999).unwrap();
        assert_eq!(a.event["time"], "2023-11-14T22:13:20Z");
        assert_eq!(a.event["resources"], json!([]));
        // Fractional epoch seconds and ISO text.
        let e =
            entry(json!({"Source": "s", "DetailType": "d", "Detail": "{}", "Time": 1640995200.75}));
        assert_eq!(
            build(&e, "1", "r", "id", 0).unwrap().event["time"],
            "2022-01-01T00:00:00Z"
        );
        let e = entry(
            json!({"Source": "s", "DetailType": "d", "Detail": "{}", "Time": "2022-01-01T02:00:00+02:00"}),
        );
        assert_eq!(
            build(&e, "1", "r", "id", 0).unwrap().event["time"],
            "2022-01-01T00:00:00Z"
        );
    }

    /// EB-063
    #[test]
    fn malformed_detail() {
        for d in ["NotJSON", "[]", "{{}", "\"NotJSON\""] {
            let e = entry(json!({"Source": "s", "DetailType": "d", "Detail": d}));
            let err = build(&e, "1", "r", "id", 0).unwrap_err();
            assert_eq!(err.code, "MalformedDetail", "{d}");
            assert_eq!(err.message, "Detail is malformed.");
        }
    }

    #[test]
    fn required_members() {
        let err = build(
            &entry(json!({"DetailType": "d", "Detail": "{}"})),
            "1",
            "r",
            "i",
            0,
        )
        .unwrap_err();
        assert_eq!(err.code, "InvalidArgument");
        assert_eq!(
            err.message,
            "Parameter Source is not valid. Reason: Source is a required argument."
        );
        let err = build(
            &entry(json!({"Source": "s", "Detail": "{}"})),
            "1",
            "r",
            "i",
            0,
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("Parameter DetailType is not valid.")
        );
        let err = build(
            &entry(json!({"Source": "s", "DetailType": "d"})),
            "1",
            "r",
            "i",
            0,
        )
        .unwrap_err();
        assert!(err.message.starts_with("Parameter Detail is not valid."));
    }

    #[test]
    fn bus_by_name_or_arn() {
        let b = bus_ref(
            Some("arn:aws:events:us-west-2:222222222222:event-bus/other"),
            "1",
            "r",
        )
        .unwrap();
        assert_eq!(
            (b.account.as_str(), b.region.as_str(), b.name.as_str()),
            ("222222222222", "us-west-2", "other")
        );
        assert_eq!(bus_ref(Some("mine"), "1", "r").unwrap().name, "mine");
        assert!(bus_ref(Some("arn:aws:sqs:r:1:q"), "1", "r").is_none());
        // The sender's account stays in the envelope (EB-143).
        let e = entry(json!({"Source": "s", "DetailType": "d", "Detail": "{}",
            "EventBusName": "arn:aws:events:us-east-1:222222222222:event-bus/default"}));
        let a = build(&e, "111111111111", "us-east-1", "i", 0).unwrap();
        assert_eq!(a.event["account"], "111111111111");
        assert_eq!(a.bus.account, "222222222222");
    }

    /// EB-065: a 256 KiB detail with its 26-byte source and type is over the limit.
    #[test]
    fn size_counts_aws_fields() {
        let e = entry(json!({"Source": "core.update-account-command",
            "DetailType": "core.update-account-command", "Detail": "x".repeat(262_144)}));
        assert!(entry_size(&e) > MAX_REQUEST_BYTES);
        let e = entry(
            json!({"Source": "a", "DetailType": "b", "Detail": "{}", "Time": 1, "Resources": ["rr"]}),
        );
        assert_eq!(entry_size(&e), 14 + 1 + 1 + 2 + 2);
    }

    #[test]
    fn request_checks() {
        let small = entry(json!({"Source": "s", "DetailType": "d", "Detail": "{}"}));
        assert!(check_request(std::slice::from_ref(&small), MAX_REQUEST_BYTES).is_ok());
        assert!(check_request(&[], MAX_REQUEST_BYTES).is_err());
        assert!(check_request(&vec![small.clone(); 11], MAX_REQUEST_BYTES).is_err());
        let big = entry(json!({"Source": "core.update-account-command",
            "DetailType": "core.update-account-command", "Detail": "x".repeat(262_144)}));
        assert_eq!(
            check_request(&[big], MAX_REQUEST_BYTES).unwrap_err(),
            "Total size of the entries in the request is over the limit."
        );
    }

    #[test]
    fn iso_times() {
        assert_eq!(iso_seconds(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_seconds(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso_millis(1_640_995_200_123), "2022-01-01T00:00:00.123Z");
        for s in [0i64, 951_782_400, 1_640_995_200, 4_102_444_799] {
            assert_eq!(parse_iso(&iso_seconds(s)), Some(s));
        }
        assert_eq!(parse_iso("garbage"), None);
        assert_eq!(parse_iso("2022-13-01T00:00:00Z"), None);
    }

    proptest::proptest! {
        #[test]
        fn times_never_panic(s in "\\PC{0,30}", secs in 0i64..253_402_300_800) {
            let _ = parse_iso(&s);
            proptest::prop_assert_eq!(parse_iso(&iso_seconds(secs)), Some(secs));
        }
    }
}
