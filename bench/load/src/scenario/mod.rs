//! The scenarios, and what they share: settings, workers, tallies of calls, setup calls, draining
//! a queue, and the JSON line.

mod events;
mod fanout;
mod raw;
mod roundtrip;
mod send;

use crate::client::{CallError, Conn};
use crate::endpoint::Endpoint;
use crate::sign::Signer;
use crate::stats::{self, Latencies, Summary};
use crate::tracker::Tracker;
use crate::wire::{self, Call, Received, SqsProtocol};
use serde_json::{Map, Value, json};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A scenario by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// SendMessage of --size bytes to a new standard queue.
    SqsSend,
    /// Half the connections send, half receive (10, long poll) and delete; then drain and check.
    SqsRoundtrip,
    /// Publish to a topic with --subs raw SQS subscriptions; drain every queue and check.
    SnsFanout,
    /// PutEvents (10 entries) to a custom bus with --rules rules, one matching; drain and check.
    EventsPut,
    /// A signed empty POST (the HTTP ceiling against ferry-load-hello).
    Raw,
    /// The four broker scenarios.
    All,
}

impl Scenario {
    /// The scenario's name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::SqsSend => "sqs-send",
            Scenario::SqsRoundtrip => "sqs-roundtrip",
            Scenario::SnsFanout => "sns-fanout",
            Scenario::EventsPut => "events-put",
            Scenario::Raw => "raw",
            Scenario::All => "all",
        }
    }

    /// `all` expanded into the broker scenarios.
    pub fn expand(list: &[Scenario]) -> Vec<Scenario> {
        let mut out = Vec::new();
        for &s in list {
            if s == Scenario::All {
                out.extend([
                    Scenario::SqsSend,
                    Scenario::SqsRoundtrip,
                    Scenario::SnsFanout,
                    Scenario::EventsPut,
                ]);
            } else {
                out.push(s);
            }
        }
        out
    }

    /// The wire protocol reported for this scenario.
    pub fn protocol(self, sqs: SqsProtocol) -> &'static str {
        match self {
            Scenario::SnsFanout => "query",
            Scenario::EventsPut => "json1.1",
            Scenario::Raw => "signed",
            _ => sqs.name(),
        }
    }
}

/// Settings common to every run.
#[derive(Clone, Debug)]
pub struct Settings {
    pub seconds: f64,
    pub size: usize,
    pub protocol: SqsProtocol,
    pub wait: u32,
    pub visibility: u32,
    pub drain_timeout: Duration,
    pub drain_empty: u32,
    pub subs: usize,
    pub rules: usize,
    /// sns-fanout and events-put also deliver to an HTTP endpoint that never answers.
    pub dead_target: bool,
    /// The same with an endpoint that answers 200 at once (the live twin of `dead_target`).
    pub live_target: bool,
    pub timeout: Duration,
    pub print_errors: usize,
}

/// One run: a scenario against one endpoint at one connection count (cheap to clone: one per worker).
#[derive(Clone)]
pub struct Ctx {
    pub endpoint: Arc<Endpoint>,
    pub conns: usize,
    pub server_pid: Option<u32>,
    pub settings: Arc<Settings>,
    pub signer: Arc<Signer>,
    /// Unique per run: resource names never collide with an earlier run's.
    pub nonce: String,
    printed: Arc<AtomicUsize>,
}

impl Ctx {
    pub fn new(
        endpoint: Arc<Endpoint>,
        conns: usize,
        server_pid: Option<u32>,
        settings: Arc<Settings>,
        signer: Arc<Signer>,
        nonce: String,
        printed: Arc<AtomicUsize>,
    ) -> Ctx {
        Ctx {
            endpoint,
            conns,
            server_pid,
            settings,
            signer,
            nonce,
            printed,
        }
    }

    fn conn(&self) -> Conn {
        Conn::new(
            self.endpoint.clone(),
            self.signer.clone(),
            self.settings.timeout,
        )
    }

    /// A resource name for `what` in this run.
    fn name(&self, what: &str) -> String {
        format!("ferry-load-{what}-{}", self.nonce)
    }

    /// Prints the first --print-errors failed calls of the whole invocation on stderr.
    fn note(&self, action: &str, e: &CallError) {
        if self.printed.fetch_add(1, Ordering::Relaxed) < self.settings.print_errors {
            eprintln!("  {} {action}: {e}", self.endpoint.label);
        }
    }

    fn deadline(&self, t0: Instant) -> Instant {
        t0 + Duration::from_secs_f64(self.settings.seconds)
    }
}

/// Runs one scenario: its JSON line, or why it could not run (a missing service, a failed setup).
pub async fn run(ctx: &Ctx, scenario: Scenario) -> Result<Map<String, Value>, String> {
    match scenario {
        Scenario::SqsSend => send::run(ctx).await,
        Scenario::SqsRoundtrip => roundtrip::run(ctx).await,
        Scenario::SnsFanout => fanout::run(ctx).await,
        Scenario::EventsPut => events::run(ctx).await,
        Scenario::Raw => raw::run(ctx).await,
        Scenario::All => Err("'all' is expanded before running".into()),
    }
}

/// Counts of one kind of call.
#[derive(Clone, Debug, Default)]
struct Tally {
    ok: u64,
    http_errors: u64,
    transport_errors: u64,
    parse_errors: u64,
}

impl Tally {
    fn errors(&self) -> u64 {
        self.http_errors + self.transport_errors + self.parse_errors
    }

    fn add(&mut self, o: &Tally) {
        self.ok += o.ok;
        self.http_errors += o.http_errors;
        self.transport_errors += o.transport_errors;
        self.parse_errors += o.parse_errors;
    }

    fn failed(&mut self, ctx: &Ctx, action: &str, e: &CallError) {
        match e {
            CallError::Http(..) => self.http_errors += 1,
            CallError::Transport(_) => self.transport_errors += 1,
        }
        ctx.note(action, e);
    }

    fn unreadable(&mut self, ctx: &Ctx, action: &str) {
        self.parse_errors += 1;
        ctx.note(action, &CallError::Transport("unreadable answer".into()));
    }
}

/// Runs `n` workers at once, each with its own connection, and collects what they return.
async fn workers<T, F, Fut>(ctx: &Ctx, n: usize, f: F) -> Vec<T>
where
    F: Fn(usize, Conn, Ctx) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n)
        .map(|i| tokio::spawn(f(i, ctx.conn(), ctx.clone())))
        .collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("a worker panicked"));
    }
    out
}

/// A setup call that must succeed; its answer, or a line saying which call failed and why.
async fn setup(conn: &mut Conn, call: Call) -> Result<bytes::Bytes, String> {
    conn.call(&call)
        .await
        .map_err(|e| format!("{} failed: {e}", call.action))
}

fn need<T>(v: Option<T>, action: &str) -> Result<T, String> {
    v.ok_or_else(|| format!("{action}: unreadable answer"))
}

/// Creates a standard queue; its URL and ARN.
async fn create_queue(ctx: &Ctx, conn: &mut Conn, name: &str) -> Result<(String, String), String> {
    let p = ctx.settings.protocol;
    let url = need(
        wire::queue_url(
            p,
            &setup(conn, wire::create_queue(p, name, ctx.settings.visibility)).await?,
        ),
        "CreateQueue",
    )?;
    let arn = need(
        wire::queue_arn(p, &setup(conn, wire::get_queue_arn(p, &url)).await?),
        "GetQueueAttributes",
    )?;
    Ok((url, arn))
}

/// Microseconds since `t0`.
fn us_since(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// What a delivered message says: the key of the body it carries, the id to check against the
/// sender's, and whether it came wrapped in an SNS envelope.
struct Decoded {
    key: Option<u64>,
    id: Option<String>,
    wrapped: bool,
}

type Decode = fn(&Received) -> Decoded;

/// One receive (up to 10, long poll) and the delete of what it returned.
struct Batch {
    messages: Vec<Received>,
    receive: Duration,
    delete: Option<Duration>,
}

/// Receives and deletes one batch; errors are tallied in `recv`/`del` (`delete_failed` counts
/// entries the batch delete refused).
async fn receive_and_delete(
    ctx: &Ctx,
    conn: &mut Conn,
    url: &str,
    recv: &mut Tally,
    del: &mut Tally,
    delete_failed: &mut u64,
) -> Option<Batch> {
    let p = ctx.settings.protocol;
    let start = Instant::now();
    let answer = match conn
        .call(&wire::receive_message(p, url, 10, ctx.settings.wait))
        .await
    {
        Ok(b) => b,
        Err(e) => {
            recv.failed(ctx, "ReceiveMessage", &e);
            return None;
        }
    };
    let receive = start.elapsed();
    let Some(messages) = wire::received(p, &answer) else {
        recv.unreadable(ctx, "ReceiveMessage");
        return None;
    };
    recv.ok += 1;
    if messages.is_empty() {
        return Some(Batch {
            messages,
            receive,
            delete: None,
        });
    }
    let handles: Vec<String> = messages.iter().map(|m| m.handle.clone()).collect();
    let start = Instant::now();
    let delete = match conn
        .call(&wire::delete_message_batch(p, url, &handles))
        .await
    {
        Ok(b) => match wire::batch_result(p, &b) {
            Some((_, failed)) => {
                del.ok += 1;
                *delete_failed += failed as u64;
                Some(start.elapsed())
            }
            None => {
                del.unreadable(ctx, "DeleteMessageBatch");
                None
            }
        },
        Err(e) => {
            del.failed(ctx, "DeleteMessageBatch", &e);
            None
        }
    };
    Some(Batch {
        messages,
        receive,
        delete,
    })
}

/// What draining a queue found.
#[derive(Debug, Default)]
struct Drained {
    /// Messages received while draining.
    messages: u64,
    /// Failed receive/delete calls while draining.
    errors: u64,
    /// Time after `t0` of the last message seen for the first time.
    last_new: Option<Duration>,
    /// Messages that came in an SNS envelope.
    wrapped: u64,
}

/// Receives and deletes from `url` with `n` connections until every expected message arrived,
/// every connection saw --drain-empty empty long polls in a row, or `deadline`.
async fn drain(
    ctx: &Ctx,
    url: &str,
    n: usize,
    tracker: Arc<Mutex<Tracker>>,
    decode: Decode,
    t0: Instant,
    deadline: Instant,
) -> Drained {
    let url: Arc<str> = url.into();
    let results = workers(ctx, n, |_, mut conn, ctx| {
        let (url, tracker) = (url.clone(), tracker.clone());
        async move {
            let settings = &ctx.settings;
            let (mut recv, mut del, mut failed) = (Tally::default(), Tally::default(), 0);
            let mut out = Drained::default();
            let mut empties = 0;
            while Instant::now() < deadline && empties < settings.drain_empty {
                if tracker.lock().unwrap().complete() {
                    break;
                }
                let Some(batch) =
                    receive_and_delete(&ctx, &mut conn, &url, &mut recv, &mut del, &mut failed)
                        .await
                else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                if batch.messages.is_empty() {
                    empties += 1;
                    continue;
                }
                empties = 0;
                out.messages += batch.messages.len() as u64;
                let mut t = tracker.lock().unwrap();
                for m in &batch.messages {
                    let d = decode(m);
                    out.wrapped += u64::from(d.wrapped);
                    if t.observe(d.key, d.id.as_deref()) {
                        out.last_new = Some(t0.elapsed());
                    }
                }
            }
            out.errors = recv.errors() + del.errors() + failed;
            out
        }
    })
    .await;
    let mut total = Drained::default();
    for d in results {
        total.messages += d.messages;
        total.errors += d.errors;
        total.wrapped += d.wrapped;
        total.last_new = total.last_new.max(d.last_new);
    }
    total
}

/// One worker of a scenario whose only work is one kind of call (sqs-send, raw).
#[derive(Default)]
struct Caller {
    calls: Tally,
    lat: Latencies,
    last_end: Duration,
    connects: u64,
}

/// The line of such a scenario: every successful call is one message.
fn calls_line(out: Vec<Caller>, cpu: (Option<f64>, Option<f64>, Option<f64>)) -> Line {
    let mut calls = Tally::default();
    for s in &out {
        calls.add(&s.calls);
    }
    Line {
        seconds: secs(out.iter().map(|s| s.last_end).max().unwrap_or_default()),
        ops: calls.ok,
        msgs: calls.ok,
        msgs_per_s: None,
        connects: out.iter().map(|s| s.connects).sum(),
        latency: merge_lat(out.into_iter().map(|s| s.lat)).summary(),
        calls,
        other_errors: 0,
        lost: None,
        duplicates: None,
        cpu,
    }
}

/// The parts of a JSON line every scenario has.
struct Line {
    seconds: f64,
    ops: u64,
    msgs: u64,
    /// Rate of `msgs` (when it is not `msgs / seconds`).
    msgs_per_s: Option<f64>,
    latency: Summary,
    calls: Tally,
    /// Errors beyond failed calls (failed entries, refused deletes...).
    other_errors: u64,
    lost: Option<u64>,
    duplicates: Option<u64>,
    connects: u64,
    cpu: (Option<f64>, Option<f64>, Option<f64>),
}

impl Line {
    /// The JSON line: common fields, then `extras`, then connects and CPU.
    fn render(
        self,
        ctx: &Ctx,
        scenario: Scenario,
        extras: Vec<(&str, Value)>,
    ) -> Map<String, Value> {
        let mut m = header(ctx, scenario);
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("seconds", json!(stats::round(self.seconds, 2)));
        put("ops", json!(self.ops));
        put("ops_per_s", json!(stats::rate(self.ops, self.seconds)));
        put("msgs", json!(self.msgs));
        put(
            "msgs_per_s",
            json!(
                self.msgs_per_s
                    .unwrap_or_else(|| stats::rate(self.msgs, self.seconds))
            ),
        );
        put("latency_ms", self.latency.to_json());
        put("errors", json!(self.calls.errors() + self.other_errors));
        put("http_errors", json!(self.calls.http_errors));
        put("transport_errors", json!(self.calls.transport_errors));
        put("parse_errors", json!(self.calls.parse_errors));
        put("lost", json!(self.lost));
        put("duplicates", json!(self.duplicates));
        for (k, v) in extras {
            put(k, v);
        }
        put("connects", json!(self.connects));
        put("client_cpu_pct", json!(self.cpu.0));
        put("server_cpu_pct", json!(self.cpu.1));
        put("machine_cpu_pct", json!(self.cpu.2));
        m
    }
}

/// label, url, scenario, protocol, conns, size: the start of every line, error lines included.
pub fn header(ctx: &Ctx, scenario: Scenario) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("label".into(), json!(ctx.endpoint.label));
    m.insert("url".into(), json!(ctx.endpoint.url));
    m.insert("scenario".into(), json!(scenario.name()));
    m.insert(
        "protocol".into(),
        json!(scenario.protocol(ctx.settings.protocol)),
    );
    m.insert("conns".into(), json!(ctx.conns));
    m.insert("size".into(), json!(ctx.settings.size));
    m
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn merge_lat(parts: impl IntoIterator<Item = Latencies>) -> Latencies {
    let mut all = Latencies::default();
    for l in parts {
        all.merge(l);
    }
    all
}
