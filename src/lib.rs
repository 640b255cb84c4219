//! # ferry — SQS, SNS and EventBridge on localhost, durably
//!
//! Layout, one line per module:
//! - `config`   — [`Config`]: flags, `FERRY_*` twins, validation, the startup line.
//! - `server`   — hyper accept loop, `/_ferry/*` endpoints, request ids, graceful shutdown;
//!   `route` picks (service, protocol, action); `auth` reads SigV4 credentials.
//! - `protocol` — codecs only: awsQuery forms → params, XML out; awsJson in and out; errors.
//! - `error`    — [`error::ApiError`]: codes spelled as AWS spells them, with status and fault.
//! - `caller`   — who is calling (account, region, access key, host).
//! - `sqs`      — SQS actions; `queue` holds per-queue state, `message` MD5s and handles.
//! - `sns`      — SNS actions: topics, subscriptions, publish, envelopes.
//! - `delivery` — the durable fan-out engine (outbox, lanes, retries, DLQs) SNS and EventBridge
//!   deliver through; it reaches ferry's queues through `delivery::Queues`, which `sqs`
//!   implements, and topics and buses through `delivery::Inbox`, which `sns` and `events` do.
//! - `sts`      — `GetCallerIdentity`, `AssumeRole` (keys that carry the role's account).
//! - `events`   — EventBridge: buses, rules, targets, connections, archives and replays, the
//!   scheduler; pure modules for schedules, target input and PutEvents envelopes.
//! - `pattern`  — the event pattern / filter policy matcher (pure).
//! - `storage`  — the `Store` seam: sled (resources), the message log (hot records), memory.
//! - `clock`    — the one source of time, pausable in tests.

pub mod caller;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod error;
pub mod events;
pub mod ids;
pub mod pattern;
pub mod protocol;
pub mod server;
pub mod sns;
pub mod sqs;
pub mod storage;
pub mod sts;

pub use config::Config;

use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Everything one running ferry owns.
pub struct App {
    pub config: Config,
    pub sqs: Arc<sqs::Sqs>,
    pub events: Arc<events::Events>,
    pub sns: Arc<sns::Sns>,
    pub delivery: Arc<delivery::Delivery>,
    durable: Arc<storage::Durable>,
}

impl App {
    /// Opens the store and rebuilds every service's state from it.
    pub fn open(config: Config) -> Result<Arc<App>, storage::StoreError> {
        let durable = Arc::new(storage::open(&config)?);
        let clock = clock::Clock::new();
        let sqs = sqs::Sqs::open(durable.clone(), clock, config.max_message_size)?;
        let events = events::Events::open(durable.clone(), clock)?;
        let queues: Arc<dyn delivery::Queues> = sqs.clone();
        let delivery = delivery::Delivery::open_trusting(
            durable.clone(),
            clock,
            queues,
            config.https_ca.as_deref(),
        )?;
        let sns = sns::Sns::open(durable.clone(), delivery.clone(), clock)?;
        events.deliver_through(delivery.clone());
        events.limit_rules_per_bus(config.max_rules_per_bus);
        // Topics and buses are targets too (EventBridge rules); the engine holds them weakly.
        let topics: Arc<dyn delivery::Inbox> = sns.clone();
        let buses: Arc<dyn delivery::Inbox> = events.clone();
        delivery.connect(delivery::InboxKind::Topics, Arc::downgrade(&topics));
        delivery.connect(delivery::InboxKind::Buses, Arc::downgrade(&buses));
        Ok(Arc::new(App {
            config,
            sqs,
            events,
            sns,
            delivery,
            durable,
        }))
    }

    /// What `/_ferry/health` answers.
    pub fn health(&self) -> Value {
        json!({
            "version": env!("CARGO_PKG_VERSION"),
            "services": {"sqs": "running", "sts": "running", "sns": "running", "events": "partial"},
            "store": if self.config.in_memory { "memory" } else { "disk" },
            "deliveries": self.delivery.counters.to_json(),
        })
    }

    /// Wipes every resource of every account and region.
    pub async fn reset(&self) -> Result<(), storage::StoreError> {
        self.delivery.reset();
        self.sns.reset();
        self.sqs.reset();
        self.events.reset();
        self.durable.clear().await
    }

    /// Every few seconds: maps of drained queues give back their spare capacity, and the
    /// allocator returns freed pages to the OS. (glibc keeps freed memory in its arenas unless
    /// asked; measured before this, a drained 1,070,000-message queue kept 736 MiB of RSS.)
    fn start_housekeeping(self: &Arc<Self>) {
        let app = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(app) = app.upgrade() else { return };
                app.sqs.shrink();
                drop(app);
                give_back_freed_memory();
            }
        });
    }

    /// Releases long polls so that shutdown does not wait for them.
    pub fn begin_shutdown(&self) {
        self.sqs.close();
    }

    /// Flushes the store and stops its writer.
    pub fn close(&self) {
        self.durable.shutdown();
    }
}

/// Returns the allocator's free pages to the OS.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Serves `config` on `listener` until `shutdown` resolves, then flushes the store.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    config.validate()?;
    let app = App::open(config).map_err(|e| e.to_string())?;
    app.sqs.start_background();
    app.start_housekeeping();
    app.delivery.start(&|lane| app.sns.lane_is_live(lane));
    app.events.start_background();
    tracing::info!(addr = %listener.local_addr().map_err(|e| e.to_string())?, "ferry ready");
    server::serve(app.clone(), listener, shutdown).await;
    app.close();
    tracing::info!("ferry stopped");
    Ok(())
}
