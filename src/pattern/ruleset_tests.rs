//! The rule set against the reference (each pattern alone), and robustness of both parsers.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;

const KEYS: &[&str] = &["a", "b", "c", "a.b", "d", "", "k\"q"];

/// Operator snippets covering every form, including ones that share paths and types.
const MATCHERS: &[&str] = &[
    r#""x""#,
    r#""xy""#,
    r#""""#,
    r#""10.0.0.1""#,
    "1",
    "1.5",
    "100",
    "null",
    "true",
    r#"{"prefix":"x"}"#,
    r#"{"prefix":""}"#,
    r#"{"suffix":"y"}"#,
    r#"{"equals-ignore-case":"XY"}"#,
    r#"{"prefix":{"equals-ignore-case":"X"}}"#,
    r#"{"suffix":{"equals-ignore-case":"Y"}}"#,
    r#"{"wildcard":"x*"}"#,
    r#"{"wildcard":"*y"}"#,
    r#"{"wildcard":"*x*"}"#,
    r#"{"wildcard":"xy"}"#,
    r#"{"anything-but":"x"}"#,
    r#"{"anything-but":[1,100]}"#,
    r#"{"anything-but":{"prefix":"x"}}"#,
    r#"{"anything-but":{"suffix":"y"}}"#,
    r#"{"anything-but":{"equals-ignore-case":["XY","z"]}}"#,
    r#"{"anything-but":{"wildcard":"*x*"}}"#,
    r#"{"numeric":[">",0,"<=",10]}"#,
    r#"{"numeric":["<",1.5]}"#,
    r#"{"numeric":["=",100]}"#,
    r#"{"numeric":[">=",100]}"#,
    r#"{"exists":true}"#,
    r#"{"exists":false}"#,
    r#"{"cidr":"10.0.0.0/8"}"#,
    r#"{"cidr":"::/0"}"#,
    r#"{"cidr":"0.0.0.0/0"}"#,
];

const STRINGS: &[&str] = &[
    "", "x", "xy", "XY", "Xy", "xzy", "y", "z", "10.0.0.1", "10.2.3.4", "é", "x\"y", "tab\t", "\\",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "1.0",
    "1.5",
    "10",
    "100",
    "1e2",
    "-3",
    "5e9",
    "0.0000001",
];

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(KEYS).prop_map(String::from)
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.into())),
        prop::sample::select(NUMBERS).prop_map(|n| serde_json::from_str(n).unwrap()),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn obj(m: std::collections::BTreeMap<String, Value>) -> Value {
    Value::Object(m.into_iter().collect::<Map<_, _>>())
}

fn event_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..3).prop_map(obj),
        ]
    })
}

fn event() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), event_value(), 0..4).prop_map(obj)
}

fn matcher() -> impl Strategy<Value = Value> {
    prop::sample::select(MATCHERS).prop_map(|m| serde_json::from_str(m).unwrap())
}

fn pattern() -> impl Strategy<Value = Value> {
    let leaf = prop::collection::vec(matcher(), 1..3).prop_map(Value::Array);
    let node = leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::btree_map(key(), inner.clone(), 1..3).prop_map(obj),
            (
                prop::collection::btree_map(key(), inner.clone(), 1..3),
                prop::collection::btree_map(key(), inner, 1..3)
            )
                .prop_map(|(a, b)| json!({"$or": [obj(a), obj(b)]})),
        ]
    });
    prop::collection::btree_map(key(), node, 1..3).prop_map(obj)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// A compiled set of rules answers exactly what evaluating each rule alone answers.
    #[test]
    fn rule_set_equals_each_rule_alone(
        patterns in prop::collection::vec(pattern(), 1..8),
        events in prop::collection::vec(event(), 1..4),
    ) {
        let mut set = RuleSet::new();
        let mut alone = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if let Ok(p) = Pattern::parse(&p.to_string(), Dialect::EventBridge) {
                set.insert(i, p.clone());
                alone.push((i, p));
            }
        }
        for e in &events {
            let text = e.to_string();
            let mut want: Vec<usize> =
                alone.iter().filter(|(_, p)| p.matches(&text)).map(|(i, _)| *i).collect();
            want.sort();
            let mut got = set.matches(&text);
            got.sort();
            prop_assert_eq!(&got, &want, "event {}", text);
            let mut got = set.matches_value(e);
            got.sort();
            prop_assert_eq!(&got, &want, "event value {}", text);
        }
    }

    /// No text makes either parser, the matcher or TestEventPattern panic.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
        let _ = Pattern::parse(&s, Dialect::EventBridge);
        let _ = FilterPolicy::parse(&s, FilterPolicyScope::MessageAttributes);
        let _ = FilterPolicy::parse(&s, FilterPolicyScope::MessageBody);
        let _ = test_event_pattern(&s, &s);
        let p = Pattern::parse(r#"{"a":[{"prefix":"x"}]}"#, Dialect::EventBridge).unwrap();
        let _ = p.matches(&s);
        let mut set = RuleSet::new();
        set.insert(0, p);
        let _ = set.matches(&s);
    }

    /// JSON-shaped noise (the characters that matter to both readers) never panics.
    #[test]
    fn json_shaped_noise_never_panics(s in r#"[\[\]{}",:0-9a-z\\ .*$/eE+-]{0,120}"#) {
        let _ = Pattern::parse(&s, Dialect::EventBridge);
        let _ = FilterPolicy::parse(&s, FilterPolicyScope::MessageBody);
        let p = Pattern::parse(r#"{"a":["x"],"b":{"c":[{"exists":false}]}}"#, Dialect::EventBridge).unwrap();
        let mut set = RuleSet::new();
        set.insert(0, p.clone());
        let fast = set.matches(&s).len() == 1;
        // On valid JSON objects the fast reader and the reference agree.
        if serde_json::from_str::<serde_json::Map<String, Value>>(&s).is_ok() {
            prop_assert_eq!(fast, p.matches(&s));
        }
    }

    /// Mutations of valid patterns never panic the compiler.
    #[test]
    fn mutated_patterns_never_panic(p in pattern(), at in any::<prop::sample::Index>(), c in any::<char>()) {
        let mut s = p.to_string();
        let i = at.index(s.len() + 1);
        if s.is_char_boundary(i) {
            s.insert(i, c);
        }
        let _ = Pattern::parse(&s, Dialect::EventBridge);
        let _ = FilterPolicy::parse(&s, FilterPolicyScope::MessageBody);
    }

    /// Random CIDR operands and IP-shaped values never panic the compiler or the matcher.
    #[test]
    fn cidr_operands_never_panic(
        c in "[0-9a-fA-F:./+x-]{0,44}",
        v in "[0-9a-fA-F:.]{0,44}",
    ) {
        let p = format!(r#"{{"ip":[{{"cidr":{}}}, {}]}}"#, Value::String(c), Value::String(v.clone()));
        if let Ok(p) = Pattern::parse(&p, Dialect::EventBridge) {
            let _ = p.matches(&json!({ "ip": v }).to_string());
        }
    }

    /// Random wildcard operands either compile or are refused, and matching stays fast.
    #[test]
    fn wildcards_are_bounded(w in r"[a*\\]{0,60}", subject in "[ab*]{0,2000}") {
        let p = format!(r#"{{"f":[{{"wildcard":{}}}]}}"#, Value::String(w));
        if let Ok(p) = Pattern::parse(&p, Dialect::EventBridge) {
            let e = json!({ "f": subject }).to_string();
            let t = Instant::now();
            let _ = p.matches(&e);
            prop_assert!(t.elapsed() < Duration::from_millis(200));
        }
    }
}

#[test]
fn nasty_wildcards_finish_quickly() {
    let pattern = format!(r#"{{"f":[{{"wildcard":"{}b"}}]}}"#, "*a".repeat(40));
    let p = Pattern::parse(&pattern, Dialect::EventBridge).unwrap();
    let mut set = RuleSet::new();
    set.insert(0, p);
    let event = json!({ "f": "a".repeat(100_000) }).to_string();
    let t = Instant::now();
    for _ in 0..10 {
        assert!(set.matches(&event).is_empty());
    }
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200_000), "]".repeat(200_000));
    let p = Pattern::parse(r#"{"a":[1]}"#, Dialect::EventBridge).unwrap();
    assert!(!p.matches(&deep));
    let mut set = RuleSet::new();
    set.insert(0, p);
    assert!(set.matches(&deep).is_empty());
    let deep_pattern = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert!(Pattern::parse(&deep_pattern, Dialect::EventBridge).is_err());
}

#[test]
fn insert_replace_remove() {
    let p = |s: &str| Pattern::parse(s, Dialect::EventBridge).unwrap();
    let mut set = RuleSet::new();
    set.insert("r1", p(r#"{"a":["x"]}"#));
    set.insert("r2", p(r#"{"a":["y"]}"#));
    set.insert("r3", p(r#"{"a":[{"prefix":""}]}"#));
    let mut hits = set.matches(r#"{"a":"x"}"#);
    hits.sort();
    assert_eq!(hits, vec!["r1", "r3"]);
    assert!(set.insert("r1", p(r#"{"a":["z"]}"#)).is_some());
    assert_eq!(set.matches(r#"{"a":"x"}"#), vec!["r3"]);
    assert!(set.remove(&"r3").is_some());
    assert!(set.remove(&"r3").is_none());
    assert!(set.matches(r#"{"a":"x"}"#).is_empty());
    assert_eq!(set.matches(r#"{"a":"z"}"#), vec!["r1"]);
    assert_eq!(set.len(), 2);
    assert!(set.get(&"r2").is_some());
    assert!(set.matches("not json").is_empty());
}

#[test]
fn ten_thousand_rules_select_exactly() {
    let mut set = RuleSet::new();
    for i in 0..10_000 {
        let pat = match i % 5 {
            0 => format!(r#"{{"detail":{{"id":["v{i}"]}}}}"#),
            1 => format!(r#"{{"detail":{{"name":[{{"prefix":"n{i}-"}}]}}}}"#),
            2 => format!(
                r#"{{"detail":{{"n":[{{"numeric":[">=",{i},"<",{}]}}]}}}}"#,
                i + 1
            ),
            3 => format!(r#"{{"detail":{{"w":[{{"wildcard":"w{i}*z"}}]}}}}"#),
            _ => format!(r#"{{"$or":[{{"detail":{{"id":["o{i}"]}}}},{{"source":["s{i}"]}}]}}"#),
        };
        set.insert(i, Pattern::parse(&pat, Dialect::EventBridge).unwrap());
    }
    let hits = |e: Value| {
        let mut h = set.matches(&e.to_string());
        h.sort();
        h
    };
    assert_eq!(hits(json!({"detail": {"id": "v40"}})), vec![40]);
    assert_eq!(hits(json!({"detail": {"name": "n41-x"}})), vec![41]);
    assert_eq!(hits(json!({"detail": {"n": 42.5}})), vec![42]);
    assert_eq!(hits(json!({"detail": {"w": "w43abcz"}})), vec![43]);
    assert_eq!(hits(json!({"source": "s44"})), vec![44]);
    assert_eq!(hits(json!({"detail": {"id": "o49"}})), vec![49]);
    assert!(hits(json!({"detail": {"id": "v41"}})).is_empty());
}
