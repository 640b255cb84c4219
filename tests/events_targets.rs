//! EventBridge targets over real HTTP in-process: topics, other buses (one hop), API destinations
//! against real HTTP servers on 127.0.0.1 (an OAuth token endpoint, endpoints that fail then
//! recover), kinds ferry does not deliver to, and the dead letters with AWS's attributes.

#[path = "support/endpoint.rs"]
mod endpoint;
#[path = "support/server.rs"]
mod server;

use endpoint::{endpoint, wait_for};
use ferry::Config;
use serde_json::{Value, json};
use server::Server;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "000000000000";

impl Server {
    fn json(&self, prefix: &str, version: &str, action: &str, body: Value) -> Value {
        self.json_in("us-east-1", prefix, version, action, body)
    }

    fn json_in(
        &self,
        region: &str,
        prefix: &str,
        version: &str,
        action: &str,
        body: Value,
    ) -> Value {
        let target = format!("{prefix}.{action}");
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=test/20260101/{region}/events/aws4_request, SignedHeaders=host, Signature=x"
        );
        let (status, _, out) = self.request(
            "POST",
            "/",
            &[
                ("X-Amz-Target", &target),
                ("Content-Type", version),
                ("Authorization", &auth),
            ],
            body.to_string().as_bytes(),
        );
        let out: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!(status, 200, "{action}: {out}");
        out
    }

    fn events(&self, action: &str, body: Value) -> Value {
        self.json("AWSEvents", "application/x-amz-json-1.1", action, body)
    }

    fn sqs(&self, action: &str, body: Value) -> Value {
        self.json("AmazonSQS", "application/x-amz-json-1.0", action, body)
    }

    fn sns(&self, pairs: &[(&str, &str)]) -> String {
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("Version", "2010-03-31")
            .extend_pairs(pairs)
            .finish();
        let (status, _, body) = self.request(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x"),
            ],
            form.as_bytes(),
        );
        let body = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A queue: (url, arn).
    fn queue(&self, name: &str) -> (String, String) {
        let url = self.sqs("CreateQueue", json!({"QueueName": name}))["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        (url, format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"))
    }

    /// Every message that arrives in `url` within `wait`, until `want` of them.
    fn drain(&self, url: &str, want: usize, wait: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < want && start.elapsed() < wait {
            let out = self.sqs(
                "ReceiveMessage",
                json!({"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                    "MessageAttributeNames": ["All"]}),
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

    /// A rule on `bus` matching `source`, with `targets`.
    fn rule(&self, bus: &str, name: &str, source: &str, targets: Value) {
        self.events(
            "PutRule",
            json!({"Name": name, "EventBusName": bus,
                "EventPattern": json!({"source": [source]}).to_string()}),
        );
        let out = self.events(
            "PutTargets",
            json!({"Rule": name, "EventBusName": bus, "Targets": targets}),
        );
        assert_eq!(out["FailedEntryCount"], 0, "{out}");
    }

    fn put(&self, source: &str, detail: Value) -> String {
        let out = self.events(
            "PutEvents",
            json!({"Entries": [{"Source": source, "DetailType": "t", "Detail": detail.to_string()}]}),
        );
        assert_eq!(out["FailedEntryCount"], 0, "{out}");
        out["Entries"][0]["EventId"].as_str().unwrap().to_string()
    }
}

fn attr(m: &Value, name: &str) -> Option<String> {
    m["MessageAttributes"][name]["StringValue"]
        .as_str()
        .map(String::from)
}

fn body(m: &Value) -> Value {
    serde_json::from_str(m["Body"].as_str().unwrap()).unwrap()
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn topics_and_other_buses_get_the_event() {
    let f = Server::start(Config::in_memory());
    let (topic_q, topic_q_arn) = f.queue("from-topic");
    let (bus_q, bus_q_arn) = f.queue("from-bus");
    let (dlq, dlq_arn) = f.queue("hop-dlq");
    let body_xml = f.sns(&[("Action", "CreateTopic"), ("Name", "orders")]);
    assert!(body_xml.contains("arn:aws:sns:us-east-1:000000000000:orders"));
    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:orders");
    f.sns(&[
        ("Action", "Subscribe"),
        ("TopicArn", &topic),
        ("Protocol", "sqs"),
        ("Endpoint", &topic_q_arn),
        ("Attributes.entry.1.key", "RawMessageDelivery"),
        ("Attributes.entry.1.value", "true"),
    ]);
    f.events("CreateEventBus", json!({"Name": "other"}));
    let other = format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/other");
    f.rule(
        "default",
        "fan",
        "shop",
        json!([
            {"Id": "topic", "Arn": topic, "InputPath": "$.detail"},
            {"Id": "bus", "Arn": other},
        ]),
    );
    // On the other bus: into a queue, and back to the default bus, which is a second hop.
    f.rule(
        "other",
        "onward",
        "shop",
        json!([
            {"Id": "q", "Arn": bus_q_arn},
            {"Id": "back", "Arn": format!("arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"),
             "DeadLetterConfig": {"Arn": dlq_arn}},
        ]),
    );
    let id = f.put("shop", json!({"order": 7}));
    let got = f.drain(&topic_q, 1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    assert_eq!(
        body(&got[0]),
        json!({"order": 7}),
        "the topic got the InputPath's output"
    );
    let got = f.drain(&bus_q, 1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    let event = body(&got[0]);
    assert_eq!(
        event["id"],
        id.as_str(),
        "same account and region: the same id"
    );
    assert_eq!(event["account"], ACCOUNT);
    assert_eq!(event["source"], "shop");
    assert_eq!(event["detail"], json!({"order": 7}));
    // The second hop is refused into the target's DLQ, and the event reached the queue once.
    let dead = f.drain(&dlq, 1, Duration::from_secs(10));
    assert_eq!(dead.len(), 1);
    assert_eq!(
        attr(&dead[0], "ERROR_CODE").as_deref(),
        Some("THIRD_ACCOUNT_HOP_DETECTED")
    );
    assert_eq!(
        attr(&dead[0], "RULE_ARN").as_deref(),
        Some(format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/other/onward").as_str())
    );
    assert_eq!(body(&dead[0])["id"], id.as_str());
    assert!(f.drain(&bus_q, 1, Duration::from_millis(1500)).is_empty());
    f.stop();
}

#[test]
fn api_destinations_authorize_with_oauth_and_retry_until_delivered() {
    let f = Server::start(Config::in_memory());
    // Tokens tok-0, tok-1, ...; the endpoint refuses the first token, then fails once, then
    // takes the event.
    let (auth_url, token_requests) = endpoint(|n| {
        (
            200,
            json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": 3600})
                .to_string(),
        )
    });
    let (api_url, seen) = endpoint(|n| match n {
        0 => (401, String::new()),
        1 => (503, String::new()),
        _ => (200, "{}".into()),
    });
    let conn = f.events(
        "CreateConnection",
        json!({"Name": "oauth", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS",
            "AuthParameters": {"OAuthParameters": {
                "ClientParameters": {"ClientID": "me", "ClientSecret": "s3cret"},
                "AuthorizationEndpoint": format!("{auth_url}/token"),
                "HttpMethod": "POST",
                "OAuthHttpParameters": {"BodyParameters": [
                    {"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": false}]}},
            "InvocationHttpParameters": {
                "HeaderParameters": [{"Key": "x-from-connection", "Value": "c", "IsValueSecret": false}],
                "QueryStringParameters": [{"Key": "tenant", "Value": "t1", "IsValueSecret": false}],
                "BodyParameters": [{"Key": "from", "Value": "ferry", "IsValueSecret": true},
                    {"Key": "order", "Value": "set by the connection", "IsValueSecret": false}]}}}),
    );
    let dest = f.events(
        "CreateApiDestination",
        json!({"Name": "orders", "ConnectionArn": conn["ConnectionArn"],
            "InvocationEndpoint": format!("{api_url}/orders/*/items/*"), "HttpMethod": "PUT"}),
    );
    f.rule(
        "default",
        "api",
        "shop",
        json!([{"Id": "d", "Arn": dest["ApiDestinationArn"], "RoleArn": "arn:aws:iam::000000000000:role/r",
            "InputPath": "$.detail",
            "HttpParameters": {"PathParameterValues": ["o-1", "i-2"],
                "HeaderParameters": {"x-from-target": "t"},
                "QueryStringParameters": {"page": "3"}},
            "RetryPolicy": {"MaximumRetryAttempts": 5, "MaximumEventAgeInSeconds": 600}}]),
    );
    f.put("shop", json!({"order": 1}));
    wait_for(&seen, 3, Duration::from_secs(20));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "401 (new token), 503 (retried), 200");
    for (method, path, headers, body) in &seen {
        assert_eq!(method, "PUT");
        assert!(
            path.starts_with("/orders/o-1/items/i-2?")
                && path.contains("page=3")
                && path.contains("tenant=t1"),
            "{path}"
        );
        assert_eq!(header(headers, "x-from-connection"), Some("c"));
        assert_eq!(header(headers, "x-from-target"), Some("t"));
        // The connection's body parameters are set in the JSON body, and win over the event's.
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({"order": "set by the connection", "from": "ferry"})
        );
    }
    assert_eq!(header(&seen[0].2, "authorization"), Some("Bearer tok-0"));
    assert_eq!(header(&seen[1].2, "authorization"), Some("Bearer tok-1"));
    assert_eq!(
        header(&seen[2].2, "authorization"),
        Some("Bearer tok-1"),
        "cached"
    );
    let tokens = token_requests.lock().unwrap().clone();
    assert_eq!(tokens.len(), 2, "one token, then one more after the 401");
    let (method, path, headers, body) = &tokens[0];
    assert_eq!((method.as_str(), path.as_str()), ("POST", "/token"));
    assert_eq!(body, "grant_type=client_credentials");
    // base64("me:s3cret")
    assert_eq!(header(headers, "authorization"), Some("Basic bWU6czNjcmV0"));
}

#[test]
fn failed_deliveries_reach_the_dlq_with_awss_attributes() {
    let f = Server::start(Config::in_memory());
    let (dlq, dlq_arn) = f.queue("dlq");
    let (not_found, seen_404) = endpoint(|_| (404, String::new()));
    let (unavailable, seen_503) = endpoint(|_| (503, String::new()));
    let conn = f.events(
        "CreateConnection",
        json!({"Name": "key", "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k1"}}}),
    );
    let basic = f.events(
        "CreateConnection",
        json!({"Name": "basic", "AuthorizationType": "BASIC",
            "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}}),
    );
    let gone = f.events(
        "CreateApiDestination",
        json!({"Name": "gone", "ConnectionArn": conn["ConnectionArn"],
            "InvocationEndpoint": format!("{not_found}/x"), "HttpMethod": "POST"}),
    )["ApiDestinationArn"]
        .as_str()
        .unwrap()
        .to_string();
    let down = f.events(
        "CreateApiDestination",
        json!({"Name": "down", "ConnectionArn": basic["ConnectionArn"],
            "InvocationEndpoint": format!("{unavailable}/y"), "HttpMethod": "POST"}),
    )["ApiDestinationArn"]
        .as_str()
        .unwrap()
        .to_string();
    let lambda = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:f");
    let dead_letter = json!({"Arn": dlq_arn});
    f.rule(
        "default",
        "failing",
        "shop",
        json!([
            {"Id": "gone", "Arn": gone, "DeadLetterConfig": dead_letter},
            {"Id": "down", "Arn": down, "DeadLetterConfig": dead_letter,
             "Input": "{\"fixed\":true}",
             "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 600}},
            {"Id": "fn", "Arn": lambda, "DeadLetterConfig": dead_letter},
        ]),
    );
    let id = f.put("shop", json!({"n": 1}));
    let dead = f.drain(&dlq, 3, Duration::from_secs(20));
    assert_eq!(dead.len(), 3, "{dead:?}");
    let by_target = |arn: &str| {
        dead.iter()
            .find(|m| attr(m, "TARGET_ARN").as_deref() == Some(arn))
            .unwrap_or_else(|| panic!("no dead letter for {arn}: {dead:?}"))
            .clone()
    };
    let rule_arn = format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/failing");
    // A 404 is final: no retry, no exhausted condition.
    let m = by_target(&gone);
    assert_eq!(attr(&m, "RULE_ARN").as_deref(), Some(rule_arn.as_str()));
    assert_eq!(attr(&m, "ERROR_CODE").as_deref(), Some("SDK_CLIENT_ERROR"));
    assert!(attr(&m, "ERROR_MESSAGE").unwrap().contains("404"));
    assert_eq!(attr(&m, "RETRY_ATTEMPTS").as_deref(), Some("0"));
    assert_eq!(attr(&m, "EXHAUSTED_RETRY_CONDITION"), None);
    assert_eq!(
        body(&m)["id"],
        id.as_str(),
        "the event as it would have been delivered"
    );
    assert_eq!(seen_404.lock().unwrap().len(), 1);
    let h = &seen_404.lock().unwrap()[0].2;
    assert_eq!(header(h, "x-api-key"), Some("k1"));
    // 503s are retried until MaximumRetryAttempts runs out.
    let m = by_target(&down);
    assert_eq!(attr(&m, "ERROR_CODE").as_deref(), Some("SDK_CLIENT_ERROR"));
    assert_eq!(attr(&m, "RETRY_ATTEMPTS").as_deref(), Some("1"));
    assert_eq!(
        attr(&m, "EXHAUSTED_RETRY_CONDITION").as_deref(),
        Some("MaximumRetryAttempts")
    );
    assert_eq!(body(&m), json!({"fixed": true}));
    let tries = seen_503.lock().unwrap().clone();
    assert_eq!(tries.len(), 2);
    assert_eq!(header(&tries[0].2, "authorization"), Some("Basic dTpw"));
    // A Lambda function is stored and listed, but a delivery to it fails at once.
    let m = by_target(&lambda);
    assert_eq!(attr(&m, "ERROR_CODE").as_deref(), Some("NO_RESOURCE"));
    assert_eq!(attr(&m, "RETRY_ATTEMPTS").as_deref(), Some("0"));
}

#[test]
fn a_bus_in_another_region_gets_the_event_with_a_new_id() {
    let f = Server::start(Config::in_memory());
    let far = "eu-west-1";
    let sqs_far = |action: &str, body: Value| {
        f.json_in(far, "AmazonSQS", "application/x-amz-json-1.0", action, body)
    };
    let events_far = |action: &str, body: Value| {
        f.json_in(far, "AWSEvents", "application/x-amz-json-1.1", action, body)
    };
    let url = sqs_far("CreateQueue", json!({"QueueName": "far-q"}))["QueueUrl"]
        .as_str()
        .unwrap()
        .to_string();
    events_far("CreateEventBus", json!({"Name": "far"}));
    events_far(
        "PutRule",
        json!({"Name": "in", "EventBusName": "far", "EventPattern": r#"{"source":["shop"]}"#}),
    );
    events_far(
        "PutTargets",
        json!({"Rule": "in", "EventBusName": "far",
            "Targets": [{"Id": "q", "Arn": format!("arn:aws:sqs:{far}:{ACCOUNT}:far-q")}]}),
    );
    f.rule(
        "default",
        "out",
        "shop",
        json!([{"Id": "far", "Arn": format!("arn:aws:events:{far}:{ACCOUNT}:event-bus/far")}]),
    );
    let id = f.put("shop", json!({"x": 1}));
    let start = Instant::now();
    let mut got = Vec::new();
    while got.is_empty() && start.elapsed() < Duration::from_secs(10) {
        let out = sqs_far(
            "ReceiveMessage",
            json!({"QueueUrl": url, "WaitTimeSeconds": 1}),
        );
        got.extend(out["Messages"].as_array().cloned().unwrap_or_default());
    }
    assert_eq!(got.len(), 1);
    let event = body(&got[0]);
    assert_ne!(
        event["id"],
        id.as_str(),
        "across regions the id is new (EB-141)"
    );
    assert_eq!(
        event["region"], "us-east-1",
        "the region stays the source's (EB-141)"
    );
    assert_eq!(event["detail"], json!({"x": 1}));
}

/// An API destination's request is resolved once and reused, but a change to its connection or
/// to the destination itself applies to the next event (the resolved request is not kept past
/// it), and a deauthorized connection refuses into the DLQ.
#[test]
fn connection_and_destination_changes_apply_to_the_next_event() {
    let f = Server::start(Config::in_memory());
    let (dlq, dlq_arn) = f.queue("dlq");
    let (first, seen_first) = endpoint(|_| (200, "{}".into()));
    let (second, seen_second) = endpoint(|_| (200, "{}".into()));
    let conn = f.events(
        "CreateConnection",
        json!({"Name": "key", "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k1"}}}),
    );
    let dest = f.events(
        "CreateApiDestination",
        json!({"Name": "d", "ConnectionArn": conn["ConnectionArn"],
            "InvocationEndpoint": format!("{first}/a"), "HttpMethod": "POST"}),
    );
    f.rule(
        "default",
        "api",
        "shop",
        json!([{"Id": "d", "Arn": dest["ApiDestinationArn"],
            "DeadLetterConfig": {"Arn": dlq_arn},
            "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}}]),
    );
    f.put("shop", json!({"n": 1}));
    f.put("shop", json!({"n": 2}));
    wait_for(&seen_first, 2, Duration::from_secs(10));
    for (_, _, headers, _) in seen_first.lock().unwrap().iter() {
        assert_eq!(header(headers, "x-api-key"), Some("k1"));
    }

    f.events(
        "UpdateConnection",
        json!({"Name": "key", "AuthorizationType": "API_KEY",
            "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k2"}}}),
    );
    f.put("shop", json!({"n": 3}));
    wait_for(&seen_first, 3, Duration::from_secs(10));
    let third = seen_first.lock().unwrap()[2].clone();
    assert_eq!(header(&third.2, "x-api-key"), Some("k2"));

    f.events(
        "UpdateApiDestination",
        json!({"Name": "d", "InvocationEndpoint": format!("{second}/b"), "HttpMethod": "PUT"}),
    );
    f.put("shop", json!({"n": 4}));
    wait_for(&seen_second, 1, Duration::from_secs(10));
    let (method, path, headers, _) = seen_second.lock().unwrap()[0].clone();
    assert_eq!((method.as_str(), path.as_str()), ("PUT", "/b"));
    assert_eq!(header(&headers, "x-api-key"), Some("k2"));

    f.events("DeauthorizeConnection", json!({"Name": "key"}));
    f.put("shop", json!({"n": 5}));
    let dead = f.drain(&dlq, 1, Duration::from_secs(10));
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        attr(&dead[0], "ERROR_CODE").as_deref(),
        Some("NO_PERMISSIONS")
    );
    assert_eq!(seen_second.lock().unwrap().len(), 1);
}
