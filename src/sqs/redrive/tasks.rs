//! Move tasks as data: the durable task record, task handles, and the registry of every task of
//! the service. The runner and the actions live in `redrive.rs`.

use crate::storage::{Durable, Op, StoreError, StoreResult, keys};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Tasks remembered per source queue; older finished ones are forgotten (AWS lists the last 10).
const KEEP_PER_SOURCE: usize = 10;

const RECORD_VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(super) enum Status {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Cancelling => "CANCELLING",
            Status::Cancelled => "CANCELLED",
            Status::Failed => "FAILED",
        }
    }

    /// Whether the task still holds its source (only one active task per source).
    pub(super) fn is_active(self) -> bool {
        matches!(self, Status::Running | Status::Cancelling)
    }
}

/// The durable record of a task, rewritten with every batch it moves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct TaskRecord {
    pub(super) id: String,
    pub(super) source_arn: String,
    /// The source queue's id: a queue deleted and created again under the same ARN is another
    /// queue, with its own sequence numbers.
    pub(super) source_queue: u64,
    /// Messages with a smaller sequence number were in the source when the task started.
    pub(super) bound: u64,
    pub(super) destination_arn: Option<String>,
    pub(super) rate: Option<u32>,
    pub(super) status: Status,
    pub(super) moved: u64,
    pub(super) to_move: u64,
    pub(super) started_ms: u64,
    pub(super) failure: Option<String>,
}

fn encode(r: &TaskRecord) -> Vec<u8> {
    crate::storage::encode_json(RECORD_VERSION, r)
}

fn decode(buf: &[u8]) -> StoreResult<TaskRecord> {
    crate::storage::decode_json(RECORD_VERSION, buf, "move task record")
}

/// AWS's task handles are opaque base64 of a small JSON document naming the task and its source;
/// ours have the same shape, so the handle alone finds the task.
pub(super) fn encode_handle(r: &TaskRecord) -> String {
    B64.encode(json!({"taskId": r.id, "sourceArn": r.source_arn}).to_string())
}

pub(super) fn decode_handle(handle: &str) -> Option<(String, String)> {
    let doc: Value = serde_json::from_slice(&B64.decode(handle.trim()).ok()?).ok()?;
    Some((
        doc.get("taskId")?.as_str()?.to_string(),
        doc.get("sourceArn")?.as_str()?.to_string(),
    ))
}

/// One task: its store key (in start order, so the newest lists first) and its mutable state.
pub(super) struct Task {
    pub(super) key: u64,
    pub(super) state: Mutex<TaskState>,
    /// Wakes a paced runner early (a cancel need not wait for the next batch).
    pub(super) wake: Notify,
}

pub(super) struct TaskState {
    pub(super) record: TaskRecord,
    /// Set by reset and shutdown: the runner must write nothing more.
    pub(super) stopped: bool,
    pub(super) runner: Option<AbortHandle>,
}

impl Task {
    pub(super) fn new(key: u64, record: TaskRecord) -> Task {
        Task {
            key,
            state: Mutex::new(TaskState {
                record,
                stopped: false,
                runner: None,
            }),
            wake: Notify::new(),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, TaskState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The op storing `r`. Every such op is enqueued while the task's lock is held, so the store
    /// sees the record's versions in the order memory did.
    pub(super) fn op(&self, r: &TaskRecord) -> Op {
        Op::Put(keys::task(self.key), encode(r))
    }
}

/// Every move task of the service. Lock order: registry, then a queue, then a task.
#[derive(Default)]
pub(in crate::sqs) struct Tasks {
    registry: Mutex<Registry>,
}

#[derive(Default)]
pub(super) struct Registry {
    pub(super) by_id: HashMap<String, Arc<Task>>,
    pub(super) next_key: u64,
}

impl Tasks {
    /// Reads every task record from the store (runners start in [`Sqs::start_background`]).
    pub(in crate::sqs) fn load(store: &Durable) -> StoreResult<Tasks> {
        let mut reg = Registry {
            next_key: 1,
            ..Default::default()
        };
        store.scan(&[keys::TASK], &mut |k, v| {
            let key = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| StoreError("bad move task key".into()))?;
            let record = decode(v)?;
            reg.next_key = reg.next_key.max(key + 1);
            reg.by_id
                .insert(record.id.clone(), Arc::new(Task::new(key, record)));
            Ok(())
        })?;
        Ok(Tasks {
            registry: Mutex::new(reg),
        })
    }

    pub(super) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn get(&self, id: &str) -> Option<Arc<Task>> {
        self.registry().by_id.get(id).cloned()
    }

    pub(super) fn all(&self) -> Vec<Arc<Task>> {
        self.registry().by_id.values().cloned().collect()
    }

    /// Stops every runner; nothing more is written for any task (shutdown).
    pub(in crate::sqs) fn stop_all(&self) {
        for task in self.all() {
            let mut t = task.lock();
            t.stopped = true;
            if let Some(runner) = t.runner.take() {
                runner.abort();
            }
        }
    }

    /// Stops every runner and forgets every task (reset; the store is cleared by the caller).
    pub(in crate::sqs) fn clear(&self) {
        self.stop_all();
        self.registry().by_id.clear();
    }
}

impl Registry {
    /// The tasks of one source queue, newest first.
    pub(super) fn of_source(&self, arn: &str, queue: u64) -> Vec<Arc<Task>> {
        let mut tasks: Vec<Arc<Task>> = self
            .by_id
            .values()
            .filter(|t| {
                let t = t.lock();
                t.record.source_arn == arn && t.record.source_queue == queue
            })
            .cloned()
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.key));
        tasks
    }

    /// Forgets the oldest finished tasks of `arn` so that a new one leaves at most
    /// `KEEP_PER_SOURCE`; returns the ops deleting their records.
    pub(super) fn prune(&mut self, arn: &str) -> Vec<Op> {
        let mut tasks: Vec<(u64, String, bool)> = self
            .by_id
            .values()
            .filter_map(|t| {
                let s = t.lock();
                (s.record.source_arn == arn)
                    .then(|| (t.key, s.record.id.clone(), s.record.status.is_active()))
            })
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.0));
        let mut ops = Vec::new();
        for (key, id, active) in tasks.into_iter().skip(KEEP_PER_SOURCE - 1) {
            if !active {
                self.by_id.remove(&id);
                ops.push(Op::Delete(keys::task(key)));
            }
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_reject_garbage() {
        let r = TaskRecord {
            id: "7f3c".into(),
            source_arn: "arn:aws:sqs:us-east-1:000000000000:dlq".into(),
            source_queue: 1,
            bound: 5,
            destination_arn: None,
            rate: None,
            status: Status::Running,
            moved: 0,
            to_move: 4,
            started_ms: 1,
            failure: None,
        };
        let h = encode_handle(&r);
        assert_eq!(
            decode_handle(&h),
            Some((r.id.clone(), r.source_arn.clone()))
        );
        for bad in ["", "garbage", "e30=", "bnVsbA=="] {
            assert_eq!(decode_handle(bad), None, "{bad}");
        }
        let back = decode(&encode(&r)).unwrap();
        assert_eq!(back.bound, 5);
        assert_eq!(back.status, Status::Running);
        assert!(decode(&[9, b'{', b'}']).is_err());
    }
}
