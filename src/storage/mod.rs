//! Durable state behind one small trait. Services keep their working state in memory and describe
//! every change as a batch of [`Op`]s; [`Durable`] groups the batches of concurrent requests into one
//! write and one flush (group commit), so durability costs latency, not throughput. Nothing above this
//! module knows whether sled or plain memory is underneath.

mod codec;
mod commit;
mod memory;
mod sled_store;

pub use codec::{Dec, Enc, decode_json, encode_json};
pub use commit::{Durable, Pending};
pub use memory::MemoryStore;
pub use sled_store::SledStore;

use std::fmt;

/// One change to the key space. Keys start with a one-byte family prefix (see `keys`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// What `Store::scan` calls with each key and value.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<()> + 'a;

/// The backend contract. `write` applies ops in order; after a crash the store holds a prefix of
/// every op written (so writers order a move as "add the copy, then remove the original");
/// `sync` makes every write so far durable.
pub trait Store: Send + Sync + 'static {
    fn write(&self, ops: &[Op]) -> StoreResult<()>;
    fn sync(&self) -> StoreResult<()>;
    /// Visit every key/value under `prefix` in key order.
    fn scan(&self, prefix: &[u8], f: &mut Visitor<'_>) -> StoreResult<()>;
    /// Remove every key.
    fn clear(&self) -> StoreResult<()>;
    /// Bytes used on disk, when the backend has a disk.
    fn size_on_disk(&self) -> Option<u64>;
    /// True when nothing survives the process (writes need no flush and no writer thread).
    fn is_volatile(&self) -> bool {
        false
    }
}

/// Key layout, one place for every family prefix.
pub mod keys {
    /// Queue record: `q` + queue id.
    pub const QUEUE: u8 = b'q';
    /// Immutable message (body, attributes): `m` + queue id + sequence.
    pub const MESSAGE: u8 = b'm';
    /// Mutable message state (receive count, visibility deadline): `s` + queue id + sequence.
    pub const MESSAGE_STATE: u8 = b's';

    /// FIFO deduplication record: `d` + queue id + deduplication key.
    pub const DEDUP: u8 = b'd';

    pub fn dedup(queue: u64, key: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(9 + key.len());
        k.push(DEDUP);
        k.extend_from_slice(&queue.to_be_bytes());
        k.extend_from_slice(key.as_bytes());
        k
    }

    /// SQS message move task record: `t` + task key (in start order).
    pub const TASK: u8 = b't';

    pub fn task(key: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(TASK);
        k.extend_from_slice(&key.to_be_bytes());
        k
    }

    pub fn queue(id: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(QUEUE);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }

    pub fn message(family: u8, queue: u64, seq: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(17);
        k.push(family);
        k.extend_from_slice(&queue.to_be_bytes());
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    /// Splits a message key into (queue id, sequence).
    pub fn split_message(key: &[u8]) -> Option<(u64, u64)> {
        if key.len() != 17 {
            return None;
        }
        let q = u64::from_be_bytes(key[1..9].try_into().ok()?);
        let s = u64::from_be_bytes(key[9..17].try_into().ok()?);
        Some((q, s))
    }

    /// SNS topic record: `n` + topic ARN.
    pub const TOPIC: u8 = b'n';
    /// SNS subscription record: `u` + subscription ARN.
    pub const SUBSCRIPTION: u8 = b'u';
    /// Pending delivery (SNS subscriptions, later EventBridge targets), a hot record:
    /// `y` + delivery id (big-endian, so a scan yields record order).
    pub const DELIVERY: u8 = b'y';

    /// SNS platform application, platform endpoint or SMS settings: `w` + ARN.
    pub const PLATFORM: u8 = b'w';

    /// SNS's message-signing key and certificate: `g` + name.
    pub const SIGNING_KEY: u8 = b'g';

    /// A key of `family` followed by a name (topic and subscription ARNs).
    pub fn named(family: u8, name: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(1 + name.len());
        k.push(family);
        k.extend_from_slice(name.as_bytes());
        k
    }

    pub fn delivery(id: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(DELIVERY);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
}

/// Opens the configured backend.
pub fn open(config: &crate::config::Config) -> StoreResult<std::sync::Arc<dyn Store>> {
    if config.in_memory {
        Ok(std::sync::Arc::new(MemoryStore::default()))
    } else {
        Ok(std::sync::Arc::new(SledStore::open(&config.data_dir)?))
    }
}

#[cfg(test)]
mod conformance;
