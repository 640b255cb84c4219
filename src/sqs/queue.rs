//! One queue's working state, in memory behind its own lock: every message by sequence number, the
//! ready set (visible now, oldest first) and the waiting set (delayed or in flight, by the time they
//! become visible). Long polls sleep on `notify` and on the next visibility deadline, never in a loop.
//! Every mutation returns the storage ops that make it durable; the caller enqueues them under the lock.

use super::attributes::{QueueRecord, Settings};
use super::fifo::{Dedup, DedupEntry, Ready, Sequencer};
use super::message::{Message, ReceiptHandle};
use crate::storage::{Op, keys};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::Notify;

/// A queue: immutable identity plus lockable state.
pub struct Queue {
    pub id: u64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub arn: String,
    state: Mutex<QueueState>,
    /// The settings again, for what reads them alone (a send validating its message): behind a
    /// lock of their own, not the state's, which every send takes once more to file its message,
    /// and which a read here would contend for. Changed only with the state's, by `set_settings`.
    settings: RwLock<Arc<Settings>>,
    /// Woken when a message may have become receivable, or the queue was deleted.
    pub notify: Notify,
    /// How many messages the long polls lingering for a batch will take between them.
    pub lingering: AtomicUsize,
}

impl Queue {
    pub fn new(id: u64, record: QueueRecord, settings: Settings) -> Queue {
        let settings = Arc::new(settings);
        Queue {
            id,
            account: record.account.clone(),
            region: record.region.clone(),
            name: record.name.clone(),
            arn: record.arn(),
            state: Mutex::new(QueueState::new(id, record, settings.clone())),
            settings: RwLock::new(settings),
            notify: Notify::new(),
            lingering: AtomicUsize::new(0),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queue's settings, without its state's lock.
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes the settings, under the state's lock (`state` is this queue's).
    pub fn set_settings(&self, state: &mut QueueState, settings: Settings) {
        let settings = Arc::new(settings);
        state.settings = settings.clone();
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }
}

/// Message counts as GetQueueAttributes reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub visible: usize,
    pub not_visible: usize,
    pub delayed: usize,
}

pub struct QueueState {
    id: u64,
    pub record: QueueRecord,
    /// Changed only through [`Queue::set_settings`].
    pub settings: Arc<Settings>,
    messages: BTreeMap<u64, Message>,
    ready: Ready,
    waiting: BTreeSet<(u64, u64)>,
    in_flight: usize,
    next_seq: u64,
    pub deleted: bool,
    /// When the last PurgeQueue ran (AWS allows one per 60 seconds).
    pub last_purge_ms: Option<u64>,
    /// FIFO deduplication ids seen in the last 5 minutes.
    pub dedup: Dedup,
    /// FIFO sequence numbers.
    pub sequencer: Sequencer,
    /// FIFO `ReceiveRequestAttemptId`s of the last 5 minutes: what each receive returned.
    attempts: HashMap<String, Attempt>,
    /// The sender of the last message filed: most messages of a queue share one sender, so they
    /// share its text too.
    last_sender: std::sync::Arc<str>,
}

/// What one receive attempt returned: (sequence, receipt handle) pairs, until `expires_ms`.
#[derive(Debug)]
struct Attempt {
    expires_ms: u64,
    received: Vec<(u64, String)>,
}

impl QueueState {
    fn new(id: u64, record: QueueRecord, settings: Arc<Settings>) -> Self {
        let fifo = record.is_fifo();
        QueueState {
            id,
            record,
            settings,
            messages: BTreeMap::new(),
            ready: Ready::new(fifo),
            waiting: BTreeSet::new(),
            in_flight: 0,
            next_seq: 1,
            deleted: false,
            last_purge_ms: None,
            dedup: Dedup::default(),
            sequencer: Sequencer::default(),
            attempts: HashMap::new(),
            last_sender: "".into(),
        }
    }

    pub fn record_op(&self) -> Op {
        Op::Put(keys::queue(self.id), super::encode_record(&self.record))
    }

    fn group(messages: &BTreeMap<u64, Message>, seq: u64) -> &str {
        messages
            .get(&seq)
            .and_then(|m| m.extra().group_id.as_deref())
            .unwrap_or("")
    }

    /// Files a message (already in `messages`) as ready or waiting, by its state. A ready message
    /// became available when it became visible, or at its send if it never was hidden.
    fn place(&mut self, seq: u64, now: u64) {
        let Some((state, sent_ms)) = self.messages.get(&seq).map(|m| (m.state, m.sent_ms)) else {
            return;
        };
        let group = Self::group(&self.messages, seq);
        if state.visible_at > now {
            self.waiting.insert((state.visible_at, seq));
            if state.receive_count > 0 {
                self.in_flight += 1;
                self.ready.flight(group, seq, true);
            }
        } else {
            self.ready.insert(seq, group, state.visible_at.max(sent_ms));
        }
    }

    /// Takes a message (still in `messages`) out of the ready or waiting set.
    fn unplace(&mut self, seq: u64) {
        let Some(state) = self.messages.get(&seq).map(|m| m.state) else {
            return;
        };
        let group = Self::group(&self.messages, seq);
        if !self.ready.remove(seq, group)
            && self.waiting.remove(&(state.visible_at, seq))
            && state.receive_count > 0
        {
            self.in_flight -= 1;
            self.ready.flight(group, seq, false);
        }
    }

    /// Shares the sender text with the previous message when it is the same.
    fn intern_sender(&mut self, message: &mut Message) {
        if *message.sender_id == *self.last_sender {
            message.sender_id = self.last_sender.clone();
        } else {
            self.last_sender = message.sender_id.clone();
        }
    }

    /// Restores a message read from the store at start-up.
    pub fn load(&mut self, seq: u64, mut message: Message, now: u64) {
        self.intern_sender(&mut message);
        self.next_seq = self.next_seq.max(seq + 1);
        if let Some(n) = &message.extra().sequence_number {
            self.sequencer.observe(n);
        }
        self.messages.insert(seq, message);
        self.place(seq, now);
    }

    /// Brings the state up to `now`: due messages become ready, expired ones are dropped (the
    /// returned ops delete them). Returns whether anything became ready.
    pub fn refresh(&mut self, now: u64) -> (bool, Vec<Op>) {
        let mut woke = false;
        while let Some(&(at, seq)) = self.waiting.first() {
            if at > now {
                break;
            }
            self.waiting.pop_first();
            let group = Self::group(&self.messages, seq);
            if self
                .messages
                .get(&seq)
                .is_some_and(|m| m.state.receive_count > 0)
            {
                self.in_flight -= 1;
                self.ready.flight(group, seq, false);
            }
            self.ready.insert(seq, group, at);
            woke = true;
        }
        let retention_ms = self.settings.retention as u64 * 1000;
        let mut ops = Vec::new();
        while let Some((&seq, m)) = self.messages.first_key_value() {
            if m.sent_ms + retention_ms > now {
                break;
            }
            ops.extend(self.remove(seq).map(|(_, o)| o).unwrap_or_default());
        }
        (woke, ops)
    }

    /// Adds a new message; returns its sequence number and the ops that store it.
    pub fn push(&mut self, message: Message, now: u64) -> (u64, Vec<Op>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut message = message;
        let mut ops = vec![Op::Put(
            keys::message(keys::MESSAGE, self.id, seq),
            message.encode(),
        )];
        self.intern_sender(&mut message);
        // From here on the store holds the body.
        message.body = super::message::Body::Stored {
            seq,
            len: message.body.len() as u32,
        };
        // A moved message keeps its receive history, which the message record does not hold.
        message.state_stored = message.state.receive_count > 0;
        if message.state_stored {
            let key = keys::message(keys::MESSAGE_STATE, self.id, seq);
            ops.push(Op::Put(key, message.state.encode()));
        }
        self.messages.insert(seq, message);
        self.place(seq, now);
        (seq, ops)
    }

    /// Up to `max` next ready messages, taken out of the ready set (the caller receives or moves
    /// them). On FIFO queues they are of one group; call again, once they are received, for the
    /// next group.
    pub fn pop_ready(&mut self, max: usize) -> Vec<u64> {
        self.ready.pop(max)
    }

    /// The next ready message sent before sequence `bound`, taken out of the ready set: a message
    /// move task moves only what the queue held when it started.
    pub fn pop_ready_before(&mut self, bound: u64, now: u64) -> Option<u64> {
        let seq = self.ready.pop(1).pop()?;
        if seq < bound {
            return Some(seq);
        }
        self.place(seq, now);
        None
    }

    /// The sequence number the next message will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn get(&self, seq: u64) -> Option<&Message> {
        self.messages.get(&seq)
    }

    /// Marks a popped message received: counts the receive, hides it for `visibility` seconds, and
    /// returns its new receipt handle and the op storing its state. With a zero timeout the
    /// message is visible again at once, but it is left out of the ready set so that this same
    /// receive does not hand it out twice: the caller files it with [`QueueState::settle`].
    pub fn receive(&mut self, seq: u64, now: u64, visibility: u32) -> Option<(String, Op)> {
        let m = self.messages.get_mut(&seq)?;
        m.state.receive_count += 1;
        if m.state.first_receive_ms == 0 {
            m.state.first_receive_ms = now;
        }
        m.state.visible_at = now + visibility as u64 * 1000;
        m.state_stored = true;
        let state = m.state;
        let handle = ReceiptHandle {
            queue_id: self.id,
            seq,
            receive_count: state.receive_count,
            message_id: m.id,
        };
        if visibility > 0 {
            self.place(seq, now);
        }
        let op = Op::Put(
            keys::message(keys::MESSAGE_STATE, self.id, seq),
            state.encode(),
        );
        Some((handle.encode(), op))
    }

    /// Files messages received with a zero visibility timeout as ready again.
    pub fn settle(&mut self, seqs: &[u64], now: u64) {
        for &seq in seqs {
            self.place(seq, now);
        }
    }

    /// Removes a message (delete, purge, expiry, dead-letter move).
    pub fn remove(&mut self, seq: u64) -> Option<(Message, Vec<Op>)> {
        self.unplace(seq);
        let m = self.messages.remove(&seq)?;
        let mut ops = vec![Op::Delete(keys::message(keys::MESSAGE, self.id, seq))];
        if m.state_stored {
            ops.push(Op::Delete(keys::message(keys::MESSAGE_STATE, self.id, seq)));
        }
        Some((m, ops))
    }

    /// Finds the message a receipt handle names, if it is still in this queue.
    pub fn find(&self, handle: &ReceiptHandle) -> Option<u64> {
        (handle.queue_id == self.id
            && self
                .messages
                .get(&handle.seq)
                .is_some_and(|m| m.id == handle.message_id))
        .then_some(handle.seq)
    }

    /// Whether the receive that produced a handle (its receive count) is still the one holding
    /// the message.
    pub fn is_current(&self, seq: u64, receive_count: u32, now: u64) -> bool {
        self.is_in_flight(seq, now)
            && self
                .messages
                .get(&seq)
                .is_some_and(|m| m.state.receive_count == receive_count)
    }

    pub fn is_in_flight(&self, seq: u64, now: u64) -> bool {
        self.messages
            .get(&seq)
            .is_some_and(|m| m.state.receive_count > 0 && m.state.visible_at > now)
    }

    /// Sets a new visibility deadline on an in-flight message; returns the op storing it.
    pub fn set_visibility(&mut self, seq: u64, now: u64, seconds: u32) -> Option<Op> {
        self.unplace(seq);
        let m = self.messages.get_mut(&seq)?;
        m.state.visible_at = now + seconds as u64 * 1000;
        m.state_stored = true;
        let state = m.state;
        self.place(seq, now);
        Some(Op::Put(
            keys::message(keys::MESSAGE_STATE, self.id, seq),
            state.encode(),
        ))
    }

    /// A retried FIFO receive: the same messages and receipt handles as the first attempt, for
    /// those still in flight from it. `None` when the attempt is unknown or expired.
    pub fn repeat_attempt(&mut self, attempt: &str, now: u64) -> Option<Vec<(String, Message)>> {
        self.attempts.retain(|_, a| a.expires_ms > now);
        let a = self.attempts.get(attempt)?;
        let again = a
            .received
            .iter()
            .filter(|(seq, _)| self.is_in_flight(*seq, now))
            .filter_map(|(seq, handle)| self.messages.get(seq).map(|m| (handle.clone(), m.clone())))
            .collect();
        Some(again)
    }

    pub fn remember_attempt(&mut self, attempt: &str, now: u64, received: &[(String, Message)]) {
        let received = received
            .iter()
            .filter_map(|(h, _)| ReceiptHandle::decode(h).ok().map(|d| (d.seq, h.clone())))
            .collect();
        self.attempts.insert(
            attempt.to_string(),
            Attempt {
                expires_ms: now + super::fifo::DEDUP_WINDOW_MS,
                received,
            },
        );
    }

    /// Forgets deduplication ids older than the window; returns the ops deleting their records.
    pub fn forget_dedup(&mut self, now: u64) -> Vec<Op> {
        let id = self.id;
        self.dedup
            .forget_expired(now)
            .into_iter()
            .map(|k| Op::Delete(keys::dedup(id, &k)))
            .collect()
    }

    /// Remembers a deduplication id; returns the op storing it.
    pub fn remember_dedup(&mut self, key: String, entry: DedupEntry) -> Op {
        let op = Op::Put(keys::dedup(self.id, &key), entry.encode());
        self.dedup.insert(key, entry);
        op
    }

    /// Restores a deduplication record at start-up.
    pub fn load_dedup(&mut self, key: String, entry: DedupEntry) {
        self.sequencer.observe(&entry.sequence_number);
        self.dedup.insert(key, entry);
    }

    /// Ops deleting every deduplication record (the queue is being deleted).
    pub fn drop_dedup(&mut self) -> Vec<Op> {
        let ops = self
            .dedup
            .keys()
            .map(|k| Op::Delete(keys::dedup(self.id, k)))
            .collect();
        self.dedup.clear();
        ops
    }

    /// Drops every message; returns the ops deleting them.
    pub fn purge(&mut self) -> Vec<Op> {
        let seqs: Vec<u64> = self.messages.keys().copied().collect();
        seqs.into_iter()
            .flat_map(|s| self.remove(s).map(|(_, o)| o).unwrap_or_default())
            .collect()
    }

    /// Gives back the spare capacity of maps after a queue drained.
    pub fn shrink(&mut self) {
        super::fifo::shrink_map(&mut self.attempts);
        self.dedup.shrink();
        self.ready.shrink();
    }

    pub fn counts(&self) -> Counts {
        Counts {
            visible: self.ready.len(),
            not_visible: self.in_flight,
            delayed: self.waiting.len() - self.in_flight,
        }
    }

    /// When the next waiting message becomes visible, for long-poll sleepers.
    pub fn next_due(&self) -> Option<u64> {
        self.waiting.first().map(|&(at, _)| at)
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::super::attributes::Settings;
    use super::super::message::{Attributes, Extra, MessageId};
    use super::*;

    fn queue() -> Queue {
        let record = QueueRecord {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: "q".into(),
            attributes: Default::default(),
            tags: Default::default(),
            created_s: 0,
            modified_s: 0,
        };
        let settings = Settings::from_attributes(&record.attributes, 1 << 20);
        Queue::new(1, record, settings)
    }

    /// A send reads the settings without the state's lock; a change must reach both views.
    #[test]
    fn changed_settings_are_seen_with_and_without_the_lock() {
        let q = queue();
        let attrs = [("DelaySeconds".to_string(), "7".to_string())].into();
        let mut state = q.lock();
        q.set_settings(&mut state, Settings::from_attributes(&attrs, 1 << 20));
        assert_eq!(state.settings.delay, 7);
        drop(state);
        assert_eq!(q.settings().delay, 7);
        assert!(
            Arc::ptr_eq(&q.settings(), &q.lock().settings),
            "one settings, not two"
        );
    }

    fn msg(sent_ms: u64, visible_at: u64) -> Message {
        let mut m = Message::new(
            MessageId::random(),
            "b".into(),
            Attributes::new(),
            "s",
            sent_ms,
            Extra::default(),
        );
        m.state.visible_at = visible_at;
        m
    }

    #[test]
    fn lifecycle_counts() {
        let q = queue();
        let mut s = q.lock();
        let (a, ops) = s.push(msg(1000, 0), 1000);
        assert_eq!(ops.len(), 1, "a send writes one record");
        let (_b, _) = s.push(msg(1000, 5000), 1000);
        assert_eq!(
            s.counts(),
            Counts {
                visible: 1,
                not_visible: 0,
                delayed: 1
            }
        );
        assert_eq!(s.pop_ready(10), vec![a]);
        let (handle, _) = s.receive(a, 1000, 30).unwrap();
        assert_eq!(
            s.counts(),
            Counts {
                visible: 0,
                not_visible: 1,
                delayed: 1
            }
        );
        assert_eq!(s.next_due(), Some(5000));
        let h = ReceiptHandle::decode(&handle).unwrap();
        assert_eq!(s.find(&h), Some(a));
        // delay passes, then the visibility timeout
        s.refresh(5000);
        assert_eq!(
            s.counts(),
            Counts {
                visible: 1,
                not_visible: 1,
                delayed: 0
            }
        );
        s.refresh(31_000);
        assert_eq!(
            s.counts(),
            Counts {
                visible: 2,
                not_visible: 0,
                delayed: 0
            }
        );
        assert!(!s.is_in_flight(a, 31_000));
        s.remove(a).unwrap();
        assert_eq!(s.counts().visible, 1);
        assert_eq!(s.find(&h), None);
    }

    #[test]
    fn visibility_change_and_retention() {
        let q = queue();
        let mut s = q.lock();
        let (a, _) = s.push(msg(0, 0), 0);
        s.pop_ready(1);
        s.receive(a, 0, 30).unwrap();
        s.set_visibility(a, 10, 0).unwrap();
        assert_eq!(
            s.counts(),
            Counts {
                visible: 1,
                not_visible: 0,
                delayed: 0
            }
        );
        let (_, ops) = s.refresh(DEFAULT_RETENTION_MS);
        assert_eq!(
            ops.len(),
            2,
            "expired message and its state record deleted from the store"
        );
        assert!(s.is_empty());
    }

    const DEFAULT_RETENTION_MS: u64 = super::super::attributes::DEFAULT_RETENTION as u64 * 1000;
}
