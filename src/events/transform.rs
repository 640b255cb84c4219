//! What a target receives: the whole event, a constant `Input`, the value at `InputPath`, or an
//! `InputTransformer` template filled from `InputPathsMap`. Pure, so the delivery engine can call
//! it per target, and golden-tested against what AWS delivered.
//!
//! AWS's template rules, as recorded:
//! - A **JSON template** (it starts with `{` or `[`): a placeholder outside quotes becomes the
//!   value as JSON (a string gains its quotes); inside quotes a string is inserted as text. The
//!   result must be valid JSON, or nothing is delivered (an object placed inside quotes, say).
//! - A **string template** (anything else, e.g. `"Event of <detail-type> type"`): the text is kept
//!   as written, surrounding quotes and newlines included; strings are inserted as text, objects
//!   and lists as compact JSON without their double quotes (`[ACTIVE,INACTIVE]`,
//!   `{acc_id:0a787ecb-4015,sf_id:baz}`), and a path that is absent from the event as nothing.
//! - `<aws.events.event>` (the envelope without `detail`, camelCase `detailType`),
//!   `<aws.events.event.json>` (the whole event), `<aws.events.rule-arn>`,
//!   `<aws.events.rule-name>` and `<aws.events.event.ingestion-time>` are always defined.

use serde_json::{Map, Value, json};

/// Longest `InputPath` and `InputPathsMap` value AWS accepts.
pub const MAX_PATH_LEN: usize = 256;
/// Longest `InputTemplate` AWS accepts.
pub const MAX_TEMPLATE_LEN: usize = 8192;
/// Most `InputPathsMap` entries AWS accepts.
pub const MAX_PATHS: usize = 100;

/// How a target shapes its input, already validated by [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub enum InputMode {
    /// The whole event.
    Event,
    /// A constant JSON text.
    Constant(String),
    /// The value at a JSONPath.
    Path(JsonPath),
    Transformer {
        paths: Vec<(String, JsonPath)>,
        template: String,
    },
}

/// Values of the `aws.events.*` placeholders that do not come from the event itself.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    /// ISO-8601 time at which the event was received.
    pub ingestion_time: &'a str,
}

/// A parsed JSONPath of the subset EventBridge uses: `$`, `.name`, `['name']`, `[index]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath(Vec<Step>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl JsonPath {
    pub fn parse(src: &str) -> Option<JsonPath> {
        let rest = src.strip_prefix('$')?;
        let b = rest.as_bytes();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                        j += 1;
                    }
                    if j == start {
                        return None;
                    }
                    steps.push(Step::Key(rest[start..j].to_string()));
                    i = j;
                }
                b'[' => {
                    let close = rest[i..].find(']')? + i;
                    let inner = &rest[i + 1..close];
                    let quoted = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                    match quoted {
                        Some(k) if !k.is_empty() => steps.push(Step::Key(k.to_string())),
                        Some(_) => return None,
                        None => steps.push(Step::Index(inner.parse().ok()?)),
                    }
                    i = close + 1;
                }
                _ => return None,
            }
        }
        Some(JsonPath(steps))
    }

    /// The value at this path, if the event has one.
    pub fn get<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(v, |v, s| match s {
            Step::Key(k) => v.get(k.as_str()),
            Step::Index(i) => v.get(*i),
        })
    }
}

/// Why PutTargets refuses a target's input settings (a request-level `ValidationException`).
pub fn validate(
    target_id: &str,
    input: Option<&str>,
    input_path: Option<&str>,
    transformer: Option<(&Map<String, Value>, Option<&str>)>,
) -> Result<InputMode, String> {
    let given = [input.is_some(), input_path.is_some(), transformer.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err("Only one of Input, InputPath, or InputTransformer must be provided.".into());
    }
    if let Some(input) = input {
        if serde_json::from_str::<Value>(input).is_err() {
            return Err(format!(
                "Input for target {target_id} is not valid JSON text."
            ));
        }
        return Ok(InputMode::Constant(input.to_string()));
    }
    if let Some(path) = input_path {
        return path_of(path)
            .map(InputMode::Path)
            .ok_or_else(|| format!("InputPath for target {target_id} is not a valid JSON path."));
    }
    let Some((map, template)) = transformer else {
        return Ok(InputMode::Event);
    };
    let Some(template) = template.filter(|t| !t.is_empty()) else {
        return Err(format!(
            "InputTemplate for target {target_id} must be provided."
        ));
    };
    if template.chars().count() > MAX_TEMPLATE_LEN {
        return Err(format!(
            "InputTemplate for target {target_id} exceeds the maximum length of {MAX_TEMPLATE_LEN}."
        ));
    }
    if map.len() > MAX_PATHS {
        return Err(format!(
            "InputPathsMap for target {target_id} has more than {MAX_PATHS} entries."
        ));
    }
    let mut paths = Vec::with_capacity(map.len());
    for (k, v) in map {
        let valid_key = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_key || k.starts_with("aws.") {
            return Err(format!(
                "InputPathsMap for target {target_id} contains invalid key {k}."
            ));
        }
        let path = v.as_str().and_then(path_of).ok_or_else(|| {
            format!("InputPathsMap for target {target_id} contains invalid path for key {k}.")
        })?;
        paths.push((k.clone(), path));
    }
    for name in placeholders(template) {
        if !is_reserved(name) && !map.contains_key(name) {
            return Err(format!(
                "InputTemplate for target {target_id} contains invalid placeholder {name}."
            ));
        }
    }
    Ok(InputMode::Transformer {
        paths,
        template: template.to_string(),
    })
}

fn path_of(s: &str) -> Option<JsonPath> {
    (s.chars().count() <= MAX_PATH_LEN)
        .then(|| JsonPath::parse(s))
        .flatten()
}

fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "aws.events.event"
            | "aws.events.event.json"
            | "aws.events.rule-arn"
            | "aws.events.rule-name"
            | "aws.events.event.ingestion-time"
    )
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

/// Placeholder names in template order: `<name>` with a name of `[A-Za-z0-9_.-]+`.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    scan(template).filter_map(|piece| match piece {
        Piece::Placeholder { name, .. } => Some(name),
        Piece::Text(_) => None,
    })
}

enum Piece<'a> {
    Text(&'a str),
    Placeholder { name: &'a str, quoted: bool },
}

/// Splits a template into text and placeholders, noting whether each placeholder sits inside a
/// double-quoted string (a `\"` does not end one).
fn scan(template: &str) -> impl Iterator<Item = Piece<'_>> {
    let b = template.as_bytes();
    let mut i = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut text_start = 0;
    let mut pending: Option<Piece<'_>> = None;
    std::iter::from_fn(move || {
        if let Some(p) = pending.take() {
            return Some(p);
        }
        while i < b.len() {
            let c = b[i];
            if c == b'<' {
                let mut j = i + 1;
                while j < b.len() && is_name_byte(b[j]) {
                    j += 1;
                }
                if j > i + 1 && j < b.len() && b[j] == b'>' {
                    let text = &template[text_start..i];
                    let ph = Piece::Placeholder {
                        name: &template[i + 1..j],
                        quoted,
                    };
                    i = j + 1;
                    text_start = i;
                    escaped = false;
                    if text.is_empty() {
                        return Some(ph);
                    }
                    pending = Some(ph);
                    return Some(Piece::Text(text));
                }
            }
            if escaped {
                escaped = false;
            } else if c == b'\\' && quoted {
                escaped = true;
            } else if c == b'"' {
                quoted = !quoted;
            }
            i += 1;
        }
        if text_start < b.len() {
            let text = &template[text_start..];
            text_start = b.len();
            return Some(Piece::Text(text));
        }
        None
    })
}

/// `<aws.events.event>`: the envelope without `detail`, in AWS's key order, camelCase type.
fn event_summary(event: &Value) -> Value {
    let f = |k: &str| event.get(k).cloned().unwrap_or(Value::Null);
    json!({
        "id": f("id"),
        "account": f("account"),
        "detailType": f("detail-type"),
        "time": f("time"),
        "source": f("source"),
        "region": f("region"),
        "resources": f("resources"),
        "version": f("version"),
    })
}

/// What the target receives for `event`, or `None` when AWS delivers nothing (a path that is
/// not in the event, or a JSON template whose result is not JSON).
pub fn apply(mode: &InputMode, event: &Value, ctx: &Context<'_>) -> Option<String> {
    match mode {
        InputMode::Event => Some(event.to_string()),
        InputMode::Constant(s) => Some(s.clone()),
        InputMode::Path(p) => p.get(event).map(Value::to_string),
        InputMode::Transformer { paths, template } => {
            let lookup = |name: &str| -> Option<Value> {
                match name {
                    "aws.events.event" => Some(event_summary(event)),
                    "aws.events.event.json" => Some(event.clone()),
                    "aws.events.rule-arn" => Some(Value::String(ctx.rule_arn.into())),
                    "aws.events.rule-name" => Some(Value::String(ctx.rule_name.into())),
                    "aws.events.event.ingestion-time" => {
                        Some(Value::String(ctx.ingestion_time.into()))
                    }
                    _ => paths
                        .iter()
                        .find(|(k, _)| k == name)
                        .and_then(|(_, p)| p.get(event))
                        .cloned(),
                }
            };
            let trimmed = template.trim_start();
            let json_template = trimmed.starts_with('{') || trimmed.starts_with('[');
            let mut out = String::with_capacity(template.len() + 64);
            for piece in scan(template) {
                match piece {
                    Piece::Text(t) => out.push_str(t),
                    Piece::Placeholder { name, quoted } => {
                        let v = lookup(name);
                        match (json_template, quoted, v) {
                            (true, false, Some(v)) => out.push_str(&v.to_string()),
                            (true, false, None) => out.push_str("null"),
                            (_, _, None) => {}
                            (_, _, Some(Value::String(s))) => push_escaped(&mut out, &s),
                            (true, true, Some(v)) => out.push_str(&v.to_string()),
                            (false, _, Some(v)) => out.push_str(&v.to_string().replace('"', "")),
                        }
                    }
                }
            }
            if json_template && serde_json::from_str::<Value>(&out).is_err() {
                return None;
            }
            Some(out)
        }
    }
}

/// A string's JSON escaping without its quotes, so it stays valid inside a quoted template.
fn push_escaped(out: &mut String, s: &str) {
    let quoted = Value::String(s.to_string()).to_string();
    out.push_str(&quoted[1..quoted.len() - 1]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The event of the recorded input-transformation facts.
    fn event() -> Value {
        json!({
            "version": "0", "id": "ev-1", "detail-type": "core.update-account-command",
            "source": "core.update-account-command", "account": "000000000000",
            "time": "2024-01-01T00:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"command": "update-account",
                       "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
                       "listsingle": ["HIGH"], "listmulti": ["ACTIVE", "INACTIVE"], "valid": true}
        })
    }

    fn map() -> Map<String, Value> {
        json!({"userId": "$.detail.payload.acc_id", "payload": "$.detail.payload",
               "systemstring": "$.detail.awsAccountId", "listsingle": "$.detail.listsingle",
               "listmulti": "$.detail.listmulti", "valid": "$.detail.valid",
               "detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.command"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn transform(template: &str) -> Option<String> {
        let m = map();
        let mode = validate("t1", None, None, Some((&m, Some(template)))).unwrap();
        apply(&mode, &event(), &Context::default())
    }

    fn parsed(s: Option<String>) -> Value {
        serde_json::from_str(&s.expect("delivered")).unwrap()
    }

    #[test]
    fn input_path_and_constant() {
        let path = |p: &str| {
            let mode = validate("t", None, Some(p), None).unwrap();
            apply(&mode, &event(), &Context::default())
        };
        assert_eq!(
            path("$.detail.payload").unwrap(),
            r#"{"acc_id":"0a787ecb-4015","sf_id":"baz"}"#
        );
        // A string leaf is delivered as a JSON string, quotes included (EB-076).
        assert_eq!(path("$.detail.payload.sf_id").unwrap(), r#""baz""#);
        assert_eq!(path("$.detail.listmulti[1]").unwrap(), r#""INACTIVE""#);
        assert_eq!(path("$['detail']['valid']").unwrap(), "true");
        assert_eq!(path("$.detail.nothing"), None);
        let c = validate(
            "t",
            Some(r#"{"custom-value": "somecustominput"}"#),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            apply(&c, &event(), &Context::default()).unwrap(),
            r#"{"custom-value": "somecustominput"}"#
        );
        let whole = apply(&InputMode::Event, &event(), &Context::default()).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&whole).unwrap(), event());
    }

    #[test]
    fn string_templates_keep_their_quotes() {
        // EB-081
        assert_eq!(
            transform(r#""Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>""#)
                .unwrap(),
            r#""Event of core.update-account-command type, at time 2024-01-01T00:00:00Z, info extracted from detail update-account""#
        );
        // EB-083
        assert_eq!(
            transform(
                r#""{[/Check with special starting characters for event of <detail-type> type""#
            )
            .unwrap(),
            r#""{[/Check with special starting characters for event of core.update-account-command type""#
        );
        // EB-085
        let t = "\"<listsingle> single list item\"\n\"<listmulti> multiple list items\"\n\"<systemstring> system account id\"\n\"<payload> payload\"\n\"<userId> user id\"";
        assert_eq!(
            transform(t).unwrap(),
            "\"[HIGH] single list item\"\n\"[ACTIVE,INACTIVE] multiple list items\"\n\" system account id\"\n\"{acc_id:0a787ecb-4015,sf_id:baz} payload\"\n\"0a787ecb-4015 user id\""
        );
    }

    #[test]
    fn json_templates() {
        // EB-086
        assert_eq!(
            parsed(transform(
                r#"{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}"#
            )),
            json!({"detailType": "core.update-account-command", "time": "2024-01-01T00:00:00Z", "command": "update-account"})
        );
        // EB-088
        assert_eq!(
            parsed(transform(
                r#"{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}"#
            )),
            json!({"method": "PUT", "path": "users-service/users/0a787ecb-4015", "bod": {"acc_id": "0a787ecb-4015", "sf_id": "baz"}})
        );
        // EB-090
        assert_eq!(
            parsed(transform(
                r#"{"method": "PUT", "path": "users-service/users/<userId>", "bod": [<userId>, "hardcoded"]}"#
            )),
            json!({"method": "PUT", "path": "users-service/users/0a787ecb-4015", "bod": ["0a787ecb-4015", "hardcoded"]})
        );
        assert_eq!(
            parsed(transform(
                r#"{"method": "PUT", "nested": {"level1": {"level2": {"level3": "users-service/users/<userId>"} } }, "bod": "<userId>"}"#
            )),
            json!({"method": "PUT", "nested": {"level1": {"level2": {"level3": "users-service/users/0a787ecb-4015"}}}, "bod": "0a787ecb-4015"})
        );
        assert_eq!(
            parsed(transform(r#"{"singlelistitem": <listsingle>}"#)),
            json!({"singlelistitem": ["HIGH"]})
        );
        assert_eq!(
            parsed(transform(
                r#"{"multi_replacement": "users/<userId>/second/<userId>"}"#
            )),
            json!({"multi_replacement": "users/0a787ecb-4015/second/0a787ecb-4015"})
        );
        assert_eq!(
            parsed(transform(r#"{"v": <valid>, "quoted": "<valid>"}"#)),
            json!({"v": true, "quoted": "true"})
        );
    }

    /// EB-091: an object or list inside quotes makes the JSON invalid; nothing is delivered.
    #[test]
    fn invalid_json_results_are_dropped() {
        for t in [
            r#"{"not_valid": "users-service/users/<payload>", "bod": <payload>}"#,
            r#"{"payload": "<payload>"}"#,
            r#"{"singlelistitem": "<listsingle>"}"#,
        ] {
            assert_eq!(transform(t), None, "{t}");
        }
    }

    /// EB-093
    #[test]
    fn aws_events_placeholders() {
        let m = Map::new();
        let mode = validate(
            "t",
            None,
            None,
            Some((
                &m,
                Some(r#"{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>, "arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", "at": <aws.events.event.ingestion-time>}"#),
            )),
        )
        .unwrap();
        let ctx = Context {
            rule_arn: "arn:aws:events:us-east-1:000000000000:rule/r",
            rule_name: "r",
            ingestion_time: "2024-01-01T00:00:01.000Z",
        };
        let out = apply(&mode, &event(), &ctx).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        let keys: Vec<&str> = v["originalEvent"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "account",
                "detailType",
                "time",
                "source",
                "region",
                "resources",
                "version"
            ]
        );
        assert_eq!(
            v["originalEvent"]["detailType"],
            "core.update-account-command"
        );
        assert_eq!(v["originalEventJson"], event());
        assert_eq!(v["arn"], ctx.rule_arn);
        assert_eq!(v["name"], "r");
        assert_eq!(v["at"], ctx.ingestion_time);
    }

    #[test]
    fn validation_errors() {
        let m = json!({"a": "$.detail"}).as_object().unwrap().clone();
        // EB-080
        assert_eq!(
            validate(
                "target-1",
                None,
                None,
                Some((&m, Some("{\"x\": <notdefinedkey>}")))
            )
            .unwrap_err(),
            "InputTemplate for target target-1 contains invalid placeholder notdefinedkey."
        );
        assert!(validate("t", Some("{}"), Some("$"), None).is_err());
        assert!(validate("t", Some("not json"), None, None).is_err());
        assert!(validate("t", None, Some("detail"), None).is_err());
        assert!(validate("t", None, Some("$..x"), None).is_err());
        let bad_path = json!({"a": "detail"}).as_object().unwrap().clone();
        assert!(validate("t", None, None, Some((&bad_path, Some("<a>")))).is_err());
        let reserved = json!({"aws.events.event": "$"})
            .as_object()
            .unwrap()
            .clone();
        assert!(validate("t", None, None, Some((&reserved, Some("x")))).is_err());
        assert!(validate("t", None, None, Some((&m, None))).is_err());
        // A `<` that is not a placeholder is text.
        assert!(validate("t", None, None, Some((&m, Some("\"a < b <a> <>\"")))).is_ok());
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let m = json!({"c": "$.detail.command"})
            .as_object()
            .unwrap()
            .clone();
        let mode = validate(
            "t",
            None,
            None,
            Some((&m, Some(r#"{"a": "x\"<c>\"", "b": <c>}"#))),
        )
        .unwrap();
        let out = apply(&mode, &event(), &Context::default()).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            json!({"a": "x\"update-account\"", "b": "update-account"})
        );
    }

    proptest::proptest! {
        /// Templates, paths and inputs from outside never panic, and a JSON template's result
        /// is either valid JSON or nothing.
        #[test]
        fn never_panics(template in "[{}\\[\\]<>\"\\\\a-z., :]{0,60}", path in "\\PC{0,20}") {
            let _ = JsonPath::parse(&path);
            let m = map();
            if let Ok(mode) = validate("t", None, None, Some((&m, Some(&template)))) {
                let out = apply(&mode, &event(), &Context::default());
                if template.trim_start().starts_with('{')
                    && let Some(o) = out
                {
                    proptest::prop_assert!(serde_json::from_str::<Value>(&o).is_ok());
                }
            }
        }
    }
}
