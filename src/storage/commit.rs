//! Group commit. One writer thread owns the backend's write path: it takes every batch that arrived
//! while the previous flush ran, writes them in arrival order and flushes once for all of them.
//! Callers enqueue under their own lock (so the store sees changes in the order memory did) and await
//! the flush after releasing it.

use super::{Op, Store, StoreError, StoreResult};
use std::sync::atomic::{AtomicBool, Ordering};
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
    path: Path,
    store: Arc<dyn Store>,
}

enum Path {
    /// A writer thread groups batches and flushes once per group (disk backends).
    Writer {
        tx: mpsc::UnboundedSender<Job>,
        writer: Mutex<Option<JoinHandle<()>>>,
    },
    /// Volatile backends are written in the caller's thread: there is nothing to flush, so a
    /// thread hop would only add latency (and, under tokio's paused clock, let time jump).
    Direct { closed: AtomicBool },
}

/// A batch on its way to disk; `wait` resolves once it is flushed.
#[must_use = "await the flush before acknowledging"]
pub struct Pending(PendingState);

enum PendingState {
    Done(StoreResult<()>),
    Waiting(oneshot::Receiver<StoreResult<()>>),
}

fn shut_down() -> StoreError {
    StoreError("store is shut down".into())
}

impl Pending {
    fn done(result: StoreResult<()>) -> Pending {
        Pending(PendingState::Done(result))
    }

    pub async fn wait(self) -> StoreResult<()> {
        match self.0 {
            PendingState::Done(r) => r,
            PendingState::Waiting(rx) => rx.await.unwrap_or_else(|_| Err(shut_down())),
        }
    }
}

/// The most batches one flush covers; bounds the latency of the first of them.
const MAX_GROUP: usize = 4096;

impl Durable {
    pub fn new(store: Arc<dyn Store>) -> Self {
        if store.is_volatile() {
            return Durable {
                path: Path::Direct {
                    closed: AtomicBool::new(false),
                },
                store,
            };
        }
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
                    if write_group(&*backend, &mut group) {
                        break;
                    }
                }
            })
            .expect("spawn store writer");
        Durable {
            path: Path::Writer {
                tx,
                writer: Mutex::new(Some(writer)),
            },
            store,
        }
    }

    fn direct(&self, closed: &AtomicBool, f: impl FnOnce() -> StoreResult<()>) -> StoreResult<()> {
        if closed.load(Ordering::SeqCst) {
            Err(shut_down())
        } else {
            f()
        }
    }

    /// Enqueues `ops` after everything enqueued before; await the result to know it is on disk.
    pub fn submit(&self, ops: Vec<Op>) -> Pending {
        if ops.is_empty() {
            return Pending::done(Ok(()));
        }
        match &self.path {
            Path::Direct { closed } => {
                Pending::done(self.direct(closed, || self.store.write(&ops)))
            }
            Path::Writer { tx, .. } => {
                let (done, rx) = oneshot::channel();
                match tx.send(Job::Write(ops, Some(done))) {
                    Ok(()) => Pending(PendingState::Waiting(rx)),
                    Err(_) => Pending::done(Err(shut_down())),
                }
            }
        }
    }

    /// Enqueues `ops` with nobody waiting (housekeeping such as retention expiry).
    pub fn submit_detached(&self, ops: Vec<Op>) {
        if !ops.is_empty() {
            match &self.path {
                Path::Direct { closed } => {
                    let _ = self.direct(closed, || self.store.write(&ops));
                }
                Path::Writer { tx, .. } => {
                    let _ = tx.send(Job::Write(ops, None));
                }
            }
        }
    }

    /// Removes every key once everything enqueued before has been written.
    pub async fn clear(&self) -> StoreResult<()> {
        match &self.path {
            Path::Direct { closed } => self.direct(closed, || self.store.clear()),
            Path::Writer { tx, .. } => {
                let (done, rx) = oneshot::channel();
                tx.send(Job::Clear(done)).map_err(|_| shut_down())?;
                rx.await.unwrap_or_else(|_| Err(shut_down()))
            }
        }
    }

    /// The backend, for start-up scans and size reports.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Writes and flushes everything enqueued so far, then stops the writer. Idempotent.
    pub fn shutdown(&self) {
        match &self.path {
            Path::Direct { closed } => closed.store(true, Ordering::SeqCst),
            Path::Writer { tx, writer } => {
                let _ = tx.send(Job::Stop);
                let writer = writer.lock().map(|mut w| w.take()).unwrap_or(None);
                if let Some(writer) = writer {
                    let _ = writer.join();
                }
            }
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
