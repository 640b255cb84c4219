//! EventBridge target kinds through the AWS SDK for Rust: an API destination (API key) against a
//! real HTTP server on 127.0.0.1 that fails twice and then recovers, and a Kinesis target (stored,
//! never delivered) whose events land in the DLQ with the attributes AWS adds.
//!
//! Needs a running ferry: `FERRY_ENDPOINT=http://127.0.0.1:4566 cargo test --release`.

mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_eventbridge::types::{
    ApiDestinationHttpMethod, ConnectionAuthorizationType,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    DeadLetterConfig, HttpParameters, PutEventsRequestEntry, RetryPolicy, Target,
};
use aws_sdk_sqs::types::MessageAttributeValue;

/// (request line, headers lower-cased, body) of each request a local endpoint saw.
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>, String)>>>;

/// A real HTTP endpoint on 127.0.0.1 answering `status(n)` to its n-th request.
fn endpoint(status: fn(usize) -> u16) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let keep = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(50).enumerate() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap_or(0));
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            keep.lock().unwrap().push((
                line.trim().to_string(),
                headers,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let code = status(n);
            let _ = stream.write_all(
                format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (url, seen)
}

async fn events() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&sdk_config().await)
}

async fn rule_with(eb: &aws_sdk_eventbridge::Client, bus: &str, name: &str, target: Target) {
    eb.put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["rs.app"]}"#)
        .send()
        .await
        .expect("PutRule");
    let out = eb
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .expect("PutTargets");
    assert_eq!(out.failed_entry_count(), 0);
}

async fn put(eb: &aws_sdk_eventbridge::Client, bus: &str, detail: &str) -> String {
    let out = eb
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .source("rs.app")
                .detail_type("t")
                .detail(detail)
                .event_bus_name(bus)
                .build(),
        )
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 0);
    out.entries()[0].event_id().unwrap().to_string()
}

#[tokio::test]
async fn an_api_destination_is_retried_until_the_endpoint_recovers() {
    let eb = events().await;
    let (url, seen) = endpoint(|n| if n < 2 { 500 } else { 200 });
    let name = unique("key");
    let conn = eb
        .create_connection()
        .name(&name)
        .authorization_type(ConnectionAuthorizationType::ApiKey)
        .auth_parameters(
            CreateConnectionAuthRequestParameters::builder()
                .api_key_auth_parameters(
                    CreateConnectionApiKeyAuthRequestParameters::builder()
                        .api_key_name("x-api-key")
                        .api_key_value("rs-secret")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateConnection");
    let dest = eb
        .create_api_destination()
        .name(&name)
        .connection_arn(conn.connection_arn().unwrap())
        .invocation_endpoint(format!("{url}/in/*"))
        .http_method(ApiDestinationHttpMethod::Post)
        .send()
        .await
        .expect("CreateApiDestination");
    let bus = unique("abus");
    eb.create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");
    rule_with(
        &eb,
        &bus,
        "api",
        Target::builder()
            .id("api")
            .arn(dest.api_destination_arn().unwrap())
            .input_path("$.detail")
            .http_parameters(
                HttpParameters::builder()
                    .path_parameter_values("p1")
                    .build(),
            )
            .retry_policy(
                RetryPolicy::builder()
                    .maximum_retry_attempts(3)
                    .maximum_event_age_in_seconds(120)
                    .build(),
            )
            .build()
            .unwrap(),
    )
    .await;
    put(&eb, &bus, r#"{"n":1}"#).await;
    let start = Instant::now();
    while seen.lock().unwrap().len() < 3 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two 500s, then a 200");
    for (line, headers, body) in &seen {
        assert_eq!(line, "POST /in/p1 HTTP/1.1");
        assert!(headers.contains(&("x-api-key".into(), "rs-secret".into())));
        assert_eq!(body, r#"{"n":1}"#);
    }
}

#[tokio::test]
async fn a_kinesis_target_fails_into_its_dlq_with_awss_attributes() {
    let eb = events().await;
    let sqs = sqs().await;
    let mut cleanup = Cleanup(Vec::new());
    let dlq = unique("dlq");
    let dlq_url = create_queue(&sqs, &mut cleanup, &dlq, &[]).await;
    let bus = unique("kbus");
    eb.create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");
    let stream = format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s");
    rule_with(
        &eb,
        &bus,
        "to-kinesis",
        Target::builder()
            .id("k")
            .arn(&stream)
            .dead_letter_config(DeadLetterConfig::builder().arn(queue_arn(&dlq)).build())
            .build()
            .unwrap(),
    )
    .await;
    let id = put(&eb, &bus, r#"{"n":2}"#).await;
    let start = Instant::now();
    let mut got = Vec::new();
    while got.is_empty() && start.elapsed() < Duration::from_secs(20) {
        let out = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .expect("ReceiveMessage");
        got.extend(out.messages.unwrap_or_default());
    }
    assert_eq!(got.len(), 1);
    let m = &got[0];
    let attrs = m.message_attributes().expect("attributes");
    let a = |k: &str| {
        attrs
            .get(k)
            .and_then(MessageAttributeValue::string_value)
            .map(String::from)
    };
    assert_eq!(
        a("RULE_ARN").as_deref(),
        Some(format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/to-kinesis").as_str())
    );
    assert_eq!(a("TARGET_ARN").as_deref(), Some(stream.as_str()));
    assert_eq!(a("ERROR_CODE").as_deref(), Some("NO_RESOURCE"));
    assert_eq!(a("RETRY_ATTEMPTS").as_deref(), Some("0"));
    assert!(a("ERROR_MESSAGE").is_some());
    assert!(m.body().unwrap().contains(&id));
}
