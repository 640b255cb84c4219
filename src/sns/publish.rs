//! `Publish` and `PublishBatch`: AWS's validation, FIFO deduplication and sequence numbers at
//! topic level, filter policies, and one recorded delivery per matching subscription before the
//! answer.

use super::envelope::{self, Attr, Envelope, Kind, Signature};
use super::subscriptions::Subscription;
use super::topics::{DEDUP_WINDOW_MS, Topic};
use super::{DEFAULT_MAX_MESSAGE_SIZE, Sns, invalid, not_found, parse_arn, policy, uuid};
use crate::caller::Caller;
use crate::delivery::{Job, QueueAttribute, QueueMessage, RetryPolicy, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pattern::MessageAttribute;
use crate::protocol::Params;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The topic's signature version, and the signatures made for the current message by text.
struct Signing {
    version: String,
    cache: HashMap<String, String>,
}

/// One message, validated.
#[derive(Debug)]
struct Message {
    id: String,
    text: String,
    subject: Option<String>,
    /// `MessageStructure=json`: the message per protocol (`default` and string members).
    per_protocol: Option<BTreeMap<String, String>>,
    attributes: BTreeMap<String, Attr>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    trace_header: Option<String>,
}

impl Message {
    /// The text a subscription of `protocol` gets.
    fn text_for(&self, protocol: &str) -> &str {
        match &self.per_protocol {
            Some(m) => m
                .get(protocol)
                .or_else(|| m.get("default"))
                .map_or("", String::as_str),
            None => &self.text,
        }
    }
}

fn value_invalid(msg: String) -> ApiError {
    ApiError::new(ErrorCode::ParameterValueInvalid, msg)
}

/// Message attributes with AWS's checks; `path` is the validation path prefix (SNS-005).
fn parse_attributes(p: &Params, path: &str) -> ApiResult<BTreeMap<String, Attr>> {
    use base64::Engine;
    let Some(Value::Object(map)) = p.get("MessageAttributes") else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (name, v) in map {
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(value_invalid(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        let field = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        let Some(data_type) = field("DataType") else {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{path}messageAttributes.{name}.member.dataType' failed to satisfy constraint: Member must not be null"
                ),
            ));
        };
        let (base, custom) = match data_type.split_once('.') {
            Some((b, c)) => (b, Some(c)),
            None => (data_type, None),
        };
        if !matches!(base, "String" | "Number" | "Binary") || custom.is_some_and(str::is_empty) {
            return Err(value_invalid(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        let empty = || {
            value_invalid(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            ))
        };
        let attr = if base == "Binary" {
            let b64 = field("BinaryValue").ok_or_else(empty)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| {
                    value_invalid(format!(
                        "The message attribute '{name}' has an invalid binary value."
                    ))
                })?;
            if bytes.is_empty() {
                return Err(empty());
            }
            Attr {
                data_type: data_type.to_string(),
                string_value: None,
                binary_value: Some(bytes),
            }
        } else {
            let s = field("StringValue").ok_or_else(empty)?;
            if base == "Number" && s.trim().parse::<f64>().is_err() {
                return Err(value_invalid(format!(
                    "Could not cast message attribute '{name}' value to number."
                )));
            }
            if data_type == "String.Array"
                && !serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_array())
            {
                return Err(value_invalid(format!(
                    "The message attribute '{name}' with type 'String.Array' must use field 'String' with a JSON array as value."
                )));
            }
            Attr {
                data_type: data_type.to_string(),
                string_value: Some(s.to_string()),
                binary_value: None,
            }
        };
        out.insert(name.clone(), attr);
    }
    Ok(out)
}

/// What a message counts towards the size limit: body, and name, type and value of each attribute.
fn size_of(text: &str, attributes: &BTreeMap<String, Attr>) -> usize {
    text.len()
        + attributes
            .iter()
            .map(|(k, a)| {
                k.len()
                    + a.data_type.len()
                    + a.string_value.as_ref().map_or(0, String::len)
                    + a.binary_value.as_ref().map_or(0, Vec::len)
            })
            .sum::<usize>()
}

/// Validates one message (a Publish or one batch entry) for `topic_fifo`.
fn parse_message(
    p: &Params,
    path: &str,
    fifo: Option<bool>,
    content_dedup: bool,
) -> ApiResult<Message> {
    let text = match p.0.get("Message") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid("Message")),
        None => {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!(
                    "1 validation error detected: Value null at '{path}message' failed to satisfy constraint: Member must not be null"
                ),
            ));
        }
    };
    if text.is_empty() {
        return Err(invalid("Empty message"));
    }
    let per_protocol = match p.str("MessageStructure")? {
        None => None,
        Some("json") => {
            let no_default =
                || invalid("Message Structure - No default entry in JSON message body");
            let v: Value = serde_json::from_str(&text)
                .map_err(|_| invalid("Message Structure - JSON message body failed to parse"))?;
            let obj = v.as_object().ok_or_else(no_default)?;
            if !obj.get("default").is_some_and(Value::is_string) {
                return Err(no_default());
            }
            Some(
                obj.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
            )
        }
        Some(other) => {
            return Err(invalid(format!(
                "MessageStructure Reason: {other} is not a valid message structure"
            )));
        }
    };
    let subject = p.str("Subject")?.map(String::from);
    if let Some(s) = &subject
        && (s.chars().count() > 100
            || s.chars().any(|c| c.is_control())
            || s.starts_with(char::is_whitespace))
    {
        return Err(invalid("Subject"));
    }
    let attributes = parse_attributes(p, path)?;
    if size_of(&text, &attributes) > DEFAULT_MAX_MESSAGE_SIZE {
        return Err(invalid("Message too long"));
    }
    let group_id = p.str("MessageGroupId")?.map(String::from);
    let mut dedup_id = p.str("MessageDeduplicationId")?.map(String::from);
    match fifo {
        Some(true) => {
            if group_id.is_none() {
                return Err(invalid(
                    "The MessageGroupId parameter is required for FIFO topics",
                ));
            }
            if dedup_id.is_none() {
                if !content_dedup {
                    return Err(invalid(
                        "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
                dedup_id = Some(hex(&Sha256::digest(text.as_bytes())));
            }
        }
        Some(false) if dedup_id.is_some() => {
            return Err(invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        _ => {}
    }
    Ok(Message {
        id: uuid(),
        text,
        subject,
        per_protocol,
        attributes,
        group_id,
        dedup_id,
        trace_header: None,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The next FIFO sequence number of a topic: 20 digits, increasing, time-based across restarts.
fn next_sequence(t: &mut Topic, now_ms: u64) -> String {
    let next = (u128::from(now_ms) * 1_000_000).max(t.fifo_state.last_sequence + 1);
    t.fifo_state.last_sequence = next;
    format!("{next:020}")
}

impl Sns {
    pub(super) async fn publish(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let topic_arn = match (
            p.str("TopicArn")?,
            p.str("TargetArn")?,
            p.str("PhoneNumber")?,
        ) {
            (Some(t), _, _) => self.topic_arn(caller, "TopicArn", t)?,
            (None, Some(t), _) => {
                let arn = self.topic_arn(caller, "TargetArn", t)?;
                if parse_arn("TargetArn", arn)?
                    .resource
                    .starts_with("endpoint/")
                {
                    return Err(not_found("Endpoint"));
                }
                arn
            }
            (None, None, Some(phone)) => {
                let digits = phone.strip_prefix('+').unwrap_or(phone);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("PhoneNumber Reason: input incorrectly formatted"));
                }
                // SMS is not sent from a local emulator: accepted and dropped.
                parse_message(&p, "", None, false)?;
                return Ok(json!({"MessageId": uuid()}));
            }
            (None, None, None) => {
                return Err(invalid(
                    "TopicArn or TargetArn Reason: no value for required parameter",
                ));
            }
        };
        let (fifo, cbd) = self.topic_kind(topic_arn)?;
        let mut m = parse_message(&p, "", Some(fifo), cbd)?;
        m.trace_header = p.str(super::TRACE_PARAM)?.map(String::from);
        let mut results = self.fan_out(caller, topic_arn, vec![m]).await?;
        Ok(results.remove(0))
    }

    pub(super) async fn publish_batch(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let topic_arn = self.topic_arn(caller, "TopicArn", super::required(&p, "TopicArn")?)?;
        let entries = p.list("PublishBatchRequestEntries")?;
        if entries.is_empty() {
            return Err(ApiError::new(
                ErrorCode::EmptyBatchRequest,
                "The batch request doesn't contain any entries",
            ));
        }
        if entries.len() > 10 {
            return Err(ApiError::new(
                ErrorCode::TooManyEntriesInBatchRequest,
                "The batch request contains more entries than permissible.",
            ));
        }
        let mut ids = HashSet::new();
        for e in &entries {
            let id = e.str("Id")?.unwrap_or("");
            if !ids.insert(id.to_string()) {
                return Err(ApiError::new(
                    ErrorCode::BatchEntryIdsNotDistinct,
                    "Two or more batch entries in the request have the same Id.",
                ));
            }
        }
        for e in &entries {
            let id = e.str("Id")?.unwrap_or("");
            if id.len() > 80 {
                return Err(ApiError::new(
                    ErrorCode::InvalidBatchEntryId,
                    format!("The Id of a batch entry in the batch request is too long: {id}"),
                ));
            }
            if id.is_empty()
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidBatchEntryId,
                    format!(
                        "The Id of a batch entry in the batch request contains an impermissible character: {id}"
                    ),
                ));
            }
        }
        let (fifo, cbd) = self.topic_kind(topic_arn)?;
        let mut messages = Vec::with_capacity(entries.len());
        let trace = p.str(super::TRACE_PARAM)?;
        for (i, e) in entries.iter().enumerate() {
            let path = format!("publishBatchRequestEntries.{}.member.", i + 1);
            let mut m = parse_message(e, &path, Some(fifo), cbd)?;
            m.trace_header = trace.map(String::from);
            messages.push(m);
        }
        let total: usize = messages
            .iter()
            .map(|m| size_of(&m.text, &m.attributes))
            .sum();
        if total > DEFAULT_MAX_MESSAGE_SIZE {
            return Err(ApiError::new(
                ErrorCode::BatchRequestTooLong,
                "The length of all the messages put together is more than the limit.",
            ));
        }
        let results = self.fan_out(caller, topic_arn, messages).await?;
        let successful: Vec<Value> = entries
            .iter()
            .zip(results)
            .map(|(e, r)| {
                let mut out = serde_json::Map::new();
                out.insert("Id".into(), json!(e.str("Id").ok().flatten().unwrap_or("")));
                if let Value::Object(fields) = r {
                    out.extend(fields);
                }
                Value::Object(out)
            })
            .collect();
        Ok(json!({"Successful": successful, "Failed": []}))
    }

    /// (FIFO, content-based deduplication) of an existing topic.
    fn topic_kind(&self, arn: &str) -> ApiResult<(bool, bool)> {
        let state = self.read();
        let t = state.topics.get(arn).ok_or_else(|| not_found("Topic"))?;
        Ok((t.is_fifo(), t.content_dedup()))
    }

    /// Deduplicates (FIFO), matches, records the deliveries and waits for them to be on disk.
    /// Returns each message's result (`MessageId`, and `SequenceNumber` on FIFO topics).
    async fn fan_out(
        &self,
        caller: &Caller,
        topic_arn: &str,
        messages: Vec<Message>,
    ) -> ApiResult<Vec<Value>> {
        let now = self.clock.now_ms();
        let mut results = Vec::with_capacity(messages.len());
        let pending = {
            // One writer at a time per process keeps FIFO sequence and delivery order aligned.
            let mut state = self.write();
            let state = &mut *state;
            let topic = state
                .topics
                .get_mut(topic_arn)
                .ok_or_else(|| not_found("Topic"))?;
            let fifo = topic.is_fifo();
            topic.fifo_state.seen.retain(|_, (_, _, exp)| *exp > now);
            let effective = topic.effective_policy();
            let mut signing = Signing {
                version: topic.signature_version().to_string(),
                cache: HashMap::new(),
            };
            let mut jobs = Vec::new();
            for m in messages {
                signing.cache.clear();
                let mut sequence = None;
                if fifo {
                    let key = m.dedup_id.clone().unwrap_or_default();
                    if let Some((id, seq, _)) = topic.fifo_state.seen.get(&key) {
                        results.push(json!({"MessageId": id, "SequenceNumber": seq}));
                        continue;
                    }
                    let seq = next_sequence(topic, now);
                    topic
                        .fifo_state
                        .seen
                        .insert(key, (m.id.clone(), seq.clone(), now + DEDUP_WINDOW_MS));
                    sequence = Some(seq);
                }
                results.push(match &sequence {
                    Some(seq) => json!({"MessageId": m.id, "SequenceNumber": seq}),
                    None => json!({"MessageId": m.id}),
                });
                for s in state
                    .subscriptions
                    .values()
                    .filter(|s| s.topic_arn == topic_arn && s.confirmed)
                {
                    if let Some(job) = self.job_for(
                        caller,
                        s,
                        &m,
                        sequence.as_deref(),
                        fifo,
                        &effective,
                        now,
                        &mut signing,
                    ) {
                        jobs.push(job);
                    }
                }
            }
            self.delivery.submit(jobs)
        };
        pending
            .wait()
            .await
            .map_err(|e| ApiError::internal("store write failed", e))?;
        Ok(results)
    }

    /// The delivery of `m` to `s`, if `s` is delivered to and its filter policy lets `m` through.
    #[allow(clippy::too_many_arguments)]
    fn job_for(
        &self,
        caller: &Caller,
        s: &Subscription,
        m: &Message,
        sequence: Option<&str>,
        fifo: bool,
        topic_effective: &Value,
        now: u64,
        signing: &mut Signing,
    ) -> Option<Job> {
        if !matches!(s.protocol.as_str(), "sqs" | "http" | "https") {
            return None;
        }
        let text = m.text_for(&s.protocol);
        if let Some(filter) = &s.filter {
            let attrs: Vec<(&String, MessageAttribute)> = m
                .attributes
                .iter()
                .map(|(k, a)| {
                    (
                        k,
                        MessageAttribute {
                            data_type: a.data_type.clone(),
                            value: a.string_value.clone().unwrap_or_default(),
                        },
                    )
                })
                .collect();
            if !filter.matches_message(text, attrs.iter().map(|(k, a)| (k.as_str(), a))) {
                return None;
            }
        }
        let raw = s.raw();
        let unsubscribe_url = format!(
            "http://{}/?Action=Unsubscribe&SubscriptionArn={}",
            caller.host, s.arn
        );
        let body = if raw {
            text.to_string()
        } else {
            let mut envelope = Envelope {
                kind: Kind::Notification,
                message_id: &m.id,
                topic_arn: &s.topic_arn,
                subject: m.subject.as_deref(),
                message: text,
                timestamp_ms: now,
                sequence_number: sequence,
                token: None,
                subscribe_url: None,
                unsubscribe_url: Some(&unsubscribe_url),
                attributes: &m.attributes,
                signature: None,
            };
            // FIFO topics' envelopes carry no signature. The signed fields do not include the
            // subscription, so one signature per message text serves every subscription.
            if !fifo {
                let value = signing
                    .cache
                    .entry(text.to_string())
                    .or_insert_with(|| {
                        self.signer
                            .sign(&signing.version, &envelope.string_to_sign())
                    })
                    .clone();
                envelope.signature = Some(Signature {
                    version: signing.version.clone(),
                    value,
                    cert_url: format!("http://{}{}", caller.host, self.signer.cert_path()),
                });
            }
            envelope.render()
        };
        let attributes = if raw {
            m.attributes
                .iter()
                .map(|(k, a)| {
                    (
                        k.clone(),
                        QueueAttribute {
                            data_type: a.data_type.clone(),
                            string_value: a.string_value.clone(),
                            binary_value: a.binary_value.clone(),
                        },
                    )
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let to_fifo_queue = s.protocol == "sqs" && s.endpoint.ends_with(".fifo");
        let message = QueueMessage {
            body,
            attributes,
            group_id: m.group_id.clone().filter(|_| to_fifo_queue),
            dedup_id: m.dedup_id.clone().filter(|_| to_fifo_queue),
            trace_header: m.trace_header.clone(),
        };
        let (target, retry) = if s.protocol == "sqs" {
            (
                Target::Queue {
                    arn: s.endpoint.clone(),
                },
                RetryPolicy::sns_default(),
            )
        } else {
            let eff = policy::effective_subscription(
                topic_effective,
                s.attributes.get("DeliveryPolicy").map(String::as_str),
            );
            let headers = envelope::http_headers(
                Kind::Notification,
                &m.id,
                &s.topic_arn,
                Some(&s.arn),
                raw,
                &policy::content_type_of(&eff),
            );
            (
                Target::Http {
                    url: s.endpoint.clone(),
                    headers,
                },
                policy::retry_of(&eff),
            )
        };
        Some(Job {
            lane: s.arn.clone(),
            ordered: fifo,
            target,
            message,
            retry,
            dead_letter: s.dead_letter(),
            attempts: 0,
            recorded_ms: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: Value) -> Params {
        Params::from_value(v).unwrap()
    }

    #[test]
    fn attribute_errors_as_aws_words_them() {
        let err = |attrs: Value| {
            parse_message(
                &params(json!({"Message": "m", "MessageAttributes": attrs})),
                "",
                Some(false),
                false,
            )
            .unwrap_err()
        };
        let e = err(json!({"attr1": {"DataType": "Binary", "BinaryValue": ""}}));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::ParameterValueInvalid,
                "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type 'Binary'."
            )
        );
        let e = err(json!({"attr1": {"StringValue": "value"}}));
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'messageAttributes.attr1.member.dataType' failed to satisfy constraint: Member must not be null"
        );
        for bad in ["InvalidType", "String.", "Stringprefixed"] {
            assert!(
                err(json!({"attr1": {"DataType": bad, "StringValue": "v"}}))
                    .message
                    .contains("invalid message attribute type"),
                "{bad}"
            );
        }
        for good in ["String.prefixed", "String.  prefixed.", "String.Array"] {
            let v = if good == "String.Array" { "[1]" } else { "v" };
            assert!(parse_message(&params(json!({"Message": "m", "MessageAttributes": {"a-b": {"DataType": good, "StringValue": v}}})), "", Some(false), false).is_ok(), "{good}");
        }
        assert_eq!(
            err(json!({"a^*?": {"DataType": "String", "StringValue": "v"}})).message,
            "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots."
        );
    }

    #[test]
    fn message_rules() {
        let m = |v: Value, fifo: bool, cbd: bool| parse_message(&params(v), "", Some(fifo), cbd);
        assert_eq!(
            m(json!({"Message": ""}), false, false).unwrap_err().message,
            "Invalid parameter: Empty message"
        );
        let attr = json!({"attr1": {"DataType": "Number", "StringValue": "1"}});
        assert!(
            m(
                json!({"Message": "x".repeat(262_132), "MessageAttributes": attr}),
                false,
                false
            )
            .is_ok()
        );
        assert_eq!(
            m(
                json!({"Message": "x".repeat(262_133), "MessageAttributes": attr}),
                false,
                false
            )
            .unwrap_err()
            .message,
            "Invalid parameter: Message too long"
        );
        let no_default =
            "Invalid parameter: Message Structure - No default entry in JSON message body";
        assert_eq!(
            m(
                json!({"Message": "{\"sqs\":\"x\"}", "MessageStructure": "json"}),
                false,
                false
            )
            .unwrap_err()
            .message,
            no_default
        );
        assert_eq!(
            m(
                json!({"Message": "{\"default\":{\"o\":1}}", "MessageStructure": "json"}),
                false,
                false
            )
            .unwrap_err()
            .message,
            no_default
        );
        let j = m(json!({"Message": "{\"default\":\"d\",\"sqs\":\"s\",\"http\":{\"o\":1}}", "MessageStructure": "json"}), false, false).unwrap();
        assert_eq!(
            (j.text_for("sqs"), j.text_for("http"), j.text_for("email")),
            ("s", "d", "d")
        );
        assert!(
            m(
                json!({"Message": "x", "MessageDeduplicationId": "d"}),
                false,
                false
            )
            .unwrap_err()
            .message
            .contains("not valid for this topic type")
        );
        assert!(
            m(json!({"Message": "x", "MessageGroupId": "g"}), true, false)
                .unwrap_err()
                .message
                .contains("ContentBasedDeduplication")
        );
        let f = m(json!({"Message": "x", "MessageGroupId": "g"}), true, true).unwrap();
        assert_eq!(f.dedup_id.unwrap().len(), 64);
    }
}
