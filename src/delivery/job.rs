//! What a job is: where it goes ([`Target`]), what it carries ([`QueueMessage`]), how it is
//! paced ([`Rate`]) and retried, what its dead letter says, and how an attempt went ([`Outcome`],
//! [`Failure`]); and the two traits through which the engine reaches ferry's own queues, topics
//! and buses. How a job is stored is `record.rs`'s business (the serde defaults here keep the JSON
//! records of older ferries readable).

use super::{OAuth, RetryPolicy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One message attribute as a queue stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAttribute {
    pub data_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Vec<u8>>,
}

/// What a delivery carries: the body, and for queues the attributes and FIFO fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    pub body: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, QueueAttribute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_id: Option<String>,
    /// The publisher's `X-Amzn-Trace-Id`, which queues keep as `AWSTraceHeader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
}

/// Why a queue refused a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// No queue has that ARN.
    Missing,
    /// The queue exists but refused the message (too large, invalid FIFO fields, ...).
    Rejected(String),
    /// The queue could not take it now (its store failed); worth retrying.
    Unavailable(String),
}

/// Ferry's own queues, as the engine sees them.
pub trait Queues: Send + Sync + 'static {
    /// Puts `messages` on the queue named by `queue_arn`, in this order and in one write, before
    /// returning, so that pushes made in a row (under the caller's lock) arrive in that order.
    /// `Err` when the queue takes none of them (it does not exist, its store failed).
    fn push(&self, queue_arn: &str, messages: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError>;

    /// Sends `message` to the queue named by `queue_arn`.
    fn send<'a>(&'a self, queue_arn: &'a str, message: &QueueMessage) -> Stored<'a> {
        match self.push(queue_arn, &[message]) {
            Ok(Pushed { stored, refused }) => match refused.into_iter().next().flatten() {
                None => stored,
                Some(e) => Box::pin(std::future::ready(Err(e))),
            },
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }
}

/// Messages that are in their queue and on their way to the store; they are delivered (durably)
/// when this resolves.
pub type Stored<'a> = Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;

/// What a push did: the messages it took, on their way to disk, and per message pushed `None`
/// (taken) or why the queue refused it.
pub struct Pushed<'a> {
    pub stored: Stored<'a>,
    pub refused: Vec<Option<QueueError>>,
}

/// Ferry's topics and event buses as the engine sees them: each takes a message in-process, by
/// ARN, as its service's own publish would (`sns` and `events` implement it; `lib.rs` wires them).
pub trait Inbox: Send + Sync + 'static {
    /// Hands `message` to the topic or bus named by `arn`.
    fn send<'a>(
        &'a self,
        arn: &'a str,
        message: QueueMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>>;
}

/// Which in-process family an [`Inbox`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    Topics,
    Buses,
}

/// Where a job goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// One of ferry's queues, by ARN.
    Queue { arn: String },
    /// An HTTP endpoint: the body is POSTed with these headers; with `compose`, the request's
    /// body and further headers are written at each attempt (see [`Compose`]).
    Http {
        url: String,
        headers: Vec<(String, String)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compose: Option<String>,
    },
    /// One of ferry's topics, by ARN: the body is published to it.
    Topic { arn: String },
    /// One of ferry's event buses, by ARN: the body is an event put on it.
    Bus { arn: String },
    /// An EventBridge API destination's request; shared, since every event for one target
    /// makes the same request.
    Api(Arc<ApiCall>),
    /// A target ferry cannot deliver to (a Lambda function, a Kinesis stream, ...): every
    /// attempt fails with this error code and message, finally.
    Unreachable { code: String, message: String },
}

/// The request an API destination makes: `method` to `url` with `headers` (authorization from the
/// connection included, or obtained with `oauth` at each attempt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiCall {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuth>,
}

/// What writes HTTP requests at their attempt (`sns` implements it and connects itself at open):
/// an SNS envelope is rendered and RSA-signed (a millisecond or more) only when an endpoint is
/// tried, so Publish pays for neither, and a record holds the message once, not its envelope.
pub trait Compose: Send + Sync + 'static {
    /// The extra headers and the body of an attempt to deliver `message` as `spec` (the job's
    /// `Target::Http::compose`, written by the same service) says; `Err` when the spec is
    /// unreadable, which no retry mends.
    fn compose(
        &self,
        spec: &str,
        message: &QueueMessage,
    ) -> Result<(Vec<(String, String)>, String), String>;
}

/// At most `per_second` attempts a second across every job with the same `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Shared by every job of the key.
    pub key: Arc<str>,
    pub per_second: u32,
}

/// One pending delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Deliveries of one lane never wait on another lane's (a subscription ARN, a target id).
    pub lane: String,
    /// Ordered lanes deliver one job at a time, in record order.
    pub ordered: bool,
    pub target: Target,
    pub message: QueueMessage,
    pub retry: RetryPolicy,
    /// The queue ARN that gets the message once the retries are spent or the failure is final.
    pub dead_letter: Option<String>,
    /// At most this many attempts a second on the job's lane (SNS `maxReceivesPerSecond`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_second: Option<u32>,
    /// Attempts made so far.
    #[serde(default)]
    pub attempts: u32,
    /// When the job was recorded (epoch ms); set by `submit`.
    #[serde(default)]
    pub recorded_ms: u64,
    /// Attempts of every job sharing the key are spaced to this rate (retries included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// String attributes of the dead letter, EventBridge's way (`RULE_ARN`, `TARGET_ARN`); when
    /// set, the engine adds `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS` and, when retries ran
    /// out, `EXHAUSTED_RETRY_CONDITION`. Empty (SNS): the dead letter is the message as it is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dead_letter_attributes: BTreeMap<String, String>,
}

/// Why an attempt failed: an EventBridge-style error code (`CONNECTION_FAILURE`, `TIMEOUT`,
/// `THROTTLING`, `SDK_CLIENT_ERROR`, `NO_RESOURCE`, ...) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
    /// The HTTP status that caused it, if any.
    pub status: Option<u16>,
}

impl Failure {
    pub fn new(code: &str, message: impl Into<String>) -> Failure {
        Failure {
            code: code.to_string(),
            message: message.into(),
            status: None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth trying again (connection failure, timeout, 429, 5xx).
    Retry(Failure),
    /// Final: no retry helps (a 4xx, a missing queue).
    Failed(Failure),
}
