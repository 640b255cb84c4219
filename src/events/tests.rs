//! The service over a memory store: every action family, AWS's recorded answers.

use super::*;
use crate::storage::MemoryStore;

fn service() -> Arc<Events> {
    let durable = Arc::new(Durable::new(Arc::new(MemoryStore::default())));
    Events::open(durable, Clock::new()).unwrap()
}

fn caller() -> Caller {
    Caller::local("000000000000", "us-east-1")
}

async fn ok(e: &Events, action: &str, v: Value) -> Value {
    e.call(action, &caller(), Params::from_value(v).unwrap())
        .await
        .unwrap_or_else(|err| panic!("{action}: {err}"))
}

async fn err(e: &Events, action: &str, v: Value) -> ApiError {
    e.call(action, &caller(), Params::from_value(v).unwrap())
        .await
        .expect_err(action)
}

#[tokio::test]
async fn test_event_pattern_still_answers() {
    let e = service();
    let event = r#"{"id":"1","source":"s","detail-type":"d","account":"123456789012","region":"us-east-1","time":"2022-07-13T13:48:01Z","resources":[],"detail":{"n":5}}"#;
    let r = ok(
        &e,
        "TestEventPattern",
        json!({"EventPattern": r#"{"source":["s"]}"#, "Event": event}),
    )
    .await;
    assert_eq!(r, json!({"Result": true}));
    let x = err(
        &e,
        "TestEventPattern",
        json!({"EventPattern": r#"{"source":[]}"#, "Event": event}),
    )
    .await;
    assert_eq!(x.code, ErrorCode::InvalidEventPatternException);
    assert_eq!(
        err(&e, "PutEvents", json!({})).await.code,
        ErrorCode::UnknownOperation
    );
}
