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
//!
//! **A long backlog costs little.** A lane holds a task and a timer only for the jobs it is
//! running (at most [`LANE_CONCURRENCY`]); the jobs waiting behind them are entries in the lane's
//! channel. The first [`HELD_PER_LANE`] waiting jobs keep their content in memory (the common
//! case: a lane that keeps up never reads back); beyond that a waiting job is only its id (16
//! bytes), and its record is read back from the store when its turn comes. So 10,000 deliveries
//! waiting on a dead endpoint cost a few hundred kilobytes and no CPU between attempts
//! (`bench/idle_pending.py` measures it).

mod http;
pub mod retry;

pub use http::read_ca_file;
pub use retry::{Backoff, RetryPolicy};

use crate::clock::Clock;
use crate::storage::{Durable, Op, Pending, StoreError, StoreResult, keys};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

/// Most jobs of one unordered lane in flight at once.
pub const LANE_CONCURRENCY: usize = 32;

/// Waiting jobs of one lane that keep their content in memory; the others are held by id only.
pub const HELD_PER_LANE: usize = 2 * LANE_CONCURRENCY;

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

/// Ferry's own queues, as the engine sees them.
pub trait Queues: Send + Sync + 'static {
    /// Sends `message` to the queue named by `queue_arn`.
    fn send<'a>(
        &'a self,
        queue_arn: &'a str,
        message: QueueMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;
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
        })
    }
}

/// A job on its way to its lane: its id, and its content unless it is to be read back.
type Slot = (u64, Option<Box<Job>>);

/// The sending end of a lane, and how many jobs wait in it.
struct LaneTx {
    tx: mpsc::UnboundedSender<Slot>,
    waiting: Arc<AtomicUsize>,
}

/// The engine.
pub struct Delivery {
    durable: Arc<Durable>,
    clock: Clock,
    queues: Arc<dyn Queues>,
    http: http::Http,
    next_id: AtomicU64,
    lanes: Mutex<HashMap<String, LaneTx>>,
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
            http,
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
                self.dispatch(id, job);
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

    /// Records `jobs` and hands them to their lanes. Await the result before acknowledging the
    /// publish that caused them. Callers that need an order across jobs (a FIFO topic) call this
    /// under the lock that ordered them.
    pub fn submit(&self, jobs: Vec<Job>) -> Pending {
        let now = self.clock.now_ms();
        let mut ops = Vec::with_capacity(jobs.len());
        let mut ready = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            job.recorded_ms = now;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            ops.push(Op::Put(
                keys::delivery(id),
                crate::storage::encode_json(RECORD_VERSION, &job),
            ));
            ready.push((id, job));
        }
        let pending = self.durable.submit(ops);
        for (id, job) in ready {
            self.dispatch(id, job);
        }
        pending
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

    fn dispatch(&self, id: u64, job: Job) {
        let Some(me) = self.me.upgrade() else { return };
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let lane = lanes.entry(job.lane.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let waiting = Arc::new(AtomicUsize::new(0));
            tokio::spawn(lane(me, rx, waiting.clone()));
            LaneTx { tx, waiting }
        });
        // Past the first waiting jobs, only the id waits: the record is already in the store.
        // (Deliveries to ferry's own queues are quick and always keep their content.)
        let held = lane.waiting.fetch_add(1, Ordering::Relaxed) < HELD_PER_LANE
            || matches!(job.target, Target::Queue { .. });
        let slot = (id, held.then(|| Box::new(job)));
        if lane.tx.send(slot).is_err() {
            // The lane's worker is gone (its runtime stopped); the record stays for the next start.
            lane.waiting.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(id, "delivery lane closed");
        }
    }

    /// A waiting job's record, read back when its turn comes; None when it is gone (the lane was
    /// reset) or unreadable (logged).
    fn read_back(&self, id: u64) -> Option<Job> {
        match self.durable.get(&keys::delivery(id)) {
            Ok(Some(v)) => match decode(&v) {
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

    async fn attempt(&self, job: &Job) -> Outcome {
        self.counters.attempts.fetch_add(1, Ordering::Relaxed);
        match &job.target {
            Target::Queue { arn } => match self.queues.send(arn, job.message.clone()).await {
                Ok(()) => Outcome::Delivered,
                Err(QueueError::Missing) => Outcome::Failed(format!("queue {arn} does not exist")),
                Err(QueueError::Rejected(why)) => Outcome::Failed(why),
                Err(QueueError::Unavailable(why)) => Outcome::Retry(why),
            },
            Target::Http { url, headers } => self.http.post(url, headers, &job.message.body).await,
        }
    }

    /// Tries `job` until it is delivered, final, or out of retries; then removes its record.
    async fn run(&self, id: u64, mut job: Job) {
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
            let outcome = self.attempt(&job).await;
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
        match self.queues.send(dlq, job.message.clone()).await {
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

/// One lane's worker: ordered jobs one at a time, others up to `LANE_CONCURRENCY` at once, and
/// no faster than the job's `max_per_second` allows. Jobs that wait by id are read back here.
async fn lane(
    engine: Arc<Delivery>,
    mut rx: mpsc::UnboundedReceiver<Slot>,
    waiting: Arc<AtomicUsize>,
) {
    let slots = Arc::new(Semaphore::new(LANE_CONCURRENCY));
    let mut next_start = tokio::time::Instant::now();
    while let Some((id, held)) = rx.recv().await {
        waiting.fetch_sub(1, Ordering::Relaxed);
        let job = match held {
            Some(job) => *job,
            None => match engine.read_back(id) {
                Some(job) => job,
                None => continue,
            },
        };
        if let Some(rate) = job.max_per_second.filter(|r| *r > 0) {
            tokio::time::sleep_until(next_start).await;
            next_start = tokio::time::Instant::now() + Duration::from_secs(1) / rate;
        }
        if job.ordered {
            engine.run(id, job).await;
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let engine = engine.clone();
        tokio::spawn(async move {
            engine.run(id, job).await;
            drop(permit);
        });
    }
}

#[cfg(test)]
mod tests;
