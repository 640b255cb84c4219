//! The durable write path shared by every service. A change is a batch of [`Op`]s, split by key
//! family (see `keys::is_hot`):
//!
//! - **Hot records** (messages, their state, deduplication) go to the message log with one
//!   `write()` in the caller's own thread, under the caller's lock, so the log sees changes in the
//!   order memory did. Under `--sync always` the answer then waits for a shared `fdatasync`.
//! - **Resources** (queues, move tasks, ...) change rarely; one writer thread owns sled's write
//!   path, takes every batch that arrived while the previous flush ran, writes them in order and
//!   flushes once for all of them (group commit). Callers enqueue under their own lock and await
//!   the flush after releasing it.
//!
//! With `--in-memory` both halves are one memory store, written in the caller's thread.

use super::sync::{SyncPolicy, Syncer};
use super::{Op, Store, StoreError, StoreResult, Visitor, keys};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

enum Job {
    Write(Vec<Op>, Option<oneshot::Sender<StoreResult<()>>>),
    /// Remove every key, in order with the writes around it.
    Clear(oneshot::Sender<StoreResult<()>>),
    Stop,
}

/// How often the background thread looks for log segments worth compacting.
const MAINTAIN_EVERY: Duration = Duration::from_secs(1);

/// The durable write path shared by every service.
pub struct Durable {
    cold: Cold,
    resources: Arc<dyn Store>,
    hot: Arc<dyn Store>,
    /// Disk only: syncs the log by the `--sync` policy.
    syncer: Option<Syncer>,
    /// Disk only: compacts the log in the background.
    maintainer: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
    closed: AtomicBool,
}

enum Cold {
    /// A writer thread groups batches and flushes once per group (disk backends).
    Writer {
        tx: mpsc::UnboundedSender<Job>,
        writer: Mutex<Option<JoinHandle<()>>>,
    },
    /// Volatile backends are written in the caller's thread: there is nothing to flush, so a
    /// thread hop would only add latency (and, under tokio's paused clock, let time jump).
    Direct,
}

/// A batch on its way to disk; `wait` resolves once it is as durable as the policy promises.
#[must_use = "await durability before acknowledging"]
pub struct Pending {
    result: StoreResult<()>,
    waits: [Option<oneshot::Receiver<StoreResult<()>>>; 2],
}

fn shut_down() -> StoreError {
    StoreError("store is shut down".into())
}

impl Pending {
    fn done(result: StoreResult<()>) -> Pending {
        Pending {
            result,
            waits: [None, None],
        }
    }

    /// True when the write already failed (nothing reached the store): the caller should undo
    /// its change in memory.
    pub fn failed(&self) -> bool {
        self.result.is_err()
    }

    pub async fn wait(self) -> StoreResult<()> {
        self.result?;
        for rx in self.waits.into_iter().flatten() {
            rx.await.unwrap_or_else(|_| Err(shut_down()))?;
        }
        Ok(())
    }
}

/// The most batches one flush covers; bounds the latency of the first of them.
const MAX_GROUP: usize = 4096;

impl Durable {
    /// Resources in `resources`, hot records in `hot`; a volatile `resources` store means
    /// in-memory mode (no threads). `policy` applies to `hot` when it is not volatile.
    pub fn new(resources: Arc<dyn Store>, hot: Arc<dyn Store>, policy: SyncPolicy) -> Self {
        let cold = if resources.is_volatile() {
            Cold::Direct
        } else {
            spawn_writer(resources.clone())
        };
        let (syncer, maintainer) = if hot.is_volatile() {
            (None, None)
        } else {
            (
                Some(Syncer::start(hot.clone(), policy)),
                Some(spawn_maintainer(hot.clone())),
            )
        };
        Durable {
            cold,
            resources,
            hot,
            syncer,
            maintainer: Mutex::new(maintainer),
            closed: AtomicBool::new(false),
        }
    }

    /// Everything in one memory store (`--in-memory`, tests).
    pub fn memory() -> Self {
        let store: Arc<dyn Store> = Arc::new(super::MemoryStore::default());
        Durable::new(store.clone(), store, SyncPolicy::default())
    }

    /// Applies `ops` after everything submitted before; await the result before answering.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        if ops.is_empty() {
            return Pending::done(Ok(()));
        }
        if self.closed.load(Ordering::SeqCst) {
            return Pending::done(Err(shut_down()));
        }
        let (hot, cold) = split(ops);
        let mut pending = Pending::done(Ok(()));
        if !hot.is_empty() {
            if let Err(e) = self.hot.write(&hot) {
                return Pending::done(Err(e));
            }
            if let Some(s) = self
                .syncer
                .as_ref()
                .filter(|s| s.policy() == SyncPolicy::Always)
            {
                pending.waits[0] = Some(s.request());
            }
        }
        if !cold.is_empty() {
            match &self.cold {
                Cold::Direct => pending.result = self.resources.write(&cold),
                Cold::Writer { tx, .. } => {
                    let (done, rx) = oneshot::channel();
                    match tx.send(Job::Write(cold, Some(done))) {
                        Ok(()) => pending.waits[1] = Some(rx),
                        Err(_) => pending.result = Err(shut_down()),
                    }
                }
            }
        }
        pending
    }

    /// Resolves once everything submitted before it is as durable as the policy promises: what
    /// an answer about a resource another request is still writing must wait for.
    pub fn barrier(&self) -> Pending {
        let mut pending = Pending::done(Ok(()));
        if let Cold::Writer { tx, .. } = &self.cold {
            let (done, rx) = oneshot::channel();
            match tx.send(Job::Write(Vec::new(), Some(done))) {
                Ok(()) => pending.waits[1] = Some(rx),
                Err(_) => pending.result = Err(shut_down()),
            }
        }
        pending
    }

    /// Applies `ops` with nobody waiting (housekeeping such as retention expiry).
    pub fn submit_detached(&self, ops: Vec<Op>) {
        if ops.is_empty() || self.closed.load(Ordering::SeqCst) {
            return;
        }
        let (hot, cold) = split(ops);
        if !hot.is_empty()
            && let Err(e) = self.hot.write(&hot)
        {
            tracing::error!(%e, "message log write failed");
        }
        if !cold.is_empty() {
            match &self.cold {
                Cold::Direct => {
                    let _ = self.resources.write(&cold);
                }
                Cold::Writer { tx, .. } => {
                    let _ = tx.send(Job::Write(cold, None));
                }
            }
        }
    }

    /// Visits every key under `prefix` in key order, wherever its family lives.
    pub fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()> {
        self.home(prefix).scan(prefix, f)
    }

    /// Reads one value, wherever its family lives.
    pub fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.home(key).get(key)
    }

    /// Reads several values, in their order: in one call to their store when they share one.
    pub fn get_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        match keys.first() {
            Some(k) if keys.iter().all(|o| o.first() == k.first()) => self.home(k).get_many(keys),
            _ => keys.iter().map(|k| self.get(k)).collect(),
        }
    }

    fn home(&self, key: &[u8]) -> &Arc<dyn Store> {
        self.store_of(key.first().copied().unwrap_or(0))
    }

    /// The store that holds a key family, for code that reads a family through the `Store`
    /// trait (start-up loads).
    pub fn store_of(&self, family: u8) -> &Arc<dyn Store> {
        if keys::is_hot(family) {
            &self.hot
        } else {
            &self.resources
        }
    }

    /// Removes every key once everything submitted before has been written.
    pub async fn clear(&self) -> StoreResult<()> {
        self.hot.clear()?;
        match &self.cold {
            Cold::Direct => self.resources.clear(),
            Cold::Writer { tx, .. } => {
                let (done, rx) = oneshot::channel();
                tx.send(Job::Clear(done)).map_err(|_| shut_down())?;
                rx.await.unwrap_or_else(|_| Err(shut_down()))
            }
        }
    }

    /// True when nothing survives the process (`--in-memory`).
    pub fn is_volatile(&self) -> bool {
        self.hot.is_volatile()
    }

    /// Writes and syncs everything submitted so far, then stops the threads. Idempotent.
    pub fn shutdown(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let maintainer = self.maintainer.lock().map(|mut m| m.take()).unwrap_or(None);
        if let Some((stop, thread)) = maintainer {
            stop.store(true, Ordering::SeqCst);
            thread.thread().unpark();
            let _ = thread.join();
        }
        if let Cold::Writer { tx, writer } = &self.cold {
            let _ = tx.send(Job::Stop);
            let writer = writer.lock().map(|mut w| w.take()).unwrap_or(None);
            if let Some(writer) = writer {
                let _ = writer.join();
            }
        }
        if let Some(s) = &self.syncer {
            s.stop();
        }
        for store in [&self.hot, &self.resources] {
            if let Err(e) = store.sync() {
                tracing::error!(%e, "final flush failed");
            }
        }
    }
}

/// Splits a batch into (hot, cold) ops, keeping the order within each.
fn split(ops: Vec<Op>) -> (Vec<Op>, Vec<Op>) {
    let family = |op: &Op| match op {
        Op::Put(k, _) | Op::Delete(k) => k.first().copied().unwrap_or(0),
    };
    if ops.iter().all(|op| keys::is_hot(family(op))) {
        return (ops, Vec::new());
    }
    ops.into_iter().partition(|op| keys::is_hot(family(op)))
}

fn spawn_writer(store: Arc<dyn Store>) -> Cold {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    let writer = std::thread::Builder::new()
        .name("ferry-store".into())
        .spawn(move || {
            let mut group = Vec::new();
            while let Some(job) = rx.blocking_recv() {
                group.push(job);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(job) => group.push(job),
                        Err(_) => break,
                    }
                }
                if write_group(&*store, &mut group) {
                    break;
                }
            }
        })
        .expect("spawn store writer");
    Cold::Writer {
        tx,
        writer: Mutex::new(Some(writer)),
    }
}

/// Compaction and other housekeeping of the hot store, once a second until stopped.
fn spawn_maintainer(store: Arc<dyn Store>) -> (Arc<AtomicBool>, JoinHandle<()>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("ferry-compact".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                if let Err(e) = store.maintain() {
                    tracing::warn!(%e, "message log compaction failed; will retry");
                }
                std::thread::park_timeout(MAINTAIN_EVERY);
            }
        })
        .expect("spawn the compaction thread");
    (stop, thread)
}

/// Writes every batch of `group` as one store batch, flushes once, answers every waiter.
/// Returns true on `Stop`. (sled makes each batch durable on its own, so one batch per group is
/// what turns many concurrent requests into one flush.)
fn write_group(store: &dyn Store, group: &mut Vec<Job>) -> bool {
    let mut stop = false;
    let mut ops = Vec::new();
    let mut waiters = Vec::with_capacity(group.len());
    let mut outcome: StoreResult<()> = Ok(());
    for job in group.drain(..) {
        match job {
            Job::Write(batch, waiter) => {
                ops.extend(batch);
                waiters.extend(waiter);
            }
            Job::Clear(waiter) => {
                // Everything before a clear is written first, so the clear wins.
                outcome = outcome.and(store.write(&ops)).and(store.clear());
                ops.clear();
                waiters.push(waiter);
            }
            Job::Stop => stop = true,
        }
    }
    let outcome = outcome.and(store.write(&ops)).and(store.sync());
    if let Err(e) = &outcome {
        tracing::error!(%e, "store write failed");
    }
    for waiter in waiters {
        let _ = waiter.send(outcome.clone());
    }
    stop
}
