//! The receive path: long polls that sleep until a message may be ready, FIFO group-aware
//! taking, receive attempts, dead-letter moves, and the attribute selection of each message.

use super::message::{self, Attribute, Message};
use super::messages::wake;
use super::queue::Queue;
use super::{Sqs, fifo};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::{Output, Params};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

const MAX_WAIT: i64 = 20;
/// AWS's quota of in-flight messages per queue (standard and FIFO alike since 2024).
const MAX_IN_FLIGHT: usize = 120_000;
/// How long a long poll that would answer with part of a batch waits for more (AWS answers a
/// long poll within tens of milliseconds of an arrival; this stays well inside that).
const LINGER_MS: u64 = 1;

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

/// A long poll's claim, while it lingers, on the next `max` visible messages of its queue
/// (`Queue::lingering` sums them). A poll dropped while lingering (its client went away) passes
/// its wake-up on, since the polls that deferred to it are waiting.
struct Lingering<'a> {
    queue: &'a Queue,
    max: usize,
}

impl<'a> Lingering<'a> {
    fn claim(queue: &'a Queue, max: usize) -> Lingering<'a> {
        queue.lingering.fetch_add(max, Ordering::AcqRel);
        Lingering { queue, max }
    }

    /// The linger is over and the poll takes what it lingered for.
    fn done(self) {
        self.queue.lingering.fetch_sub(self.max, Ordering::AcqRel);
        std::mem::forget(self);
    }
}

impl Drop for Lingering<'_> {
    fn drop(&mut self) {
        self.queue.lingering.fetch_sub(self.max, Ordering::AcqRel);
        self.queue.notify.notify_one();
    }
}

impl Sqs {
    pub(super) async fn receive_message(&self, caller: &Caller, p: Params) -> ApiResult<Output> {
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

        let wait_ms = wait.unwrap_or_else(|| q.settings().wait as u64) * 1000;
        let deadline = self.clock.now_ms() + wait_ms;
        // A long poll that would answer with part of a batch first waits LINGER_MS (within its
        // deadline) for the sends in flight, so a busy queue answers with batches rather than
        // with one message per call. It does not listen for arrivals meanwhile: a wake-up is
        // meant for a poll that will take what arrived.
        // While other polls linger that will take every visible message between them, a poll
        // does not join them (each would answer with a sliver of the batch): it waits for the
        // wake-up of a completed batch, or of what their takes leave behind.
        let mut linger = wait_ms > 0 && max > 1;
        loop {
            let mut deferred = false;
            if linger {
                let visible = q.lock().counts().visible;
                if (1..max).contains(&visible) {
                    if q.lingering.load(Ordering::Acquire) >= visible {
                        deferred = true;
                    } else {
                        linger = false;
                        let claim = Lingering::claim(&q, max);
                        let until = (self.clock.now_ms() + LINGER_MS).min(deadline);
                        tokio::time::sleep_until(self.clock.instant_at(until)).await;
                        claim.done();
                    }
                }
            }
            let notified = q.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Enabled before this second look, so a lingering poll's pass-on cannot be missed.
            let got = if deferred && q.lingering.load(Ordering::Acquire) > 0 {
                Vec::new()
            } else {
                self.take(&q, max, visibility, attempt.as_deref()).await?
            };
            if !got.is_empty() {
                return Ok(Output::typed(Received { view, got }));
            }
            let now = self.clock.now_ms();
            let next_due = {
                let state = q.lock();
                if state.deleted {
                    return Ok(json!({}).into());
                }
                state.next_due()
            };
            if now >= deadline || self.closing.load(std::sync::atomic::Ordering::SeqCst) {
                return Ok(json!({}).into());
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
        let redrive = q.settings().redrive.clone();
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
            if let Some(mut again) = attempt.and_then(|a| state.repeat_attempt(a, now)) {
                again.retain_mut(|(_, m)| self.hydrate(q.id, m).is_ok());
                return Ok(again);
            }
            let visibility = visibility.unwrap_or(state.settings.visibility);
            // FIFO: each pop yields one group's receivable messages, in order; once they are in
            // flight the next pop moves on to the next group.
            let mut returning = Vec::new();
            while out.len() < max {
                let seqs = state.pop_ready(max - out.len());
                if seqs.is_empty() {
                    break;
                }
                for seq in seqs {
                    let over = match (&redrive, &dlq, state.get(seq)) {
                        (Some(r), Some(_), Some(m)) => m.state.receive_count >= r.max_receive_count,
                        _ => false,
                    };
                    if over {
                        if let Some((mut m, remove_ops)) = state.remove(seq) {
                            match self.hydrate(q.id, &mut m) {
                                Ok(()) => moved.push((m, remove_ops)),
                                Err(_) => ops.extend(remove_ops),
                            }
                        }
                        continue;
                    }
                    if let Some((handle, op)) = state.receive(seq, now, visibility) {
                        ops.push(op);
                        if visibility == 0 {
                            returning.push(seq);
                        }
                        if let Some(m) = state.get(seq) {
                            out.push((handle, m.clone()));
                        }
                    }
                }
            }
            state.settle(&returning, now);
            if let (Some(a), false) = (attempt, out.is_empty()) {
                state.remember_attempt(a, now, &out);
            }
            // Receive counts and deadlines are written but not waited for: after a crash a
            // message may become visible early, which at-least-once delivery allows.
            self.durable.submit_detached(ops);
            state.counts().visible
        };
        // The bodies are read back after the queue's lock is released: a body never changes,
        // and the reads would otherwise hold up every send to the queue.
        let unreadable = self.read_back_all(q.id, &mut out);
        if !unreadable.is_empty() {
            self.drop_unreadable(q, &unreadable);
        }
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

    /// `All`, `*` and `.*` select every attribute; `prefix.*` those whose name starts with
    /// `prefix` as a plain string (`Hel.*` selects `Hello` and `Help.Me`).
    fn wants_user(&self, name: &str) -> bool {
        self.user.iter().any(|n| {
            matches!(n.as_str(), "All" | "*" | ".*")
                || n == name
                || n.strip_suffix(".*")
                    .is_some_and(|prefix| name.starts_with(prefix))
        })
    }
}

/// A receive's answer: the messages it took with their receipt handles, each shown with the
/// attributes the receive asked for.
struct Received {
    view: View,
    got: Vec<(String, Message)>,
}

/// One message of a receive's answer.
struct Shown<'a> {
    view: &'a View,
    handle: &'a str,
    m: &'a Message,
}

impl Serialize for Received {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(1))?;
        let messages: Vec<Shown> = self
            .got
            .iter()
            .map(|(handle, m)| Shown {
                view: &self.view,
                handle,
                m,
            })
            .collect();
        out.serialize_entry("Messages", &messages)?;
        out.end()
    }
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (view, m) = (self.view, self.m);
        let mut out = s.serialize_map(None)?;
        out.serialize_entry("MessageId", &crate::ids::uuid_string(&m.id.0))?;
        out.serialize_entry("ReceiptHandle", self.handle)?;
        out.serialize_entry("MD5OfBody", &message::hex(&m.md5_body.0))?;
        // Every body is read back before the answer is made.
        let body = match &m.body {
            message::Body::Here(b) => b,
            message::Body::Stored { .. } => "",
        };
        out.serialize_entry("Body", body)?;
        let mut system = BTreeMap::new();
        for name in SYSTEM_ATTRIBUTES {
            if !view.wants_system(name) {
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
                system.insert(*name, v);
            }
        }
        if !system.is_empty() {
            out.serialize_entry("Attributes", &system)?;
        }
        let selected: Vec<(&String, &Attribute)> = m
            .attributes
            .iter()
            .filter(|(n, _)| view.wants_user(n))
            .collect();
        if let Some(md5) = message::md5_of_attributes(selected.iter().copied()) {
            out.serialize_entry("MD5OfMessageAttributes", &md5.to_string())?;
            out.serialize_entry("MessageAttributes", &message::attributes_json(selected))?;
        }
        out.end()
    }
}
