//! Which rules and targets an event reaches: the per-bus compiled rule sets in step with
//! PutRule, Enable/DisableRule, DeleteRule, and rebuilt on start.

use super::tests::{ok, service};
use super::{Clock, Durable, Events, Matched};
use crate::storage::MemoryStore;
use serde_json::json;
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
    let names = |m: Vec<Matched>| m.into_iter().map(|x| x.rule_name).collect::<Vec<_>>();
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
