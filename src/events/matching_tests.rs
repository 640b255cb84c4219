//! Which rules and targets an event reaches: the per-bus compiled rule sets in step with
//! PutRule, Enable/DisableRule, DeleteRule, and rebuilt on start.

use super::tests::{ok, service};
use super::{Clock, Durable, Events, Matched};
use crate::storage::MemoryStore;
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test]
async fn matching_follows_rules_and_their_state() {
    let e = service();
    ok(&e, "CreateEventBus", json!({"Name": "m"})).await;
    let q = "arn:aws:sqs:us-east-1:000000000000:q";
    for (name, pattern) in [
        ("a-shop", r#"{"source":["shop"]}"#),
        ("b-big", r#"{"detail":{"total":[{"numeric":[">",100]}]}}"#),
        ("c-other", r#"{"source":["other"]}"#),
    ] {
        ok(
            &e,
            "PutRule",
            json!({"Name": name, "EventBusName": "m", "EventPattern": pattern}),
        )
        .await;
        ok(
            &e,
            "PutTargets",
            json!({"Rule": name, "EventBusName": "m", "Targets": [{"Id": "t", "Arn": q}]}),
        )
        .await;
    }
    let event = json!({"version": "0", "id": "1", "detail-type": "order", "source": "shop",
        "account": "000000000000", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
        "resources": [], "detail": {"total": 250}});
    let names = |m: Vec<Arc<Matched>>| m.iter().map(|x| x.rule_name.clone()).collect::<Vec<_>>();
    let m = e.matching("000000000000", "us-east-1", "m", &event, &event.to_string());
    assert_eq!(
        m[0].rule_arn,
        "arn:aws:events:us-east-1:000000000000:rule/m/a-shop"
    );
    assert_eq!(m[0].targets, vec![json!({"Id": "t", "Arn": q})]);
    assert_eq!(names(m), ["a-shop", "b-big"]);
    ok(
        &e,
        "DisableRule",
        json!({"Name": "a-shop", "EventBusName": "m"}),
    )
    .await;
    assert_eq!(
        names(e.matching("000000000000", "us-east-1", "m", &event, &event.to_string())),
        ["b-big"]
    );
    ok(
        &e,
        "EnableRule",
        json!({"Name": "a-shop", "EventBusName": "m"}),
    )
    .await;
    ok(
        &e,
        "PutRule",
        json!({"Name": "b-big", "EventBusName": "m", "EventPattern": r#"{"source":["nope"]}"#}),
    )
    .await;
    assert_eq!(
        names(e.matching("000000000000", "us-east-1", "m", &event, &event.to_string())),
        ["a-shop"]
    );
    // Other buses, accounts and unknown buses match nothing.
    assert!(
        e.matching(
            "000000000000",
            "us-east-1",
            "default",
            &event,
            &event.to_string()
        )
        .is_empty()
    );
    assert!(
        e.matching("111111111111", "us-east-1", "m", &event, &event.to_string())
            .is_empty()
    );
    assert!(
        e.matching(
            "000000000000",
            "us-east-1",
            "nobus",
            &event,
            &event.to_string()
        )
        .is_empty()
    );
    ok(
        &e,
        "RemoveTargets",
        json!({"Rule": "a-shop", "EventBusName": "m", "Ids": ["t"]}),
    )
    .await;
    ok(
        &e,
        "DeleteRule",
        json!({"Name": "a-shop", "EventBusName": "m"}),
    )
    .await;
    assert!(
        e.matching("000000000000", "us-east-1", "m", &event, &event.to_string())
            .is_empty()
    );
}

#[tokio::test]
async fn matching_is_rebuilt_from_the_store() {
    let store: Arc<dyn crate::storage::Store> = Arc::new(MemoryStore::default());
    let e = Events::open(
        Arc::new(Durable::new(
            store.clone(),
            store.clone(),
            crate::storage::SyncPolicy::default(),
        )),
        Clock::new(),
    )
    .unwrap();
    ok(
        &e,
        "PutRule",
        json!({"Name": "r", "EventPattern": r#"{"source":["s"]}"#}),
    )
    .await;
    ok(
        &e,
        "PutRule",
        json!({"Name": "off", "EventPattern": r#"{"source":["s"]}"#, "State": "DISABLED"}),
    )
    .await;
    let again = Events::open(
        Arc::new(Durable::new(
            store.clone(),
            store,
            crate::storage::SyncPolicy::default(),
        )),
        Clock::new(),
    )
    .unwrap();
    let event = json!({"source": "s", "detail-type": "d", "detail": {}});
    let m = again.matching(
        "000000000000",
        "us-east-1",
        "default",
        &event,
        &event.to_string(),
    );
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].rule_arn,
        "arn:aws:events:us-east-1:000000000000:rule/r"
    );
}

/// What routing reads from a rule is kept beside it, and every change to the rule's targets
/// or pattern is seen by the next event.
#[tokio::test]
async fn kept_routing_follows_target_changes() {
    let e = service();
    ok(
        &e,
        "PutRule",
        json!({"Name": "r", "EventPattern": r#"{"source":["s"]}"#}),
    )
    .await;
    let event = json!({"source": "s", "detail-type": "d", "detail": {}});
    let text = event.to_string();
    let matched = |e: &Events| e.matching("000000000000", "us-east-1", "default", &event, &text);
    assert_eq!(matched(&e)[0].targets, Vec::<Value>::new());
    let q = "arn:aws:sqs:us-east-1:000000000000:q";
    let put =
        |input: &str| json!({"Rule": "r", "Targets": [{"Id": "t", "Arn": q, "Input": input}]});
    ok(&e, "PutTargets", put("{\"a\":1}")).await;
    let m = matched(&e);
    assert_eq!(m[0].targets[0]["Input"], "{\"a\":1}");
    assert_eq!(m[0].plans.len(), 1);
    ok(&e, "PutTargets", put("{\"a\":2}")).await;
    let m = matched(&e);
    assert_eq!(m[0].targets[0]["Input"], "{\"a\":2}");
    // Unchanged, the rule's routing is read once and shared.
    assert!(Arc::ptr_eq(&m[0], &matched(&e)[0]));
    ok(&e, "RemoveTargets", json!({"Rule": "r", "Ids": ["t"]})).await;
    let m = matched(&e);
    assert!(m[0].targets.is_empty() && m[0].plans.is_empty());
    ok(
        &e,
        "PutRule",
        json!({"Name": "r", "EventPattern": r#"{"source":["other"]}"#}),
    )
    .await;
    assert!(matched(&e).is_empty());
}
