//! SNS through the AWS SDK for Rust: topics and their attributes, queues subscribed raw and
//! enveloped (with the MD5s the SDK's SQS client checks, and the attribute MD5 checked here),
//! filter policies on attributes and on the body, Publish and PublishBatch, FIFO fan-out order and
//! deduplication, subscription attributes, and AWS's error codes.
//!
//! Needs a running ferry: `FERRY_ENDPOINT=http://127.0.0.1:4566 cargo test --release`. Shared helpers
//! live in tests/common.

mod common;
use common::*;

use std::time::{Duration, Instant};

use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::primitives::Blob;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry, Tag};
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

async fn sns() -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(&sdk_config().await)
}

fn attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

/// Deletes the topics it holds when dropped (best effort, on a fresh runtime thread).
struct Topics(Vec<String>);

impl Drop for Topics {
    fn drop(&mut self) {
        let arns = std::mem::take(&mut self.0);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let client = sns().await;
                for arn in arns {
                    let _ = client.delete_topic().topic_arn(arn).send().await;
                }
            });
        })
        .join();
    }
}

async fn topic(
    client: &aws_sdk_sns::Client,
    topics: &mut Topics,
    name: &str,
    attrs: &[(&str, &str)],
) -> String {
    let mut req = client.create_topic().name(name);
    for (k, v) in attrs {
        req = req.attributes(*k, *v);
    }
    let arn = req
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn()
        .unwrap()
        .to_string();
    topics.0.push(arn.clone());
    arn
}

/// Subscribes the queue `name` to `topic_arn` with `attrs`; the subscription ARN.
async fn subscribe_queue(
    client: &aws_sdk_sns::Client,
    topic_arn: &str,
    name: &str,
    attrs: &[(&str, &str)],
) -> String {
    let mut req = client
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn(name))
        .return_subscription_arn(true);
    for (k, v) in attrs {
        req = req.attributes(*k, *v);
    }
    req.send()
        .await
        .expect("Subscribe")
        .subscription_arn()
        .unwrap()
        .to_string()
}

/// Receives and deletes until `want` messages arrived or 10 s passed.
async fn drain(client: &aws_sdk_sqs::Client, url: &str, want: usize) -> Vec<Message> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < want && start.elapsed() < Duration::from_secs(10) {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("ReceiveMessage");
        for m in out.messages.unwrap_or_default() {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .expect("DeleteMessage");
            got.push(m);
        }
    }
    got
}

/// One more short receive finds nothing.
async fn assert_empty(client: &aws_sdk_sqs::Client, url: &str) {
    let out = client
        .receive_message()
        .queue_url(url)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("ReceiveMessage");
    assert!(
        out.messages.unwrap_or_default().is_empty(),
        "nothing more may arrive"
    );
}

#[tokio::test]
async fn topics_attributes_tags_and_errors() {
    let client = sns().await;
    let mut topics = Topics(vec![]);
    let name = unique("topic");
    let arn = topic(&client, &mut topics, &name, &[("DisplayName", "first")]).await;
    assert_eq!(arn, format!("arn:aws:sns:{REGION}:{ACCOUNT}:{name}"));
    // CreateTopic is idempotent with the same attributes, refused with different ones.
    assert_eq!(
        topic(&client, &mut topics, &name, &[("DisplayName", "first")]).await,
        arn
    );
    let err = client
        .create_topic()
        .name(&name)
        .attributes("DisplayName", "other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));

    client
        .set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("DisplayName")
        .attribute_value("renamed")
        .send()
        .await
        .expect("SetTopicAttributes");
    let attrs = client
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .expect("GetTopicAttributes")
        .attributes
        .unwrap();
    assert_eq!(attrs["DisplayName"], "renamed");
    assert_eq!(attrs["TopicArn"], arn);
    assert_eq!(attrs["Owner"], ACCOUNT);
    assert!(
        attrs["Policy"].contains("SNS:Publish"),
        "{}",
        attrs["Policy"]
    );

    client
        .tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("team").value("ferry").build().unwrap())
        .send()
        .await
        .expect("TagResource");
    let tags = client
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tags.tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        vec![("team", "ferry")]
    );

    let missing = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{}", unique("missing"));
    let err = client
        .get_topic_attributes()
        .topic_arn(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.message()),
        (Some("NotFound"), Some("Topic does not exist"))
    );
    let err = client
        .publish()
        .topic_arn(&missing)
        .message("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFound"));
    let err = client
        .create_topic()
        .name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
    let err = client
        .subscribe()
        .topic_arn(&arn)
        .protocol("carrier-pigeon")
        .endpoint("coop")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
}

#[tokio::test]
async fn queues_get_raw_and_enveloped_messages_with_their_md5s() {
    let client = sns().await;
    let sqs = sqs().await;
    let mut topics = Topics(vec![]);
    let mut cleanup = Cleanup(vec![]);
    let arn = topic(&client, &mut topics, &unique("fan"), &[]).await;
    let (raw_name, env_name) = (unique("raw"), unique("env"));
    let raw_url = create_queue(&sqs, &mut cleanup, &raw_name, &[]).await;
    let env_url = create_queue(&sqs, &mut cleanup, &env_name, &[]).await;
    let raw_sub =
        subscribe_queue(&client, &arn, &raw_name, &[("RawMessageDelivery", "true")]).await;
    subscribe_queue(&client, &arn, &env_name, &[]).await;

    let body = "héllo from the Rust SDK";
    let published = client
        .publish()
        .topic_arn(&arn)
        .message(body)
        .subject("greeting")
        .message_attributes("color", attr("String", "red"))
        .message_attributes("price", attr("Number", "9.5"))
        .message_attributes(
            "blob",
            MessageAttributeValue::builder()
                .data_type("Binary")
                .binary_value(Blob::new(vec![0u8, 1, 2, 255]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("Publish");
    let message_id = published.message_id().unwrap().to_string();

    // Raw: the body is the message; SNS attributes become SQS attributes, MD5s as SQS computes.
    let [raw] = <[Message; 1]>::try_from(drain(&sqs, &raw_url, 1).await).unwrap();
    assert_eq!(raw.body(), Some(body));
    assert_eq!(raw.md5_of_body(), Some(md5_hex(body.as_bytes()).as_str()));
    let attrs = raw.message_attributes().unwrap();
    assert_eq!(attrs["color"].string_value(), Some("red"));
    assert_eq!(attrs["price"].data_type(), "Number");
    assert_eq!(
        attrs["blob"].binary_value().unwrap().as_ref(),
        &[0u8, 1, 2, 255]
    );
    assert_eq!(
        raw.md5_of_message_attributes(),
        Some(md5_of_attributes(attrs).as_str())
    );
    assert_ne!(
        raw.message_id(),
        Some(message_id.as_str()),
        "SQS gives its own message id"
    );

    // Enveloped: the JSON envelope, attributes inside it and none on the SQS message.
    let [env] = <[Message; 1]>::try_from(drain(&sqs, &env_url, 1).await).unwrap();
    assert_eq!(
        env.md5_of_body(),
        Some(md5_hex(env.body().unwrap().as_bytes()).as_str())
    );
    assert!(env.message_attributes().is_none());
    assert!(env.md5_of_message_attributes().is_none());
    let e: Value = serde_json::from_str(env.body().unwrap()).unwrap();
    assert_eq!(e["Type"], "Notification");
    assert_eq!(e["MessageId"], message_id.as_str());
    assert_eq!(e["TopicArn"], arn.as_str());
    assert_eq!(e["Subject"], "greeting");
    assert_eq!(e["Message"], body);
    assert_eq!(e["SignatureVersion"], "1");
    assert_eq!(
        e["MessageAttributes"]["color"],
        serde_json::json!({"Type": "String", "Value": "red"})
    );
    assert_eq!(e["MessageAttributes"]["blob"]["Value"], "AAEC/w==");

    // Subscription attributes read back and changed through the SDK.
    let sub_attrs = client
        .get_subscription_attributes()
        .subscription_arn(&raw_sub)
        .send()
        .await
        .expect("GetSubscriptionAttributes")
        .attributes
        .unwrap();
    assert_eq!(sub_attrs["RawMessageDelivery"], "true");
    assert_eq!(sub_attrs["Protocol"], "sqs");
    assert_eq!(sub_attrs["PendingConfirmation"], "false");
    client
        .set_subscription_attributes()
        .subscription_arn(&raw_sub)
        .attribute_name("RawMessageDelivery")
        .attribute_value("false")
        .send()
        .await
        .expect("SetSubscriptionAttributes");
    client
        .publish()
        .topic_arn(&arn)
        .message("now enveloped")
        .send()
        .await
        .unwrap();
    let [now] = <[Message; 1]>::try_from(drain(&sqs, &raw_url, 1).await).unwrap();
    let e: Value = serde_json::from_str(now.body().unwrap()).unwrap();
    assert_eq!(e["Message"], "now enveloped");
    let listed = client
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .send()
        .await
        .expect("ListSubscriptionsByTopic");
    assert_eq!(listed.subscriptions().len(), 2);
}

#[tokio::test]
async fn filter_policies_on_attributes_and_on_the_body() {
    let client = sns().await;
    let sqs = sqs().await;
    let mut topics = Topics(vec![]);
    let mut cleanup = Cleanup(vec![]);
    let arn = topic(&client, &mut topics, &unique("filter"), &[]).await;
    let (by_attr, by_body) = (unique("attr"), unique("body"));
    let attr_url = create_queue(&sqs, &mut cleanup, &by_attr, &[]).await;
    let body_url = create_queue(&sqs, &mut cleanup, &by_body, &[]).await;
    subscribe_queue(
        &client,
        &arn,
        &by_attr,
        &[
            ("RawMessageDelivery", "true"),
            (
                "FilterPolicy",
                r#"{"color": ["red", {"prefix": "bl"}], "price": [{"numeric": [">", 10]}]}"#,
            ),
        ],
    )
    .await;
    subscribe_queue(
        &client,
        &arn,
        &by_body,
        &[
            ("RawMessageDelivery", "true"),
            ("FilterPolicyScope", "MessageBody"),
            (
                "FilterPolicy",
                r#"{"order": {"kind": [{"anything-but": "test"}]}}"#,
            ),
        ],
    )
    .await;
    for (body, color, price) in [
        (r#"{"order": {"kind": "real"}}"#, "red", "11"),
        (r#"{"order": {"kind": "test"}}"#, "blue", "20"),
        ("not json", "green", "50"),
        (r#"{"order": {"kind": "real"}}"#, "red", "5"),
    ] {
        client
            .publish()
            .topic_arn(&arn)
            .message(body)
            .message_attributes("color", attr("String", color))
            .message_attributes("price", attr("Number", price))
            .send()
            .await
            .expect("Publish");
    }
    let by_attr: Vec<String> = drain(&sqs, &attr_url, 2)
        .await
        .iter()
        .map(|m| {
            m.message_attributes().unwrap()["color"]
                .string_value()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut by_attr = by_attr;
    by_attr.sort();
    assert_eq!(by_attr, vec!["blue", "red"]);
    let by_body = drain(&sqs, &body_url, 2).await;
    assert_eq!(by_body.len(), 2, "the two real orders");
    assert!(by_body
        .iter()
        .all(|m| m.body() == Some(r#"{"order": {"kind": "real"}}"#)));
    assert_empty(&sqs, &attr_url).await;
    assert_empty(&sqs, &body_url).await;

    let err = client
        .subscribe()
        .topic_arn(&arn)
        .protocol("sqs")
        .endpoint(queue_arn(&unique("x")))
        .attributes("FilterPolicy", r#"{"color": "red"}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
}

#[tokio::test]
async fn publish_batch_answers_per_entry() {
    let client = sns().await;
    let sqs = sqs().await;
    let mut topics = Topics(vec![]);
    let mut cleanup = Cleanup(vec![]);
    let arn = topic(&client, &mut topics, &unique("batch"), &[]).await;
    let name = unique("batchq");
    let url = create_queue(&sqs, &mut cleanup, &name, &[]).await;
    subscribe_queue(&client, &arn, &name, &[("RawMessageDelivery", "true")]).await;
    let entry = |id: &str, body: &str| {
        PublishBatchRequestEntry::builder()
            .id(id)
            .message(body)
            .build()
            .unwrap()
    };
    let out = client
        .publish_batch()
        .topic_arn(&arn)
        .publish_batch_request_entries(entry("a", "one"))
        .publish_batch_request_entries(entry("b", "two"))
        .publish_batch_request_entries(entry("c", "three"))
        .send()
        .await
        .expect("PublishBatch");
    let mut ids: Vec<&str> = out.successful().iter().map(|e| e.id().unwrap()).collect();
    ids.sort();
    assert_eq!(ids, vec!["a", "b", "c"]);
    assert!(out.failed().is_empty());
    assert!(out
        .successful()
        .iter()
        .all(|e| e.message_id().is_some() && e.sequence_number().is_none()));
    let mut bodies: Vec<String> = drain(&sqs, &url, 3)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, vec!["one", "three", "two"]);

    let err = client
        .publish_batch()
        .topic_arn(&arn)
        .publish_batch_request_entries(entry("same", "x"))
        .publish_batch_request_entries(entry("same", "y"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("BatchEntryIdsNotDistinct"));
    let mut too_many = client.publish_batch().topic_arn(&arn);
    for i in 0..11 {
        too_many = too_many.publish_batch_request_entries(entry(&format!("e{i}"), "x"));
    }
    assert_eq!(
        too_many.send().await.unwrap_err().code(),
        Some("TooManyEntriesInBatchRequest")
    );
}

#[tokio::test]
async fn fifo_topics_fan_out_in_order_and_deduplicate() {
    let client = sns().await;
    let sqs = sqs().await;
    let mut topics = Topics(vec![]);
    let mut cleanup = Cleanup(vec![]);
    let arn = topic(
        &client,
        &mut topics,
        &format!("{}.fifo", unique("ordered")),
        &[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")],
    )
    .await;
    let name = format!("{}.fifo", unique("orderq"));
    let url = create_queue(
        &sqs,
        &mut cleanup,
        &name,
        &[(QueueAttributeName::FifoQueue, "true")],
    )
    .await;
    subscribe_queue(&client, &arn, &name, &[("RawMessageDelivery", "true")]).await;

    let mut sequences = Vec::new();
    for i in 0..5 {
        let out = client
            .publish()
            .topic_arn(&arn)
            .message(format!("m{i}"))
            .message_group_id("g")
            .send()
            .await
            .expect("Publish");
        sequences.push(out.sequence_number().expect("SequenceNumber").to_string());
    }
    let mut batch = client.publish_batch().topic_arn(&arn);
    for i in 5..10 {
        batch = batch.publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message(format!("m{i}"))
                .message_group_id("g")
                .build()
                .unwrap(),
        );
    }
    let out = batch.send().await.expect("PublishBatch");
    sequences.extend(
        out.successful()
            .iter()
            .map(|e| e.sequence_number().unwrap().to_string()),
    );
    let numbers: Vec<u128> = sequences.iter().map(|s| s.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    // A repeat of the same content is deduplicated at the topic: same answer, nothing delivered.
    let first = client
        .publish()
        .topic_arn(&arn)
        .message("m0")
        .message_group_id("g")
        .send()
        .await
        .unwrap();
    assert_eq!(first.sequence_number(), Some(sequences[0].as_str()));

    let got = drain(&sqs, &url, 10).await;
    let bodies: Vec<&str> = got.iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(bodies, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
    let attrs = got[0].attributes().unwrap();
    assert_eq!(attrs[&MessageSystemAttributeName::MessageGroupId], "g");
    assert!(attrs.contains_key(&MessageSystemAttributeName::MessageDeduplicationId));
    assert_empty(&sqs, &url).await;

    let err = client
        .publish()
        .topic_arn(&arn)
        .message("no group")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameter"));
}
