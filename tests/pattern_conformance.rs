//! Every EventBridge TestEventPattern case recorded against AWS must come out the same here.
//!
//! The cases live in `tests/data/event-patterns.json` (see `tests/data/README.md`); each
//! has a pattern, an event and the outcome AWS gave: `match`, `no-match`, or `error` with the
//! error code and the first line of AWS's message. Match outcomes are also checked through a
//! compiled `RuleSet`, so the shared structure is held to the same record.

use std::path::Path;

use ferry::pattern::{Dialect, Pattern, RuleSet, test_event_pattern};

fn cases() -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/event-patterns.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the conformance file {} is missing or unreadable ({e}); it holds the cases recorded against AWS and must be present",
            path.display()
        )
    });
    let doc: serde_json::Value = serde_json::from_str(&text).expect("conformance file is JSON");
    let cases = doc["cases"]
        .as_array()
        .expect("conformance file has a \"cases\" array")
        .clone();
    assert!(!cases.is_empty(), "conformance file has no cases");
    cases
}

#[test]
fn every_recorded_case_agrees_with_aws() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let pattern = case["pattern"].to_string();
        let event = case["event"].to_string();
        let got = test_event_pattern(&pattern, &event);
        let ok = match case["expect"].as_str() {
            Some("match") => got == Ok(true),
            Some("no-match") => got == Ok(false),
            Some("error") => match &got {
                Err(e) => {
                    let want_msg = case["error_message"].as_str().unwrap_or("");
                    let first = e.message.lines().next().unwrap_or("");
                    Some(e.code) == case["error_code"].as_str()
                        && first == want_msg.lines().next().unwrap_or("")
                }
                Ok(_) => false,
            },
            other => panic!("case {name}: unknown expectation {other:?}"),
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {} {} {}, got {got:?}",
                case["expect"], case["error_code"], case["error_message"]
            ));
        }
    }
    eprintln!(
        "conformance: {}/{} cases agree with AWS",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "disagreements with AWS:\n{}",
        failures.join("\n")
    );
}

#[test]
fn rule_set_agrees_on_every_matching_case() {
    let mut set = RuleSet::new();
    let mut expected = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().unwrap_or("?").to_string();
        let want = match case["expect"].as_str() {
            Some("match") => true,
            Some("no-match") => false,
            _ => continue,
        };
        let pattern = Pattern::parse(&case["pattern"].to_string(), Dialect::EventBridge)
            .unwrap_or_else(|e| panic!("case {name}: {e}"));
        set.insert(name.clone(), pattern);
        expected.push((name, case["event"].to_string(), want));
    }
    // All rules share one structure; each event must select its own rule exactly as recorded.
    for (name, event, want) in &expected {
        let hits = set.matches(event);
        assert_eq!(
            hits.contains(name),
            *want,
            "case {name} through the rule set"
        );
        let value: serde_json::Value = serde_json::from_str(event).unwrap();
        assert_eq!(
            set.matches_value(&value).contains(name),
            *want,
            "case {name} (value)"
        );
    }
}
