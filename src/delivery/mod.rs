//! The fan-out engine SNS uses (and EventBridge next): a durable outbox and the workers that
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
//! reached in-process through the [`Queues`] trait (which `sqs` implements and `lib.rs` wires);
//! HTTP targets go through one pooled hyper client. Retry waits come from tokio's clock, so
//! schedules are tested on the paused clock. This module imports no service.

mod http;
pub mod retry;

pub use retry::{Backoff, RetryPolicy};

use crate::clock::Clock;
use crate::storage::{Durable, Op, Pending, StoreError, StoreResult, keys};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Most jobs of one unordered lane in flight at once.
pub const LANE_CONCURRENCY: usize = 32;

const RECORD_VERSION: u8 = 1;

/// One message attribute as a queue stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAttribute {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Vec<u8>>,
}

/// What a delivery carries: the body, and for queues the attributes and FIFO fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub body: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, QueueAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    /// The publisher's `X-Amzn-Trace-Id`, which queues keep as `AWSTraceHeader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
}

/// Why a queue refused a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// No queue has that ARN.
    Missing,
    /// The queue exists but refused the message (too large, invalid FIFO fields, ...).
    Rejected(String),
    /// The queue could not take it now (its store failed); worth retrying.
    Unavailable(String),
}

/// Messages that are in their queue and on their way to the store; they are delivered (durably)
/// when this resolves.
pub type Stored<'a> = Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;

/// What a push did: the messages it took, on their way to disk, and per message pushed `None`
/// (taken) or why the queue refused it.
pub struct Pushed<'a> {
    pub stored: Stored<'a>,
    pub refused: Vec<Option<QueueError>>,
}

/// Ferry's own queues, as the engine sees them.
pub trait Queues: Send + Sync + 'static {
    /// Puts `messages` on the queue named by `queue_arn`, in this order and in one write, before
    /// returning, so that pushes made in a row (under the caller's lock) arrive in that order.
    /// `Err` when the queue takes none of them (it does not exist, its store failed).
    fn push(&self, queue_arn: &str, messages: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError>;

    /// Sends `message` to the queue named by `queue_arn`.
    fn send<'a>(&'a self, queue_arn: &'a str, message: &QueueMessage) -> Stored<'a> {
        match self.push(queue_arn, &[message]) {
            Ok(Pushed { stored, refused }) => match refused.into_iter().next().flatten() {
                None => stored,
                Some(e) => Box::pin(std::future::ready(Err(e))),
            },
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Where a job goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// One of ferry's queues, by ARN.
    Queue { arn: String },
    /// An HTTP endpoint: the body is POSTed with these headers.
    Http {
        url: String,
        headers: Vec<(String, String)>,
    },
}

/// One pending delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Deliveries of one lane never wait on another lane's (a subscription ARN, a target id).
    pub lane: String,
    /// Ordered lanes deliver one job at a time, in record order.
    pub ordered: bool,
    pub target: Target,
    pub message: QueueMessage,
    pub retry: RetryPolicy,
    /// The queue ARN that gets the message once the retries are spent or the failure is final.
    pub dead_letter: Option<String>,
    /// At most this many attempts a second on the job's lane (SNS `maxReceivesPerSecond`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_second: Option<u32>,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// When the job was recorded (epoch ms); set by `submit`.
    #[serde(default)]
    pub recorded_ms: u64,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth trying again (connection failure, timeout, 429, 5xx).
    Retry(String),
    /// Final: no retry helps (a 4xx, a missing queue).
    Failed(String),
}

/// What happened to finished jobs, for `/_ferry/health` and tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub delivered: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub dropped: AtomicU64,
    pub attempts: AtomicU64,
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
        })
    }
}

/// A job handed to a lane, with the outcome of an attempt already made in `submit`, if any.
type Handed = (u64, Job, Option<Outcome>);

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
    http: http::Http,
    next_id: AtomicU64,
    lanes: Mutex<HashMap<String, Lane>>,
    /// Bumped by `reset`: jobs of an older generation stop.
    generation: AtomicU64,
    /// Jobs found on disk at open, dispatched by `start`.
    resumed: Mutex<Vec<(u64, Job)>>,
    /// Lanes whose owner is gone (an unsubscribed subscription): their jobs are dropped.
    cancelled: Mutex<HashSet<String>>,
    pub counters: Counters,
    me: Weak<Delivery>,
}

fn decode(buf: &[u8]) -> StoreResult<Job> {
    crate::storage::decode_json(RECORD_VERSION, buf, "pending delivery")
}

impl Delivery {
    /// Loads the pending deliveries left by the last run; `start` resumes them.
    pub fn open(
        durable: Arc<Durable>,
        clock: Clock,
        queues: Arc<dyn Queues>,
    ) -> StoreResult<Arc<Delivery>> {
        let mut resumed = Vec::new();
        durable.scan(&[keys::DELIVERY], &mut |k, v| {
            let id = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError("bad delivery key".into()))?;
            resumed.push((id, decode(v)?));
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
            http: http::Http::default(),
            next_id: AtomicU64::new(next),
            lanes: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            resumed: Mutex::new(resumed),
            cancelled: Mutex::default(),
            counters: Counters::default(),
            me: me.clone(),
        }))
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
            let waiting = |lane: &str| {
                self.outstanding(lane) || later.iter().any(|(j, _)| j.lane == lane)
            };
            match &job.target {
                Target::Queue { arn }
                    if job.max_per_second.is_none() && !(job.ordered && waiting(&job.lane)) =>
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
                Ok(Pushed { stored, refused }) => {
                    pushed.push(stored);
                    let mut refused = refused.into_iter();
                    for job in group {
                        match refused.next().flatten() {
                            None => self.counters.delivered.fetch_add(1, Ordering::Relaxed),
                            Some(e) => {
                                later.push((job, Some(queue_outcome(&arn, e))));
                                continue;
                            }
                        };
                    }
                }
                Err(e) => later.extend(
                    group
                        .into_iter()
                        .map(|job| (job, Some(queue_outcome(&arn, e.clone())))),
                ),
            }
        }
        let mut ops = Vec::with_capacity(later.len());
        let mut ready = Vec::with_capacity(later.len());
        for (mut job, first) in later {
            job.recorded_ms = now;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ops.push(Op::Put(
                keys::delivery(id),
                crate::storage::encode_json(RECORD_VERSION, &job),
            ));
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
        let lane = lanes.entry(job.lane.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let outstanding = Arc::new(AtomicU64::new(0));
            tokio::spawn(lane(me, rx, outstanding.clone()));
            Lane { tx, outstanding }
        });
        lane.outstanding.fetch_add(1, Ordering::SeqCst);
        if let Err(mpsc::error::SendError(item)) = lane.tx.send((id, job, first)) {
            // The lane's worker is gone (its runtime stopped); the record stays for the next start.
            tracing::debug!(lane = %item.1.lane, "delivery lane closed");
        }
    }

    async fn attempt(&self, job: &Job) -> Outcome {
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        match &job.target {
            Target::Queue { arn } => match self.queues.send(arn, &job.message).await {
                Ok(()) => Outcome::Delivered,
                Err(e) => queue_outcome(arn, e),
            },
            Target::Http { url, headers } => self.http.post(url, headers, &job.message.body).await,
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
            let why = match outcome {
                Outcome::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Outcome::Failed(why) => why,
                Outcome::Retry(why) => {
                    let age =
                        Duration::from_millis(self.clock.now_ms().saturating_sub(job.recorded_ms));
                    if let Some(wait) = job.retry.delay(job.attempts, age) {
                        tracing::debug!(lane = %job.lane, attempts = job.attempts, %why, ?wait, "delivery will be retried");
                        if current() {
                            self.durable.submit_detached(vec![Op::Put(
                                keys::delivery(id),
                                crate::storage::encode_json(RECORD_VERSION, &job),
                            )]);
                        }
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    why
                }
            };
            self.dead_letter(&job, &why).await;
            break;
        }
        if current() {
            self.durable
                .submit_detached(vec![Op::Delete(keys::delivery(id))]);
        }
    }

    async fn dead_letter(&self, job: &Job, why: &str) {
        let Some(dlq) = &job.dead_letter else {
            tracing::info!(lane = %job.lane, attempts = job.attempts, %why, "delivery failed; no dead-letter queue");
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match self.queues.send(dlq, &job.message).await {
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

/// What a queue's refusal means for the job.
fn queue_outcome(arn: &str, e: QueueError) -> Outcome {
    match e {
        QueueError::Missing => Outcome::Failed(format!("queue {arn} does not exist")),
        QueueError::Rejected(why) => Outcome::Failed(why),
        QueueError::Unavailable(why) => Outcome::Retry(why),
    }
}

/// One lane's worker: ordered jobs one at a time, others up to `LANE_CONCURRENCY` at once, and
/// no faster than the job's `max_per_second` allows.
async fn lane(
    engine: Arc<Delivery>,
    mut rx: mpsc::UnboundedReceiver<Handed>,
    outstanding: Arc<AtomicU64>,
) {
    let slots = Arc::new(Semaphore::new(LANE_CONCURRENCY));
    let mut next_start = tokio::time::Instant::now();
    while let Some((id, job, first)) = rx.recv().await {
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
