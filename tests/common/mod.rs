//! Helpers shared by the in-process test files: drive the SQS service directly, no HTTP.

#![allow(dead_code)]

use ferry::caller::Caller;
use ferry::error::ApiError;
use ferry::protocol::Params;
use ferry::{App, Config};
use serde_json::{Value, json};
use std::sync::Arc;

/// A fresh in-memory ferry.
pub fn app() -> Arc<App> {
    App::open(Config::in_memory()).unwrap()
}

/// The default caller: account 000000000000 in us-east-1.
pub fn caller() -> Caller {
    Caller::local("000000000000", "us-east-1")
}

pub async fn call(app: &App, action: &str, input: Value) -> Result<Value, ApiError> {
    app.sqs
        .call(action, &caller(), Params::from_value(input).unwrap())
        .await
}

/// Calls an action that must succeed.
pub async fn ok(app: &App, action: &str, input: Value) -> Value {
    call(app, action, input)
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// Calls an action that must fail.
pub async fn err(app: &App, action: &str, input: Value) -> ApiError {
    match call(app, action, input).await {
        Ok(v) => panic!("{action} succeeded: {v}"),
        Err(e) => e,
    }
}

/// Creates a queue and returns its URL.
pub async fn queue(app: &App, name: &str, attrs: Value) -> String {
    let out = ok(
        app,
        "CreateQueue",
        json!({"QueueName": name, "Attributes": attrs}),
    )
    .await;
    out["QueueUrl"].as_str().unwrap().to_string()
}

/// ReceiveMessage of up to 10 messages, with `extra` parameters merged in; the messages.
pub async fn receive(app: &App, url: &str, extra: Value) -> Vec<Value> {
    let mut input = json!({"QueueUrl": url, "MaxNumberOfMessages": 10});
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    ok(app, "ReceiveMessage", input)
        .await
        .get("Messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}
