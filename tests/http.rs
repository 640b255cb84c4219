//! ferry over real HTTP in-process: routing, both SQS protocols, AWS's error shapes, bad input that
//! must never become a 500, ferry's own endpoints, and a restart on a real sled directory.

#[path = "support/server.rs"]
mod server;

use ferry::Config;
use serde_json::{Value, json};
use server::Server;

impl Server {
    fn json(&self, action: &str, body: Value) -> (u16, Vec<(String, String)>, Value) {
        let target = format!("AmazonSQS.{action}");
        let (status, headers, body) = self.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            body.to_string().as_bytes(),
        );
        (
            status,
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    fn query(&self, form: &str) -> (u16, String) {
        let (status, _, body) = self.request(
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        );
        (status, String::from_utf8(body).unwrap())
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn json_protocol_round_trip_and_errors() {
    let s = Server::start(Config::in_memory());
    let (status, headers, out) = s.json("CreateQueue", json!({"QueueName": "q1"}));
    assert_eq!(status, 200);
    assert!(header(&headers, "x-amzn-requestid").is_some());
    let url = out["QueueUrl"].as_str().unwrap().to_string();
    assert_eq!(url, format!("http://{}/000000000000/q1", s.addr));
    let (_, _, sent) = s.json(
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "hello world"}),
    );
    assert_eq!(sent["MD5OfMessageBody"], "5eb63bbbe01eeed093cb22bb8f5acdc3");
    assert!(
        sent.get("MD5OfMessageAttributes").is_none(),
        "absent when there are no attributes"
    );
    let (_, _, got) = s.json("ReceiveMessage", json!({"QueueUrl": url}));
    assert_eq!(got["Messages"][0]["Body"], "hello world");

    let (status, headers, err) = s.json("GetQueueUrl", json!({"QueueName": "missing"}));
    assert_eq!(status, 400);
    assert_eq!(err["__type"], "com.amazonaws.sqs#QueueDoesNotExist");
    assert_eq!(
        header(&headers, "x-amzn-query-error"),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );

    let (status, _, err) = s.json("NoSuchAction", json!({}));
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("com.amazonaws.sqs#UnknownOperationException"))
    );
    let (status, _, err) = s.json(
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 11}),
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (
            400,
            Some("com.amazonaws.sqs#InvalidParameterValueException")
        )
    );
    let (status, _, err) = s.json(
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": "bogus"}),
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("com.amazonaws.sqs#ReceiptHandleIsInvalid"))
    );
    let (status, _, err) = s.json("SendMessage", json!({"MessageBody": "x"}));
    assert_eq!(
        (status, err["__type"].as_str()),
        (
            400,
            Some("com.amazonaws.sqs#MissingRequiredParameterException")
        )
    );
    let (status, _, err) = s.json(
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x", "DelaySeconds": "soon"}),
    );
    assert_eq!(
        (status, err["__type"].as_str()),
        (
            400,
            Some("com.amazonaws.sqs#InvalidParameterValueException")
        )
    );
    let (status, _, err) = s.json("SendMessageBatch", json!({"QueueUrl": url, "Entries": []}));
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("com.amazonaws.sqs#EmptyBatchRequest"))
    );
}

#[test]
fn query_protocol_speaks_xml() {
    let s = Server::start(Config::in_memory());
    let (status, body) = s.query("Action=CreateQueue&QueueName=xq&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=60&Tag.1.Key=team&Tag.1.Value=a");
    assert_eq!(status, 200);
    assert!(body.contains("<CreateQueueResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><CreateQueueResult><QueueUrl>"), "{body}");
    let url = format!("http://{}/000000000000/xq", s.addr);
    let (_, body) = s.query(&format!(
        "Action=GetQueueAttributes&QueueUrl={url}&AttributeName.1=VisibilityTimeout"
    ));
    assert!(
        body.contains("<Attribute><Name>VisibilityTimeout</Name><Value>60</Value></Attribute>"),
        "{body}"
    );
    let (_, body) = s.query(&format!("Action=ListQueueTags&QueueUrl={url}"));
    assert!(
        body.contains("<Tag><Key>team</Key><Value>a</Value></Tag>"),
        "{body}"
    );
    let (status, body) = s.query(&format!(
        "Action=SendMessage&QueueUrl={url}&MessageBody=a%0D%0Ab"
    ));
    assert_eq!(status, 200, "{body}");
    let (_, body) = s.query(&format!("Action=ReceiveMessage&QueueUrl={url}"));
    assert!(
        body.contains("<Body>a&#xD;\nb</Body>"),
        "carriage return survives XML: {body}"
    );

    // botocore 1.31 writes an empty list as a bare `Entries=`.
    let (status, body) = s.query(&format!("Action=SendMessageBatch&QueueUrl={url}&Entries="));
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>AWS.SimpleQueueService.EmptyBatchRequest</Code>"),
        "{body}"
    );
    let (status, body) = s.query("Action=GetQueueUrl&QueueName=missing");
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"),
        "{body}"
    );
    let (status, body) = s.query("Action=Frobnicate");
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    let (status, body) = s.query("Version=2012-11-05");
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MissingParameter</Code>"), "{body}");
    let (status, body) = s.query(&format!(
        "Action=SendMessage&QueueUrl={url}&MessageAttribute.0.Name=x"
    ));
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MalformedQueryString</Code>"), "{body}");
}

#[test]
fn query_details_at_queue_urls_and_json_answers() {
    let s = Server::start(Config::in_memory());
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let (status, _) = s.query("Action=CreateQueue&QueueName=qd");
    assert_eq!(status, 200);
    // No action at a queue URL: a bare 404, XML even when JSON is accepted.
    let accept = [form[0], ("Accept", "application/json")];
    let (status, _, body) = s.request("POST", "/000000000000/qd", &accept, b"Version=2012-11-05");
    assert_eq!(
        (status, body.as_slice()),
        (404, &b"<UnknownOperationException/>"[..])
    );
    let (status, _, body) = s.request("POST", "/000000000000/qd", &form, b"Action=ListQueues");
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    assert!(body.contains("The action ListQueues is not valid for this endpoint."));
    // JSON at a queue URL keeps working.
    let target = [
        ("X-Amz-Target", "AmazonSQS.GetQueueUrl"),
        ("Content-Type", "application/x-amz-json-1.0"),
    ];
    let (status, _, _) = s.request(
        "POST",
        "/000000000000/qd",
        &target,
        br#"{"QueueName":"qd"}"#,
    );
    assert_eq!(status, 200);
    // An empty receive is one empty element; a missing queue speaks of the wsdl version.
    let (_, body) = s.query("Action=ReceiveMessage&QueueUrl=/000000000000/qd");
    assert!(body.contains("<ReceiveMessageResult/>"), "{body}");
    let (status, body) = s.query("Action=GetQueueUrl&QueueName=none");
    assert_eq!(status, 400);
    assert!(body.contains("The specified queue does not exist for this wsdl version."));
    // awsQuery with Accept: application/json gets AWS's JSON form, bodies exact.
    let sent = "a\r\n\"q\" &quot; <b>";
    let send = format!(
        "Action=SendMessage&QueueUrl=/000000000000/qd&MessageBody={}",
        form_urlencoded::byte_serialize(sent.as_bytes()).collect::<String>()
    );
    let (status, _, _) = s.request("POST", "/", &accept, send.as_bytes());
    assert_eq!(status, 200);
    let (_, headers, body) = s.request("POST", "/", &accept, b"Action=ListQueues");
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    let urls = &v["ListQueuesResponse"]["ListQueuesResult"]["queueUrls"];
    assert!(
        urls[0].as_str().unwrap().ends_with("/000000000000/qd"),
        "{v}"
    );
    assert!(v["ListQueuesResponse"]["ResponseMetadata"]["RequestId"].is_string());
    let recv = b"Action=ReceiveMessage&QueueUrl=/000000000000/qd";
    let (_, _, body) = s.request("POST", "/", &accept, recv);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let m = &v["ReceiveMessageResponse"]["ReceiveMessageResult"]["messages"][0];
    assert_eq!(m["Body"], sent, "{v}");
}

#[test]
fn bad_input_is_never_a_500() {
    let s = Server::start(Config::in_memory());
    let (_, _, out) = s.json("CreateQueue", json!({"QueueName": "b"}));
    let url = out["QueueUrl"].as_str().unwrap().to_string();
    let target = [
        ("X-Amz-Target", "AmazonSQS.SendMessage"),
        ("Content-Type", "application/x-amz-json-1.0"),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[]".to_vec(),
        b"\xff\xfe".to_vec(),
        b"null".to_vec(),
        br#"{"QueueUrl": 5}"#.to_vec(),
        json!({"QueueUrl": url, "MessageBody": "\u{1}"}).to_string().into_bytes(),
        json!({"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "x"}}}).to_string().into_bytes(),
        json!({"QueueUrl": url, "MessageBody": "x", "MessageAttributes": {"a": 1}}).to_string().into_bytes(),
        json!({"QueueUrl": url, "MessageBody": "x".repeat(1_048_577)}).to_string().into_bytes(),
    ];
    for body in bodies {
        let (status, _, out) = s.request("POST", "/", &target, &body);
        assert_eq!(
            status,
            400,
            "{}",
            String::from_utf8_lossy(&out[..out.len().min(200)])
        );
    }
    // A 20 MB body is read to its end and refused with a 413 the client gets to read, not a
    // connection reset mid-upload.
    let huge = vec![b'a'; 20 * 1024 * 1024];
    let (status, headers, _) = s.request("POST", "/", &target, &huge);
    assert_eq!(status, 413);
    assert_eq!(header(&headers, "connection"), Some("close"));
    let (status, _, _) = s.request("GET", "/", &[], b"");
    assert_eq!(status, 400);
    let (status, _, _) = s.request("GET", "/_ferry/nope", &[], b"");
    assert_eq!(status, 404);
}

#[test]
fn health_reset_sts_and_accounts() {
    let s = Server::start(Config::in_memory());
    let (status, _, body) = s.request("GET", "/_ferry/health", &[], b"");
    assert_eq!(status, 200);
    let health: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(health["services"]["sqs"], "running");

    let scoped = "AWS4-HMAC-SHA256 Credential=123456789012/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0";
    let (_, _, body) = s.request(
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AmazonSQS.CreateQueue"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Authorization", scoped),
        ],
        br#"{"QueueName": "acct"}"#,
    );
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        out["QueueUrl"]
            .as_str()
            .unwrap()
            .ends_with("/123456789012/acct")
    );
    // Other account and region: not visible to the default caller.
    let (status, _, _) = s.json("GetQueueUrl", json!({"QueueName": "acct"}));
    assert_eq!(status, 400);

    let sts = "AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0";
    let (_, _, body) = s.request(
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", sts),
        ],
        b"Action=GetCallerIdentity&Version=2011-06-15",
    );
    let body = String::from_utf8(body).unwrap();
    assert!(body.contains("<Account>123456789012</Account>"), "{body}");
    assert!(
        body.contains("<Arn>arn:aws:iam::123456789012:root</Arn>"),
        "{body}"
    );

    s.json("CreateQueue", json!({"QueueName": "gone"}));
    let (status, _, _) = s.request("POST", "/_ferry/reset", &[], b"");
    assert_eq!(status, 200);
    let (_, _, out) = s.json("ListQueues", json!({}));
    assert_eq!(out, json!({}));
}

#[test]
fn events_test_event_pattern_over_json_1_1() {
    let s = Server::start(Config::in_memory());
    let event = json!({"id": "1", "source": "app", "detail-type": "t", "account": "123456789012", "region": "us-east-1",
        "time": "2022-07-13T13:48:01Z", "resources": [], "detail": {"size": 7}})
    .to_string();
    let call = |pattern: &str| {
        let body = json!({"EventPattern": pattern, "Event": event}).to_string();
        let (status, headers, body) = s.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "AWSEvents.TestEventPattern"),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
            body.as_bytes(),
        );
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/x-amz-json-1.1")
        );
        (status, serde_json::from_slice::<Value>(&body).unwrap())
    };
    assert_eq!(
        call(r#"{"detail":{"size":[{"numeric":[">",5]}]}}"#),
        (200, json!({"Result": true}))
    );
    assert_eq!(
        call(r#"{"source":["other"]}"#),
        (200, json!({"Result": false}))
    );
    let (status, err) = call(r#"{"source":[]}"#);
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("InvalidEventPatternException"))
    );
}

#[test]
fn state_survives_restart_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::on_disk(dir.path());
    let s = Server::start(config());
    let (_, _, out) = s.json("CreateQueue", json!({"QueueName": "keep", "Attributes": {"VisibilityTimeout": "100"}, "tags": {"k": "v"}}));
    let url = out["QueueUrl"].as_str().unwrap().to_string();
    for i in 0..50 {
        s.json(
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": format!("m{i}"),
            "MessageAttributes": {"n": {"DataType": "Number", "StringValue": i.to_string()}}}),
        );
    }
    let (_, _, got) = s.json(
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 10}),
    );
    let handles: Vec<Value> = got["Messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["ReceiptHandle"].clone())
        .collect();
    for h in &handles[..5] {
        s.json(
            "DeleteMessage",
            json!({"QueueUrl": url, "ReceiptHandle": h}),
        );
    }
    s.stop();

    let s = Server::start(config());
    let url = format!("http://{}/000000000000/keep", s.addr);
    let (_, _, attrs) = s.json(
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    );
    assert_eq!(attrs["Attributes"]["VisibilityTimeout"], "100");
    assert_eq!(attrs["Attributes"]["ApproximateNumberOfMessages"], "40");
    assert_eq!(
        attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"], "5",
        "in-flight state persisted"
    );
    let (_, _, tags) = s.json("ListQueueTags", json!({"QueueUrl": url}));
    assert_eq!(tags["Tags"], json!({"k": "v"}));
    // An old receipt handle still works after the restart.
    let (status, _, _) = s.json(
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": handles[5], "VisibilityTimeout": 0}),
    );
    assert_eq!(status, 200);
    let mut bodies = std::collections::BTreeSet::new();
    for _ in 0..10 {
        let (_, _, got) = s.json(
            "ReceiveMessage",
            json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]}),
        );
        for m in got["Messages"].as_array().cloned().unwrap_or_default() {
            assert_eq!(m["MessageAttributes"]["n"]["DataType"], "Number");
            bodies.insert(m["Body"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(
        bodies.len(),
        41,
        "40 visible + 1 made visible; deleted ones never return"
    );
}

/// One EventBridge call over awsJson 1.1; (status, body).
fn events_call(s: &Server, action: &str, body: Value) -> (u16, Value) {
    let target = format!("AWSEvents.{action}");
    let (status, headers, body) = s.request(
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        body.to_string().as_bytes(),
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/x-amz-json-1.1")
    );
    assert!(header(&headers, "x-amzn-requestid").is_some());
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn events_resources_over_json_1_1() {
    let s = Server::start(Config::in_memory());
    let (status, out) = events_call(&s, "CreateEventBus", json!({"Name": "orders"}));
    assert_eq!(
        (status, out),
        (
            200,
            json!({"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/orders"})
        )
    );
    // Every EventBridge error is a 400 with AWS's __type, including not-found (EB-001).
    let (status, err) = events_call(&s, "DescribeEventBus", json!({"Name": "nope"}));
    assert_eq!(
        (status, err),
        (
            400,
            json!({"__type": "ResourceNotFoundException", "message": "Event bus nope does not exist."})
        )
    );
    let (status, err) = events_call(&s, "CreateEventBus", json!({"Name": "orders"}));
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ResourceAlreadyExistsException"))
    );
    let (status, _) = events_call(
        &s,
        "PutRule",
        json!({"Name": "r", "EventBusName": "orders", "EventPattern": "{\"source\":[\"shop\"]}"}),
    );
    assert_eq!(status, 200);
    let (status, out) = events_call(
        &s,
        "PutTargets",
        json!({"Rule": "r", "EventBusName": "orders",
            "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}]}),
    );
    assert_eq!(
        (status, out),
        (200, json!({"FailedEntryCount": 0, "FailedEntries": []}))
    );
    let (status, err) = events_call(
        &s,
        "DeleteRule",
        json!({"Name": "r", "EventBusName": "orders"}),
    );
    assert_eq!(
        (status, err["message"].as_str()),
        (400, Some("Rule can't be deleted since it has targets."))
    );
    // Wrong types and garbage are 400s, never 500s.
    for body in [json!({"Name": 5}), json!({"Name": ["x"]}), json!([1, 2])] {
        let (status, _) = events_call(&s, "CreateEventBus", body);
        assert_eq!(status, 400);
    }
    let (status, err) = events_call(&s, "PutEvents", json!({"Entries": []}));
    assert_eq!(
        (status, err["__type"].as_str()),
        (400, Some("ValidationException"))
    );
}

#[test]
fn events_state_survives_restart_on_sled() {
    let dir = tempfile::tempdir().unwrap();
    let config = || Config::on_disk(dir.path());
    let s = Server::start(config());
    events_call(
        &s,
        "CreateEventBus",
        json!({"Name": "b", "Tags": [{"Key": "k", "Value": "v"}]}),
    );
    events_call(
        &s,
        "PutRule",
        json!({"Name": "r", "EventBusName": "b", "EventPattern": "{\"source\":[\"a\"]}", "State": "DISABLED"}),
    );
    events_call(
        &s,
        "PutTargets",
        json!({"Rule": "r", "EventBusName": "b", "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "InputPath": "$.detail"}]}),
    );
    events_call(
        &s,
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
    );
    s.stop();

    let s = Server::start(config());
    let (_, rule) = events_call(
        &s,
        "DescribeRule",
        json!({"Name": "r", "EventBusName": "b"}),
    );
    assert_eq!(rule["State"], "DISABLED");
    let (_, targets) = events_call(
        &s,
        "ListTargetsByRule",
        json!({"Rule": "r", "EventBusName": "b"}),
    );
    assert_eq!(
        targets["Targets"],
        json!([{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q", "InputPath": "$.detail"}])
    );
    let (_, tick) = events_call(&s, "DescribeRule", json!({"Name": "tick"}));
    assert_eq!(tick["ScheduleExpression"], "rate(5 minutes)");
    let (_, tags) = events_call(
        &s,
        "ListTagsForResource",
        json!({"ResourceARN": "arn:aws:events:us-east-1:000000000000:event-bus/b"}),
    );
    assert_eq!(tags, json!({"Tags": [{"Key": "k", "Value": "v"}]}));
}
