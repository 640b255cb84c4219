//! The message path: send (with FIFO deduplication and sequence numbers), delete and visibility
//! changes, single and batched. Receiving lives in `receive.rs`.

use super::attributes::MAX_VISIBILITY;
use super::message::{
    self, AttrValue, AttributeValueInput, Extra, Message, MessageId, ReceiptHandle,
};
use super::queue::Queue;
use super::{Sqs, fifo};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde::Serialize;
use serde_json::{Value, json};

const MAX_BATCH: usize = 10;

/// Batch entry bookkeeping shared by the three batch actions.
fn check_batch(entries: &[Params], kind: &str) -> ApiResult<Vec<String>> {
    if entries.is_empty() {
        return Err(ApiError::new(
            ErrorCode::EmptyBatchRequest,
            format!("There should be at least one {kind} in the request."),
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {MAX_BATCH}. You have sent {}.",
                entries.len()
            ),
        ));
    }
    // At most ten ids: comparing each with those before it is cheaper than hashing them.
    let mut ids: Vec<String> = Vec::with_capacity(entries.len());
    for e in entries {
        let id = e
            .str("Id")?
            .ok_or_else(|| ApiError::missing("Id"))?
            .to_string();
        if id.is_empty()
            || id.len() > 80
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if ids.contains(&id) {
            return Err(ApiError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A FIFO batch in which any entry lacks its group, or its deduplication id without
/// content-based deduplication, is refused whole: nothing of it is sent.
fn check_fifo_batch(entries: &[Params], content_dedup: bool) -> ApiResult<()> {
    for e in entries {
        let message = if e.value("MessageGroupId").is_none() {
            "The request must contain the parameter MessageGroupId."
        } else if e.value("MessageDeduplicationId").is_none() && !content_dedup {
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
        } else {
            continue;
        };
        return Err(ApiError::new(ErrorCode::InvalidParameterValue, message));
    }
    Ok(())
}

/// A sent message's result. A batch entry's names its `Id` first.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Sent {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    md5_body: String,
    #[serde(rename = "MD5OfMessageAttributes")]
    #[serde(skip_serializing_if = "Option::is_none")]
    md5_attributes: Option<String>,
    #[serde(rename = "MD5OfMessageSystemAttributes")]
    #[serde(skip_serializing_if = "Option::is_none")]
    md5_system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<String>,
}

/// A batch action's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Batch<T> {
    successful: Vec<T>,
    failed: Vec<Failed>,
}

/// A batch entry that succeeded, where AWS answers with its `Id` alone.
#[derive(Debug, Serialize)]
pub(super) struct Done {
    #[serde(rename = "Id")]
    id: String,
}

/// A batch entry that failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Failed {
    id: String,
    sender_fault: bool,
    code: &'static str,
    message: String,
}

fn failed(id: &str, e: &ApiError) -> Failed {
    Failed {
        id: id.to_string(),
        sender_fault: e.code.fault() == crate::error::Fault::Sender,
        code: e.code.shape_name(),
        message: e.message.clone(),
    }
}

impl Sqs {
    /// Validates one message for `queue` and builds it (not yet stored).
    /// A batch entry's size failure is worded as AWS words it there.
    pub(super) fn build_message(
        &self,
        caller: &Caller,
        q: &Queue,
        p: &Params,
        in_batch: bool,
    ) -> ApiResult<Message> {
        let body = p.str("MessageBody")?.unwrap_or("");
        if body.is_empty() {
            return Err(ApiError::missing("MessageBody"));
        }
        message::validate_chars(body).map_err(|c| {
            ApiError::new(
                ErrorCode::InvalidMessageContents,
                format!("Invalid binary character '{c}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"),
            )
        })?;
        let attributes = message::parse_attributes(
            p.struct_map::<AttributeValueInput>("MessageAttributes")?,
            true,
        )?;
        let system = message::parse_attributes(
            p.struct_map::<AttributeValueInput>("MessageSystemAttributes")?,
            false,
        )?;
        let trace_header = system.get("AWSTraceHeader").and_then(|a| match &a.value {
            AttrValue::Text(s) => Some(s.clone()),
            AttrValue::Binary(_) => None,
        });
        let settings = q.settings();
        let max_size = settings.max_size;
        let group_id = p.str("MessageGroupId")?.map(String::from);
        if let Some(g) = &group_id {
            fifo::validate_token("MessageGroupId", g)?;
        }
        let dedup = p.str("MessageDeduplicationId")?;
        if let Some(d) = dedup {
            if !settings.fifo {
                return Err(ApiError::invalid_value(
                    "MessageDeduplicationId",
                    d,
                    "The request include parameter that is not valid for this queue type",
                ));
            }
            fifo::validate_token("MessageDeduplicationId", d)?;
        }
        let dedup_id = if settings.fifo {
            if group_id.is_none() {
                return Err(ApiError::missing("MessageGroupId"));
            }
            match dedup {
                Some(d) => Some(d.to_string()),
                None if settings.content_dedup => Some(sha256_hex(body.as_bytes())),
                None => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameterValue,
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                    ));
                }
            }
        } else {
            None
        };
        let delay = match p.int("DelaySeconds")? {
            None | Some(0) if settings.fifo => settings.delay as i64,
            Some(d) if settings.fifo => {
                return Err(ApiError::invalid_value(
                    "DelaySeconds",
                    d,
                    "The request include parameter that is not valid for this queue type.",
                ));
            }
            None => settings.delay as i64,
            Some(d @ 0..=900) => d,
            Some(d) => {
                return Err(ApiError::invalid_value(
                    "DelaySeconds",
                    d,
                    "DelaySeconds must be >= 0 and <= 900.",
                ));
            }
        };
        let now = self.clock.now_ms();
        let extra = Extra {
            trace_header,
            group_id,
            dedup_id,
            ..Default::default()
        };
        let mut m = Message::new(
            MessageId::random(),
            body.into(),
            attributes,
            &caller.access_key,
            now,
            extra,
        );
        m.state.visible_at = if delay > 0 {
            now + delay as u64 * 1000
        } else {
            0
        };
        if m.size() > max_size {
            let verb = if in_batch {
                "cannot be validated"
            } else {
                "are invalid"
            };
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "One or more parameters {verb}. Reason: Message must be shorter than {max_size} bytes."
                ),
            ));
        }
        Ok(m)
    }

    /// Stores messages in `q` in one commit and wakes its long polls. FIFO: a message whose
    /// deduplication id was seen in the last 5 minutes is not stored; its result names the
    /// original. Returns each message's result.
    pub(super) async fn enqueue(&self, q: &Queue, messages: Vec<Message>) -> ApiResult<Vec<Sent>> {
        let (results, stored) = self.enqueue_now(q, messages, true)?;
        stored.wait(q).await?;
        Ok(results)
    }

    /// The first half of [`enqueue`](Self::enqueue): the messages are in the queue and on their way
    /// to the store when this returns (so callers order sends by calling it under their own lock);
    /// the send is complete once [`Stored::wait`] resolves. Each message's result (its id, MD5s,
    /// sequence number) is made only when `results` asks for it.
    pub(super) fn enqueue_now(
        &self,
        q: &Queue,
        messages: Vec<Message>,
        results: bool,
    ) -> ApiResult<(Vec<Sent>, Stored)> {
        // The results are made before the queue's lock is taken, where they hold up no other
        // send; only a FIFO message's sequence number is filled in under it.
        let mut results: Vec<Sent> = if results {
            messages.iter().map(send_result).collect()
        } else {
            Vec::new()
        };
        let (pending, before, after) = {
            let now = self.clock.now_ms();
            let mut state = q.lock();
            if state.deleted {
                return Err(super::no_such_queue());
            }
            // FIFO counts include messages of locked groups, which no poll can take: there, any
            // arrival may be the first takeable message.
            let before = if state.settings.fifo {
                0
            } else {
                state.counts().visible
            };
            let mut ops = state.forget_dedup(now);
            let (mut pushed, mut remembered) = (Vec::new(), Vec::new());
            for (i, mut m) in messages.into_iter().enumerate() {
                if state.settings.fifo {
                    let group = m.extra().group_id.clone().unwrap_or_default();
                    let dedup_id = m.extra().dedup_id.clone().unwrap_or_default();
                    let key = fifo::Dedup::key(state.settings.dedup_per_group, &group, &dedup_id);
                    if let Some(seen) = state.dedup.get(&key, now) {
                        if let Some(r) = results.get_mut(i) {
                            r.message_id = seen.message_id.clone();
                            r.sequence_number = Some(seen.sequence_number.clone());
                        }
                        continue;
                    }
                    let sequence_number = state.sequencer.next(now);
                    if let Some(r) = results.get_mut(i) {
                        r.sequence_number = Some(sequence_number.clone());
                    }
                    m.extra_mut().sequence_number = Some(sequence_number.clone());
                    let entry = fifo::DedupEntry {
                        message_id: m.id.to_string(),
                        sequence_number,
                        expires_ms: now + fifo::DEDUP_WINDOW_MS,
                    };
                    remembered.push(key.clone());
                    ops.push(state.remember_dedup(key, entry));
                }
                let (seq, push_ops) = state.push(m, now);
                pushed.push(seq);
                ops.extend(push_ops);
            }
            let pending = self.submit(ops);
            if pending.failed() {
                // Nothing reached the store: memory must not keep what the store lacks.
                for seq in pushed {
                    state.remove(seq);
                }
                for key in remembered {
                    state.dedup.remove(&key);
                }
            }
            (pending, before, state.counts().visible)
        };
        Ok((
            results,
            Stored {
                pending,
                before,
                after,
            },
        ))
    }

    pub(super) async fn send_message(&self, caller: &Caller, p: Params) -> ApiResult<Sent> {
        let q = self.queue(caller, &p)?;
        let m = self.build_message(caller, &q, &p, false)?;
        Ok(self.enqueue(&q, vec![m]).await?.remove(0))
    }

    pub(super) async fn send_message_batch(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Batch<Sent>> {
        let q = self.queue(caller, &p)?;
        let entries = p.list("Entries")?;
        let ids = check_batch(&entries, "SendMessageBatchRequestEntry")?;
        let total: usize = entries
            .iter()
            .map(|e| {
                let body = e.str("MessageBody").ok().flatten().map_or(0, str::len);
                let attrs = e
                    .struct_map::<AttributeValueInput>("MessageAttributes")
                    .ok()
                    .map_or(0, |m| {
                        m.iter()
                            .map(|(k, v)| {
                                k.len()
                                    + v.data_type.as_deref().map_or(0, str::len)
                                    + v.string_value.as_deref().map_or(0, str::len)
                                    + v.binary_value.as_deref().map_or(0, |b| b.len() * 3 / 4)
                            })
                            .sum()
                    });
                body + attrs
            })
            .sum();
        // The whole request is held to the service's limit; each entry to its queue's.
        let max = self.max_message_size;
        if total > max {
            return Err(ApiError::new(
                ErrorCode::BatchRequestTooLong,
                format!(
                    "Batch requests cannot be longer than {max} bytes. You have sent {total} bytes."
                ),
            ));
        }
        let settings = q.settings();
        if settings.fifo {
            check_fifo_batch(&entries, settings.content_dedup)?;
        }
        let mut failures = Vec::new();
        let mut messages = Vec::new();
        let mut sent_ids = Vec::new();
        for (id, e) in ids.iter().zip(&entries) {
            match self.build_message(caller, &q, e, true) {
                Ok(m) => {
                    sent_ids.push(id);
                    messages.push(m);
                }
                Err(err) => failures.push(failed(id, &err)),
            }
        }
        let mut successful = self.enqueue(&q, messages).await?;
        for (r, id) in successful.iter_mut().zip(sent_ids) {
            r.id = Some(id.clone());
        }
        Ok(Batch {
            successful,
            failed: failures,
        })
    }

    /// Resolves a receipt handle against `q`; Ok(None) if the message is already gone.
    fn locate(q: &Queue, handle: &str) -> ApiResult<Option<u64>> {
        let h = ReceiptHandle::decode(handle)?;
        if h.queue_id != q.id {
            return Err(ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
            ));
        }
        Ok(q.lock().find(&h))
    }

    pub(super) async fn delete_message(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let handle = p.required_str("ReceiptHandle")?;
        self.delete_handles(&q, &[handle.to_string()], false)
            .await?
            .remove(0)?;
        Ok(json!({}))
    }

    /// Deletes the messages of several handles in one commit; one result per handle.
    async fn delete_handles(
        &self,
        q: &Queue,
        handles: &[String],
        batch: bool,
    ) -> ApiResult<Vec<ApiResult<()>>> {
        let mut results = Vec::with_capacity(handles.len());
        let (pending, ready) = {
            let mut ops = Vec::new();
            let parsed: Vec<_> = handles
                .iter()
                .map(|h| ReceiptHandle::decode(h).map(|d| (h, d)))
                .collect();
            let now = self.clock.now_ms();
            let mut state = q.lock();
            let fifo = state.settings.fifo;
            for item in parsed {
                results.push(item.and_then(|(raw, h)| {
                    if h.queue_id != q.id {
                        return Err(ApiError::new(
                            ErrorCode::ReceiptHandleIsInvalid,
                            format!(
                                "The input receipt handle \"{raw}\" is not a valid receipt handle."
                            ),
                        ));
                    }
                    let seq = state.find(&h);
                    // FIFO queues refuse a handle whose receive is over (timed out, or received
                    // again since): a slow consumer must not delete what another one now holds.
                    if fifo && !seq.is_some_and(|s| state.is_current(s, h.receive_count, now)) {
                        return Err(expired_handle(raw, batch));
                    }
                    if let Some((_, removed)) = seq.and_then(|seq| state.remove(seq)) {
                        ops.extend(removed);
                    }
                    Ok(())
                }));
            }
            // FIFO: a delete may unlock a message group.
            let ready = if state.settings.fifo {
                state.counts().visible
            } else {
                0
            };
            (self.submit(ops), ready)
        };
        wake(q, ready);
        self.persist(pending).await?;
        Ok(results)
    }

    pub(super) async fn delete_message_batch(
        &self,
        caller: &Caller,
        mut p: Params,
    ) -> ApiResult<Batch<Done>> {
        let q = self.queue(caller, &p)?;
        let entries = p.take_list("Entries")?;
        let ids = check_batch(&entries, "DeleteMessageBatchRequestEntry")?;
        let mut handles = Vec::new();
        let mut results: Vec<(String, ApiResult<usize>)> = Vec::new();
        for (id, e) in ids.into_iter().zip(&entries) {
            match e.required_str("ReceiptHandle") {
                Ok(h) => {
                    results.push((id, Ok(handles.len())));
                    handles.push(h.to_string());
                }
                Err(err) => results.push((id, Err(err))),
            }
        }
        let outcomes = self.delete_handles(&q, &handles, true).await?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for (id, r) in results {
            match r.and_then(|i| outcomes[i].clone()) {
                Ok(()) => ok.push(Done { id }),
                Err(e) => bad.push(failed(&id, &e)),
            }
        }
        Ok(Batch {
            successful: ok,
            failed: bad,
        })
    }

    /// Changes the visibility of the message behind `handle`.
    fn change_visibility(
        &self,
        q: &Queue,
        handle: &str,
        timeout: Option<i64>,
    ) -> ApiResult<Vec<crate::storage::Op>> {
        let timeout = match timeout {
            None => return Err(ApiError::missing("VisibilityTimeout")),
            Some(t @ 0..=43200) => t as u32,
            Some(t) => {
                return Err(ApiError::invalid_value(
                    "VisibilityTimeout",
                    t,
                    &format!(
                        "Total VisibilityTimeout for the message is beyond the limit [{MAX_VISIBILITY} seconds]"
                    ),
                ));
            }
        };
        let seq = Self::locate(q, handle)?.ok_or_else(|| {
            ApiError::invalid_value(
                "ReceiptHandle",
                handle,
                "Message does not exist or is not available for visibility timeout change.",
            )
        })?;
        let now = self.clock.now_ms();
        let mut state = q.lock();
        let (_, mut ops) = state.refresh(now);
        // A standard queue answers the handle of a message whose visibility already expired
        // with success and leaves the message visible (as AWS does).
        if !state.settings.fifo && !state.is_in_flight(seq, now) {
            return Ok(ops);
        }
        if !state.is_in_flight(seq, now) {
            return Err(ApiError::new(
                ErrorCode::MessageNotInflight,
                "Message does not exist or is not available for visibility timeout change.",
            ));
        }
        let receive_count = ReceiptHandle::decode(handle)?.receive_count;
        if state.settings.fifo && !state.is_current(seq, receive_count, now) {
            return Err(expired_handle(handle, false));
        }
        ops.extend(state.set_visibility(seq, now, timeout));
        Ok(ops)
    }

    pub(super) async fn change_message_visibility(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let handle = p.required_str("ReceiptHandle")?;
        let ops = self.change_visibility(&q, handle, p.int("VisibilityTimeout")?)?;
        let pending = self.submit(ops);
        wake(&q, 1);
        self.persist(pending).await?;
        Ok(json!({}))
    }

    pub(super) async fn change_message_visibility_batch(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Batch<Done>> {
        let q = self.queue(caller, &p)?;
        let entries = p.list("Entries")?;
        let ids = check_batch(&entries, "ChangeMessageVisibilityBatchRequestEntry")?;
        let (mut ok, mut bad, mut ops) = (Vec::new(), Vec::new(), Vec::new());
        for (id, e) in ids.iter().zip(&entries) {
            let r = e
                .required_str("ReceiptHandle")
                .and_then(|h| Ok((h, e.int("VisibilityTimeout")?)))
                .and_then(|(h, t)| self.change_visibility(&q, h, t));
            match r {
                Ok(o) => {
                    ops.extend(o);
                    ok.push(Done { id: id.clone() });
                }
                Err(err) => bad.push(failed(id, &err)),
            }
        }
        let pending = self.submit(ops);
        wake(&q, MAX_BATCH);
        self.persist(pending).await?;
        Ok(Batch {
            successful: ok,
            failed: bad,
        })
    }
}

/// AWS's answer to a stale receipt handle on a FIFO queue (batch entries word it differently).
fn expired_handle(handle: &str, batch: bool) -> ApiError {
    if batch {
        ApiError::new(
            ErrorCode::ReceiptHandleIsInvalid,
            "The receipt handle has expired",
        )
    } else {
        ApiError::invalid_value("ReceiptHandle", handle, "The receipt handle has expired.")
    }
}

/// Wakes one long poll per batch's worth of the `ready` messages (at most a batch of long polls):
/// waking a waiter per message would hand each of them one. A receive that leaves messages
/// behind wakes the next waiter.
pub(super) fn wake(q: &Queue, ready: usize) {
    for _ in 0..ready.div_ceil(MAX_BATCH).min(MAX_BATCH) {
        q.notify.notify_one();
    }
}

/// Wakes long polls for messages that arrived, `before` -> `after` ready: one when the queue
/// stops being empty (it lingers for a batch) and one per batch completed since. A receive that
/// leaves messages behind wakes the next.
/// A send that is in its queue and on its way to the store.
#[must_use = "await durability before acknowledging"]
pub(super) struct Stored {
    pending: crate::storage::Pending,
    before: usize,
    after: usize,
}

impl Stored {
    /// Resolves once the send is durable; then wakes long polls (once the whole commit group is
    /// on disk, so that no poll returns a message the store could still lose).
    pub(super) async fn wait(self, q: &Queue) -> ApiResult<()> {
        let persisted = self
            .pending
            .wait()
            .await
            .map_err(|e| ApiError::internal("store write failed", e));
        wake_arrivals(q, self.before, self.after);
        persisted
    }
}

fn wake_arrivals(q: &Queue, before: usize, after: usize) {
    let first = usize::from(before == 0 && after > 0);
    let batches = (after / MAX_BATCH).saturating_sub(before / MAX_BATCH);
    for _ in 0..(first + batches).min(MAX_BATCH) {
        q.notify.notify_one();
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    crate::ids::hex(&sha2::Sha256::digest(data))
}

fn send_result(m: &Message) -> Sent {
    Sent {
        id: None,
        message_id: crate::ids::uuid_string(&m.id.0),
        md5_body: message::hex(&m.md5_body.0),
        md5_attributes: m.md5_attributes.as_ref().map(ToString::to_string),
        md5_system: m.md5_system().map(|md5| md5.to_string()),
        sequence_number: m.extra().sequence_number.clone(),
    }
}
