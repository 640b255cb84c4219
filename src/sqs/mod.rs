//! Amazon SQS. Actions take decoded [`Params`] and return the output as JSON-shaped data; they never
//! see HTTP or the wire format. Queue management lives in `queues.rs`, the message path in
//! `messages.rs`, per-queue state in `queue.rs`, permissions in `permissions.rs`.

pub mod attributes;
mod delivery_target;
pub mod fifo;
pub mod message;
mod messages;
mod permissions;
pub mod queue;
mod queues;
mod receive;
mod redrive;

use crate::caller::Caller;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::{Output, Params};
use crate::storage::{Durable, Op, StoreResult, keys};
use attributes::{QueueRecord, Settings};
use message::{Message, MessageState};
use queue::Queue;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Every SQS action name, for routing awsQuery requests that carry no credential scope.
pub const ACTIONS: &[&str] = &[
    "AddPermission",
    "CancelMessageMoveTask",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "CreateQueue",
    "DeleteMessage",
    "DeleteMessageBatch",
    "DeleteQueue",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "ListMessageMoveTasks",
    "ListQueueTags",
    "ListQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "RemovePermission",
    "SendMessage",
    "SendMessageBatch",
    "SetQueueAttributes",
    "StartMessageMoveTask",
    "TagQueue",
    "UntagQueue",
];

/// `{len(account)}:{len(region)}:{account}{region}{name}`: one string, unambiguous whatever the
/// parts hold, so that a lookup borrows a `&str` built on the stack instead of allocating three
/// strings per request.
type QueueKey = String;

/// The key of a queue, for inserts and removals.
fn queue_key(account: &str, region: &str, name: &str) -> QueueKey {
    format!("{}:{}:{account}{region}{name}", account.len(), region.len())
}

/// Calls `f` with the key of a queue, built on the stack when it fits (every valid one does):
/// the same bytes as [`queue_key`], without `format!`'s machinery.
fn with_queue_key<R>(account: &str, region: &str, name: &str, f: impl FnOnce(&str) -> R) -> R {
    fn put(buf: &mut [u8], at: &mut usize, bytes: &[u8]) -> Option<()> {
        buf.get_mut(*at..*at + bytes.len())?.copy_from_slice(bytes);
        *at += bytes.len();
        Some(())
    }
    fn length(buf: &mut [u8], at: &mut usize, mut n: usize) -> Option<()> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        put(buf, at, &digits[i..])?;
        put(buf, at, b":")
    }
    let mut buf = [0u8; 192];
    let mut at = 0;
    let built = (|| {
        length(&mut buf, &mut at, account.len())?;
        length(&mut buf, &mut at, region.len())?;
        put(&mut buf, &mut at, account.as_bytes())?;
        put(&mut buf, &mut at, region.as_bytes())?;
        put(&mut buf, &mut at, name.as_bytes())
    })();
    match built.map(|()| std::str::from_utf8(&buf[..at])) {
        Some(Ok(key)) => f(key),
        _ => f(&queue_key(account, region, name)),
    }
}

/// The SQS service: the queue registry and the shared write path.
pub struct Sqs {
    /// foldhash, seeded per process, rather than SipHash: looked up on every request (see the
    /// message log's index for why that is safe here).
    queues: RwLock<foldhash::HashMap<QueueKey, Arc<Queue>>>,
    /// Queues whose creation waits for its record to reach the disk; they join `queues` only
    /// then, so nobody is answered about a queue a `kill -9` could still take back (see
    /// `create_queue`). Each receiver's sender is dropped when the creation ends.
    creating: std::sync::Mutex<HashMap<QueueKey, tokio::sync::watch::Receiver<()>>>,
    next_id: AtomicU64,
    durable: Arc<Durable>,
    clock: Clock,
    max_message_size: usize,
    /// Set at shutdown: long polls return at once.
    closing: std::sync::atomic::AtomicBool,
    /// Message move tasks (dead-letter redrive), see `redrive.rs`.
    tasks: redrive::Tasks,
    /// This service, for the move task runners that actions spawn.
    me: std::sync::Weak<Sqs>,
}

const RECORD_VERSION: u8 = 1;

pub(crate) fn encode_record(r: &QueueRecord) -> Vec<u8> {
    crate::storage::encode_json(RECORD_VERSION, r)
}

fn decode_record(buf: &[u8]) -> StoreResult<QueueRecord> {
    crate::storage::decode_json(RECORD_VERSION, buf, "queue record")
}

impl Sqs {
    /// Rebuilds every queue and message from the store.
    pub fn open(
        durable: Arc<Durable>,
        clock: Clock,
        max_message_size: usize,
    ) -> StoreResult<Arc<Sqs>> {
        let started = std::time::Instant::now();
        let mut by_id: HashMap<u64, Arc<Queue>> = HashMap::new();
        let mut max_id = 0;
        durable.scan(&[keys::QUEUE], &mut |k, v| {
            let id = u64::from_be_bytes(
                k[1..9]
                    .try_into()
                    .map_err(|_| crate::storage::StoreError("bad queue key".into()))?,
            );
            let record = decode_record(v)?;
            let settings = Settings::from_attributes(&record.attributes, max_message_size);
            by_id.insert(id, Arc::new(Queue::new(id, record, settings)));
            max_id = max_id.max(id);
            Ok(())
        })?;
        let mut states: HashMap<(u64, u64), MessageState> = HashMap::new();
        durable.scan(&[keys::MESSAGE_STATE], &mut |k, v| {
            if let Some(id) = keys::split_message(k) {
                states.insert(id, MessageState::decode(v)?);
            }
            Ok(())
        })?;
        // Records of a queue whose own record is gone (its creation never reached sled before a
        // kill, or its deletion did and theirs did not) are deleted, and their queue's id is
        // never given again: a new queue must not find another queue's messages at the next
        // start.
        let mut orphans = Vec::new();
        let now = clock.now_ms();
        let mut loaded = 0usize;
        let mut current: Option<(u64, Arc<Queue>)> = None;
        durable.scan(&[keys::MESSAGE], &mut |k, v| {
            let Some((qid, seq)) = keys::split_message(k) else {
                return Ok(());
            };
            if current.as_ref().map(|(id, _)| *id) != Some(qid) {
                current = by_id.get(&qid).map(|q| (qid, q.clone()));
            }
            if let Some((_, q)) = &current {
                let state = states.remove(&(qid, seq));
                q.lock()
                    .load(seq, Message::decode_stored(v, seq, state)?, now);
                loaded += 1;
            } else {
                orphans.push(Op::Delete(k.to_vec()));
                max_id = max_id.max(qid);
            }
            Ok(())
        })?;
        for (qid, seq) in states.into_keys() {
            // A state whose message is gone (the two are deleted together) is an orphan too.
            orphans.push(Op::Delete(keys::message(keys::MESSAGE_STATE, qid, seq)));
            max_id = max_id.max(qid);
        }
        let mut expired = Vec::new();
        durable.scan(&[keys::DEDUP], &mut |k, v| {
            let (Some(qid), Some(key)) = (k.get(1..9), k.get(9..)) else {
                return Ok(());
            };
            let qid = u64::from_be_bytes(qid.try_into().expect("8 bytes"));
            max_id = max_id.max(qid);
            let entry = fifo::DedupEntry::decode(v)?;
            match by_id.get(&qid) {
                Some(q) if entry.expires_ms > now => q
                    .lock()
                    .load_dedup(String::from_utf8_lossy(key).into_owned(), entry),
                _ => expired.push(Op::Delete(k.to_vec())),
            }
            Ok(())
        })?;
        if !orphans.is_empty() {
            tracing::warn!(
                records = orphans.len(),
                "sqs: deleting messages of queues that no longer exist"
            );
        }
        durable.submit_detached(orphans);
        durable.submit_detached(expired);
        tracing::info!(
            queues = by_id.len(),
            messages = loaded,
            ms = started.elapsed().as_millis() as u64,
            "sqs state loaded"
        );
        let queues = by_id
            .into_values()
            .map(|q| (queue_key(&q.account, &q.region, &q.name), q))
            .collect();
        let tasks = redrive::Tasks::load(&durable)?;
        Ok(Arc::new_cyclic(|me| Sqs {
            queues: RwLock::new(queues),
            creating: Default::default(),
            next_id: AtomicU64::new(max_id + 1),
            durable,
            clock,
            max_message_size,
            closing: Default::default(),
            tasks,
            me: me.clone(),
        }))
    }

    /// Runs one action; its answer as a value.
    pub async fn call(&self, action: &str, caller: &Caller, p: Params) -> ApiResult<Value> {
        self.answer(action, caller, p).await.map(Output::into_value)
    }

    /// Runs one action. The actions on every message's path answer typed (see [`Output`]).
    pub async fn answer(&self, action: &str, caller: &Caller, p: Params) -> ApiResult<Output> {
        let typed = match action {
            "SendMessage" => Output::typed(self.send_message(caller, p).await?),
            "SendMessageBatch" => Output::typed(self.send_message_batch(caller, p).await?),
            "ReceiveMessage" => self.receive_message(caller, p).await?,
            "DeleteMessageBatch" => Output::typed(self.delete_message_batch(caller, p).await?),
            "ChangeMessageVisibilityBatch" => {
                Output::typed(self.change_message_visibility_batch(caller, p).await?)
            }
            _ => return self.untyped(action, caller, p).await.map(Output::Value),
        };
        Ok(typed)
    }

    /// The other actions, which answer with values.
    async fn untyped(&self, action: &str, caller: &Caller, p: Params) -> ApiResult<Value> {
        match action {
            "CreateQueue" => self.create_queue(caller, p).await,
            "GetQueueUrl" => self.get_queue_url(caller, p),
            "ListQueues" => self.list_queues(caller, p),
            "DeleteQueue" => self.delete_queue(caller, p).await,
            "GetQueueAttributes" => self.get_queue_attributes(caller, p),
            "SetQueueAttributes" => self.set_queue_attributes(caller, p).await,
            "TagQueue" => self.tag_queue(caller, p).await,
            "UntagQueue" => self.untag_queue(caller, p).await,
            "ListQueueTags" => self.list_queue_tags(caller, p),
            "AddPermission" => self.add_permission(caller, p).await,
            "RemovePermission" => self.remove_permission(caller, p).await,
            "ListDeadLetterSourceQueues" => self.list_dead_letter_source_queues(caller, p),
            "PurgeQueue" => self.purge_queue(caller, p).await,
            "DeleteMessage" => self.delete_message(caller, p).await,
            "ChangeMessageVisibility" => self.change_message_visibility(caller, p).await,
            "StartMessageMoveTask" => self.start_message_move_task(p).await,
            "ListMessageMoveTasks" => self.list_message_move_tasks(p),
            "CancelMessageMoveTask" => self.cancel_message_move_task(p).await,
            _ => Err(ApiError::new(
                ErrorCode::InvalidAction,
                format!("The action {action} is not valid for this endpoint."),
            )),
        }
    }

    /// Forgets every queue (the store is cleared by the caller).
    pub fn reset(&self) {
        self.tasks.clear();
        let queues: Vec<Arc<Queue>> = self.write_queues().drain().map(|(_, q)| q).collect();
        for q in queues {
            q.lock().deleted = true;
            q.notify.notify_waiters();
        }
    }

    /// Gives back memory that drained queues no longer need.
    pub fn shrink(&self) {
        for q in self.read_queues().values() {
            q.lock().shrink();
        }
    }

    /// Releases every long poll (shutdown).
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.tasks.stop_all();
        for q in self.read_queues().values() {
            q.notify.notify_waiters();
        }
    }

    fn read_queues(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, foldhash::HashMap<QueueKey, Arc<Queue>>> {
        self.queues.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_queues(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, foldhash::HashMap<QueueKey, Arc<Queue>>> {
        self.queues.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lookup(&self, account: &str, region: &str, name: &str) -> Option<Arc<Queue>> {
        with_queue_key(account, region, name, |key| {
            self.read_queues().get(key).cloned()
        })
    }

    /// The queue an ARN names, if it exists.
    fn by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let (region, account, name) = attributes::parse_arn(arn)?;
        self.lookup(account, region, name)
    }

    /// Resolves the `QueueUrl` parameter to a queue of the caller's region.
    fn queue(&self, caller: &Caller, p: &Params) -> ApiResult<Arc<Queue>> {
        let url = p.required_str("QueueUrl")?;
        let QueueRef {
            region,
            account,
            name,
        } = QueueRef::parse(url);
        let region = region.unwrap_or(&caller.region);
        let account = account.unwrap_or(&caller.account);
        self.lookup(account, region, name).ok_or_else(no_such_queue)
    }

    fn queue_url(caller: &Caller, q: &Queue) -> String {
        format!("http://{}/{}/{}", caller.host, q.account, q.name)
    }

    /// Reads a message's body back from the store into memory, before it is rendered or moved.
    /// Called under the queue's lock, so a concurrent delete cannot remove the record first.
    /// A failure is logged here; callers drop the message rather than fail the request.
    fn hydrate(&self, queue_id: u64, m: &mut Message) -> ApiResult<()> {
        self.read_back(queue_id, m).inspect_err(|e| {
            if let message::Body::Stored { seq, .. } = m.body {
                tracing::error!(queue_id, seq, error = %e.message, "a message's record could not be read back; dropping it");
            }
        })
    }

    /// Reads a message's body back from the store, when it is not in memory. Without the queue's
    /// lock (a receive), a failure may mean the record was deleted or purged meanwhile rather
    /// than lost ([`Sqs::drop_unreadable`] tells which).
    fn read_back(&self, queue_id: u64, m: &mut Message) -> ApiResult<()> {
        if let message::Body::Stored { seq, .. } = m.body {
            m.body = message::Body::Here(self.read_body(queue_id, seq)?);
        }
        Ok(())
    }

    /// [`Sqs::read_back`] for a receive's (receipt handle, message) pairs, in one batched store
    /// read; returns the sequence numbers whose bodies could not be read, whose messages it
    /// leaves out of `out`.
    fn read_back_all(&self, queue_id: u64, out: &mut Vec<(String, Message)>) -> Vec<u64> {
        let seqs: Vec<Option<u64>> = out
            .iter()
            .map(|(_, m)| match m.body {
                message::Body::Stored { seq, .. } => Some(seq),
                message::Body::Here(_) => None,
            })
            .collect();
        let keys: Vec<Vec<u8>> = seqs
            .iter()
            .flatten()
            .map(|&seq| keys::message(keys::MESSAGE, queue_id, seq))
            .collect();
        let mut records = match self.durable.get_many(&keys) {
            Ok(records) => records.into_iter(),
            Err(e) => {
                tracing::warn!(queue_id, error = %e, "a batched read failed; reading one by one");
                keys.iter()
                    .map(|k| self.durable.get(k).ok().flatten())
                    .collect::<Vec<_>>()
                    .into_iter()
            }
        };
        let mut unreadable = Vec::new();
        let mut seqs = seqs.into_iter();
        out.retain_mut(|(_, m)| {
            let Some(Some(seq)) = seqs.next() else {
                return true;
            };
            match records.next().flatten().map(|r| Message::decode_body(&r)) {
                Some(Ok(body)) => {
                    m.body = message::Body::Here(body);
                    true
                }
                _ => {
                    unreadable.push(seq);
                    false
                }
            }
        });
        unreadable
    }

    /// Drops the messages of `q` whose bodies [`Sqs::read_back`] could not read: those still in
    /// the queue lost their record (a send whose write failed), the others were deleted meanwhile.
    fn drop_unreadable(&self, q: &Queue, seqs: &[u64]) {
        let mut state = q.lock();
        let mut ops = Vec::new();
        for &seq in seqs {
            if let Some((_, remove_ops)) = state.remove(seq) {
                tracing::error!(
                    queue_id = q.id,
                    seq,
                    "a message's record could not be read back; dropping it"
                );
                ops.extend(remove_ops);
            }
        }
        self.durable.submit_detached(ops);
    }

    fn read_body(&self, queue_id: u64, seq: u64) -> ApiResult<Box<str>> {
        let key = keys::message(keys::MESSAGE, queue_id, seq);
        let record = self
            .durable
            .get(&key)
            .map_err(|e| ApiError::internal("store read failed", e))?
            .ok_or_else(|| {
                ApiError::internal(
                    "store read failed",
                    format!("message {queue_id}/{seq} is missing from the store"),
                )
            })?;
        Message::decode_body(&record).map_err(|e| ApiError::internal("store read failed", e))
    }

    /// Submits `ops` and waits for the flush, mapping store failures to `InternalFailure`.
    async fn persist(&self, pending: crate::storage::Pending) -> ApiResult<()> {
        pending
            .wait()
            .await
            .map_err(|e| ApiError::internal("store write failed", e))
    }

    fn submit(&self, ops: Vec<Op>) -> crate::storage::Pending {
        self.durable.submit(ops)
    }
}

/// An `X-Amzn-Trace-Id` request header on a send becomes each message's `AWSTraceHeader` system
/// attribute, unless the message names one itself. The server hands the header over this way so
/// that actions keep reading parameters only.
pub fn apply_trace_header(action: &str, params: &mut serde_json::Map<String, Value>, trace: &str) {
    let put = |message: &mut serde_json::Map<String, Value>| {
        let system = message
            .entry("MessageSystemAttributes")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(system) = system {
            system
                .entry("AWSTraceHeader")
                .or_insert_with(|| serde_json::json!({"DataType": "String", "StringValue": trace}));
        }
    };
    match action {
        "SendMessage" => put(params),
        "SendMessageBatch" => {
            if let Some(Value::Array(entries)) = params.get_mut("Entries") {
                entries
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(put);
            }
        }
        _ => {}
    }
}

pub(crate) fn no_such_queue() -> ApiError {
    ApiError::new(
        ErrorCode::QueueDoesNotExist,
        "The specified queue does not exist.",
    )
}

/// What a `QueueUrl` parameter names. SDKs send every form AWS has used:
/// `http://host:port/account/name`, `https://sqs.<region>.amazonaws.com/account/name`,
/// `http://sqs.<region>.localhost.localstack.cloud:4566/account/name`,
/// `https://<region>.queue.amazonaws.com/account/name`, a path, or a bare queue name.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueRef<'a> {
    /// From the host, when it names one; otherwise the caller's region applies.
    pub region: Option<&'a str>,
    /// From the path; otherwise the caller's account applies.
    pub account: Option<&'a str>,
    pub name: &'a str,
}

impl<'a> QueueRef<'a> {
    /// Runs on every queue action, so it splits on bytes: `str`'s char searches cost more than
    /// these few short strings are worth.
    pub fn parse(url: &'a str) -> QueueRef<'a> {
        let scheme = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .or_else(|| url.find("://").map(|i| &url[i + 3..]));
        let (host, path) = match scheme {
            Some(rest) => rest.split_at(first(rest, b'/').unwrap_or(rest.len())),
            None => ("", url),
        };
        let host = &host[..first(host, b':').unwrap_or(host.len())];
        // The first three labels are all that matter.
        let (l1, more) = split_once(host, b'.');
        let (l2, more) = more.map_or(("", None), |m| split_once(m, b'.'));
        let region = match (l1, l2, more.is_some()) {
            ("sqs", region, true) if looks_like_region(region) => Some(region),
            (region, "queue", true)
                if more.is_some_and(|m| split_once(m, b'.').0 == "amazonaws")
                    && looks_like_region(region) =>
            {
                Some(region)
            }
            _ => None,
        };
        let path = path.trim_matches('/');
        let (rest, name) = match last(path, b'/') {
            Some(i) => (Some(&path[..i]), &path[i + 1..]),
            None => (None, path),
        };
        let account = rest
            .map(|rest| last(rest, b'/').map_or(rest, |i| &rest[i + 1..]))
            .filter(|a| !a.is_empty());
        QueueRef {
            region,
            account,
            name,
        }
    }
}

fn first(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

fn last(s: &str, b: u8) -> Option<usize> {
    s.bytes().rposition(|c| c == b)
}

/// `s` up to the first `b`, and what follows it if there was one.
fn split_once(s: &str, b: u8) -> (&str, Option<&str>) {
    match first(s, b) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`: letters, a dash, then a number last.
fn looks_like_region(s: &str) -> bool {
    last(s, b'-').is_some_and(|i| {
        let n = &s.as_bytes()[i + 1..];
        !n.is_empty() && n.iter().all(u8::is_ascii_digit)
    })
}

#[cfg(test)]
mod crash_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_are_unambiguous_and_built_alike() {
        for (a, r, n) in [
            ("000000000000", "us-east-1", "q"),
            ("1", "2", ""),
            ("", "", "x".repeat(300).as_str()),
        ] {
            assert_eq!(with_queue_key(a, r, n, str::to_string), queue_key(a, r, n));
        }
        assert_ne!(queue_key("a", "b\0", "c"), queue_key("a", "b", "\0c"));
        assert_ne!(queue_key("ab", "c", "d"), queue_key("a", "bc", "d"));
    }

    #[test]
    fn trace_header_becomes_a_system_attribute() {
        let mut p = serde_json::json!({"MessageBody": "b"});
        let map = p.as_object_mut().unwrap();
        apply_trace_header("SendMessage", map, "Root=1-a");
        assert_eq!(
            p["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"],
            "Root=1-a"
        );
        let mut p = serde_json::json!({"Entries": [{"Id": "a"}, {"Id": "b",
            "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String", "StringValue": "own"}}}]});
        apply_trace_header("SendMessageBatch", p.as_object_mut().unwrap(), "Root=1-a");
        let e = &p["Entries"];
        assert_eq!(
            e[0]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"],
            "Root=1-a"
        );
        assert_eq!(
            e[1]["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"],
            "own"
        );
        let mut p = serde_json::json!({});
        apply_trace_header("ReceiveMessage", p.as_object_mut().unwrap(), "x");
        assert_eq!(p, serde_json::json!({}));
    }

    #[test]
    fn queue_urls() {
        let r = |region, account, name| QueueRef {
            region,
            account,
            name,
        };
        let cases = [
            (
                "http://localhost:4566/000000000000/q",
                r(None, Some("000000000000"), "q"),
            ),
            (
                "https://sqs.us-east-1.amazonaws.com/123456789012/my-q",
                r(Some("us-east-1"), Some("123456789012"), "my-q"),
            ),
            (
                "http://sqs.eu-west-2.localhost.localstack.cloud:4566/000000000000/q.fifo",
                r(Some("eu-west-2"), Some("000000000000"), "q.fifo"),
            ),
            (
                "https://ap-south-1.queue.amazonaws.com/123456789012/q",
                r(Some("ap-south-1"), Some("123456789012"), "q"),
            ),
            (
                "https://queue.amazonaws.com/123456789012/q",
                r(None, Some("123456789012"), "q"),
            ),
            ("/000000000000/q", r(None, Some("000000000000"), "q")),
            ("q", r(None, None, "q")),
            ("http://localhost:4566/q", r(None, None, "q")),
        ];
        for (url, want) in cases {
            assert_eq!(QueueRef::parse(url), want, "{url}");
        }
    }

    /// The parse as it was written first, with `str`'s splits: the byte-level one must agree.
    fn parse_by_splits(url: &str) -> QueueRef<'_> {
        let scheme = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .or_else(|| url.find("://").map(|i| &url[i + 3..]));
        let (host, path) = match scheme {
            Some(rest) => rest.split_at(rest.find('/').unwrap_or(rest.len())),
            None => ("", url),
        };
        let host = host.split(':').next().unwrap_or("");
        let mut labels = host.split('.');
        let region_like = |s: &str| {
            s.contains('-')
                && s.rsplit('-')
                    .next()
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let region = match (labels.next(), labels.next(), labels.next()) {
            (Some("sqs"), Some(region), Some(_)) if region_like(region) => Some(region),
            (Some(region), Some("queue"), Some("amazonaws")) if region_like(region) => Some(region),
            _ => None,
        };
        let mut segs = path.trim_matches('/').rsplitn(2, '/');
        let name = segs.next().unwrap_or("");
        let account = segs
            .next()
            .map(|rest| rest.rsplit('/').next().unwrap_or(rest))
            .filter(|a| !a.is_empty());
        QueueRef {
            region,
            account,
            name,
        }
    }

    proptest::proptest! {
        #[test]
        fn queue_url_parse_agrees_with_splits(
            url in "(https?://|[a-z]{0,3}://)?((sqs|queue|amazonaws|us|-|[0-9]|[a-z]|é)\\.?){0,6}(:[0-9]{0,5})?(/{1,2}[a-z0-9.é-]{0,8}){0,4}/?"
        ) {
            proptest::prop_assert_eq!(QueueRef::parse(&url), parse_by_splits(&url));
        }
    }
}
