//! Group commit. One writer thread owns the backend's write path: it takes every batch that arrived
//! while the previous flush ran, writes them in arrival order and flushes once for all of them.
//! Callers enqueue under their own lock (so the store sees changes in the order memory did) and await
//! the flush after releasing it.

use super::{Op, Store, StoreError, StoreResult};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::{mpsc, oneshot};

enum Job {
    Write(Vec<Op>, Option<oneshot::Sender<StoreResult<()>>>),
    /// Remove every key, in order with the writes around it.
    Clear(oneshot::Sender<StoreResult<()>>),
    Stop,
}

/// The durable write path shared by every service.
pub struct Durable {
    tx: mpsc::UnboundedSender<Job>,
    store: Arc<dyn Store>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// A batch on its way to disk; `wait` resolves once it is flushed.
#[must_use = "await the flush before acknowledging"]
pub struct Pending(Option<oneshot::Receiver<StoreResult<()>>>);

impl Pending {
    pub async fn wait(self) -> StoreResult<()> {
        match self.0 {
            None => Ok(()),
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err(StoreError("store is shut down".into()))),
        }
    }
}

/// The most batches one flush covers; bounds the latency of the first of them.
const MAX_GROUP: usize = 4096;

impl Durable {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let backend = store.clone();
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
                    let stop = write_group(&*backend, &mut group);
                    if stop {
                        break;
                    }
                }
            })
            .expect("spawn store writer");
        Durable {
            tx,
            store,
            writer: Mutex::new(Some(writer)),
        }
    }

    /// Enqueues `ops` after everything enqueued before; await the result to know it is on disk.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        if ops.is_empty() {
            return Pending(None);
        }
        let (done, rx) = oneshot::channel();
        match self.tx.send(Job::Write(ops, Some(done))) {
            Ok(()) => Pending(Some(rx)),
            Err(_) => {
                let (done, rx) = oneshot::channel();
                let _ = done.send(Err(StoreError("store is shut down".into())));
                Pending(Some(rx))
            }
        }
    }

    /// Enqueues `ops` with nobody waiting (housekeeping such as retention expiry).
    pub fn submit_detached(&self, ops: Vec<Op>) {
        if !ops.is_empty() {
            let _ = self.tx.send(Job::Write(ops, None));
        }
    }

    /// Removes every key once everything enqueued before has been written.
    pub async fn clear(&self) -> StoreResult<()> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job::Clear(done))
            .map_err(|_| StoreError("store is shut down".into()))?;
        rx.await
            .unwrap_or_else(|_| Err(StoreError("store is shut down".into())))
    }

    pub async fn commit(&self, ops: Vec<Op>) -> StoreResult<()> {
        self.submit(ops).wait().await
    }

    /// The backend, for start-up scans and size reports.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Writes and flushes everything enqueued so far, then stops the writer. Idempotent.
    pub fn shutdown(&self) {
        let _ = self.tx.send(Job::Stop);
        let writer = self.writer.lock().map(|mut w| w.take()).unwrap_or(None);
        if let Some(writer) = writer {
            let _ = writer.join();
        }
        if let Err(e) = self.store.sync() {
            tracing::error!(%e, "final flush failed");
        }
    }
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
