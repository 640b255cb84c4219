//! When the message log's writes reach the device: the `--sync` policy.
//!
//! - `always`: a request is answered only after an `fdatasync` that began after its write. One
//!   thread serves every waiting request with one `fdatasync` (group commit). This survives a power
//!   cut. Measured on 2 cores it costs throughput, not only latency: every request parks and is
//!   woken by another thread, and those wake-ups, not the disk, are what the cores spend their time
//!   on (see the README's figures).
//! - an interval (default `1s`): a request is answered once its `write()` returned; the same thread
//!   calls `fdatasync` at that interval when anything was written. This survives `kill -9` and any
//!   crash of ferry; an OS crash or power cut can take the last interval's writes.

use super::{Store, StoreError, StoreResult};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// The `--sync` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Answer after `fdatasync`.
    Always,
    /// Answer after `write()`; `fdatasync` in the background this often.
    Every(Duration),
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy::Every(Duration::from_secs(1))
    }
}

impl FromStr for SyncPolicy {
    type Err = String;

    /// `always`, or a duration: `1s`, `250ms`, `2m`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "always" {
            return Ok(SyncPolicy::Always);
        }
        let bad = || format!("expected `always` or a duration such as 1s, 250ms or 2m, got {s:?}");
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = s.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            _ => return Err(bad()),
        };
        if d.is_zero() || d > Duration::from_secs(3600) {
            return Err(format!(
                "a sync interval must be between 1ms and 1h, got {s:?}"
            ));
        }
        Ok(SyncPolicy::Every(d))
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncPolicy::Always => write!(f, "always"),
            SyncPolicy::Every(d) if d.subsec_millis() == 0 => write!(f, "{}s", d.as_secs()),
            SyncPolicy::Every(d) => write!(f, "{}ms", d.as_millis()),
        }
    }
}

type Waiter = oneshot::Sender<StoreResult<()>>;

struct State {
    waiters: Vec<Waiter>,
    stop: bool,
}

struct Shared {
    store: Arc<dyn Store>,
    policy: SyncPolicy,
    state: Mutex<State>,
    wake: Condvar,
}

/// The thread that syncs a store by its policy.
pub struct Syncer {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Syncer {
    pub fn start(store: Arc<dyn Store>, policy: SyncPolicy) -> Syncer {
        let shared = Arc::new(Shared {
            store,
            policy,
            state: Mutex::new(State {
                waiters: Vec::new(),
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ferry-sync".into())
            .spawn(move || run(&s))
            .expect("spawn the sync thread");
        Syncer {
            shared,
            thread: Mutex::new(Some(thread)),
        }
    }

    pub fn policy(&self) -> SyncPolicy {
        self.shared.policy
    }

    /// Resolves after an `fdatasync` that starts after this call (`always`).
    pub fn request(&self) -> oneshot::Receiver<StoreResult<()>> {
        let (tx, rx) = oneshot::channel();
        let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.stop {
            let _ = tx.send(Err(StoreError("store is shut down".into())));
        } else {
            state.waiters.push(tx);
            self.shared.wake.notify_one();
        }
        rx
    }

    /// Syncs one last time and stops the thread. Idempotent.
    pub fn stop(&self) {
        {
            let mut state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
            state.stop = true;
            self.shared.wake.notify_one();
        }
        let thread = self.thread.lock().map(|mut t| t.take()).unwrap_or(None);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

fn run(s: &Shared) {
    let mut state = s.state.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if !state.waiters.is_empty() {
            let waiters = std::mem::take(&mut state.waiters);
            drop(state);
            let result = s.store.sync();
            if let Err(e) = &result {
                tracing::error!(%e, "fdatasync of the message log failed");
            }
            for w in waiters {
                let _ = w.send(result.clone());
            }
            state = s.state.lock().unwrap_or_else(|p| p.into_inner());
            continue;
        }
        if state.stop {
            break;
        }
        state = match s.policy {
            SyncPolicy::Always => s.wake.wait(state).unwrap_or_else(|p| p.into_inner()),
            SyncPolicy::Every(every) => {
                let (state, timeout) = s
                    .wake
                    .wait_timeout(state, every)
                    .unwrap_or_else(|p| p.into_inner());
                if !timeout.timed_out() {
                    state
                } else {
                    drop(state);
                    if let Err(e) = s.store.sync() {
                        tracing::error!(%e, "background fdatasync of the message log failed");
                    }
                    s.state.lock().unwrap_or_else(|p| p.into_inner())
                }
            }
        };
    }
    drop(state);
    if let Err(e) = s.store.sync() {
        tracing::error!(%e, "final fdatasync of the message log failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_flag() {
        assert_eq!("always".parse::<SyncPolicy>(), Ok(SyncPolicy::Always));
        assert_eq!(
            "1s".parse::<SyncPolicy>(),
            Ok(SyncPolicy::Every(Duration::from_secs(1)))
        );
        assert_eq!(
            "250ms".parse::<SyncPolicy>(),
            Ok(SyncPolicy::Every(Duration::from_millis(250)))
        );
        assert_eq!(
            "2m".parse::<SyncPolicy>(),
            Ok(SyncPolicy::Every(Duration::from_secs(120)))
        );
        for bad in ["", "0s", "never", "1h", "5", "s", "-1s", "2d"] {
            assert!(bad.parse::<SyncPolicy>().is_err(), "{bad}");
        }
        assert_eq!(SyncPolicy::default().to_string(), "1s");
        assert_eq!(
            SyncPolicy::Every(Duration::from_millis(250)).to_string(),
            "250ms"
        );
    }
}
