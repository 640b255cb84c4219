//! The answers on every message's path are typed (`protocol::Output::Typed`): awsJson writes them
//! straight from their fields, the other protocols render their value. Both must say the same.

mod common;
use common::*;
use ferry::protocol::json::to_vec;
use ferry::protocol::{Output, Params};
use serde_json::{Value, json};

/// Runs an action through the typed path; asserts that its JSON bytes are those of its value,
/// and returns the value.
async fn typed(app: &ferry::App, action: &str, input: Value) -> Value {
    let out = app
        .sqs
        .answer(action, &caller(), Params::from_value(input).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    let Output::Typed(t) = out else {
        panic!("{action} did not answer typed");
    };
    let (bytes, value) = (t.json(), t.value());
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        String::from_utf8(to_vec(&value)).unwrap(),
        "{action}"
    );
    value
}

#[tokio::test]
async fn typed_answers_write_the_json_of_their_value() {
    let app = app();
    let url = queue(&app, "typed", json!({})).await;
    // Every kind of character a body may hold, escaped and not.
    let body = "quote \" backslash \\ tab \t line \n return \r é ü 😀 end";
    let attrs = json!({
        "Text": {"DataType": "String", "StringValue": "a \"b\""},
        "Bin": {"DataType": "Binary", "BinaryValue": "AAEC"},
        "Num": {"DataType": "Number.int", "StringValue": "12"},
    });
    let sent = typed(
        &app,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": body, "MessageAttributes": attrs,
               "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}}}),
    )
    .await;
    for name in [
        "MessageId",
        "MD5OfMessageBody",
        "MD5OfMessageAttributes",
        "MD5OfMessageSystemAttributes",
    ] {
        assert!(sent[name].is_string(), "{name} in {sent}");
    }
    let batch = typed(
        &app,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": [
            {"Id": "a", "MessageBody": "x".repeat(300)},
            {"Id": "b", "MessageBody": "bad \u{0} body"},
        ]}),
    )
    .await;
    assert_eq!(batch["Successful"][0]["Id"], "a");
    assert_eq!(batch["Failed"][0]["Id"], "b");
    assert_eq!(batch["Failed"][0]["SenderFault"], true);
    assert_eq!(batch["Failed"][0]["Code"], "InvalidMessageContents");

    let got = typed(
        &app,
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "AttributeNames": ["All"],
               "MessageAttributeNames": ["All"]}),
    )
    .await;
    let messages = got["Messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let first = messages.iter().find(|m| m["Body"] == body).unwrap();
    assert_eq!(first["MessageId"], sent["MessageId"]);
    assert_eq!(
        first["MD5OfMessageAttributes"],
        sent["MD5OfMessageAttributes"]
    );
    assert_eq!(first["MessageAttributes"]["Bin"]["BinaryValue"], "AAEC");
    assert_eq!(first["Attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(
        first["Attributes"]["AWSTraceHeader"],
        "Root=1-5759e988-bd862e3fe1be46a994272793"
    );
    let handle = |i: usize| messages[i]["ReceiptHandle"].as_str().unwrap().to_string();

    let changed = typed(
        &app,
        "ChangeMessageVisibilityBatch",
        json!({"QueueUrl": url, "Entries": [
            {"Id": "c", "ReceiptHandle": handle(0), "VisibilityTimeout": 60},
            {"Id": "d", "ReceiptHandle": "not-a-handle", "VisibilityTimeout": 60},
        ]}),
    )
    .await;
    assert_eq!(changed["Successful"], json!([{"Id": "c"}]));
    assert_eq!(changed["Failed"][0]["Code"], "ReceiptHandleIsInvalid");

    let deleted = typed(
        &app,
        "DeleteMessageBatch",
        json!({"QueueUrl": url, "Entries": [
            {"Id": "e", "ReceiptHandle": handle(0)},
            {"Id": "f", "ReceiptHandle": handle(1)},
            {"Id": "g", "ReceiptHandle": "not-a-handle"},
        ]}),
    )
    .await;
    assert_eq!(deleted["Successful"], json!([{"Id": "e"}, {"Id": "f"}]));
    assert_eq!(deleted["Failed"][0]["Id"], "g");
    assert_eq!(deleted["Failed"][0]["SenderFault"], true);
}
