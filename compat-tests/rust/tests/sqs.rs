//! ferry compatibility tests with the AWS SDK for Rust (SQS over awsJson1.0, STS over awsQuery).
//!
//! They need a running ferry: `FERRY_ENDPOINT=http://127.0.0.1:4566 cargo test --release`.
//! Every test makes its own uniquely named queues, so the tests run in parallel and can share
//! one server with other suites.
//!
//! The Rust SDK does not verify MD5OfBody / MD5OfMessageAttributes itself (unlike the Java and
//! .NET SDKs), so these tests compute both and compare.

mod common;
use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};

fn string_attr(data_type: &str, value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .unwrap()
}

#[tokio::test]
async fn queue_lifecycle_and_queue_does_not_exist() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let prefix = unique("life");
    let a = format!("{prefix}-a");
    let b = format!("{prefix}-b");
    let url_a = create_queue(&client, &mut cleanup, &a, &[]).await;
    let url_b = create_queue(&client, &mut cleanup, &b, &[]).await;
    assert_eq!(
        url_a,
        queue_url(&a),
        "queue URL is http://{{Host}}/{{account}}/{{name}}"
    );

    // Idempotent create with identical attributes.
    let again = client.create_queue().queue_name(&a).send().await.unwrap();
    assert_eq!(again.queue_url(), Some(url_a.as_str()));

    let got = client.get_queue_url().queue_name(&b).send().await.unwrap();
    assert_eq!(got.queue_url(), Some(url_b.as_str()));

    let listed = client
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    let mut urls = listed.queue_urls().to_vec();
    urls.sort();
    assert_eq!(urls, vec![url_a.clone(), url_b.clone()]);

    client
        .delete_queue()
        .queue_url(&url_a)
        .send()
        .await
        .unwrap();

    let err = client
        .get_queue_url()
        .queue_name(&a)
        .send()
        .await
        .expect_err("deleted queue");
    let err = err.into_service_error();
    assert!(
        err.is_queue_does_not_exist(),
        "expected QueueDoesNotExist, got {err:?}"
    );
    assert_eq!(err.code(), Some("AWS.SimpleQueueService.NonExistentQueue"));

    let err = client
        .send_message()
        .queue_url(&url_a)
        .message_body("x")
        .send()
        .await
        .expect_err("send to deleted queue")
        .into_service_error();
    assert!(
        err.is_queue_does_not_exist(),
        "expected QueueDoesNotExist, got {err:?}"
    );

    let listed = client
        .list_queues()
        .queue_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.queue_urls(), &[url_b.clone()]);

    // A different attribute value for an existing name is QueueNameExists.
    let err = client
        .create_queue()
        .queue_name(&b)
        .attributes(QueueAttributeName::VisibilityTimeout, "31")
        .send()
        .await
        .expect_err("conflicting attributes")
        .into_service_error();
    assert!(
        err.is_queue_name_exists(),
        "expected QueueNameExists, got {err:?}"
    );
}

#[tokio::test]
async fn queue_attributes_and_invalid_attribute_value() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let name = unique("attrs");
    let url = create_queue(
        &client,
        &mut cleanup,
        &name,
        &[
            (QueueAttributeName::VisibilityTimeout, "45"),
            (QueueAttributeName::DelaySeconds, "2"),
        ],
    )
    .await;

    let a = all_attributes(&client, &url).await;
    let get = |k: QueueAttributeName| a.get(&k).map(String::as_str);
    assert_eq!(
        get(QueueAttributeName::QueueArn),
        Some(queue_arn(&name).as_str())
    );
    assert_eq!(get(QueueAttributeName::VisibilityTimeout), Some("45"));
    assert_eq!(get(QueueAttributeName::DelaySeconds), Some("2"));
    assert_eq!(
        get(QueueAttributeName::MessageRetentionPeriod),
        Some("345600")
    );
    assert_eq!(get(QueueAttributeName::MaximumMessageSize), Some("1048576"));
    assert_eq!(
        get(QueueAttributeName::ReceiveMessageWaitTimeSeconds),
        Some("0")
    );
    assert_eq!(
        get(QueueAttributeName::ApproximateNumberOfMessages),
        Some("0")
    );
    let created: u64 = get(QueueAttributeName::CreatedTimestamp)
        .unwrap()
        .parse()
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        created.abs_diff(now) < 300,
        "CreatedTimestamp is epoch seconds, about now"
    );

    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "60")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "3")
        .send()
        .await
        .unwrap();
    let out = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::ReceiveMessageWaitTimeSeconds)
        .send()
        .await
        .unwrap();
    let a = out.attributes().unwrap();
    assert_eq!(a.len(), 2, "only the requested attributes come back: {a:?}");
    assert_eq!(a[&QueueAttributeName::VisibilityTimeout], "60");
    assert_eq!(a[&QueueAttributeName::ReceiveMessageWaitTimeSeconds], "3");

    let err = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "43201")
        .send()
        .await
        .expect_err("VisibilityTimeout above 12 h")
        .into_service_error();
    assert!(
        err.is_invalid_attribute_value(),
        "expected InvalidAttributeValue, got {err:?}"
    );

    let err = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::MaximumMessageSize, "1048577")
        .send()
        .await
        .expect_err("MaximumMessageSize above 1 MiB")
        .into_service_error();
    assert!(
        err.is_invalid_attribute_value(),
        "expected InvalidAttributeValue, got {err:?}"
    );
}

#[tokio::test]
async fn tags() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let out = client
        .create_queue()
        .queue_name(unique("tags"))
        .tags("team", "core")
        .send()
        .await
        .unwrap();
    let url = out.queue_url().unwrap().to_string();
    cleanup.0.push(url.clone());

    client
        .tag_queue()
        .queue_url(&url)
        .tags("env", "dev")
        .tags("team", "edge")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let expected: HashMap<String, String> = [("team", "edge"), ("env", "dev")]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(tags.tags(), Some(&expected));

    client
        .untag_queue()
        .queue_url(&url)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let expected: HashMap<String, String> = [("env".to_string(), "dev".to_string())]
        .into_iter()
        .collect();
    assert_eq!(tags.tags(), Some(&expected));
}

#[tokio::test]
async fn send_receive_delete_with_attributes_and_md5s() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("msg"), &[]).await;

    let body = "héllo ferry ✓ 🚀 <xml> & \"json\"";
    let mut attrs = HashMap::new();
    attrs.insert("Str".to_string(), string_attr("String", "välue"));
    attrs.insert("Num".to_string(), string_attr("Number", "-12.50"));
    attrs.insert(
        "Bin".to_string(),
        MessageAttributeValue::builder()
            .data_type("Binary")
            .binary_value(Blob::new(vec![0u8, 1, 2, 254, 255]))
            .build()
            .unwrap(),
    );
    attrs.insert("Custom".to_string(), string_attr("Number.int", "7"));

    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .set_message_attributes(Some(attrs.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(body.as_bytes()).as_str())
    );
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some(md5_of_attributes(&attrs).as_str())
    );
    let message_id = sent.message_id().unwrap().to_string();

    let out = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    let m = &out.messages()[0];
    assert_eq!(m.message_id(), Some(message_id.as_str()));
    assert_eq!(m.body(), Some(body));
    assert_eq!(m.md5_of_body(), Some(md5_hex(body.as_bytes()).as_str()));
    let got = m.message_attributes().expect("message attributes");
    assert_eq!(got, &attrs, "attributes round-trip exactly");
    assert_eq!(
        m.md5_of_message_attributes(),
        Some(md5_of_attributes(&attrs).as_str())
    );
    let sys = m.attributes().expect("system attributes");
    assert_eq!(
        sys.get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("1")
    );
    let sent_ms: u128 = sys[&MessageSystemAttributeName::SentTimestamp]
        .parse()
        .unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(
        now_ms.abs_diff(sent_ms) < 60_000,
        "SentTimestamp is epoch millis, about now"
    );
    assert!(sys.contains_key(&MessageSystemAttributeName::SenderId));

    assert_eq!(queue_counts(&client, &url).await, (0, 1));
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(queue_counts(&client, &url).await, (0, 0));

    // No attributes: no attribute MD5 at all.
    let plain = client
        .send_message()
        .queue_url(&url)
        .message_body("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.md5_of_message_attributes(), None);
    let out = client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    assert_eq!(out.messages().len(), 1);
    assert_eq!(out.messages()[0].md5_of_message_attributes(), None);
    assert_eq!(out.messages()[0].message_attributes(), None);

    // A malformed receipt handle.
    let err = client
        .delete_message()
        .queue_url(&url)
        .receipt_handle("not-a-receipt-handle")
        .send()
        .await
        .expect_err("bad receipt handle")
        .into_service_error();
    assert!(
        err.is_receipt_handle_is_invalid(),
        "expected ReceiptHandleIsInvalid, got {err:?}"
    );
}

#[tokio::test]
async fn batch_send_and_delete_with_per_entry_failure() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("batch"), &[]).await;

    let mut attrs = HashMap::new();
    attrs.insert("Kind".to_string(), string_attr("String", "batch"));
    let entries: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|id| {
            let mut e = SendMessageBatchRequestEntry::builder()
                .id(*id)
                .message_body(format!("body-{id}"));
            if *id == "b" {
                e = e.set_message_attributes(Some(attrs.clone()));
            }
            e.build().unwrap()
        })
        .collect();
    let sent = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries))
        .send()
        .await
        .unwrap();
    assert!(sent.failed().is_empty(), "{:?}", sent.failed());
    let mut ids: Vec<_> = sent
        .successful()
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, ["a", "b", "c"]);
    for e in sent.successful() {
        assert_eq!(
            e.md5_of_message_body(),
            md5_hex(format!("body-{}", e.id()).as_bytes())
        );
        let expected = (e.id() == "b").then(|| md5_of_attributes(&attrs));
        assert_eq!(e.md5_of_message_attributes(), expected.as_deref());
    }

    let dup = vec![
        SendMessageBatchRequestEntry::builder()
            .id("x")
            .message_body("1")
            .build()
            .unwrap(),
        SendMessageBatchRequestEntry::builder()
            .id("x")
            .message_body("2")
            .build()
            .unwrap(),
    ];
    let err = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(dup))
        .send()
        .await
        .expect_err("duplicate ids")
        .into_service_error();
    assert!(
        err.is_batch_entry_ids_not_distinct(),
        "expected BatchEntryIdsNotDistinct, got {err:?}"
    );

    let many: Vec<_> = (0..11)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body("x")
                .build()
                .unwrap()
        })
        .collect();
    let err = client
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(many))
        .send()
        .await
        .expect_err("11 entries")
        .into_service_error();
    assert!(
        err.is_too_many_entries_in_batch_request(),
        "expected TooManyEntriesInBatchRequest, got {err:?}"
    );

    let mut handles = Vec::new();
    for _ in 0..5 {
        if handles.len() >= 3 {
            break;
        }
        let out = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        handles.extend(
            out.messages()
                .iter()
                .map(|m| m.receipt_handle().unwrap().to_string()),
        );
    }
    assert_eq!(handles.len(), 3);

    let mut del: Vec<_> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(h)
                .build()
                .unwrap()
        })
        .collect();
    del.push(
        DeleteMessageBatchRequestEntry::builder()
            .id("bogus")
            .receipt_handle("not-a-receipt-handle")
            .build()
            .unwrap(),
    );
    let out = client
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(del))
        .send()
        .await
        .unwrap();
    let mut ok: Vec<_> = out
        .successful()
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    ok.sort();
    assert_eq!(ok, ["d0", "d1", "d2"]);
    assert_eq!(out.failed().len(), 1);
    let f = &out.failed()[0];
    assert_eq!(f.id(), "bogus");
    assert_eq!(f.code(), "ReceiptHandleIsInvalid");
    assert!(f.sender_fault());
    assert_eq!(queue_counts(&client, &url).await, (0, 0));
}

#[tokio::test]
async fn visibility_timeout_and_change_visibility() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(
        &client,
        &mut cleanup,
        &unique("vis"),
        &[(QueueAttributeName::VisibilityTimeout, "30")],
    )
    .await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("v1")
        .send()
        .await
        .unwrap();

    let receive = || {
        client
            .receive_message()
            .queue_url(&url)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
    };
    let first = receive().await.unwrap();
    assert_eq!(first.messages().len(), 1);
    let m = first.messages()[0].clone();
    assert!(
        receive().await.unwrap().messages().is_empty(),
        "in flight: not delivered again"
    );
    assert_eq!(queue_counts(&client, &url).await, (0, 1));

    client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().unwrap())
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive().await.unwrap();
    assert_eq!(again.messages().len(), 1);
    let m2 = &again.messages()[0];
    assert_eq!(m2.message_id(), m.message_id());
    assert_ne!(
        m2.receipt_handle(),
        m.receipt_handle(),
        "a new receipt handle per receive"
    );
    assert_eq!(
        m2.attributes()
            .unwrap()
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .map(String::as_str),
        Some("2")
    );

    let out = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("ok")
                .receipt_handle(m2.receipt_handle().unwrap())
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("bad")
                .receipt_handle("not-a-receipt-handle")
                .visibility_timeout(0)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.successful().iter().map(|e| e.id()).collect::<Vec<_>>(),
        ["ok"]
    );
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "bad");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert!(out.failed()[0].sender_fault());
    assert_eq!(
        receive().await.unwrap().messages().len(),
        1,
        "visible again after the batch change"
    );
}

#[tokio::test]
async fn long_poll_wakes_on_send_from_another_client() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("poll"), &[]).await;

    let t0 = Instant::now();
    let idle = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    let idle_ms = t0.elapsed().as_millis();
    assert!(idle.messages().is_empty());
    assert!(
        (900..5000).contains(&idle_ms),
        "an empty 1 s long poll took {idle_ms} ms"
    );

    let waiter = {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let t0 = Instant::now();
            let out = client
                .receive_message()
                .queue_url(&url)
                .wait_time_seconds(10)
                .send()
                .await
                .unwrap();
            (out, t0.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let other = sqs().await;
    other
        .send_message()
        .queue_url(&url)
        .message_body("wake up")
        .send()
        .await
        .unwrap();
    let (out, waited) = waiter.await.unwrap();
    assert_eq!(out.messages().len(), 1);
    assert_eq!(out.messages()[0].body(), Some("wake up"));
    assert!(
        waited >= Duration::from_millis(400),
        "the poll waited for the send ({waited:?})"
    );
    assert!(
        waited < Duration::from_secs(4),
        "the poll woke on the send, not at its timeout ({waited:?})"
    );
}

#[tokio::test]
async fn redrive_to_dead_letter_queue() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let dlq_name = unique("dlq");
    let dlq = create_queue(&client, &mut cleanup, &dlq_name, &[]).await;
    let dlq_arn = queue_arn(&dlq_name);
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    let src = create_queue(
        &client,
        &mut cleanup,
        &unique("src"),
        &[(QueueAttributeName::RedrivePolicy, &policy)],
    )
    .await;

    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), &[src.clone()]);

    let sent = client
        .send_message()
        .queue_url(&src)
        .message_body("poison")
        .send()
        .await
        .unwrap();
    let r1 = client
        .receive_message()
        .queue_url(&src)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r1.messages().len(),
        1,
        "first receive is within maxReceiveCount"
    );
    let r2 = client
        .receive_message()
        .queue_url(&src)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(
        r2.messages().is_empty(),
        "second receive moves the message to the DLQ instead"
    );
    let r3 = client
        .receive_message()
        .queue_url(&dlq)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    assert_eq!(r3.messages().len(), 1);
    assert_eq!(r3.messages()[0].body(), Some("poison"));
    assert_eq!(
        r3.messages()[0].message_id(),
        sent.message_id(),
        "the message keeps its id"
    );
    assert_eq!(queue_counts(&client, &src).await, (0, 0));
}

#[tokio::test]
async fn purge_queue() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("purge"), &[]).await;
    for i in 0..3 {
        client
            .send_message()
            .queue_url(&url)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(queue_counts(&client, &url).await, (3, 0));
    client.purge_queue().queue_url(&url).send().await.unwrap();
    assert_eq!(queue_counts(&client, &url).await, (0, 0));
    assert!(client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap()
        .messages()
        .is_empty());
}

#[tokio::test]
async fn second_purge_within_60s_is_purge_queue_in_progress() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("purge2"), &[]).await;
    client.purge_queue().queue_url(&url).send().await.unwrap();
    let err = client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("AWS allows one PurgeQueue per queue every 60 seconds")
        .into_service_error();
    assert!(
        err.is_purge_queue_in_progress(),
        "expected PurgeQueueInProgress, got {err:?}"
    );
    assert_eq!(
        err.code(),
        Some("AWS.SimpleQueueService.PurgeQueueInProgress")
    );
}

#[tokio::test]
async fn sts_get_caller_identity() {
    let sts = aws_sdk_sts::Client::new(&sdk_config().await);
    let out = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(out.account(), Some(ACCOUNT));
    assert_eq!(
        out.arn(),
        Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
    );
    assert!(out.user_id().is_some());
}

#[tokio::test]
async fn system_attribute_md5_and_attribute_prefix() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("sys"), &[]).await;
    let trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let sys_attr = aws_sdk_sqs::types::MessageSystemAttributeValue::builder()
        .data_type("String")
        .string_value(trace)
        .build()
        .unwrap();
    let mut attrs = HashMap::new();
    attrs.insert("Att.a".to_string(), string_attr("String", "1"));
    attrs.insert("Att.b".to_string(), string_attr("Number", "2"));
    attrs.insert("Other".to_string(), string_attr("String", "3"));
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("traced")
        .message_system_attributes(
            aws_sdk_sqs::types::MessageSystemAttributeNameForSends::AwsTraceHeader,
            sys_attr,
        )
        .set_message_attributes(Some(attrs.clone()))
        .send()
        .await
        .unwrap();
    let mut sys_as_attrs = HashMap::new();
    sys_as_attrs.insert("AWSTraceHeader".to_string(), string_attr("String", trace));
    assert_eq!(
        sent.md5_of_message_system_attributes(),
        Some(md5_of_attributes(&sys_as_attrs).as_str())
    );
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some(md5_of_attributes(&attrs).as_str())
    );

    let out = client
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("Att.*")
        .message_system_attribute_names(MessageSystemAttributeName::AwsTraceHeader)
        .send()
        .await
        .unwrap();
    let m = &out.messages()[0];
    assert_eq!(
        m.attributes()
            .unwrap()
            .get(&MessageSystemAttributeName::AwsTraceHeader)
            .map(String::as_str),
        Some(trace)
    );
    let mut subset = attrs.clone();
    subset.remove("Other");
    assert_eq!(
        m.message_attributes(),
        Some(&subset),
        "only attributes matching Att.* come back"
    );
    assert_eq!(
        m.md5_of_message_attributes(),
        Some(md5_of_attributes(&subset).as_str())
    );
}

#[tokio::test]
async fn message_size_limit_and_parameter_validation() {
    let client = sqs().await;
    let mut cleanup = Cleanup(vec![]);
    let url = create_queue(&client, &mut cleanup, &unique("size"), &[]).await;
    let big = "a".repeat(1024 * 1024);
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some(md5_hex(big.as_bytes()).as_str())
    );
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body(format!("{big}b"))
        .send()
        .await
        .expect_err("1 MiB + 1 byte")
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidParameterValue"), "{err:?}");

    let err = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(11)
        .send()
        .await
        .expect_err("MaxNumberOfMessages 11")
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidParameterValue"), "{err:?}");

    let err = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::from("Bogus"))
        .send()
        .await
        .expect_err("unknown attribute name")
        .into_service_error();
    assert!(
        err.is_invalid_attribute_name(),
        "expected InvalidAttributeName, got {err:?}"
    );
    assert_eq!(queue_counts(&client, &url).await, (1, 0));
}

#[tokio::test]
async fn account_from_access_key_and_region_isolation() {
    const ACCOUNT2: &str = "123456789012";
    let other = aws_sdk_sqs::Client::new(&sdk_config_for("eu-west-1", ACCOUNT2).await);
    let name = unique("acct");
    let url = other
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(url, format!("{}/{ACCOUNT2}/{name}", endpoint()));
    let attrs = other
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().unwrap()[&QueueAttributeName::QueueArn],
        format!("arn:aws:sqs:eu-west-1:{ACCOUNT2}:{name}")
    );

    let default_eu = aws_sdk_sqs::Client::new(&sdk_config_for("eu-west-1", "test").await);
    let same_account_us = aws_sdk_sqs::Client::new(&sdk_config_for(REGION, ACCOUNT2).await);
    for c in [&default_eu, &same_account_us] {
        let err = c
            .get_queue_url()
            .queue_name(&name)
            .send()
            .await
            .expect_err("isolated")
            .into_service_error();
        assert!(
            err.is_queue_does_not_exist(),
            "expected QueueDoesNotExist, got {err:?}"
        );
    }

    let sts = aws_sdk_sts::Client::new(&sdk_config_for("eu-west-1", ACCOUNT2).await);
    let who = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some(ACCOUNT2));

    other.delete_queue().queue_url(&url).send().await.unwrap();
}
