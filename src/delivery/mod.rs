//! The fan-out engine SNS and EventBridge deliver through: a durable outbox and the workers that
//! empty it.
//!
//! A publish hands [`Delivery::submit`] one [`Job`] per matching subscription or target. Each job
//! is written to the store (key family `keys::DELIVERY`) in the same commit order as the publish,
//! and the publish answers only once that write is on disk; the job is removed only after it was
//! delivered or dead-lettered, so pending deliveries and their attempt counts survive `kill -9`
//! and resume on the next start.
//!
//! Work is split into lanes, one per subscription or target, so that a dead endpoint only ever
//! delays its own lane. Ordered lanes (FIFO topics) deliver one job at a time in record order;
//! other lanes run up to [`LANE_CONCURRENCY`] jobs at once. Queue targets are ferry's own queues,
//! reached in-process through the [`Queues`] trait (which `sqs` implements); topics and event
//! buses are reached the same way through [`Inbox`] (which `sns` and `events` implement);
//! `lib.rs` wires all three. HTTP targets (SNS endpoints, EventBridge API destinations) go
//! through one pooled hyper client. A job may carry a rate shared by every job with the same key
//! (an API destination's `InvocationRateLimitPerSecond`) and the attributes its dead letter
//! carries (EventBridge's `RULE_ARN`, ..., to which the engine adds the failure). Retry waits
//! come from tokio's clock, so schedules are tested on the paused clock. This module imports no
//! service. What a job is lives in `job.rs`, how it is stored in `record.rs`.
//!
//! **A long backlog costs little.** A lane holds a task and a timer only for the jobs it is
//! running (at most [`LANE_CONCURRENCY`]); the jobs waiting behind them are entries in the lane's
//! channel. The first [`HELD_PER_LANE`] waiting jobs keep their content in memory (the common
//! case: a lane that keeps up never reads back); beyond that a waiting job is only its id, and
//! its record is read back from the store when its turn comes. So 10,000 deliveries waiting on a
//! dead endpoint cost a few hundred kilobytes and no CPU between attempts
//! (`bench/idle_pending.py` measures it).

mod http;
mod job;
mod record;
pub mod retry;

pub use http::{OAuth, read_ca_file, with_query};
pub use job::{
    ApiCall, Compose, Failure, Inbox, InboxKind, Job, Outcome, Pushed, QueueAttribute, QueueError,
    QueueMessage, Queues, Rate, Stored, Target,
};
pub use retry::{Backoff, RetryPolicy};

use crate::clock::Clock;
use crate::storage::{Durable, Op, Pending, StoreError, StoreResult, keys};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Most jobs of one unordered lane in flight at once.
pub const LANE_CONCURRENCY: usize = 32;

/// Waiting jobs of one lane that keep their content in memory; the others are held by id only.
pub const HELD_PER_LANE: usize = 2 * LANE_CONCURRENCY;

/// What happened to finished jobs, for `/_ferry/health` and tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub dropped: AtomicU64,
    pub attempts: AtomicU64,
    /// Waiting jobs that were held by id and read back from the store.
    pub read_back: AtomicU64,
}

impl Counters {
    /// The counters as `/_ferry/health` shows them.
    pub fn to_json(&self) -> serde_json::Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "delivered": n(&self.delivered),
            "dead_lettered": n(&self.dead_lettered),
            "dropped": n(&self.dropped),
            "attempts": n(&self.attempts),
            "read_back": n(&self.read_back),
        })
    }
}

/// A job handed to a lane: its id, its content unless it is to be read back from the store, and
/// the outcome of an attempt already made in `submit`, if any. Boxed, so that each of the
/// thousands of ids waiting behind a dead endpoint costs 24 bytes.
type Handed = (u64, Option<Box<Job>>, Option<Box<Outcome>>);

/// One lane: its worker's inbox, and how many of its jobs are not finished yet.
struct Lane {
    tx: mpsc::UnboundedSender<Handed>,
    outstanding: Arc<AtomicU64>,
}

/// What [`Delivery::submit`] started: the recorded jobs on their way to disk, and the messages
/// delivered at once on their way into their queues.
#[must_use = "await durability before acknowledging"]
pub struct Submitted<'a> {
    recorded: Pending,
    pushed: Vec<Stored<'a>>,
}

impl Submitted<'_> {
    /// Resolves once every job is either recorded or in its queue, durably.
    pub async fn wait(self) -> StoreResult<()> {
        self.recorded.wait().await?;
        for p in self.pushed {
            p.await
                .map_err(|e| StoreError(format!("delivery to a queue failed: {e:?}")))?;
        }
        Ok(())
    }
}

/// The engine.
pub struct Delivery {
    durable: Arc<Durable>,
    clock: Clock,
    queues: Arc<dyn Queues>,
    /// What writes the HTTP requests of `Target::Http::compose`; connected by `sns`.
    composer: OnceLock<Arc<dyn Compose>>,
    /// Topics and buses, connected after open (their services need the engine first).
    topics: OnceLock<Weak<dyn Inbox>>,
    buses: OnceLock<Weak<dyn Inbox>>,
    http: http::Http,
    /// OAuth tokens of API destinations' connections.
    tokens: http::Tokens,
    /// When the next attempt of each rate key may start.
    rates: Mutex<HashMap<Arc<str>, tokio::time::Instant>>,
    next_id: AtomicU64,
    lanes: Mutex<foldhash::HashMap<String, Lane>>,
    /// Bumped by `reset`: jobs of an older generation stop.
    generation: AtomicU64,
    /// Jobs found on disk at open, dispatched by `start`.
    resumed: Mutex<Vec<(u64, Job)>>,
    /// Lanes whose owner is gone (an unsubscribed subscription): their jobs are dropped.
    cancelled: Mutex<HashSet<String>>,
    pub counters: Counters,
    me: Weak<Delivery>,
}

impl Delivery {
    /// Loads the pending deliveries left by the last run; `start` resumes them.
    pub fn open(
        durable: Arc<Durable>,
        clock: Clock,
        queues: Arc<dyn Queues>,
    ) -> StoreResult<Arc<Delivery>> {
        Delivery::open_trusting(durable, clock, queues, None)
    }

    /// Like `open`, with https deliveries also trusting the CA certificates of the PEM file
    /// `https_ca` (`--https-ca`; the trust rule is in `http.rs`).
    pub fn open_trusting(
        durable: Arc<Durable>,
        clock: Clock,
        queues: Arc<dyn Queues>,
        https_ca: Option<&std::path::Path>,
    ) -> StoreResult<Arc<Delivery>> {
        let extra = match https_ca {
            Some(path) => read_ca_file(path).map_err(StoreError)?,
            None => Vec::new(),
        };
        let http = http::Http::trusting(&extra).map_err(StoreError)?;
        let mut resumed = Vec::new();
        durable.scan(&[keys::DELIVERY], &mut |k, v| {
            let id = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError("bad delivery key".into()))?;
            resumed.push((id, record::decode(v)?));
            Ok(())
        })?;
        let next = resumed.iter().map(|(id, _)| id + 1).max().unwrap_or(1);
        if !resumed.is_empty() {
            tracing::info!(pending = resumed.len(), "pending deliveries loaded");
        }
        Ok(Arc::new_cyclic(|me| Delivery {
            durable,
            clock,
            queues,
            composer: OnceLock::new(),
            topics: OnceLock::new(),
            buses: OnceLock::new(),
            http,
            tokens: http::Tokens::default(),
            rates: Mutex::default(),
            next_id: AtomicU64::new(next),
            lanes: Mutex::default(),
            generation: AtomicU64::new(0),
            resumed: Mutex::new(resumed),
            cancelled: Mutex::default(),
            counters: Counters::default(),
            me: me.clone(),
        }))
    }

    /// Connects ferry's topics or buses. The engine keeps only a weak reference, since their
    /// services hold the engine.
    pub fn connect(&self, kind: InboxKind, inbox: Weak<dyn Inbox>) {
        let slot = match kind {
            InboxKind::Topics => &self.topics,
            InboxKind::Buses => &self.buses,
        };
        let _ = slot.set(inbox);
    }

    /// Resumes the deliveries found at open whose lane is still `live` (call from inside the
    /// runtime); the others are forgotten.
    pub fn start(&self, live: &dyn Fn(&str) -> bool) {
        let resumed = std::mem::take(&mut *self.resumed.lock().unwrap_or_else(|p| p.into_inner()));
        let mut forget = Vec::new();
        for (id, job) in resumed {
            if live(&job.lane) {
                self.dispatch(id, job, None);
            } else {
                forget.push(Op::Delete(keys::delivery(id)));
            }
        }
        self.durable.submit_detached(forget);
    }

    /// Drops every pending job of `lane`, now and when it would be retried.
    pub fn cancel(&self, lane: &str) {
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(lane.to_string());
        self.lanes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(lane);
    }

    fn is_cancelled(&self, lane: &str) -> bool {
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(lane)
    }

    /// Delivers or records `jobs` and hands the recorded ones to their lanes. Await the result
    /// before acknowledging the publish that caused them. Callers that need an order across jobs
    /// (a FIFO topic) call this under the lock that ordered them.
    ///
    /// A job for one of ferry's queues is pushed into the queue right here when nothing of its
    /// lane waits before it and no rate limit applies: the message in the queue is as durable as
    /// a record of the job would be, and the record, its removal and the lane's hop cost more
    /// than the delivery itself. A push that fails counts as the job's first attempt, and the
    /// job is recorded to be retried or dead-lettered as usual.
    pub fn submit(&self, jobs: Vec<Job>) -> Submitted<'_> {
        let now = self.clock.now_ms();
        // Which jobs go straight into their queue (grouped by queue, in order), which are recorded.
        let mut direct: Vec<(String, Vec<Job>)> = Vec::new();
        let mut later: Vec<(Job, Option<Outcome>)> = Vec::new();
        for job in jobs {
            let waiting =
                |lane: &str| self.outstanding(lane) || later.iter().any(|(j, _)| j.lane == lane);
            match &job.target {
                Target::Queue { arn }
                    if job.max_per_second.is_none()
                        && job.rate.is_none()
                        && !(job.ordered && waiting(&job.lane)) =>
                {
                    match direct.iter_mut().find(|(a, _)| a == arn) {
                        Some((_, group)) => group.push(job),
                        None => direct.push((arn.clone(), vec![job])),
                    }
                }
                _ => later.push((job, None)),
            }
        }
        let mut pushed = Vec::with_capacity(direct.len());
        for (arn, group) in direct {
            let n = group.len() as u64;
            self.counters.attempts.fetch_add(n, Ordering::Relaxed);
            let messages: Vec<&QueueMessage> = group.iter().map(|j| &j.message).collect();
            match self.queues.push(&arn, &messages) {
                Ok(Pushed {
                    stored,
                    refused: no,
                }) => {
                    pushed.push(stored);
                    let mut no = no.into_iter();
                    for job in group {
                        match no.next().flatten() {
                            None => self.counters.delivered.fetch_add(1, Ordering::Relaxed),
                            Some(e) => {
                                later.push((job, Some(refused("queue", &arn, e))));
                                continue;
                            }
                        };
                    }
                }
                Err(e) => later.extend(
                    group
                        .into_iter()
                        .map(|job| (job, Some(refused("queue", &arn, e.clone())))),
                ),
            }
        }
        let mut ops = Vec::with_capacity(later.len());
        let mut ready = Vec::with_capacity(later.len());
        for (mut job, first) in later {
            job.recorded_ms = now;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ops.push(Op::Put(keys::delivery(id), record::encode(&job)));
            ready.push((id, job, first));
        }
        let recorded = self.durable.submit(ops);
        for (id, job, first) in ready {
            self.dispatch(id, job, first);
        }
        Submitted { recorded, pushed }
    }

    /// True when `lane` has jobs that are not finished.
    fn outstanding(&self, lane: &str) -> bool {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .get(lane)
            .is_some_and(|l| l.outstanding.load(Ordering::SeqCst) > 0)
    }

    /// Abandons every job (the store is cleared by the caller).
    pub fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lanes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.cancelled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn dispatch(&self, id: u64, job: Job, first: Option<Outcome>) {
        let Some(me) = self.me.upgrade() else { return };
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        if !lanes.contains_key(job.lane.as_str()) {
            let (tx, rx) = mpsc::unbounded_channel();
            let outstanding = Arc::new(AtomicU64::new(0));
            tokio::spawn(lane(me, rx, outstanding.clone()));
            lanes.insert(job.lane.clone(), Lane { tx, outstanding });
        }
        let lane = &lanes[job.lane.as_str()];
        // Past the jobs a lane runs and the next HELD_PER_LANE, only the id waits: the record is
        // already in the store. (Deliveries to ferry's own queues are quick and keep their content.)
        let before = lane.outstanding.fetch_add(1, Ordering::SeqCst);
        let held = before < (LANE_CONCURRENCY + HELD_PER_LANE) as u64
            || matches!(job.target, Target::Queue { .. });
        if lane
            .tx
            .send((id, held.then(|| Box::new(job)), first.map(Box::new)))
            .is_err()
        {
            // The lane's worker is gone (its runtime stopped); the record stays for the next start.
            lane.outstanding.fetch_sub(1, Ordering::SeqCst);
            tracing::debug!(id, "delivery lane closed");
        }
    }

    /// A waiting job's record, read back when its turn comes; None when it is gone (the lane was
    /// reset) or unreadable (logged).
    fn read_back(&self, id: u64) -> Option<Job> {
        match self.durable.get(&keys::delivery(id)) {
            Ok(Some(v)) => match record::decode(&v) {
                Ok(job) => {
                    self.counters.read_back.fetch_add(1, Ordering::Relaxed);
                    Some(job)
                }
                Err(e) => {
                    tracing::error!(id, error = %e, "a pending delivery could not be decoded; dropped");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::error!(id, error = %e, "a pending delivery could not be read back; it is retried at the next start");
                None
            }
        }
    }

    /// Connects what writes HTTP requests at their attempt (`Target::Http`'s `compose`).
    pub fn compose_with(&self, composer: Arc<dyn Compose>) {
        let _ = self.composer.set(composer);
    }

    /// The extra headers and the body `spec` asks for. Composing may sign (RSA takes a
    /// millisecond or more), so it runs on tokio's blocking pool: a burst of attempts must not
    /// hold up the workers that answer requests.
    async fn composed(
        &self,
        spec: &str,
        message: &QueueMessage,
    ) -> Result<(Vec<(String, String)>, String), Outcome> {
        let Some(composer) = self.composer.get().cloned() else {
            return Err(Outcome::Retry(Failure::new(
                "INTERNAL_ERROR",
                "no composer is connected",
            )));
        };
        let (spec, message) = (spec.to_string(), message.clone());
        tokio::task::spawn_blocking(move || composer.compose(&spec, &message))
            .await
            .map_err(|e| Outcome::Retry(Failure::new("INTERNAL_ERROR", format!("{e}"))))?
            .map_err(|e| Outcome::Failed(Failure::new("INTERNAL_ERROR", e)))
    }

    /// Waits for the job's turn under its rate, if it has one.
    async fn pace(&self, rate: &Rate) {
        let per_second = rate.per_second.max(1);
        let start = {
            let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let next = rates.entry(rate.key.clone()).or_insert(now);
            let start = (*next).max(now);
            *next = start + Duration::from_secs(1) / per_second;
            start
        };
        tokio::time::sleep_until(start).await;
    }

    async fn attempt(&self, job: &Job) -> Outcome {
        if let Some(rate) = &job.rate {
            self.pace(rate).await;
        }
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        let local = |kind: &str, arn: &str, r: Result<(), QueueError>| match r {
            Ok(()) => Outcome::Delivered,
            Err(e) => refused(kind, arn, e),
        };
        match &job.target {
            Target::Queue { arn } => local("queue", arn, self.queues.send(arn, &job.message).await),
            Target::Topic { arn } | Target::Bus { arn } => {
                let (kind, slot) = match &job.target {
                    Target::Topic { .. } => ("topic", &self.topics),
                    _ => ("event bus", &self.buses),
                };
                let Some(inbox) = slot.get().and_then(Weak::upgrade) else {
                    return Outcome::Retry(Failure::new(
                        "INTERNAL_ERROR",
                        format!("no {kind} service is connected"),
                    ));
                };
                local(kind, arn, inbox.send(arn, job.message.clone()).await)
            }
            Target::Http {
                url,
                headers,
                compose,
            } => match compose {
                None => self.http.post(url, headers, &job.message.body).await,
                Some(spec) => match self.composed(spec, &job.message).await {
                    Ok((more, body)) => {
                        let mut all = headers.clone();
                        all.extend(more);
                        self.http.post(url, &all, &body).await
                    }
                    Err(outcome) => outcome,
                },
            },
            Target::Api(call) => {
                self.http
                    .invoke(
                        &call.method,
                        &call.url,
                        &call.headers,
                        &job.message.body,
                        call.oauth.as_ref(),
                        &self.tokens,
                    )
                    .await
            }
            Target::Unreachable { code, message } => {
                Outcome::Failed(Failure::new(code, message.clone()))
            }
        }
    }

    /// Tries `job` until it is delivered, final, or out of retries; then removes its record.
    /// `first` is the outcome of an attempt made before the job was recorded.
    async fn run(&self, id: u64, mut job: Job, mut first: Option<Outcome>) {
        let generation = self.generation.load(Ordering::SeqCst);
        let current = || self.generation.load(Ordering::SeqCst) == generation;
        loop {
            if !current() {
                return;
            }
            if self.is_cancelled(&job.lane) {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                break;
            }
            let outcome = match first.take() {
                Some(outcome) => outcome,
                None => self.attempt(&job).await,
            };
            job.attempts += 1;
            let (why, exhausted) = match outcome {
                Outcome::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Outcome::Failed(why) => (why, None),
                Outcome::Retry(why) => {
                    let age =
                        Duration::from_millis(self.clock.now_ms().saturating_sub(job.recorded_ms));
                    if let Some(wait) = job.retry.delay(job.attempts, age) {
                        tracing::debug!(lane = %job.lane, attempts = job.attempts, %why, ?wait, "delivery will be retried");
                        if current() {
                            self.durable.submit_detached(vec![Op::Put(
                                keys::delivery(id),
                                record::encode(&job),
                            )]);
                        }
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    let condition = job.retry.exhausted_by(job.attempts, age);
                    (why, Some(condition))
                }
            };
            self.dead_letter(&job, &why, exhausted).await;
            break;
        }
        if current() {
            self.durable
                .submit_detached(vec![Op::Delete(keys::delivery(id))]);
        }
    }

    /// Sends the failed job's message to its dead-letter queue, with the failure described in
    /// attributes when the job asks for them (`exhausted`: the retry limit that ran out).
    async fn dead_letter(&self, job: &Job, why: &Failure, exhausted: Option<&'static str>) {
        let Some(dlq) = &job.dead_letter else {
            tracing::info!(lane = %job.lane, attempts = job.attempts, %why, "delivery failed; no dead-letter queue");
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut message = job.message.clone();
        if let Target::Http {
            compose: Some(spec),
            ..
        } = &job.target
        {
            // The dead letter is the body the endpoint would have received (an SNS envelope).
            if let Ok((_, body)) = self.composed(spec, &job.message).await {
                message = QueueMessage {
                    body,
                    ..Default::default()
                };
            }
        }
        if !job.dead_letter_attributes.is_empty() {
            let retries = job.attempts.saturating_sub(1).to_string();
            let mut attrs = job.dead_letter_attributes.clone();
            attrs.insert("ERROR_CODE".into(), why.code.clone());
            attrs.insert("ERROR_MESSAGE".into(), why.message.clone());
            attrs.insert("RETRY_ATTEMPTS".into(), retries);
            if let Some(condition) = exhausted {
                attrs.insert("EXHAUSTED_RETRY_CONDITION".into(), condition.into());
            }
            message.attributes = attrs
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| {
                    let a = QueueAttribute {
                        data_type: "String".into(),
                        string_value: Some(v),
                        binary_value: None,
                    };
                    (k, a)
                })
                .collect();
            // A dead-letter queue is a standard queue: no FIFO fields.
            message.group_id = None;
            message.dedup_id = None;
        }
        match self.queues.send(dlq, &message).await {
            Ok(()) => {
                tracing::info!(lane = %job.lane, attempts = job.attempts, %why, %dlq, "delivery dead-lettered");
                self.counters.dead_lettered.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(lane = %job.lane, %why, %dlq, ?e, "dead-letter queue refused the message; dropped");
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What a queue's (topic's, bus's) refusal means for the job.
fn refused(kind: &str, arn: &str, e: QueueError) -> Outcome {
    match e {
        QueueError::Missing => Outcome::Failed(Failure::new(
            "NO_RESOURCE",
            format!("{kind} {arn} does not exist"),
        )),
        QueueError::Rejected(why) => Outcome::Failed(Failure::new("INVALID_PARAMETER", why)),
        QueueError::Unavailable(why) => Outcome::Retry(Failure::new("INTERNAL_ERROR", why)),
    }
}

/// One lane's worker: ordered jobs one at a time, others up to `LANE_CONCURRENCY` at once, and
/// no faster than the job's `max_per_second` allows. Jobs that wait by id are read back here.
async fn lane(
    engine: Arc<Delivery>,
    mut rx: mpsc::UnboundedReceiver<Handed>,
    outstanding: Arc<AtomicU64>,
) {
    let slots = Arc::new(Semaphore::new(LANE_CONCURRENCY));
    let mut next_start = tokio::time::Instant::now();
    while let Some((id, held, first)) = rx.recv().await {
        let first = first.map(|o| *o);
        let job = match held {
            Some(job) => *job,
            None => match engine.read_back(id) {
                Some(job) => job,
                None => {
                    outstanding.fetch_sub(1, Ordering::SeqCst);
                    continue;
                }
            },
        };
        if let Some(rate) = job.max_per_second.filter(|r| *r > 0) {
            tokio::time::sleep_until(next_start).await;
            next_start = tokio::time::Instant::now() + Duration::from_secs(1) / rate;
        }
        if job.ordered {
            engine.run(id, job, first).await;
            outstanding.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let engine = engine.clone();
        let outstanding = outstanding.clone();
        tokio::spawn(async move {
            engine.run(id, job, first).await;
            outstanding.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests;
