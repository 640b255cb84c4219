//! Durable state behind one small seam. Services keep their working state in memory and describe
//! every change as a batch of [`Op`]s; [`Durable`] sends each op to its home by key family:
//! resources (queues, tasks) to sled, hot records (messages, their state, deduplication) to the
//! append-only message log (`log/`), or everything to memory with `--in-memory`. Nothing above
//! this module knows which file a record lands in.
//!
//! On disk the data directory holds `FORMAT` (the layout version), `sled/` and `log/`.

mod codec;
mod commit;
pub mod log;
mod memory;
mod sled_store;
mod sync;

pub use codec::{Dec, Enc, decode_json, encode_json};
pub use commit::{Durable, Pending};
pub use log::Log;
pub use memory::MemoryStore;
pub use sled_store::SledStore;
pub use sync::SyncPolicy;

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
    /// The value of one key.
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;
    /// The values of several keys, in their order. A backend that can read neighbouring values
    /// at once (the log: one `pread` for a run of them) does.
    fn get_many(&self, keys: &[Vec<u8>]) -> StoreResult<Vec<Option<Vec<u8>>>> {
        keys.iter().map(|k| self.get(k)).collect()
    }
    /// Remove every key.
    fn clear(&self) -> StoreResult<()>;
    /// Bytes used on disk, when the backend has a disk.
    fn size_on_disk(&self) -> Option<u64>;
    /// True when nothing survives the process (writes need no flush and no writer thread).
    fn is_volatile(&self) -> bool {
        false
    }
    /// Background housekeeping (the log's compaction), called about once a second.
    fn maintain(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Key layout, one place for every family prefix.
pub mod keys {
    /// Families of hot records, kept in the message log rather than sled: written on every
    /// send, receive and delete (or every archived event), and dead soon after (or when their
    /// retention ends).
    pub const HOT: &[u8] = &[
        MESSAGE,
        MESSAGE_STATE,
        DEDUP,
        DELIVERY,
        ARCHIVED,
        TOPIC_DEDUP,
    ];

    pub fn is_hot(family: u8) -> bool {
        HOT.contains(&family)
    }

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

    /// EventBridge resources: `e` + a kind byte + account, region and names, each ended by 0.
    /// Kinds: `b` bus, `r` rule (with its targets), `c` connection, `a` API destination,
    /// `v` archive, `p` replay, `f` a scheduled rule's last firing. One family byte keeps
    /// EventBridge clear of other services' prefixes.
    pub const EVENTS: u8 = b'e';

    pub fn events(kind: u8, parts: &[&str]) -> Vec<u8> {
        let mut k = vec![EVENTS, kind];
        for p in parts {
            k.extend_from_slice(p.as_bytes());
            k.push(0);
        }
        k
    }

    /// SNS topic record: `n` + topic ARN.
    pub const TOPIC: u8 = b'n';
    /// SNS subscription record: `u` + subscription ARN.
    pub const SUBSCRIPTION: u8 = b'u';
    /// Pending delivery (SNS subscriptions, later EventBridge targets), a hot record:
    /// `y` + delivery id (big-endian, so a scan yields record order).
    pub const DELIVERY: u8 = b'y';

    /// An event an EventBridge archive holds, a hot record (written with the PutEvents that
    /// caused it, aged out by retention): `x` + account, region and archive name, each ended
    /// by 0, then the event's time and a sequence (big-endian, so a scan yields time order).
    pub const ARCHIVED: u8 = b'x';

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

    /// SNS FIFO topic deduplication record, a hot record: `f` + topic ARN + 0 + deduplication id.
    pub const TOPIC_DEDUP: u8 = b'f';

    pub fn topic_dedup(topic_arn: &str, dedup_id: &str) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + topic_arn.len() + dedup_id.len());
        k.push(TOPIC_DEDUP);
        k.extend_from_slice(topic_arn.as_bytes());
        k.push(0);
        k.extend_from_slice(dedup_id.as_bytes());
        k
    }

    /// Splits a topic deduplication key into (topic ARN, deduplication id).
    pub fn split_topic_dedup(key: &[u8]) -> Option<(String, String)> {
        let rest = key.strip_prefix(&[TOPIC_DEDUP])?;
        let at = rest.iter().position(|b| *b == 0)?;
        let topic = std::str::from_utf8(&rest[..at]).ok()?;
        let id = std::str::from_utf8(&rest[at + 1..]).ok()?;
        Some((topic.to_string(), id.to_string()))
    }

    pub fn delivery(id: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(DELIVERY);
        k.extend_from_slice(&id.to_be_bytes());
        k
    }
}

/// The layout version of a data directory, kept in its `FORMAT` file. Format 1 (no such file,
/// sled files at the top) held messages in sled; format 2 keeps them in the message log; format 3
/// begins every log segment after the first with a seal op (`log/frame.rs`), which older ferries
/// would not read. A format 2 directory is read as it is and marked format 3.
pub const FORMAT: u32 = 3;
const UPGRADES_FROM: u32 = 2;

/// Checks (or, for a new directory, writes) the data directory's format.
fn check_format(dir: &std::path::Path) -> StoreResult<()> {
    let err = |e: std::io::Error| StoreError(format!("data directory {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(err)?;
    let file = dir.join("FORMAT");
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            let found = text
                .trim()
                .strip_prefix("ferry data format ")
                .and_then(|n| n.parse::<u32>().ok());
            match found {
                Some(FORMAT) => Ok(()),
                Some(UPGRADES_FROM) => {
                    tracing::info!(
                        dir = %dir.display(),
                        "data directory of format {UPGRADES_FROM}: read as it is, marked format {FORMAT}"
                    );
                    write_format(dir).map_err(err)
                }
                Some(n) => Err(StoreError(format!(
                    "data directory {} holds ferry data format {n}, and this ferry reads format {FORMAT}{}. \
                     Use a ferry that reads it, or move the directory aside to start afresh.",
                    dir.display(),
                    if n > FORMAT {
                        " (it was written by a newer ferry)"
                    } else {
                        " (it was written by an older ferry)"
                    }
                ))),
                None => Err(StoreError(format!(
                    "{} is not a ferry FORMAT file (it reads {:?})",
                    file.display(),
                    text.trim()
                ))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let entries = std::fs::read_dir(dir)
                .map_err(err)?
                .filter(|e| e.as_ref().is_ok_and(|e| e.file_name() != "FORMAT.new"))
                .count();
            if entries > 0 {
                return Err(StoreError(format!(
                    "data directory {} is not empty but has no FORMAT file: it was written by an \
                     older ferry (format 1, messages in sled) or is not a ferry directory. This \
                     ferry reads format {FORMAT}; move the directory aside to start afresh.",
                    dir.display()
                )));
            }
            write_format(dir).map_err(err)
        }
        Err(e) => Err(err(e)),
    }
}

/// Writes `FORMAT` whole or not at all: a new file, synced, renamed over the old one, and the
/// directory synced (a crash part-way must not leave an empty `FORMAT` that refuses every start).
fn write_format(dir: &std::path::Path) -> std::io::Result<()> {
    let new = dir.join("FORMAT.new");
    let mut f = std::fs::File::create(&new)?;
    std::io::Write::write_all(&mut f, format!("ferry data format {FORMAT}\n").as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&new, dir.join("FORMAT"))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Opens the configured stores: memory, or sled and the message log under the data directory.
pub fn open(config: &crate::config::Config) -> StoreResult<Durable> {
    if config.in_memory {
        return Ok(Durable::memory());
    }
    let dir = &config.data_dir;
    check_format(dir)?;
    let sled_dir = dir.join("sled");
    let mut sled = SledStore::open(&sled_dir)?;
    if config.sync == SyncPolicy::Always {
        sled = sled.with_fdatasync(&sled_dir)?;
    }
    let sled = std::sync::Arc::new(sled);
    let started = std::time::Instant::now();
    let log = Log::open(&dir.join("log"))?;
    let stats = log.stats();
    tracing::info!(
        keys = stats.keys,
        segments = stats.segments,
        bytes = stats.bytes,
        ms = started.elapsed().as_millis() as u64,
        "message log replayed"
    );
    let log = std::sync::Arc::new(log);
    Ok(Durable::new(sled, log, config.sync))
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
pub mod testing;
