//! The AWS wire protocols the load speaks, as pure functions: requests to bytes, response bytes
//! to the few fields a scenario needs. SQS over awsJson1.0 or awsQuery, SNS over awsQuery,
//! EventBridge over awsJson1.1 — the encodings the SDKs use.

use bytes::Bytes;
use serde_json::{Value, json};

/// How SQS requests are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqsProtocol {
    /// awsJson1.0 (`X-Amz-Target: AmazonSQS.*`): current SDKs.
    Json,
    /// awsQuery (form-encoded `Action=...`, XML answers): older SDKs.
    Query,
}

impl SqsProtocol {
    /// `json` or `query`, as reported.
    pub fn name(self) -> &'static str {
        match self {
            SqsProtocol::Json => "json",
            SqsProtocol::Query => "query",
        }
    }
}

/// One request, ready to be signed and sent as a POST to `/`.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The AWS action (for error messages).
    pub action: &'static str,
    /// SigV4 signing name: `sqs`, `sns` or `events`.
    pub service: &'static str,
    /// `X-Amz-Target` of the JSON protocols.
    pub target: Option<String>,
    /// `Content-Type`, when there is a body.
    pub content_type: Option<&'static str>,
    /// The request body.
    pub body: Bytes,
}

const JSON10: &str = "application/x-amz-json-1.0";
const JSON11: &str = "application/x-amz-json-1.1";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
const SQS_VERSION: &str = "2012-11-05";
const SNS_VERSION: &str = "2010-03-31";

fn json_call(
    action: &'static str,
    service: &'static str,
    prefix: &str,
    ct: &'static str,
    body: Value,
) -> Call {
    Call {
        action,
        service,
        target: Some(format!("{prefix}.{action}")),
        content_type: Some(ct),
        body: Bytes::from(body.to_string()),
    }
}

fn query_call(
    action: &'static str,
    service: &'static str,
    version: &str,
    params: &[(&str, &str)],
) -> Call {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", action)
        .append_pair("Version", version);
    for (k, v) in params {
        form.append_pair(k, v);
    }
    Call {
        action,
        service,
        target: None,
        content_type: Some(FORM),
        body: Bytes::from(form.finish()),
    }
}

fn sqs(p: SqsProtocol, action: &'static str, json: Value, query: &[(&str, &str)]) -> Call {
    match p {
        SqsProtocol::Json => json_call(action, "sqs", "AmazonSQS", JSON10, json),
        SqsProtocol::Query => query_call(action, "sqs", SQS_VERSION, query),
    }
}

/// A signed POST with no body and no action: what a trivial server answers 200 to.
pub fn raw() -> Call {
    Call {
        action: "POST",
        service: "sqs",
        target: None,
        content_type: None,
        body: Bytes::new(),
    }
}

/// CreateQueue of a standard queue with the given visibility timeout.
pub fn create_queue(p: SqsProtocol, name: &str, visibility: u32) -> Call {
    let vis = visibility.to_string();
    sqs(
        p,
        "CreateQueue",
        json!({"QueueName": name, "Attributes": {"VisibilityTimeout": vis}}),
        &[
            ("QueueName", name),
            ("Attribute.1.Name", "VisibilityTimeout"),
            ("Attribute.1.Value", &vis),
        ],
    )
}

/// GetQueueAttributes asking for the queue's ARN.
pub fn get_queue_arn(p: SqsProtocol, url: &str) -> Call {
    sqs(
        p,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["QueueArn"]}),
        &[("QueueUrl", url), ("AttributeName.1", "QueueArn")],
    )
}

/// SendMessage of `body`.
pub fn send_message(p: SqsProtocol, url: &str, body: &str) -> Call {
    sqs(
        p,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": body}),
        &[("QueueUrl", url), ("MessageBody", body)],
    )
}

/// ReceiveMessage of up to `max` messages, long-polling `wait` seconds.
pub fn receive_message(p: SqsProtocol, url: &str, max: u32, wait: u32) -> Call {
    let (m, w) = (max.to_string(), wait.to_string());
    sqs(
        p,
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": max, "WaitTimeSeconds": wait}),
        &[
            ("QueueUrl", url),
            ("MaxNumberOfMessages", &m),
            ("WaitTimeSeconds", &w),
        ],
    )
}

/// DeleteMessageBatch of the given receipt handles (ids are their positions).
pub fn delete_message_batch(p: SqsProtocol, url: &str, handles: &[String]) -> Call {
    let entries: Vec<Value> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| json!({"Id": i.to_string(), "ReceiptHandle": h}))
        .collect();
    let keys: Vec<(String, String, String)> = handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let n = i + 1;
            (
                format!("DeleteMessageBatchRequestEntry.{n}.Id"),
                format!("DeleteMessageBatchRequestEntry.{n}.ReceiptHandle"),
                h.clone(),
            )
        })
        .collect();
    let ids: Vec<String> = (0..handles.len()).map(|i| i.to_string()).collect();
    let mut query: Vec<(&str, &str)> = vec![("QueueUrl", url)];
    for ((id_key, handle_key, handle), id) in keys.iter().zip(&ids) {
        query.push((id_key, id));
        query.push((handle_key, handle));
    }
    sqs(
        p,
        "DeleteMessageBatch",
        json!({"QueueUrl": url, "Entries": entries}),
        &query,
    )
}

/// SNS CreateTopic.
pub fn create_topic(name: &str) -> Call {
    query_call("CreateTopic", "sns", SNS_VERSION, &[("Name", name)])
}

/// SNS Subscribe of an SQS queue with raw message delivery (the body arrives as published).
pub fn subscribe_raw_sqs(topic_arn: &str, queue_arn: &str) -> Call {
    query_call(
        "Subscribe",
        "sns",
        SNS_VERSION,
        &[
            ("TopicArn", topic_arn),
            ("Protocol", "sqs"),
            ("Endpoint", queue_arn),
            ("Attributes.entry.1.key", "RawMessageDelivery"),
            ("Attributes.entry.1.value", "true"),
            ("ReturnSubscriptionArn", "true"),
        ],
    )
}

/// SNS Publish of `message`.
pub fn publish(topic_arn: &str, message: &str) -> Call {
    query_call(
        "Publish",
        "sns",
        SNS_VERSION,
        &[("TopicArn", topic_arn), ("Message", message)],
    )
}

fn events(action: &'static str, body: Value) -> Call {
    json_call(action, "events", "AWSEvents", JSON11, body)
}

/// EventBridge CreateEventBus.
/// An HTTP subscription (confirmed later with `confirm_subscription`).
pub fn subscribe_http(topic_arn: &str, url: &str) -> Call {
    query_call(
        "Subscribe",
        "sns",
        SNS_VERSION,
        &[
            ("TopicArn", topic_arn),
            ("Protocol", "http"),
            ("Endpoint", url),
            ("ReturnSubscriptionArn", "true"),
        ],
    )
}

pub fn confirm_subscription(topic_arn: &str, token: &str) -> Call {
    query_call(
        "ConfirmSubscription",
        "sns",
        SNS_VERSION,
        &[("TopicArn", topic_arn), ("Token", token)],
    )
}

/// A connection with an API key (what an API destination needs).
pub fn create_connection(name: &str) -> Call {
    events(
        "CreateConnection",
        json!({"Name": name, "AuthorizationType": "API_KEY", "AuthParameters":
            {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "load"}}}),
    )
}

pub fn create_api_destination(name: &str, connection_arn: &str, url: &str) -> Call {
    events(
        "CreateApiDestination",
        json!({"Name": name, "ConnectionArn": connection_arn, "InvocationEndpoint": url,
            "HttpMethod": "POST", "InvocationRateLimitPerSecond": 300}),
    )
}

/// A target with a role (API destinations need one).
pub fn put_role_target(bus: &str, rule: &str, id: &str, arn: &str) -> Call {
    events(
        "PutTargets",
        json!({"Rule": rule, "EventBusName": bus, "Targets": [{"Id": id, "Arn": arn,
            "RoleArn": "arn:aws:iam::000000000000:role/ferry-load"}]}),
    )
}

/// A string field of a JSON answer.
pub fn json_field(body: &[u8], field: &str) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    Some(v.get(field)?.as_str()?.to_string())
}

pub fn create_event_bus(name: &str) -> Call {
    events("CreateEventBus", json!({"Name": name}))
}

/// EventBridge PutRule on `bus` with an event pattern.
pub fn put_rule(bus: &str, name: &str, pattern: &Value) -> Call {
    events(
        "PutRule",
        json!({"Name": name, "EventBusName": bus, "EventPattern": pattern.to_string(), "State": "ENABLED"}),
    )
}

/// EventBridge PutTargets: one target `arn` with id `id` on rule `rule`.
pub fn put_targets(bus: &str, rule: &str, id: &str, arn: &str) -> Call {
    events(
        "PutTargets",
        json!({"Rule": rule, "EventBusName": bus, "Targets": [{"Id": id, "Arn": arn}]}),
    )
}

/// EventBridge PutEvents: one entry per detail, all with the same source and detail-type.
pub fn put_events(bus: &str, source: &str, detail_type: &str, details: &[Value]) -> Call {
    let entries: Vec<Value> = details
        .iter()
        .map(|d| {
            json!({"Source": source, "DetailType": detail_type, "Detail": d.to_string(),
                   "EventBusName": bus})
        })
        .collect();
    events("PutEvents", json!({"Entries": entries}))
}

// ---------------------------------------------------------------- responses

fn parse_json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

fn json_str(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

/// Replaces XML's predefined entities and character references.
pub fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest.find(';') else { break };
        let ent = &rest[1..end];
        let ch = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The raw (still escaped) contents of every `<tag>...</tag>` in `doc`, in order (not nested).
pub fn xml_blocks<'a>(doc: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

/// The unescaped text of the first `<tag>` in `doc` (`<tag/>` is the empty string).
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = doc.find(&format!("<{tag}>"));
    let empty = doc.find(&format!("<{tag}/>"));
    match (open, empty) {
        (Some(o), Some(e)) if e < o => Some(String::new()),
        (None, Some(_)) => Some(String::new()),
        _ => xml_blocks(doc, tag).first().map(|s| xml_unescape(s)),
    }
}

fn text(body: &[u8]) -> Option<&str> {
    std::str::from_utf8(body).ok()
}

/// CreateQueue's `QueueUrl`.
pub fn queue_url(p: SqsProtocol, body: &[u8]) -> Option<String> {
    match p {
        SqsProtocol::Json => json_str(&parse_json(body)?, "QueueUrl"),
        SqsProtocol::Query => xml_text(text(body)?, "QueueUrl"),
    }
}

/// GetQueueAttributes' `QueueArn`.
pub fn queue_arn(p: SqsProtocol, body: &[u8]) -> Option<String> {
    match p {
        SqsProtocol::Json => json_str(parse_json(body)?.get("Attributes")?, "QueueArn"),
        SqsProtocol::Query => xml_blocks(text(body)?, "Attribute")
            .into_iter()
            .find(|a| xml_text(a, "Name").as_deref() == Some("QueueArn"))
            .and_then(|a| xml_text(a, "Value")),
    }
}

/// SendMessage's (or SNS Publish's, with `Query`) `MessageId`.
pub fn message_id(p: SqsProtocol, body: &[u8]) -> Option<String> {
    match p {
        SqsProtocol::Json => json_str(&parse_json(body)?, "MessageId"),
        SqsProtocol::Query => xml_text(text(body)?, "MessageId"),
    }
}

/// A received message.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub id: String,
    pub handle: String,
    pub body: String,
}

/// ReceiveMessage's messages (none when the answer has no `Messages`); `None` if unreadable.
pub fn received(p: SqsProtocol, body: &[u8]) -> Option<Vec<Received>> {
    match p {
        SqsProtocol::Json => {
            let v = parse_json(body)?;
            let Some(list) = v.get("Messages") else {
                return Some(Vec::new());
            };
            list.as_array()?
                .iter()
                .map(|m| {
                    Some(Received {
                        id: json_str(m, "MessageId")?,
                        handle: json_str(m, "ReceiptHandle")?,
                        body: json_str(m, "Body")?,
                    })
                })
                .collect()
        }
        SqsProtocol::Query => {
            let doc = text(body)?;
            if !doc.contains("ReceiveMessageResult") {
                return None;
            }
            xml_blocks(doc, "Message")
                .into_iter()
                .map(|m| {
                    Some(Received {
                        id: xml_text(m, "MessageId")?,
                        handle: xml_text(m, "ReceiptHandle")?,
                        body: xml_text(m, "Body")?,
                    })
                })
                .collect()
        }
    }
}

/// (successful, failed) entry counts of a DeleteMessageBatch answer.
pub fn batch_result(p: SqsProtocol, body: &[u8]) -> Option<(usize, usize)> {
    match p {
        SqsProtocol::Json => {
            let v = parse_json(body)?;
            let n = |k: &str| v.get(k).and_then(Value::as_array).map_or(0, Vec::len);
            Some((n("Successful"), n("Failed")))
        }
        SqsProtocol::Query => {
            let doc = text(body)?;
            if !doc.contains("DeleteMessageBatchResult") {
                return None;
            }
            Some((
                xml_blocks(doc, "DeleteMessageBatchResultEntry").len(),
                xml_blocks(doc, "BatchResultErrorEntry").len(),
            ))
        }
    }
}

/// SNS CreateTopic's `TopicArn`.
pub fn topic_arn(body: &[u8]) -> Option<String> {
    xml_text(text(body)?, "TopicArn")
}

/// SNS Subscribe's `SubscriptionArn`.
pub fn subscription_arn(body: &[u8]) -> Option<String> {
    xml_text(text(body)?, "SubscriptionArn")
}

/// What PutEvents answered: failed entry count and, per entry in order, its event id (`None`
/// for a failed entry).
#[derive(Debug, PartialEq)]
pub struct PutEventsResult {
    pub failed: u64,
    pub ids: Vec<Option<String>>,
}

/// Reads a PutEvents answer.
pub fn put_events_result(body: &[u8]) -> Option<PutEventsResult> {
    let v = parse_json(body)?;
    let ids = v
        .get("Entries")?
        .as_array()?
        .iter()
        .map(|e| json_str(e, "EventId"))
        .collect();
    Some(PutEventsResult {
        failed: v
            .get("FailedEntryCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        ids,
    })
}

/// A message body delivered by SNS: the published message and whether it came wrapped in SNS's
/// JSON envelope (the subscription asked for raw delivery, so a wrap is reported).
pub fn unwrap_sns(body: &str) -> (String, bool) {
    if body.starts_with('{')
        && let Some(v) = parse_json(body.as_bytes())
        && v.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(m) = json_str(&v, "Message")
    {
        return (m, true);
    }
    (body.to_string(), false)
}

/// An EventBridge event delivered to SQS: its `id` and the `k` field of its detail.
pub fn event_id_and_key(body: &str) -> Option<(String, String)> {
    let v = parse_json(body.as_bytes())?;
    Some((json_str(&v, "id")?, json_str(v.get("detail")?, "k")?))
}

/// An AWS error answer in a line: `Code: message`, or the start of the body when it is not one.
pub fn describe_error(body: &[u8]) -> String {
    if let Some(v) = parse_json(body) {
        let code = json_str(&v, "__type").map(|t| t.rsplit('#').next().unwrap_or("").to_string());
        let msg = json_str(&v, "message").or_else(|| json_str(&v, "Message"));
        if code.is_some() || msg.is_some() {
            return format!("{}: {}", code.unwrap_or_default(), msg.unwrap_or_default());
        }
    }
    let s = String::from_utf8_lossy(body);
    if let Some(err) = xml_blocks(&s, "Error").first() {
        return format!(
            "{}: {}",
            xml_text(err, "Code").unwrap_or_default(),
            xml_text(err, "Message").unwrap_or_default()
        );
    }
    let one_line: String = s
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(c: &Call) -> Vec<(String, String)> {
        form_urlencoded::parse(&c.body).into_owned().collect()
    }

    #[test]
    fn sqs_json_requests() {
        let c = send_message(SqsProtocol::Json, "http://h/1/q", "a\"b");
        assert_eq!(c.target.as_deref(), Some("AmazonSQS.SendMessage"));
        assert_eq!(c.content_type, Some("application/x-amz-json-1.0"));
        assert_eq!(c.service, "sqs");
        let v: Value = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(
            v,
            json!({"QueueUrl": "http://h/1/q", "MessageBody": "a\"b"})
        );
        let c = delete_message_batch(SqsProtocol::Json, "u", &["h0".into(), "h1".into()]);
        let v: Value = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(v["Entries"][1], json!({"Id": "1", "ReceiptHandle": "h1"}));
    }

    #[test]
    fn sqs_query_requests() {
        let c = receive_message(SqsProtocol::Query, "http://h/1/q", 10, 1);
        assert_eq!(c.target, None);
        assert_eq!(
            c.content_type,
            Some("application/x-www-form-urlencoded; charset=utf-8")
        );
        let f = form(&c);
        assert_eq!(f[0], ("Action".into(), "ReceiveMessage".into()));
        assert_eq!(f[1], ("Version".into(), "2012-11-05".into()));
        assert!(f.contains(&("MaxNumberOfMessages".into(), "10".into())));
        let c = delete_message_batch(SqsProtocol::Query, "u", &["a+b/c=".into(), "x".into()]);
        let f = form(&c);
        assert!(f.contains(&("DeleteMessageBatchRequestEntry.1.Id".into(), "0".into())));
        assert!(f.contains(&(
            "DeleteMessageBatchRequestEntry.1.ReceiptHandle".into(),
            "a+b/c=".into()
        )));
        assert!(f.contains(&(
            "DeleteMessageBatchRequestEntry.2.ReceiptHandle".into(),
            "x".into()
        )));
        let f = form(&create_queue(SqsProtocol::Query, "q", 120));
        assert!(f.contains(&("Attribute.1.Value".into(), "120".into())));
        let f = form(&subscribe_raw_sqs("arn:t", "arn:q"));
        assert!(f.contains(&("Attributes.entry.1.key".into(), "RawMessageDelivery".into())));
        assert!(f.contains(&("Version".into(), "2010-03-31".into())));
    }

    #[test]
    fn events_requests_are_json_1_1() {
        let c = put_events("bus", "src", "dt", &[json!({"k": "v"})]);
        assert_eq!(c.target.as_deref(), Some("AWSEvents.PutEvents"));
        assert_eq!(c.content_type, Some("application/x-amz-json-1.1"));
        assert_eq!(c.service, "events");
        let v: Value = serde_json::from_slice(&c.body).unwrap();
        assert_eq!(v["Entries"][0]["Detail"], json!("{\"k\":\"v\"}"));
        assert_eq!(v["Entries"][0]["EventBusName"], json!("bus"));
    }

    #[test]
    fn json_responses() {
        let p = SqsProtocol::Json;
        assert_eq!(queue_url(p, br#"{"QueueUrl":"u"}"#).as_deref(), Some("u"));
        assert_eq!(
            queue_arn(p, br#"{"Attributes":{"QueueArn":"a"}}"#).as_deref(),
            Some("a")
        );
        assert_eq!(received(p, b"{}"), Some(vec![]));
        let r = received(
            p,
            br#"{"Messages":[{"MessageId":"i","ReceiptHandle":"h","Body":"b"}]}"#,
        );
        assert_eq!(
            r,
            Some(vec![Received {
                id: "i".into(),
                handle: "h".into(),
                body: "b".into()
            }])
        );
        assert_eq!(received(p, b"<xml/>"), None);
        assert_eq!(
            batch_result(p, br#"{"Successful":[{},{}],"Failed":[{}]}"#),
            Some((2, 1))
        );
        let r = put_events_result(
            br#"{"FailedEntryCount":1,"Entries":[{"EventId":"e"},{"ErrorCode":"x"}]}"#,
        );
        assert_eq!(
            r,
            Some(PutEventsResult {
                failed: 1,
                ids: vec![Some("e".into()), None]
            })
        );
    }

    #[test]
    fn query_responses() {
        let p = SqsProtocol::Query;
        let doc = b"<ReceiveMessageResponse><ReceiveMessageResult><Message><MessageId>m1</MessageId>\
            <ReceiptHandle>h&amp;1</ReceiptHandle><MD5OfBody>x</MD5OfBody><Body>a&lt;b&#x3e;&#34;</Body></Message>\
            <Message><MessageId>m2</MessageId><ReceiptHandle>h2</ReceiptHandle><Body/></Message>\
            </ReceiveMessageResult></ReceiveMessageResponse>";
        let r = received(p, doc).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].id.as_str(), r[0].handle.as_str(), r[0].body.as_str()),
            ("m1", "h&1", "a<b>\"")
        );
        assert_eq!(r[1].body, "");
        let empty = b"<ReceiveMessageResponse><ReceiveMessageResult/></ReceiveMessageResponse>";
        assert_eq!(received(p, empty), Some(vec![]));
        let attrs = b"<R><Attribute><Name>Policy</Name><Value>p</Value></Attribute>\
            <Attribute><Name>QueueArn</Name><Value>arn:aws:sqs:us-east-1:1:q</Value></Attribute></R>";
        assert_eq!(
            queue_arn(p, attrs).as_deref(),
            Some("arn:aws:sqs:us-east-1:1:q")
        );
        let del = b"<DeleteMessageBatchResponse><DeleteMessageBatchResult><DeleteMessageBatchResultEntry>\
            <Id>0</Id></DeleteMessageBatchResultEntry><BatchResultErrorEntry><Id>1</Id></BatchResultErrorEntry>\
            </DeleteMessageBatchResult></DeleteMessageBatchResponse>";
        assert_eq!(batch_result(p, del), Some((1, 1)));
        assert_eq!(
            topic_arn(b"<X><TopicArn>arn:t</TopicArn></X>").as_deref(),
            Some("arn:t")
        );
    }

    #[test]
    fn unescape_keeps_unknown_entities() {
        assert_eq!(
            xml_unescape("a &amp;&amp; b &bogus; &#65;&"),
            "a && b &bogus; A&"
        );
    }

    #[test]
    fn sns_envelopes_and_events() {
        assert_eq!(unwrap_sns("abc"), ("abc".into(), false));
        let env = r#"{"Type":"Notification","MessageId":"1","Message":"abc"}"#;
        assert_eq!(unwrap_sns(env), ("abc".into(), true));
        assert_eq!(unwrap_sns("{not json"), ("{not json".into(), false));
        let ev = r#"{"version":"0","id":"e-1","source":"s","detail":{"k":"body"}}"#;
        assert_eq!(event_id_and_key(ev), Some(("e-1".into(), "body".into())));
        assert_eq!(event_id_and_key("{}"), None);
    }

    #[test]
    fn errors_in_one_line() {
        assert_eq!(
            describe_error(br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"}"#),
            "QueueDoesNotExist: gone"
        );
        assert_eq!(
            describe_error(b"<ErrorResponse><Error><Code>InvalidAction</Code><Message>no</Message></Error></ErrorResponse>"),
            "InvalidAction: no"
        );
        assert_eq!(describe_error(b"plain\ntext"), "plain text");
    }
}
