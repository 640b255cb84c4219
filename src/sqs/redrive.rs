//! Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.
//!
//! A task moves the messages that were in a dead-letter queue when it started (those with a
//! sequence number below the queue's next one at that moment) either all to one destination or
//! each back to the queue it was dead-lettered from. It runs as a tokio task in bounded batches,
//! paced on tokio's clock when a rate is given. Every batch is one store write holding the removals
//! from the source, the sends to the destination and the task's progress, enqueued under the
//! destination's lock like a dead-letter move, copies before removals: a crash or restart never
//! loses a message (at worst one is duplicated), and a task that was running resumes when the app
//! starts serving again.
//!
//! As AWS documents, a redriven message is a new message to its destination: new message id, new
//! enqueue time (its retention starts over), no receive history and no `DeadLetterQueueSourceArn`.
//! Body, attributes, sender and trace header travel unchanged.

mod tasks;

pub(super) use tasks::Tasks;

use super::Sqs;
use super::attributes::parse_arn;
use super::message::{Message, MessageId};
use super::messages::wake;
use super::queue::Queue;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Weak};
use tasks::{Status, Task, TaskRecord, decode_handle, encode_handle};
use tokio::time::{Duration, Instant};

/// AWS's ceiling on `MaxNumberOfMessagesPerSecond`.
const MAX_RATE: i64 = 500;
/// AWS's ceiling on `MaxResults` of ListMessageMoveTasks.
const MAX_LIST: i64 = 10;
/// Messages per batch without a rate: fast, yet one batch never holds a queue lock for long.
const UNPACED_BATCH: usize = 100;
/// Batches per second with a rate, so a paced task moves steadily rather than in bursts.
const BATCHES_PER_SECOND: u32 = 10;

/// `FailureReason` when a queue a task moves from or to no longer exists.
const NO_SUCH_QUEUE: &str = "AWS.SimpleQueueService.NonExistentQueue";
/// A message could not be read back from the store.
const READ_FAILED: &str = "InternalError";
/// `FailureReason` when a message to return to its origin was never dead-lettered (it was sent to
/// the dead-letter queue directly), so it has no origin.
const NO_ORIGIN: &str = "CouldNotDetermineMessageSource";

fn no_such_resource(param: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFoundException,
        format!("The resource that you specified for the {param} parameter doesn't exist."),
    )
}

fn no_such_task() -> ApiError {
    ApiError::new(ErrorCode::ResourceNotFoundException, "Task does not exist.")
}

fn check_arn(param: &str, arn: &str) -> ApiResult<()> {
    match parse_arn(arn) {
        Some(_) => Ok(()),
        None => Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "You must use this format to specify the {param}: arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
            ),
        )),
    }
}

/// How one batch went.
enum Batch {
    Moved(u64),
    /// Nothing left to move.
    Done,
    Failed(&'static str),
    /// Reset or shutdown stopped the task mid-batch.
    Stopped,
}

/// A message taken out of the source, with the ops that delete it there.
struct Taken {
    seq: u64,
    message: Message,
    ops: Vec<Op>,
}

/// The message a redrive sends: a new message to its destination, as AWS documents.
fn redriven(m: Message, now: u64) -> Message {
    let mut extra = m.extra().clone();
    extra.dead_letter_source = None;
    Message::new(
        MessageId::random(),
        m.body.text().unwrap_or_default().into(),
        m.attributes,
        &m.sender_id,
        now,
        extra,
    )
}

fn entry(r: &TaskRecord) -> Value {
    let mut out = Map::new();
    // AWS gives the handle only while the task can still be cancelled.
    if r.status == Status::Running {
        out.insert("TaskHandle".into(), json!(encode_handle(r)));
    }
    out.insert("Status".into(), json!(r.status.as_str()));
    out.insert("SourceArn".into(), json!(r.source_arn));
    if let Some(d) = &r.destination_arn {
        out.insert("DestinationArn".into(), json!(d));
    }
    if let Some(rate) = r.rate {
        out.insert("MaxNumberOfMessagesPerSecond".into(), json!(rate));
    }
    out.insert("ApproximateNumberOfMessagesMoved".into(), json!(r.moved));
    out.insert("ApproximateNumberOfMessagesToMove".into(), json!(r.to_move));
    if let Some(f) = &r.failure {
        out.insert("FailureReason".into(), json!(f));
    }
    out.insert("StartedTimestamp".into(), json!(r.started_ms));
    Value::Object(out)
}

impl Sqs {
    /// The queue a `SourceArn` names.
    fn move_source(&self, arn: &str) -> ApiResult<Arc<Queue>> {
        check_arn("SourceArn", arn)?;
        self.by_arn(arn)
            .ok_or_else(|| no_such_resource("SourceArn"))
    }

    pub(super) async fn start_message_move_task(&self, p: Params) -> ApiResult<Value> {
        let source = self.move_source(p.required_str("SourceArn")?)?;
        let fifo = source.settings().fifo;
        let is_dlq = self.read_queues().values().any(|q| {
            q.id != source.id
                && q.lock()
                    .settings
                    .redrive
                    .as_ref()
                    .is_some_and(|r| r.dead_letter_arn == source.arn)
        });
        if !is_dlq {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "Source queue must be configured as a Dead Letter Queue.",
            ));
        }
        let destination = match p.str("DestinationArn")? {
            None | Some("") => None,
            Some(arn) => {
                check_arn("DestinationArn", arn)?;
                let d = self
                    .by_arn(arn)
                    .ok_or_else(|| no_such_resource("DestinationArn"))?;
                if d.id == source.id {
                    return Err(ApiError::invalid_value(
                        "DestinationArn",
                        arn,
                        "The destination queue must be different from the source queue.",
                    ));
                }
                if d.settings().fifo != fifo {
                    return Err(ApiError::invalid_value(
                        "DestinationArn",
                        arn,
                        "The destination queue must be the same type as the source queue.",
                    ));
                }
                Some(d.arn.clone())
            }
        };
        let rate = match p.int("MaxNumberOfMessagesPerSecond")? {
            None => None,
            Some(n @ 1..=MAX_RATE) => Some(n as u32),
            Some(n) => {
                return Err(ApiError::invalid_value(
                    "MaxNumberOfMessagesPerSecond",
                    n,
                    "You must enter a number that's between 1 and 500.",
                ));
            }
        };
        let now = self.clock.now_ms();
        let (task, handle, pending) = {
            let mut reg = self.tasks.registry();
            let busy = reg
                .of_source(&source.arn, source.id)
                .iter()
                .any(|t| t.lock().record.status.is_active());
            if busy {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
                ));
            }
            let (to_move, bound) = {
                let mut s = source.lock();
                let (_, expired) = s.refresh(now);
                self.durable.submit_detached(expired);
                (s.counts().visible as u64, s.next_seq())
            };
            let record = TaskRecord {
                id: MessageId::random().to_string(),
                source_arn: source.arn.clone(),
                source_queue: source.id,
                bound,
                destination_arn: destination,
                rate,
                status: Status::Running,
                moved: 0,
                to_move,
                started_ms: now,
                failure: None,
            };
            let mut ops = reg.prune(&source.arn);
            let task = Arc::new(Task::new(reg.next_key, record.clone()));
            reg.next_key += 1;
            ops.push(task.op(&record));
            reg.by_id.insert(record.id.clone(), task.clone());
            (task, encode_handle(&record), self.submit(ops))
        };
        self.persist(pending).await?;
        self.spawn_runner(task);
        Ok(json!({"TaskHandle": handle}))
    }

    pub(super) fn list_message_move_tasks(&self, p: Params) -> ApiResult<Value> {
        let source = self.move_source(p.required_str("SourceArn")?)?;
        let max = match p.int("MaxResults")? {
            None => 1,
            Some(n @ 1..=MAX_LIST) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid_value(
                    "MaxResults",
                    n,
                    "You must enter a number that's between 1 and 10.",
                ));
            }
        };
        let tasks = self.tasks.registry().of_source(&source.arn, source.id);
        let results: Vec<Value> = tasks
            .iter()
            .take(max)
            .map(|t| entry(&t.lock().record))
            .collect();
        Ok(json!({"Results": results}))
    }

    pub(super) async fn cancel_message_move_task(&self, p: Params) -> ApiResult<Value> {
        let handle = p.required_str("TaskHandle")?;
        let (id, arn) = decode_handle(handle).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidParameterValue,
                "Value for parameter TaskHandle is invalid.",
            )
        })?;
        if self.by_arn(&arn).is_none() {
            return Err(no_such_resource("SourceArn"));
        }
        let task = self
            .tasks
            .get(&id)
            .filter(|t| t.lock().record.source_arn == arn)
            .ok_or_else(no_such_task)?;
        let (moved, pending) = {
            let mut t = task.lock();
            // Only a running task can be cancelled; a finished one no longer has a handle.
            if t.record.status != Status::Running {
                return Err(no_such_task());
            }
            t.record.status = Status::Cancelling;
            (t.record.moved, self.submit(vec![task.op(&t.record)]))
        };
        task.wake.notify_one();
        self.persist(pending).await?;
        Ok(json!({"ApproximateNumberOfMessagesMoved": moved}))
    }

    /// Resumes the tasks that were running when the store was last written, and finishes those
    /// being cancelled. Call once the runtime serves (start-up has no runtime to spawn on).
    pub fn start_background(&self) {
        for task in self.tasks.all() {
            let status = {
                let t = task.lock();
                if t.runner.is_some() || t.stopped {
                    continue;
                }
                t.record.status
            };
            match status {
                Status::Running => self.spawn_runner(task),
                Status::Cancelling => self.finish(&task, Status::Cancelled, None),
                _ => {}
            }
        }
    }

    fn spawn_runner(&self, task: Arc<Task>) {
        let runner = tokio::spawn(run(self.me.clone(), task.clone()));
        let mut t = task.lock();
        if t.stopped {
            runner.abort();
        } else {
            t.runner = Some(runner.abort_handle());
        }
    }

    /// One step of a runner: the next batch, or the end of the task. Returns the number of
    /// messages moved while the task goes on.
    fn step(&self, task: &Task, max: usize) -> Option<u64> {
        let status = {
            let t = task.lock();
            if t.stopped {
                return None;
            }
            t.record.status
        };
        match status {
            Status::Running => {}
            Status::Cancelling => {
                self.finish(task, Status::Cancelled, None);
                return None;
            }
            _ => return None,
        }
        match self.move_batch(task, max) {
            Batch::Moved(n) => Some(n),
            Batch::Done => {
                self.finish(task, Status::Completed, None);
                None
            }
            Batch::Failed(reason) => {
                self.finish(task, Status::Failed, Some(reason));
                None
            }
            Batch::Stopped => None,
        }
    }

    /// Ends a task (a cancel that arrived meanwhile wins over completion).
    fn finish(&self, task: &Task, status: Status, failure: Option<&str>) {
        let mut t = task.lock();
        if t.stopped || !t.record.status.is_active() {
            return;
        }
        t.record.status = match (t.record.status, status) {
            (Status::Cancelling, Status::Completed) => Status::Cancelled,
            (_, s) => s,
        };
        t.record.failure = failure.map(String::from);
        t.runner = None;
        self.durable.submit_detached(vec![task.op(&t.record)]);
    }

    /// Moves up to `max` messages. Each run of messages bound for the same queue is one store
    /// batch (removals, sends and the task's progress), enqueued under that queue's lock; the
    /// source's lock is never held at the same time. Messages that cannot be moved go back.
    fn move_batch(&self, task: &Task, max: usize) -> Batch {
        let (source_arn, source_id, bound, destination) = {
            let t = task.lock();
            let r = &t.record;
            (
                r.source_arn.clone(),
                r.source_queue,
                r.bound,
                r.destination_arn.clone(),
            )
        };
        let Some(source) = self.by_arn(&source_arn).filter(|q| q.id == source_id) else {
            return Batch::Failed(NO_SUCH_QUEUE);
        };
        let now = self.clock.now_ms();
        let mut taken: Vec<Taken> = Vec::new();
        {
            let mut s = source.lock();
            if s.deleted {
                return Batch::Failed(NO_SUCH_QUEUE);
            }
            let (_, expired) = s.refresh(now);
            self.durable.submit_detached(expired);
            while taken.len() < max {
                let Some(seq) = s.pop_ready_before(bound, now) else {
                    break;
                };
                if let Some((mut message, ops)) = s.remove(seq) {
                    if let Err(e) = self.hydrate(source.id, &mut message) {
                        tracing::error!(error = %e.message, "move task could not read a message back");
                        // Nothing was written yet: put everything back and fail the task.
                        s.load(seq, message, now);
                        for t in taken {
                            s.load(t.seq, t.message, now);
                        }
                        return Batch::Failed(READ_FAILED);
                    }
                    taken.push(Taken { seq, message, ops });
                }
            }
        }
        if taken.is_empty() {
            return Batch::Done;
        }
        let target = |m: &Message| {
            destination
                .clone()
                .or_else(|| m.extra().dead_letter_source.clone())
        };
        let (mut moved, mut failure, mut back) = (0, None, Vec::new());
        let mut stopped = false;
        let mut rest = taken.into_iter().peekable();
        while let Some(first) = rest.next() {
            let arn = target(&first.message);
            let mut group = vec![first];
            while let Some(next) = rest.next_if(|n| target(&n.message) == arn) {
                group.push(next);
            }
            if failure.is_some() {
                back.extend(group);
                continue;
            }
            let Some(arn) = arn else {
                failure = Some(NO_ORIGIN);
                back.extend(group);
                continue;
            };
            let Some(dest) = self.by_arn(&arn) else {
                failure = Some(NO_SUCH_QUEUE);
                back.extend(group);
                continue;
            };
            let mut d = dest.lock();
            if d.deleted {
                failure = Some(NO_SUCH_QUEUE);
                back.extend(group);
                continue;
            }
            let mut t = task.lock();
            if t.stopped {
                // Stopped meanwhile (shutdown): what this batch took goes back to the source, so
                // requests still served in the grace period see it.
                drop(t);
                drop(d);
                back.extend(group);
                back.extend(rest.by_ref());
                stopped = true;
                break;
            }
            let n = group.len() as u64;
            // Copies first, removals after: the store keeps a prefix of the ops after a crash,
            // so a crash mid-batch may duplicate a message but never lose one.
            let mut ops = Vec::new();
            let mut removals = Vec::new();
            for item in group {
                removals.extend(item.ops);
                let mut m = redriven(item.message, now);
                if d.settings.fifo {
                    // A new message to a FIFO queue: the next sequence number there, its group kept.
                    m.extra_mut().sequence_number = Some(d.sequencer.next(now));
                }
                ops.extend(d.push(m, now).1);
            }
            ops.extend(removals);
            let ready = d.counts().visible;
            t.record.moved += n;
            ops.push(task.op(&t.record));
            // Not awaited: a runner that waited for the store thread would let a paused test
            // clock run ahead of it.
            self.durable.submit_detached(ops);
            drop(t);
            drop(d);
            moved += n;
            wake(&dest, ready);
        }
        if !back.is_empty() {
            let n = back.len();
            let mut s = source.lock();
            for item in back {
                s.load(item.seq, item.message, now);
            }
            drop(s);
            wake(&source, n);
        }
        if stopped {
            return Batch::Stopped;
        }
        match failure {
            Some(reason) => Batch::Failed(reason),
            None => Batch::Moved(moved),
        }
    }
}

/// A task's runner: batches until the task ends, paced to its rate. It holds the service only
/// weakly, so a closed app is dropped even while a runner sleeps.
async fn run(sqs: Weak<Sqs>, task: Arc<Task>) {
    let rate = task.lock().record.rate;
    let batch = rate.map_or(UNPACED_BATCH, |r| r.div_ceil(BATCHES_PER_SECOND) as usize);
    let started = Instant::now();
    let mut moved = 0u64;
    loop {
        let step = match sqs.upgrade() {
            Some(sqs) => sqs.step(&task, batch),
            None => return,
        };
        let Some(n) = step else { return };
        moved += n;
        match rate {
            Some(r) => {
                let due = started + Duration::from_millis(moved * 1000 / r as u64);
                tokio::select! {
                    _ = tokio::time::sleep_until(due) => {}
                    _ = task.wake.notified() => {}
                }
            }
            None => tokio::task::yield_now().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_only_while_running() {
        let mut r = TaskRecord {
            id: "a".into(),
            source_arn: "arn:aws:sqs:us-east-1:000000000000:dlq".into(),
            source_queue: 1,
            bound: 1,
            destination_arn: Some("arn:aws:sqs:us-east-1:000000000000:d".into()),
            rate: Some(3),
            status: Status::Running,
            moved: 1,
            to_move: 2,
            started_ms: 9,
            failure: None,
        };
        let e = entry(&r);
        assert!(e.get("TaskHandle").is_some());
        assert_eq!(e["MaxNumberOfMessagesPerSecond"], 3);
        r.status = Status::Failed;
        r.failure = Some(NO_SUCH_QUEUE.into());
        let e = entry(&r);
        assert!(e.get("TaskHandle").is_none());
        assert_eq!(e["Status"], "FAILED");
        assert_eq!(e["FailureReason"], NO_SUCH_QUEUE);
    }
}
