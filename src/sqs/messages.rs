//! The message path: send, receive (with long polling and dead-letter moves), delete and
//! visibility changes, single and batched.

use super::attributes::MAX_VISIBILITY;
use super::message::{
    self, AttrValue, Attribute, AttributeValueInput, Extra, Message, MessageId, ReceiptHandle,
};
use super::queue::Queue;
use super::{Sqs, fifo};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const MAX_BATCH: usize = 10;
const MAX_WAIT: i64 = 20;
/// AWS's quota of in-flight messages per queue (standard and FIFO alike since 2024).
const MAX_IN_FLIGHT: usize = 120_000;

/// System attribute names a receive can ask for on a standard queue.
const SYSTEM_ATTRIBUTES: &[&str] = &[
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
    "MessageGroupId",
    "MessageDeduplicationId",
    "SequenceNumber",
];

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
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let id = e.required_str("Id")?.to_string();
        if id.len() > 80
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ApiError::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(ApiError::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

fn failed(id: &str, e: &ApiError) -> Value {
    json!({"Id": id, "SenderFault": e.code.fault() == crate::error::Fault::Sender, "Code": e.code.shape_name(), "Message": e.message})
}

fn batch_result(successful: Vec<Value>, failures: Vec<Value>) -> Value {
    json!({"Successful": successful, "Failed": failures})
}

impl Sqs {
    /// Validates one message for `queue` and builds it (not yet stored).
    fn build_message(&self, caller: &Caller, q: &Queue, p: &Params) -> ApiResult<Message> {
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
        let settings = q.lock().settings.clone();
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
        let size = body.len() + message::attributes_size(&attributes);
        if size > max_size {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "One or more parameters are invalid. Reason: Message must be shorter than {max_size} bytes."
                ),
            ));
        }
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
        Ok(m)
    }

    /// Stores messages in `q` in one commit and wakes its long polls. FIFO: a message whose
    /// deduplication id was seen in the last 5 minutes is not stored; its result names the
    /// original. Returns each message's result.
    async fn enqueue(&self, q: &Queue, messages: Vec<Message>) -> ApiResult<Vec<Value>> {
        let mut results = Vec::with_capacity(messages.len());
        let (pending, ready) = {
            let now = self.clock.now_ms();
            let mut state = q.lock();
            if state.deleted {
                return Err(super::no_such_queue());
            }
            let mut ops = state.forget_dedup(now);
            for mut m in messages {
                if state.settings.fifo {
                    let group = m.extra().group_id.clone().unwrap_or_default();
                    let dedup_id = m.extra().dedup_id.clone().unwrap_or_default();
                    let key = fifo::Dedup::key(state.settings.dedup_per_group, &group, &dedup_id);
                    if let Some(seen) = state.dedup.get(&key, now) {
                        let mut r = send_result(&m);
                        r["MessageId"] = json!(seen.message_id);
                        r["SequenceNumber"] = json!(seen.sequence_number);
                        results.push(r);
                        continue;
                    }
                    let sequence_number = state.sequencer.next(now);
                    m.extra_mut().sequence_number = Some(sequence_number.clone());
                    let entry = fifo::DedupEntry {
                        message_id: m.id.to_string(),
                        sequence_number,
                        expires_ms: now + fifo::DEDUP_WINDOW_MS,
                    };
                    ops.push(state.remember_dedup(key, entry));
                }
                results.push(send_result(&m));
                ops.extend(state.push(m, now).1);
            }
            (self.submit(ops), state.counts().visible)
        };
        wake(q, ready);
        self.persist(pending).await?;
        Ok(results)
    }

    pub(super) async fn send_message(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let m = self.build_message(caller, &q, &p)?;
        Ok(self.enqueue(&q, vec![m]).await?.remove(0))
    }

    pub(super) async fn send_message_batch(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
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
        let max = q.lock().settings.max_size;
        if total > max {
            return Err(ApiError::new(
                ErrorCode::BatchRequestTooLong,
                format!(
                    "Batch requests cannot be longer than {max} bytes. You have sent {total} bytes."
                ),
            ));
        }
        let mut failures = Vec::new();
        let mut messages = Vec::new();
        let mut sent_ids = Vec::new();
        for (id, e) in ids.iter().zip(&entries) {
            match self.build_message(caller, &q, e) {
                Ok(m) => {
                    sent_ids.push(id);
                    messages.push(m);
                }
                Err(err) => failures.push(failed(id, &err)),
            }
        }
        let mut successful = self.enqueue(&q, messages).await?;
        for (r, id) in successful.iter_mut().zip(sent_ids) {
            let mut entry = serde_json::Map::new();
            entry.insert("Id".into(), json!(id));
            if let Value::Object(fields) = std::mem::take(r) {
                entry.extend(fields);
            }
            *r = Value::Object(entry);
        }
        Ok(batch_result(successful, failures))
    }

    pub(super) async fn receive_message(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let max = match p.int("MaxNumberOfMessages")? {
            None => 1,
            Some(n @ 1..=10) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid_value(
                    "MaxNumberOfMessages",
                    n,
                    "Must be between 1 and 10, if provided.",
                ));
            }
        };
        let visibility = match p.int("VisibilityTimeout")? {
            None => None,
            Some(v @ 0..=43200) => Some(v as u32),
            Some(v) => {
                return Err(ApiError::invalid_value(
                    "VisibilityTimeout",
                    v,
                    "Must be >= 0 and <= 43200, if provided.",
                ));
            }
        };
        let wait = match p.int("WaitTimeSeconds")? {
            None => None,
            Some(w @ 0..=MAX_WAIT) => Some(w as u64),
            Some(w) => {
                return Err(ApiError::invalid_value(
                    "WaitTimeSeconds",
                    w,
                    "Must be >= 0 and <= 20, if provided.",
                ));
            }
        };
        let attempt = p.str("ReceiveRequestAttemptId")?.map(String::from);
        if let Some(id) = &attempt {
            fifo::validate_token("ReceiveRequestAttemptId", id)?;
        }
        let mut system_names = p.strings("AttributeNames")?;
        system_names.extend(p.strings("MessageSystemAttributeNames")?);
        let attribute_names = p.strings("MessageAttributeNames")?;
        let view = View {
            system: system_names,
            user: attribute_names,
        };

        let wait_ms = wait.unwrap_or_else(|| q.lock().settings.wait as u64) * 1000;
        let deadline = self.clock.now_ms() + wait_ms;
        loop {
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let got = self.take(&q, max, visibility, attempt.as_deref()).await?;
            if !got.is_empty() {
                let messages: Vec<Value> = got
                    .iter()
                    .map(|(handle, m)| view.render(m, handle))
                    .collect();
                return Ok(json!({"Messages": messages}));
            }
            let now = self.clock.now_ms();
            let next_due = {
                let state = q.lock();
                if state.deleted {
                    return Ok(json!({}));
                }
                state.next_due()
            };
            if now >= deadline || self.closing.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(json!({}));
            }
            let wake = next_due.map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(self.clock.instant_at(wake)) => {}
            }
        }
    }

    /// Takes up to `max` ready messages from `q`, moving those past `maxReceiveCount` to the
    /// dead-letter queue. Returns (receipt handle, message snapshot) once the change is durable.
    async fn take(
        &self,
        q: &Arc<Queue>,
        max: usize,
        visibility: Option<u32>,
        attempt: Option<&str>,
    ) -> ApiResult<Vec<(String, Message)>> {
        let redrive = q.lock().settings.redrive.clone();
        let dlq = redrive
            .as_ref()
            .and_then(|r| self.by_arn(&r.dead_letter_arn))
            .filter(|d| d.id != q.id);
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        let mut moved = Vec::new();
        let left = {
            let mut state = q.lock();
            let (_, mut ops) = state.refresh(now);
            if state.counts().not_visible >= MAX_IN_FLIGHT {
                return Err(ApiError::new(
                    ErrorCode::OverLimit,
                    format!(
                        "The maximum number of in flight messages ({MAX_IN_FLIGHT}) is reached."
                    ),
                ));
            }
            let attempt = attempt.filter(|_| state.settings.fifo);
            if let Some(again) = attempt.and_then(|a| state.repeat_attempt(a, now)) {
                return Ok(again);
            }
            let visibility = visibility.unwrap_or(state.settings.visibility);
            // FIFO: keep taking from a group this receive already holds, in order.
            let mut holding: Option<String> = None;
            while out.len() < max {
                let Some(seq) = state.pop_ready(holding.as_deref()) else {
                    break;
                };
                let over = match (&redrive, &dlq, state.get(seq)) {
                    (Some(r), Some(_), Some(m)) => m.state.receive_count >= r.max_receive_count,
                    _ => false,
                };
                if over {
                    if let Some((m, remove_ops)) = state.remove(seq) {
                        moved.push((m, remove_ops));
                    }
                    continue;
                }
                if let Some((handle, op)) = state.receive(seq, now, visibility) {
                    ops.push(op);
                    if let Some(m) = state.get(seq) {
                        holding = m.extra().group_id.clone();
                        out.push((handle, m.clone()));
                    }
                }
            }
            if let (Some(a), false) = (attempt, out.is_empty()) {
                state.remember_attempt(a, now, &out);
            }
            // Receive counts and deadlines are written but not waited for: after a crash a
            // message may become visible early, which at-least-once delivery allows.
            self.durable.submit_detached(ops);
            state.counts().visible
        };
        if left > 0 && !out.is_empty() {
            // Pass the wake-up on: another long poll may take what this one left.
            q.notify.notify_one();
        }
        if let (Some(dlq), false) = (dlq, moved.is_empty()) {
            self.dead_letter(q, &dlq, moved).await?;
        }
        Ok(out)
    }

    /// Moves messages from `source` into `dlq` in one atomic store batch.
    async fn dead_letter(
        &self,
        source: &Queue,
        dlq: &Queue,
        moved: Vec<(Message, Vec<crate::storage::Op>)>,
    ) -> ApiResult<()> {
        let (pending, ready) = {
            let now = self.clock.now_ms();
            let mut state = dlq.lock();
            if state.deleted {
                tracing::warn!(queue = %dlq.arn, "dead-letter queue deleted during a move; messages dropped");
            }
            let mut ops = Vec::new();
            // The copy is written before the original is removed: a crash between the two leaves
            // a duplicate (at-least-once), never a loss.
            let mut removals = Vec::new();
            for (mut m, remove_ops) in moved {
                removals.extend(remove_ops);
                if state.deleted {
                    continue;
                }
                m.extra_mut().dead_letter_source = Some(source.arn.clone());
                m.state.visible_at = 0;
                ops.extend(state.push(m, now).1);
            }
            ops.extend(removals);
            (self.submit(ops), state.counts().visible)
        };
        wake(dlq, ready);
        self.persist(pending).await
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
        self.delete_handles(&q, &[handle.to_string()])
            .await?
            .remove(0)?;
        Ok(json!({}))
    }

    /// Deletes the messages of several handles in one commit; one result per handle.
    async fn delete_handles(&self, q: &Queue, handles: &[String]) -> ApiResult<Vec<ApiResult<()>>> {
        let mut results = Vec::with_capacity(handles.len());
        let (pending, ready) = {
            let mut ops = Vec::new();
            let parsed: Vec<_> = handles
                .iter()
                .map(|h| ReceiptHandle::decode(h).map(|d| (h, d)))
                .collect();
            let mut state = q.lock();
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
                    if let Some((_, removed)) = state.find(&h).and_then(|seq| state.remove(seq)) {
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
        p: Params,
    ) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let entries = p.list("Entries")?;
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
        let outcomes = self.delete_handles(&q, &handles).await?;
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        for (id, r) in results {
            match r.and_then(|i| outcomes[i].clone()) {
                Ok(()) => ok.push(json!({"Id": id})),
                Err(e) => bad.push(failed(&id, &e)),
            }
        }
        Ok(batch_result(ok, bad))
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
        if !state.is_in_flight(seq, now) {
            return Err(ApiError::new(
                ErrorCode::MessageNotInflight,
                "Message does not exist or is not available for visibility timeout change.",
            ));
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
    ) -> ApiResult<Value> {
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
                    ok.push(json!({"Id": id}));
                }
                Err(err) => bad.push(failed(id, &err)),
            }
        }
        let pending = self.submit(ops);
        wake(&q, MAX_BATCH);
        self.persist(pending).await?;
        Ok(batch_result(ok, bad))
    }
}

/// Wakes up to `ready` long polls (one per receivable message, at most a batch's worth): waking
/// every waiter for one message would only make the others go back to sleep.
fn wake(q: &Queue, ready: usize) {
    for _ in 0..ready.min(MAX_BATCH) {
        q.notify.notify_one();
    }
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn send_result(m: &Message) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(m.id.to_string()));
    out.insert("MD5OfMessageBody".into(), json!(m.md5_body.to_string()));
    if let Some(md5) = &m.md5_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(md5.to_string()));
    }
    if let Some(md5) = m.md5_system() {
        out.insert(
            "MD5OfMessageSystemAttributes".into(),
            json!(md5.to_string()),
        );
    }
    if let Some(seq) = &m.extra().sequence_number {
        out.insert("SequenceNumber".into(), json!(seq));
    }
    Value::Object(out)
}

/// Which attributes a receive asked for.
struct View {
    system: Vec<String>,
    user: Vec<String>,
}

impl View {
    fn wants_system(&self, name: &str) -> bool {
        self.system.iter().any(|n| n == "All" || n == name)
    }

    fn wants_user(&self, name: &str) -> bool {
        self.user.iter().any(|n| {
            n == "All"
                || n == ".*"
                || n == name
                || n.strip_suffix(".*")
                    .is_some_and(|prefix| name.starts_with(&format!("{prefix}.")))
        })
    }

    fn render(&self, m: &Message, handle: &str) -> Value {
        let mut out = Map::new();
        out.insert("MessageId".into(), json!(m.id.to_string()));
        out.insert("ReceiptHandle".into(), json!(handle));
        out.insert("MD5OfBody".into(), json!(m.md5_body.to_string()));
        out.insert("Body".into(), json!(&*m.body));
        let mut system = BTreeMap::new();
        for name in SYSTEM_ATTRIBUTES {
            if !self.wants_system(name) {
                continue;
            }
            let value = match *name {
                "SenderId" => Some(m.sender_id.to_string()),
                "SentTimestamp" => Some(m.sent_ms.to_string()),
                "ApproximateReceiveCount" => Some(m.state.receive_count.to_string()),
                "ApproximateFirstReceiveTimestamp" => Some(m.state.first_receive_ms.to_string()),
                "AWSTraceHeader" => m.extra().trace_header.clone(),
                "DeadLetterQueueSourceArn" => m.extra().dead_letter_source.clone(),
                "MessageGroupId" => m.extra().group_id.clone(),
                "MessageDeduplicationId" => m.extra().dedup_id.clone(),
                "SequenceNumber" => m.extra().sequence_number.clone(),
                _ => None,
            };
            if let Some(v) = value {
                system.insert(name.to_string(), Value::String(v));
            }
        }
        if !system.is_empty() {
            out.insert(
                "Attributes".into(),
                Value::Object(system.into_iter().collect()),
            );
        }
        let selected: Vec<(&String, &Attribute)> = m
            .attributes
            .iter()
            .filter(|(n, _)| self.wants_user(n))
            .collect();
        if let Some(md5) = message::md5_of_attributes(selected.iter().copied()) {
            out.insert("MD5OfMessageAttributes".into(), json!(md5.to_string()));
            out.insert(
                "MessageAttributes".into(),
                Value::Object(message::attributes_json(selected)),
            );
        }
        Value::Object(out)
    }
}
