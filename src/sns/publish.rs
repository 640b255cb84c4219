//! `Publish` and `PublishBatch`: AWS's validation, FIFO deduplication and sequence numbers at
//! topic level, filter policies, and one recorded delivery per matching subscription before the
//! answer.

use super::compose::Spec;
use super::envelope::{Envelope, Kind, Signature};
use super::fifo::{DEDUP_WINDOW_MS, Seen};
use super::message::{Message, parse_message, parse_message_sized, size_of};
use super::subscriptions::Subscription;
use super::{Sns, invalid, not_found, parse_arn, uuid};
use crate::caller::Caller;
use crate::delivery::{Job, QueueMessage, RetryPolicy, Target};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::pattern::MessageAttribute;
use crate::protocol::Params;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The topic's signature version, and the signatures made for the current message by text.
struct Signing {
    version: String,
    cache: HashMap<String, String>,
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
                    // Mobile push is accepted (or refused as AWS would) but never sent.
                    self.check_endpoint_publish(arn)?;
                    parse_message(&p, "", None, false)?;
                    return Ok(json!({"MessageId": uuid()}));
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
        let (fifo, cbd, max) = self.topic_kind(topic_arn)?;
        let mut m = parse_message_sized(&p, "", Some(fifo), cbd, max)?;
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
        let (fifo, cbd, max) = self.topic_kind(topic_arn)?;
        let mut messages = Vec::with_capacity(entries.len());
        let trace = p.str(super::TRACE_PARAM)?;
        for (i, e) in entries.iter().enumerate() {
            let path = format!("publishBatchRequestEntries.{}.member.", i + 1);
            let mut m = parse_message_sized(e, &path, Some(fifo), cbd, max)?;
            m.trace_header = trace.map(String::from);
            messages.push(m);
        }
        let total: usize = messages
            .iter()
            .map(|m| size_of(&m.text, &m.attributes))
            .sum();
        if total > max {
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

    /// (FIFO, content-based deduplication, largest message) of an existing topic.
    fn topic_kind(&self, arn: &str) -> ApiResult<(bool, bool, usize)> {
        let state = self.read();
        let t = state.topics.get(arn).ok_or_else(|| not_found("Topic"))?;
        Ok((t.is_fifo(), t.content_dedup(), t.max_message_size()))
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
            let state = self.read();
            let topic = state
                .topics
                .get(topic_arn)
                .ok_or_else(|| not_found("Topic"))?;
            let fifo = topic.is_fifo();
            // FIFO topics: one publisher at a time, so that sequence numbers, deduplication
            // and the order of recorded deliveries agree. Standard topics take no lock here:
            // their publishes run side by side.
            let mut fifo_states = fifo.then(|| self.fifo.lock().unwrap_or_else(|p| p.into_inner()));
            let mut fifo_state = fifo_states
                .as_deref_mut()
                .map(|states| states.entry(topic_arn.to_string()).or_default());
            let mut dedup_ops = match fifo_state.as_deref_mut() {
                Some(f) => f.expire(topic_arn, now),
                None => Vec::new(),
            };
            let mut signing = Signing {
                version: topic.signature_version().to_string(),
                cache: HashMap::new(),
            };
            let prefix = format!("{topic_arn}:");
            let subscriptions: Vec<&Subscription> = state
                .subscriptions
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(_, s)| s)
                .filter(|s| s.confirmed)
                .collect();
            let delivery_policy = topic.attributes.get("DeliveryPolicy").map(String::as_str);
            let mut jobs = Vec::new();
            for m in messages {
                signing.cache.clear();
                let mut sequence = None;
                if let Some(f) = fifo_state.as_deref_mut() {
                    let key = m.dedup_id.clone().unwrap_or_default();
                    if let Some(first) = f.get(&key) {
                        results.push(json!({"MessageId": first.message_id, "SequenceNumber": first.sequence}));
                        continue;
                    }
                    let seq = f.next_sequence(now);
                    let first = Seen {
                        message_id: m.id.clone(),
                        sequence: seq.clone(),
                        expires_ms: now + DEDUP_WINDOW_MS,
                    };
                    dedup_ops.push(f.remember(topic_arn, key, first));
                    sequence = Some(seq);
                }
                results.push(match &sequence {
                    Some(seq) => json!({"MessageId": m.id, "SequenceNumber": seq}),
                    None => json!({"MessageId": m.id}),
                });
                for s in &subscriptions {
                    if let Some(job) = self.job_for(
                        caller,
                        s,
                        &m,
                        sequence.as_deref(),
                        fifo,
                        delivery_policy,
                        now,
                        &mut signing,
                    ) {
                        jobs.push(job);
                    }
                }
            }
            // The deliveries first: a crash between the two writes may deliver a retried
            // publish twice (at least once), never swallow it.
            let deliveries = self.delivery.submit(jobs);
            (deliveries, self.durable.submit(dedup_ops))
        };
        let (deliveries, dedup) = pending;
        let stored = match deliveries.wait().await {
            Ok(()) => dedup.wait().await,
            Err(e) => Err(e),
        };
        stored.map_err(|e| ApiError::internal("store write failed", e))?;
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
        topic_policy: Option<&str>,
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
        if s.protocol != "sqs" {
            return Some(self.http_job(caller, s, m, text, sequence, topic_policy, now, signing));
        }
        let body = if raw {
            text.to_string()
        } else {
            let unsubscribe_url = format!(
                "{}/?Action=Unsubscribe&SubscriptionArn={}",
                caller.base_url(),
                s.arn
            );
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
                            .get()
                            .sign(&signing.version, &envelope.string_to_sign())
                    })
                    .clone();
                envelope.signature = Some(Signature {
                    version: signing.version.clone(),
                    value,
                    cert_url: format!("{}{}", caller.base_url(), self.signer.get().cert_path()),
                });
            }
            envelope.render()
        };
        let to_fifo_queue = s.endpoint.ends_with(".fifo");
        let message = QueueMessage {
            body,
            // Raw deliveries carry the attributes as queue message attributes; an envelope
            // has them inside.
            attributes: if raw {
                m.attributes.clone()
            } else {
                BTreeMap::new()
            },
            group_id: m.group_id.clone().filter(|_| to_fifo_queue),
            dedup_id: m.dedup_id.clone().filter(|_| to_fifo_queue),
            trace_header: m.trace_header.clone(),
        };
        Some(Job {
            lane: s.arn.clone(),
            ordered: fifo,
            target: Target::Queue {
                arn: s.endpoint.clone(),
            },
            message,
            retry: RetryPolicy::sns_default(),
            dead_letter: s.dead_letter(),
            max_per_second: None,
            attempts: 0,
            recorded_ms: 0,
            rate: None,
            dead_letter_attributes: Default::default(),
        })
    }

    /// The delivery of `m` to an HTTP/S subscription: the text and attributes, and a spec from
    /// which the request is written at each attempt (`compose.rs`).
    #[allow(clippy::too_many_arguments)]
    fn http_job(
        &self,
        caller: &Caller,
        s: &Subscription,
        m: &Message,
        text: &str,
        sequence: Option<&str>,
        topic_policy: Option<&str>,
        now: u64,
        signing: &Signing,
    ) -> Job {
        let plan = self.http_plans.get(
            topic_policy,
            s.attributes.get("DeliveryPolicy").map(String::as_str),
        );
        let raw = s.raw();
        let spec = Spec {
            kind: Kind::Notification.as_str().to_string(),
            message_id: m.id.clone(),
            topic_arn: s.topic_arn.clone(),
            subscription_arn: s.arn.clone(),
            subject: m.subject.clone(),
            timestamp_ms: now,
            sequence_number: sequence.map(String::from),
            base_url: caller.base_url(),
            // FIFO topics' envelopes carry no signature.
            signature_version: sequence.is_none().then(|| signing.version.clone()),
            raw,
            content_type: plan.content_type.clone(),
            token: None,
        };
        Job {
            lane: s.arn.clone(),
            ordered: sequence.is_some(),
            target: Target::Http {
                url: s.endpoint.clone(),
                headers: Vec::new(),
                compose: Some(spec.encode()),
            },
            message: QueueMessage {
                body: text.to_string(),
                // A raw HTTP delivery is the text alone; an envelope lists the attributes.
                attributes: if raw {
                    BTreeMap::new()
                } else {
                    m.attributes.clone()
                },
                ..Default::default()
            },
            retry: plan.retry.clone(),
            dead_letter: s.dead_letter(),
            max_per_second: plan.max_per_second,
            attempts: 0,
            recorded_ms: 0,
            rate: None,
            dead_letter_attributes: Default::default(),
        }
    }
}
