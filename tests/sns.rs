//! SNS over real HTTP in-process: awsQuery requests as SDKs send them, AWS's XML answers, fan-out
//! to ferry's queues (envelope, raw, filter policies, FIFO), HTTP subscriptions against real HTTP
//! servers on 127.0.0.1 (confirmation, notification headers, retries, dead-lettering), and pending
//! deliveries that survive a restart on a real sled directory.

#[path = "support/endpoint.rs"]
mod endpoint;
#[path = "support/server.rs"]
mod server;

use endpoint::{Seen, endpoint, wait_for};
use ferry::Config;
use serde_json::{Value, json};
use server::Server;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Ferry = Server;

impl Server {
    /// One request; returns (status, body as text).
    fn text_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let (status, _, body) = self.request(method, path, headers, body);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// An awsQuery SNS request signed for region us-east-1 (only the credential scope matters).
    fn sns(&self, pairs: &[(&str, &str)]) -> (u16, String) {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("Version", "2010-03-31")
            .extend_pairs(pairs)
            .finish();
        self.text_request(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x"),
            ],
            form.as_bytes(),
        )
    }

    fn sqs(&self, action: &str, body: Value) -> Value {
        let target = format!("AmazonSQS.{action}");
        let (_, out) = self.text_request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            body.to_string().as_bytes(),
        );
        serde_json::from_str(&out).unwrap_or(Value::Null)
    }

    fn queue(&self, name: &str, attributes: Value) -> (String, String) {
        let url = self.sqs(
            "CreateQueue",
            json!({"QueueName": name, "Attributes": attributes}),
        )["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        (url, format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
    }

    /// Every message that arrives in `url` within `wait`, until `want` of them.
    fn drain(&self, url: &str, want: usize, wait: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < want && start.elapsed() < wait {
            let out = self.sqs(
                "ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                    "MessageAttributeNames": ["All"], "MessageSystemAttributeNames": ["All"]}),
            );
            for m in out["Messages"].as_array().cloned().unwrap_or_default() {
                self.sqs(
                    "DeleteMessage",
                    json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
                got.push(m);
            }
        }
        got
    }
}

/// The text of the first `<tag>` element.
fn xml_field(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end]
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn topic(f: &Ferry, name: &str, attributes: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("Action", "CreateTopic".to_string()),
        ("Name", name.to_string()),
    ];
    for (i, (k, v)) in attributes.iter().enumerate() {
        pairs.push((
            Box::leak(format!("Attributes.entry.{}.key", i + 1).into_boxed_str()),
            k.to_string(),
        ));
        pairs.push((
            Box::leak(format!("Attributes.entry.{}.value", i + 1).into_boxed_str()),
            v.to_string(),
        ));
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = f.sns(&pairs);
    assert_eq!(status, 200, "{body}");
    xml_field(&body, "TopicArn")
}

fn subscribe(
    f: &Ferry,
    topic: &str,
    protocol: &str,
    endpoint: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut pairs: Vec<(String, String)> = vec![
        ("Action".into(), "Subscribe".into()),
        ("TopicArn".into(), topic.into()),
        ("Protocol".into(), protocol.into()),
        ("Endpoint".into(), endpoint.into()),
        ("ReturnSubscriptionArn".into(), "true".into()),
    ];
    for (i, (k, v)) in attributes.iter().enumerate() {
        pairs.push((format!("Attributes.entry.{}.key", i + 1), k.to_string()));
        pairs.push((format!("Attributes.entry.{}.value", i + 1), v.to_string()));
    }
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, body) = f.sns(&pairs);
    assert_eq!(status, 200, "{body}");
    xml_field(&body, "SubscriptionArn")
}

#[test]
fn topics_answer_in_aws_xml() {
    let f = Ferry::start(Config::in_memory());
    let (status, body) = f.sns(&[("Action", "CreateTopic"), ("Name", "t1")]);
    assert_eq!(status, 200);
    assert!(body.starts_with("<?xml version=\"1.0\"?><CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:000000000000:t1</TopicArn></CreateTopicResult><ResponseMetadata><RequestId>"), "{body}");
    let (_, body) = f.sns(&[("Action", "ListTopics")]);
    assert!(body.contains("<ListTopicsResult><Topics><member><TopicArn>arn:aws:sns:us-east-1:000000000000:t1</TopicArn></member></Topics></ListTopicsResult>"), "{body}");
    let (_, body) = f.sns(&[
        ("Action", "GetTopicAttributes"),
        ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t1"),
    ]);
    assert!(
        body.contains(
            "<Attributes><entry><key>Policy</key><value>{&quot;Version&quot;:&quot;2008-10-17&quot;"
        ),
        "{body}"
    );
    assert!(body.contains("<entry><key>SubscriptionsConfirmed</key><value>0</value></entry>"));
    assert!(!body.contains("FifoTopic"));
    // Idempotent with the same attributes, refused with different ones.
    assert_eq!(f.sns(&[("Action", "CreateTopic"), ("Name", "t1")]).0, 200);
    let (status, body) = f.sns(&[
        ("Action", "CreateTopic"),
        ("Name", "t1"),
        ("Attributes.entry.1.key", "SignatureVersion"),
        ("Attributes.entry.1.value", "2"),
    ]);
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidParameter</Code><Message>Invalid parameter: Attributes Reason: Topic already exists with different attributes</Message>"), "{body}");
    let (status, body) = f.sns(&[
        ("Action", "GetTopicAttributes"),
        ("TopicArn", "arn:aws:sns:us-east-1:000000000000:nope"),
    ]);
    assert_eq!(status, 404);
    assert!(
        body.contains(
            "<Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message>"
        ),
        "{body}"
    );
    let (status, body) = f.sns(&[
        ("Action", "GetTopicAttributes"),
        ("TopicArn", "randomstring:1"),
    ]);
    assert_eq!(status, 400);
    assert!(body.contains(
        "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 2"
    ));
    // Tags stay a list, so a repeated key is refused.
    let (status, body) = f.sns(&[
        ("Action", "TagResource"),
        ("ResourceArn", "arn:aws:sns:us-east-1:000000000000:t1"),
        ("Tags.member.1.Key", "k"),
        ("Tags.member.1.Value", "1"),
        ("Tags.member.2.Key", "k"),
        ("Tags.member.2.Value", "2"),
    ]);
    assert_eq!(status, 400);
    assert!(body.contains("Invalid parameter: Duplicated keys are not allowed."));
    // An action SNS does not serve says so.
    let (status, body) = f.sns(&[("Action", "CreateSMSSandboxPhoneNumber")]);
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"));
}

#[test]
fn publish_fans_out_to_queues_as_envelope_raw_and_filtered() {
    let f = Ferry::start(Config::in_memory());
    let t = topic(&f, "orders", &[]);
    let (plain, plain_arn) = f.queue("plain", json!({}));
    let (raw, raw_arn) = f.queue("raw", json!({}));
    let (filtered, filtered_arn) = f.queue("filtered", json!({}));
    let (body_filtered, body_arn) = f.queue("body", json!({}));
    let sub = subscribe(&f, &t, "sqs", &plain_arn, &[]);
    subscribe(&f, &t, "sqs", &raw_arn, &[("RawMessageDelivery", "true")]);
    subscribe(
        &f,
        &t,
        "sqs",
        &filtered_arn,
        &[(
            "FilterPolicy",
            r#"{"store":[{"exists":true}],"n":[{"numeric":[">",0,"<=",100]}]}"#,
        )],
    );
    subscribe(
        &f,
        &t,
        "sqs",
        &body_arn,
        &[
            ("FilterPolicy", r#"{"object":{"key":[{"prefix":"auto-"}]}}"#),
            ("FilterPolicyScope", "MessageBody"),
        ],
    );
    let (status, body) = f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "{\"object\":{\"key\":\"auto-1\"}}"),
        ("Subject", "s"),
        ("MessageAttributes.entry.1.Name", "store"),
        ("MessageAttributes.entry.1.Value.DataType", "String"),
        ("MessageAttributes.entry.1.Value.StringValue", "shop"),
        ("MessageAttributes.entry.2.Name", "n"),
        ("MessageAttributes.entry.2.Value.DataType", "Number"),
        ("MessageAttributes.entry.2.Value.StringValue", "99.12"),
    ]);
    assert_eq!(status, 200, "{body}");
    let message_id = xml_field(&body, "MessageId");
    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "{\"object\":{\"key\":\"home\"}}"),
        ("MessageAttributes.entry.1.Name", "n"),
        ("MessageAttributes.entry.1.Value.DataType", "Number"),
        ("MessageAttributes.entry.1.Value.StringValue", "111"),
    ]);

    let got = f.drain(&plain, 2, Duration::from_secs(5));
    assert_eq!(got.len(), 2);
    let first = &got
        .iter()
        .find(|m| m["Body"].as_str().unwrap().contains(&message_id))
        .unwrap()["Body"];
    let env: Value = serde_json::from_str(first.as_str().unwrap()).unwrap();
    assert_eq!(env["Type"], "Notification");
    assert_eq!(env["MessageId"], message_id.as_str());
    assert_eq!(env["TopicArn"], t.as_str());
    assert_eq!(env["Subject"], "s");
    assert_eq!(env["Message"], "{\"object\":{\"key\":\"auto-1\"}}");
    assert_eq!(
        env["MessageAttributes"]["n"],
        json!({"Type": "Number", "Value": "99.12"})
    );
    assert_eq!(
        env["UnsubscribeURL"],
        format!(
            "http://{}/?Action=Unsubscribe&SubscriptionArn={sub}",
            f.addr
        )
    );
    let keys: Vec<&str> = first
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix('"')?.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
            "MessageAttributes",
            "n",
            "store"
        ]
    );
    assert_eq!(env["SignatureVersion"], "1");
    // The certificate is served where SigningCertURL says.
    let cert_url = env["SigningCertURL"].as_str().unwrap();
    let cert_path = &cert_url[cert_url.find("/SimpleNotificationService-").unwrap()..];
    let (status, pem) = f.text_request("GET", cert_path, &[], b"");
    assert_eq!(status, 200);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(
        got[0].get("MessageAttributes").is_none(),
        "envelope delivery sets no SQS attributes"
    );

    let got = f.drain(&raw, 2, Duration::from_secs(5));
    let auto = got
        .iter()
        .find(|m| m["Body"] == "{\"object\":{\"key\":\"auto-1\"}}")
        .unwrap();
    assert_eq!(
        auto["MessageAttributes"]["n"],
        json!({"StringValue": "99.12", "DataType": "Number"})
    );
    assert_eq!(
        auto["MessageAttributes"]["store"],
        json!({"StringValue": "shop", "DataType": "String"})
    );

    // Only the first message has `store` and n <= 100; only the first body has an auto- key.
    assert_eq!(f.drain(&filtered, 2, Duration::from_secs(2)).len(), 1);
    assert_eq!(f.drain(&body_filtered, 2, Duration::from_secs(2)).len(), 1);

    // Validation as AWS words it.
    let (status, body) = f.sns(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "")]);
    assert_eq!(
        (status, xml_field(&body, "Message")),
        (400, "Invalid parameter: Empty message".to_string())
    );
    let (status, body) = f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "m"),
        ("MessageAttributes.entry.1.Name", "attr1"),
        ("MessageAttributes.entry.1.Value.StringValue", "v"),
    ]);
    assert_eq!(status, 400);
    assert_eq!(xml_field(&body, "Code"), "ValidationError");
    let (status, body) = f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", "arn:aws:sns:eu-west-1:000000000000:orders"),
        ("Message", "m"),
    ]);
    assert_eq!(
        (status, xml_field(&body, "Message")),
        (400, "Invalid parameter: TopicArn".to_string())
    );
}

#[test]
fn fifo_topic_to_fifo_queue_keeps_order_and_deduplicates() {
    let f = Ferry::start(Config::in_memory());
    let t = topic(
        &f,
        "t.fifo",
        &[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")],
    );
    let (q, q_arn) = f.queue("q.fifo", json!({"FifoQueue": "true"}));
    let (std_q, std_arn) = f.queue("std", json!({}));
    subscribe(&f, &t, "sqs", &q_arn, &[("RawMessageDelivery", "true")]);
    subscribe(&f, &t, "sqs", &std_arn, &[]);
    let mut sequences = Vec::new();
    for i in 0..20 {
        let (status, body) = f.sns(&[
            ("Action", "Publish"),
            ("TopicArn", &t),
            ("Message", &format!("m{i}")),
            ("MessageGroupId", "g"),
        ]);
        assert_eq!(status, 200, "{body}");
        sequences.push(xml_field(&body, "SequenceNumber"));
    }
    // A duplicate answers the original id and sequence number and is not delivered again.
    let (_, body) = f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "m3"),
        ("MessageGroupId", "g"),
    ]);
    assert_eq!(xml_field(&body, "SequenceNumber"), sequences[3]);
    let mut sorted = sequences.clone();
    sorted.sort();
    assert_eq!(sorted, sequences, "sequence numbers increase");
    let got = f.drain(&q, 20, Duration::from_secs(10));
    let bodies: Vec<&str> = got.iter().map(|m| m["Body"].as_str().unwrap()).collect();
    assert_eq!(bodies, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(got[0]["Attributes"]["MessageGroupId"], "g");
    let envelopes = f.drain(&std_q, 21, Duration::from_secs(3));
    assert_eq!(envelopes.len(), 20);
    let env: Value = serde_json::from_str(envelopes[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(env["SequenceNumber"], sequences[0].as_str());
    let (status, body) = f.sns(&[("Action", "Publish"), ("TopicArn", &t), ("Message", "x")]);
    assert_eq!(status, 400, "{body}");
}

/// A real HTTP endpoint on 127.0.0.1 at `/hook` that answers `status(n)` to the n-th request.
fn hook(status: impl Fn(usize) -> u16 + Send + 'static) -> (String, Seen) {
    let (url, seen) = endpoint(move |n| (status(n), String::new()));
    (format!("{url}/hook"), seen)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn http_subscriptions_confirm_then_receive_notifications() {
    let f = Ferry::start(Config::in_memory());
    let t = topic(&f, "web", &[]);
    let (url, seen) = hook(|_| 200);
    let (status, body) = f.sns(&[
        ("Action", "Subscribe"),
        ("TopicArn", &t),
        ("Protocol", "http"),
        ("Endpoint", &url),
    ]);
    assert_eq!(
        (status, xml_field(&body, "SubscriptionArn")),
        (200, "pending confirmation".to_string())
    );
    wait_for(&seen, 1, Duration::from_secs(5));
    let (method, path, headers, body) = seen.lock().unwrap()[0].clone();
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/hook"));
    assert_eq!(
        header(&headers, "x-amz-sns-message-type"),
        Some("SubscriptionConfirmation")
    );
    let confirmation: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
    assert_eq!(confirmation["Token"].as_str().unwrap().len(), 288);
    // Nothing is delivered while the subscription is pending.
    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "early"),
    ]);
    // Following SubscribeURL, as an endpoint would, with no credentials.
    let subscribe_url = confirmation["SubscribeURL"].as_str().unwrap();
    let path = &subscribe_url[subscribe_url.find("/?").unwrap()..];
    let (status, body) = f.text_request("GET", path, &[], b"");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<ConfirmSubscriptionResponse"), "{body}");
    let sub = xml_field(&body, "SubscriptionArn");
    assert!(sub.starts_with(&format!("{t}:")));
    let (status, _) = f.text_request("GET", path, &[], b"");
    assert_eq!(status, 200, "confirming again is idempotent");

    let (_, body) = f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "hello"),
        ("Subject", "hi"),
    ]);
    let message_id = xml_field(&body, "MessageId");
    wait_for(&seen, 2, Duration::from_secs(5));
    let (_, _, headers, body) = seen.lock().unwrap()[1].clone();
    assert_eq!(
        header(&headers, "x-amz-sns-message-type"),
        Some("Notification")
    );
    assert_eq!(
        header(&headers, "x-amz-sns-message-id"),
        Some(message_id.as_str())
    );
    assert_eq!(header(&headers, "x-amz-sns-topic-arn"), Some(t.as_str()));
    assert_eq!(
        header(&headers, "x-amz-sns-subscription-arn"),
        Some(sub.as_str())
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/plain; charset=UTF-8")
    );
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (n["Message"].as_str(), n["Subject"].as_str()),
        (Some("hello"), Some("hi"))
    );

    // Raw delivery: the body is the message, with x-amz-sns-rawdelivery.
    f.sns(&[
        ("Action", "SetSubscriptionAttributes"),
        ("SubscriptionArn", &sub),
        ("AttributeName", "RawMessageDelivery"),
        ("AttributeValue", "true"),
    ]);
    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "raw body"),
    ]);
    wait_for(&seen, 3, Duration::from_secs(5));
    let (_, _, headers, body) = seen.lock().unwrap()[2].clone();
    assert_eq!(
        (body.as_str(), header(&headers, "x-amz-sns-rawdelivery")),
        ("raw body", Some("true"))
    );

    // Unsubscribing sends an UnsubscribeConfirmation.
    let (status, _) = f.sns(&[("Action", "Unsubscribe"), ("SubscriptionArn", &sub)]);
    assert_eq!(status, 200);
    wait_for(&seen, 4, Duration::from_secs(5));
    let (_, _, headers, _) = seen.lock().unwrap()[3].clone();
    assert_eq!(
        header(&headers, "x-amz-sns-message-type"),
        Some("UnsubscribeConfirmation")
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        4,
        "the early message was never delivered"
    );
}

#[test]
fn failing_http_endpoints_are_retried_then_dead_lettered() {
    let f = Ferry::start(Config::in_memory());
    let t = topic(&f, "flaky", &[]);
    let (dlq, dlq_arn) = f.queue("dlq", json!({}));
    // Confirmation succeeds; then 500, 500, 200 for the first message; always 503 afterwards.
    let (url, seen) = hook(|n| match n {
        0 | 3 => 200,
        1 | 2 => 500,
        _ => 503,
    });
    let sub = subscribe(
        &f,
        &t,
        "http",
        &url,
        &[
            (
                "DeliveryPolicy",
                r#"{"healthyRetryPolicy":{"numRetries":3,"numNoDelayRetries":1,"minDelayTarget":1,"maxDelayTarget":1}}"#,
            ),
            (
                "RedrivePolicy",
                &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}"}}"#),
            ),
        ],
    );
    wait_for(&seen, 1, Duration::from_secs(5));
    let token = serde_json::from_str::<Value>(&seen.lock().unwrap()[0].3).unwrap()["Token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = f.sns(&[
        ("Action", "ConfirmSubscription"),
        ("TopicArn", &t),
        ("Token", &token),
    ]);
    assert_eq!(
        (status, xml_field(&body, "SubscriptionArn")),
        (200, sub.clone())
    );

    let start = Instant::now();
    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "eventually"),
    ]);
    wait_for(&seen, 4, Duration::from_secs(10));
    // Retry 1 is immediate, retry 2 waits the minimum delay (1 s).
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert!(seen.lock().unwrap()[3].3.contains("eventually"));

    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "never"),
    ]);
    let got = f.drain(&dlq, 1, Duration::from_secs(10));
    assert_eq!(got.len(), 1, "dead-lettered after 1 + 3 attempts");
    assert_eq!(seen.lock().unwrap().len(), 8);
    let env: Value = serde_json::from_str(got[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(env["Message"], "never");

    // A subscribed queue that was deleted fails at once into the DLQ.
    let (gone, gone_arn) = f.queue("gone", json!({}));
    subscribe(
        &f,
        &t,
        "sqs",
        &gone_arn,
        &[
            ("RawMessageDelivery", "true"),
            (
                "RedrivePolicy",
                &format!(r#"{{"deadLetterTargetArn":"{dlq_arn}"}}"#),
            ),
        ],
    );
    f.sqs("DeleteQueue", json!({"QueueUrl": gone}));
    f.sns(&[
        ("Action", "Publish"),
        ("TopicArn", &t),
        ("Message", "lost queue"),
    ]);
    let got = f.drain(&dlq, 2, Duration::from_secs(10));
    assert!(got.iter().any(|m| m["Body"] == "lost queue"), "{got:?}");
}

#[test]
fn pending_deliveries_survive_a_restart_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::on_disk(dir.path());
    // An endpoint that is down: bind a port, then close it, so connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let f = Ferry::start(config());
    let t = topic(&f, "durable", &[]);
    let sub = subscribe(
        &f,
        &t,
        "http",
        &url,
        &[(
            "DeliveryPolicy",
            r#"{"healthyRetryPolicy":{"numRetries":50,"minDelayTarget":1,"maxDelayTarget":1}}"#,
        )],
    );
    // The confirmation cannot reach the endpoint: it stays pending, retried 20 s apart. A queue
    // subscription shows the topic itself keeps working meanwhile.
    let (q, q_arn) = f.queue("keep", json!({}));
    subscribe(&f, &t, "sqs", &q_arn, &[]);
    for i in 0..5 {
        f.sns(&[
            ("Action", "Publish"),
            ("TopicArn", &t),
            ("Message", &format!("m{i}")),
        ]);
    }
    assert_eq!(f.drain(&q, 5, Duration::from_secs(5)).len(), 5);
    f.stop();

    // The endpoint comes up; ferry restarts and resumes the pending confirmation.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let seen: Seen = Arc::default();
    let keep = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { return };
            let mut buf = vec![0u8; 65536];
            let n = stream.read(&mut buf).unwrap_or(0);
            keep.lock().unwrap().push((
                String::new(),
                String::new(),
                Vec::new(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            ));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let f = Ferry::start(config());
    wait_for(&seen, 1, Duration::from_secs(10));
    assert!(
        seen.lock().unwrap()[0]
            .3
            .contains("SubscriptionConfirmation")
    );
    let (_, body) = f.sns(&[
        ("Action", "GetSubscriptionAttributes"),
        ("SubscriptionArn", &sub),
    ]);
    assert!(
        body.contains("<entry><key>PendingConfirmation</key><value>true</value></entry>"),
        "{body}"
    );
    let (_, body) = f.sns(&[("Action", "ListSubscriptionsByTopic"), ("TopicArn", &t)]);
    assert_eq!(body.matches("<member>").count(), 2, "{body}");
    f.stop();
}

#[test]
fn the_publishers_trace_header_reaches_the_queue() {
    let f = Ferry::start(Config::in_memory());
    let t = topic(&f, "traced", &[]);
    let (q, q_arn) = f.queue("traced", json!({}));
    subscribe(&f, &t, "sqs", &q_arn, &[]);
    let trace = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1";
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("Action", "Publish"),
            ("TopicArn", t.as_str()),
            ("Message", "m"),
        ])
        .finish();
    let (status, body) = f.text_request(
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x"),
            ("X-Amzn-Trace-Id", trace),
        ],
        form.as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let got = f.drain(&q, 1, Duration::from_secs(5));
    assert_eq!(got[0]["Attributes"]["AWSTraceHeader"], trace);
}
