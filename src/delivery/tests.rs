//! The engine on tokio's paused clock with an in-memory queue service, and against a real HTTP
//! server on 127.0.0.1.

use super::*;
use crate::storage::MemoryStore;
use std::collections::{BTreeMap, HashSet};
use tokio::time::Instant;

/// Queues that fail a set number of times per ARN, and know which ARNs exist.
#[derive(Default)]
struct FakeQueues {
    missing: HashSet<String>,
    failures: Mutex<HashMap<String, u32>>,
    attempts: Mutex<Vec<(String, Instant)>>,
    received: Mutex<Vec<(String, QueueMessage)>>,
    slow_ms: u64,
    /// (queue, body) pairs the queue refuses.
    rejected: HashSet<(String, String)>,
    /// (queue, messages) of each push.
    pushes: Mutex<Vec<(String, usize)>>,
}

impl Queues for FakeQueues {
    fn push(&self, arn: &str, messages: &[&QueueMessage]) -> Result<Pushed<'_>, QueueError> {
        let now = Instant::now();
        let mut attempts = self.attempts.lock().unwrap();
        attempts.extend(messages.iter().map(|_| (arn.to_string(), now)));
        if self.missing.contains(arn) {
            return Err(QueueError::Missing);
        }
        if let Some(n) = self.failures.lock().unwrap().get_mut(arn)
            && *n > 0
        {
            *n -= 1;
            return Err(QueueError::Unavailable("busy".into()));
        }
        self.pushes
            .lock()
            .unwrap()
            .push((arn.to_string(), messages.len()));
        let refused = messages
            .iter()
            .map(|m| {
                if self.rejected.contains(&(arn.to_string(), m.body.clone())) {
                    return Some(QueueError::Rejected("refused".into()));
                }
                self.received
                    .lock()
                    .unwrap()
                    .push((arn.to_string(), (*m).clone()));
                None
            })
            .collect();
        let slow = Duration::from_millis(self.slow_ms);
        Ok(Pushed {
            stored: Box::pin(async move {
                tokio::time::sleep(slow).await;
                Ok(())
            }),
            refused,
        })
    }
}

fn job(lane: &str, arn: &str, body: &str) -> Job {
    Job {
        lane: lane.into(),
        ordered: false,
        target: Target::Queue { arn: arn.into() },
        message: QueueMessage {
            body: body.into(),
            ..Default::default()
        },
        retry: RetryPolicy::sns_default(),
        dead_letter: None,
        max_per_second: None,
        attempts: 0,
        recorded_ms: 0,
        rate: None,
        dead_letter_attributes: Default::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn lanes_keep_to_their_rate() {
    let q = Arc::new(FakeQueues::default());
    let (d, _) = engine(q.clone());
    let start = Instant::now();
    let jobs = (0..5)
        .map(|i| Job {
            max_per_second: Some(2),
            ..job("slow", "arn:q", &i.to_string())
        })
        .collect();
    d.submit(jobs).wait().await.unwrap();
    until(|| q.received.lock().unwrap().len() == 5).await;
    let times: Vec<u128> = q
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| (*t - start).as_millis())
        .collect();
    assert_eq!(times, vec![0, 500, 1000, 1500, 2000]);
}

fn engine(queues: Arc<FakeQueues>) -> (Arc<Delivery>, Arc<Durable>) {
    let durable = Arc::new(Durable::memory());
    let d = Delivery::open(durable.clone(), Clock::new(), queues).unwrap();
    (d, durable)
}

fn pending_records(durable: &Durable) -> usize {
    let mut n = 0;
    durable
        .scan(&[keys::DELIVERY], &mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// Waits (on the real clock, for tests that talk to real HTTP servers) until no job record is
/// left, or 5 seconds have passed; the test's assertions say which.
async fn settled(durable: &Durable) {
    for _ in 0..500 {
        if pending_records(durable) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits (on the paused clock) until `done` holds; at most ten virtual minutes.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached");
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_policy_then_deliver_and_forget() {
    let q = Arc::new(FakeQueues::default());
    q.failures.lock().unwrap().insert("arn:q".into(), 2);
    let (d, durable) = engine(q.clone());
    let start = Instant::now();
    d.submit(vec![job("sub", "arn:q", "hello")])
        .wait()
        .await
        .unwrap();
    assert_eq!(
        pending_records(&durable),
        1,
        "recorded before it is delivered"
    );
    until(|| !q.received.lock().unwrap().is_empty()).await;
    let times: Vec<u64> = q
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| (*t - start).as_secs())
        .collect();
    assert_eq!(
        times,
        vec![0, 20, 40],
        "SNS's default: 20 s between attempts"
    );
    until(|| pending_records(&durable) == 0).await;
    assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn exhausted_or_final_failures_go_to_the_dead_letter_queue() {
    let mut fake = FakeQueues::default();
    fake.missing.insert("arn:gone".into());
    let q = Arc::new(fake);
    q.failures.lock().unwrap().insert("arn:down".into(), 100);
    let (d, durable) = engine(q.clone());
    let start = Instant::now();
    let mut a = job("a", "arn:down", "retried");
    a.dead_letter = Some("arn:dlq".into());
    let mut b = job("b", "arn:gone", "missing");
    b.dead_letter = Some("arn:dlq".into());
    let c = job("c", "arn:gone", "no dlq");
    d.submit(vec![a, b, c]).wait().await.unwrap();
    until(|| q.received.lock().unwrap().len() == 2).await;
    let received = q.received.lock().unwrap().clone();
    // The missing queue fails at once; the busy one after 1 + 3 attempts, 60 s later.
    assert_eq!(
        received[0],
        (
            "arn:dlq".to_string(),
            QueueMessage {
                body: "missing".into(),
                ..Default::default()
            }
        )
    );
    assert_eq!(received[1].1.body, "retried");
    let down: Vec<u64> = q
        .attempts
        .lock()
        .unwrap()
        .iter()
        .filter(|(a, _)| a == "arn:down")
        .map(|(_, t)| (*t - start).as_secs())
        .collect();
    assert_eq!(down, vec![0, 20, 40, 60]);
    until(|| pending_records(&durable) == 0).await;
    assert_eq!(d.counters.dead_lettered.load(Ordering::Relaxed), 2);
    assert_eq!(d.counters.dropped.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn one_dead_lane_does_not_delay_another() {
    let q = Arc::new(FakeQueues::default());
    q.failures.lock().unwrap().insert("arn:down".into(), 100);
    let (d, _) = engine(q.clone());
    let start = Instant::now();
    let jobs = (0..50)
        .map(|i| job("dead", "arn:down", &i.to_string()))
        .chain([job("live", "arn:up", "x")])
        .collect();
    d.submit(jobs).wait().await.unwrap();
    until(|| !q.received.lock().unwrap().is_empty()).await;
    assert!(Instant::now() - start < Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn ordered_lanes_keep_record_order() {
    let q = Arc::new(FakeQueues {
        slow_ms: 5,
        ..Default::default()
    });
    q.failures.lock().unwrap().insert("arn:fifo".into(), 1);
    let (d, _) = engine(q.clone());
    let jobs: Vec<Job> = (0..20)
        .map(|i| Job {
            ordered: true,
            ..job("fifo", "arn:fifo", &i.to_string())
        })
        .collect();
    d.submit(jobs).wait().await.unwrap();
    until(|| q.received.lock().unwrap().len() == 20).await;
    let bodies: Vec<String> = q
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.body.clone())
        .collect();
    assert_eq!(bodies, (0..20).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn pending_deliveries_resume_after_a_restart() {
    let store: Arc<dyn crate::storage::Store> = Arc::new(MemoryStore::default());
    let q = Arc::new(FakeQueues::default());
    q.failures.lock().unwrap().insert("arn:q".into(), 1);
    {
        let durable = Arc::new(Durable::new(
            store.clone(),
            store.clone(),
            crate::storage::SyncPolicy::default(),
        ));
        let d = Delivery::open(durable.clone(), Clock::new(), q.clone()).unwrap();
        d.submit(vec![job("s", "arn:q", "survives")])
            .wait()
            .await
            .unwrap();
        until(|| q.attempts.lock().unwrap().len() == 1).await;
        // The process dies here: the record stays, with its attempt count.
        d.reset();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let durable = Arc::new(Durable::new(
        store.clone(),
        store,
        crate::storage::SyncPolicy::default(),
    ));
    let d = Delivery::open(durable.clone(), Clock::new(), q.clone()).unwrap();
    let (_, job) = d.resumed.lock().unwrap()[0].clone();
    assert_eq!((job.message.body.as_str(), job.attempts), ("survives", 1));
    d.start(&|_| true);
    until(|| q.received.lock().unwrap().len() == 1).await;
    until(|| pending_records(&durable) == 0).await;
}

/// What the test server received: (headers, body) per request.
type Received = Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>;

/// A real HTTP server on 127.0.0.1 that answers `status` `fail` times, then 200, and keeps what it got.
async fn http_server(
    fail: u32,
    status: u16,
) -> (String, Arc<Mutex<Vec<(Vec<(String, String)>, String)>>>) {
    use hyper::server::conn::http1;
    use hyper_util::rt::TokioIo;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got: Received = Default::default();
    let left = Arc::new(AtomicU64::new(u64::from(fail)));
    let seen = got.clone();
    tokio::spawn(async move {
        for _ in 0..100 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let left = left.clone();
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let seen = seen.clone();
                    let left = left.clone();
                    async move {
                        let headers = req
                            .headers()
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
                            .collect();
                        let body = http_body_util::BodyExt::collect(req.into_body())
                            .await
                            .unwrap()
                            .to_bytes();
                        seen.lock()
                            .unwrap()
                            .push((headers, String::from_utf8_lossy(&body).into_owned()));
                        let status = if left.load(Ordering::SeqCst) > 0 {
                            left.fetch_sub(1, Ordering::SeqCst);
                            status
                        } else {
                            200
                        };
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(status)
                                .body(http_body_util::Full::new(bytes::Bytes::new()))
                                .unwrap(),
                        )
                    }
                });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), svc));
        }
    });
    (url, got)
}

#[tokio::test]
async fn http_targets_are_retried_on_5xx_then_delivered() {
    let q = Arc::new(FakeQueues::default());
    let (d, durable) = engine(q.clone());
    let (url, got) = http_server(2, 500).await;
    let j = Job {
        target: Target::Http {
            url,
            headers: vec![("x-amz-sns-message-type".into(), "Notification".into())],
            compose: None,
        },
        retry: RetryPolicy::Phased {
            num_retries: 3,
            num_no_delay: 3,
            num_min_delay: 0,
            num_max_delay: 0,
            min_delay_s: 1,
            max_delay_s: 1,
            backoff: Backoff::Linear,
        },
        ..job("h", "", "{\"k\":1}")
    };
    d.submit(vec![j]).wait().await.unwrap();
    settled(&durable).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "two 500s, then a 200");
    assert!(got.iter().all(|(h, b)| b == "{\"k\":1}"
        && h.contains(&("x-amz-sns-message-type".into(), "Notification".into()))));
    assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 1);
    assert_eq!(pending_records(&durable), 0);
}

/// Writes `spec:body` with one extra header; refuses the spec "bad".
struct EchoComposer;

impl Compose for EchoComposer {
    fn compose(
        &self,
        spec: &str,
        message: &QueueMessage,
    ) -> Result<(Vec<(String, String)>, String), String> {
        if spec == "bad" {
            return Err("unreadable".into());
        }
        Ok((
            vec![("x-composed".into(), spec.into())],
            format!("{spec}:{}", message.body),
        ))
    }
}

/// A composed target's request is written at the attempt by the connected composer, with the
/// job's own headers kept; a spec the composer refuses fails the job at once (no retry, and its
/// record is gone); the dead letter of a composed job is the composed body.
#[tokio::test]
async fn composed_requests_are_written_at_the_attempt() {
    let q = Arc::new(FakeQueues::default());
    let (d, durable) = engine(q.clone());
    d.compose_with(Arc::new(EchoComposer));
    let (url, got) = http_server(0, 500).await;
    let composed = |spec: &str, body: &str, dlq: Option<&str>| Job {
        target: Target::Http {
            url: url.clone(),
            headers: vec![("x-static".into(), "s".into())],
            compose: Some(spec.into()),
        },
        retry: RetryPolicy::Never,
        dead_letter: dlq.map(String::from),
        ..job("c", "", body)
    };
    d.submit(vec![composed("spec-1", "hello", None)])
        .wait()
        .await
        .unwrap();
    d.submit(vec![composed("bad", "never sent", None)])
        .wait()
        .await
        .unwrap();
    let (gone, _) = http_server(1, 404).await;
    let mut refused = composed("spec-2", "lost", Some("arn:dlq"));
    if let Target::Http { url, .. } = &mut refused.target {
        *url = gone;
    }
    d.submit(vec![refused]).wait().await.unwrap();
    settled(&durable).await;
    let seen = got.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (headers, body) = &seen[0];
    assert_eq!(body, "spec-1:hello");
    assert!(headers.contains(&("x-static".into(), "s".into())));
    assert!(headers.contains(&("x-composed".into(), "spec-1".into())));
    assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 1);
    assert_eq!(d.counters.dropped.load(Ordering::Relaxed), 1);
    assert_eq!(d.counters.dead_lettered.load(Ordering::Relaxed), 1);
    let dead = q.received.lock().unwrap().clone();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].0.as_str(), dead[0].1.body.as_str()),
        ("arn:dlq", "spec-2:lost")
    );
    assert_eq!(pending_records(&durable), 0);
}

#[tokio::test]
async fn http_outcomes_are_classified_as_aws_does() {
    let q = Arc::new(FakeQueues::default());
    let (d, _) = engine(q.clone());
    let (url, _) = http_server(1, 404).await;
    assert!(matches!(
        d.http.post(&url, &[], "x").await,
        Outcome::Failed(_)
    ));
    assert_eq!(d.http.post(&url, &[], "x").await, Outcome::Delivered);
    let (url, _) = http_server(1, 429).await;
    assert!(matches!(
        d.http.post(&url, &[], "x").await,
        Outcome::Retry(_)
    ));
    assert!(matches!(
        d.http.post("https://127.0.0.1:1/", &[], "x").await,
        Outcome::Retry(_)
    ));
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    assert!(matches!(
        d.http.post(&closed, &[], "x").await,
        Outcome::Retry(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn api_destinations_time_out_after_5_seconds_http_endpoints_after_15() {
    let q = Arc::new(FakeQueues::default());
    let (d, _) = engine(q);
    // Takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..10 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            held.push(stream);
        }
    });
    let timed_out = |o: &Outcome| matches!(o, Outcome::Retry(f) if f.code == "TIMEOUT");
    let start = Instant::now();
    let o = d
        .http
        .invoke("POST", &url, &[], "{}", None, &http::Tokens::default())
        .await;
    assert!(timed_out(&o), "{o:?}");
    assert_eq!(start.elapsed().as_secs(), 5);
    let start = Instant::now();
    let o = d.http.post(&url, &[], "{}").await;
    assert!(timed_out(&o), "{o:?}");
    assert_eq!(start.elapsed().as_secs(), 15);
}

#[tokio::test(start_paused = true)]
async fn cancelled_lanes_stop_and_are_not_resumed() {
    let store: Arc<dyn crate::storage::Store> = Arc::new(MemoryStore::default());
    let q = Arc::new(FakeQueues::default());
    q.failures.lock().unwrap().insert("arn:q1".into(), 100);
    q.failures.lock().unwrap().insert("arn:q2".into(), 100);
    let durable = Arc::new(Durable::new(
        store.clone(),
        store.clone(),
        crate::storage::SyncPolicy::default(),
    ));
    let d = Delivery::open(durable.clone(), Clock::new(), q.clone()).unwrap();
    d.submit(vec![job("gone", "arn:q1", "a"), job("kept", "arn:q2", "b")])
        .wait()
        .await
        .unwrap();
    until(|| q.attempts.lock().unwrap().len() == 2).await;
    d.cancel("gone");
    until(|| pending_records(&durable) == 1).await;
    tokio::time::sleep(Duration::from_secs(45)).await;
    let tries = |arn: &str| {
        q.attempts
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == arn)
            .count()
    };
    assert_eq!(tries("arn:q1"), 1, "the cancelled lane was not tried again");
    assert!(tries("arn:q2") >= 3, "the other lane kept retrying");
    d.reset();
    let d = Delivery::open(
        Arc::new(Durable::new(
            store.clone(),
            store,
            crate::storage::SyncPolicy::default(),
        )),
        Clock::new(),
        q.clone(),
    )
    .unwrap();
    d.start(&|lane| lane != "kept");
    assert_eq!(
        pending_records(&d.durable),
        0,
        "a lane that is gone is forgotten at start"
    );
}

#[tokio::test(start_paused = true)]
async fn queue_jobs_are_pushed_at_once_and_leave_no_record() {
    let q = Arc::new(FakeQueues::default());
    let (d, durable) = engine(q.clone());
    let submitted = d.submit(vec![job("a", "arn:q", "x"), job("b", "arn:q", "y")]);
    assert_eq!(
        q.received.lock().unwrap().len(),
        2,
        "in the queue before submit returns"
    );
    submitted.wait().await.unwrap();
    assert_eq!(pending_records(&durable), 0);
    assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 2);
}

#[tokio::test(start_paused = true)]
async fn jobs_for_one_queue_are_pushed_together_and_refusals_dead_lettered() {
    let q = Arc::new(FakeQueues {
        rejected: HashSet::from([("arn:q".to_string(), "bad".to_string())]),
        ..Default::default()
    });
    let (d, durable) = engine(q.clone());
    let with_dlq = |lane: &str, body: &str| Job {
        dead_letter: Some("arn:dlq".into()),
        ..job(lane, "arn:q", body)
    };
    d.submit(vec![
        with_dlq("a", "1"),
        job("b", "arn:other", "x"),
        with_dlq("a", "bad"),
        with_dlq("a", "2"),
    ])
    .wait()
    .await
    .unwrap();
    assert_eq!(
        q.pushes.lock().unwrap()[..2],
        [("arn:q".to_string(), 3), ("arn:other".to_string(), 1)],
        "one push per queue, in order"
    );
    until(|| q.received.lock().unwrap().len() == 4).await;
    let got: Vec<(String, String)> = q
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(a, m)| (a.clone(), m.body.clone()))
        .collect();
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        got,
        vec![
            pair("arn:q", "1"),
            pair("arn:q", "2"),
            pair("arn:other", "x"),
            pair("arn:dlq", "bad")
        ]
    );
    until(|| pending_records(&durable) == 0).await;
    assert_eq!(d.counters.dead_lettered.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rate_is_shared_by_every_job_with_its_key() {
    let q = Arc::new(FakeQueues::default());
    let (d, _) = engine(q.clone());
    let start = Instant::now();
    let rate = Rate {
        key: "arn:dest".into(),
        per_second: 2,
    };
    // Two lanes (two rules' targets) on one API destination share its rate.
    let jobs = (0..4)
        .map(|i| Job {
            rate: Some(rate.clone()),
            ..job(if i % 2 == 0 { "a" } else { "b" }, "arn:q", "x")
        })
        .collect();
    d.submit(jobs).wait().await.unwrap();
    until(|| q.received.lock().unwrap().len() == 4).await;
    let mut times: Vec<u128> = q
        .attempts
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| (*t - start).as_millis())
        .collect();
    times.sort();
    assert_eq!(times, vec![0, 500, 1000, 1500]);
}

fn string_attrs(m: &QueueMessage) -> Vec<(String, String)> {
    m.attributes
        .iter()
        .map(|(k, a)| (k.clone(), a.string_value.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn dead_letters_describe_the_failure_when_the_job_asks() {
    let q = Arc::new(FakeQueues {
        missing: HashSet::from(["arn:gone".to_string()]),
        ..Default::default()
    });
    q.failures.lock().unwrap().insert("arn:busy".into(), 1000);
    let (d, _) = engine(q.clone());
    let eventbridge = |lane: &str, arn: &str, retry: RetryPolicy| Job {
        dead_letter: Some("arn:dlq".into()),
        dead_letter_attributes: BTreeMap::from([
            ("RULE_ARN".to_string(), "arn:rule".to_string()),
            ("TARGET_ARN".to_string(), arn.to_string()),
        ]),
        retry,
        ..job(lane, arn, lane)
    };
    let sns_style = Job {
        dead_letter: Some("arn:dlq".into()),
        retry: RetryPolicy::Never,
        ..job("sns", "arn:gone", "sns")
    };
    let unreachable = Job {
        target: Target::Unreachable {
            code: "NO_RESOURCE".into(),
            message: "no lambda here".into(),
        },
        ..eventbridge("lambda", "arn:fn", RetryPolicy::Never)
    };
    d.submit(vec![
        eventbridge("gone", "arn:gone", RetryPolicy::Never),
        eventbridge(
            "old",
            "arn:busy",
            RetryPolicy::Exponential {
                max_retries: 1000,
                max_age_s: 60,
            },
        ),
        eventbridge(
            "counted",
            "arn:busy",
            RetryPolicy::Exponential {
                max_retries: 2,
                max_age_s: 600,
            },
        ),
        sns_style,
        unreachable,
    ])
    .wait()
    .await
    .unwrap();
    until(|| q.received.lock().unwrap().len() == 5).await;
    let got: HashMap<String, QueueMessage> = q
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(arn, m)| {
            assert_eq!(arn, "arn:dlq");
            (m.body.clone(), m.clone())
        })
        .collect();
    let s = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        string_attrs(&got["gone"]),
        s(&[
            ("ERROR_CODE", "NO_RESOURCE"),
            ("ERROR_MESSAGE", "queue arn:gone does not exist"),
            ("RETRY_ATTEMPTS", "0"),
            ("RULE_ARN", "arn:rule"),
            ("TARGET_ARN", "arn:gone"),
        ])
    );
    let old = string_attrs(&got["old"]);
    assert!(old.contains(&(
        "EXHAUSTED_RETRY_CONDITION".into(),
        "MaximumEventAgeInSeconds".into()
    )));
    assert!(old.contains(&("ERROR_CODE".into(), "INTERNAL_ERROR".into())));
    let counted = string_attrs(&got["counted"]);
    assert!(counted.contains(&(
        "EXHAUSTED_RETRY_CONDITION".into(),
        "MaximumRetryAttempts".into()
    )));
    assert!(counted.contains(&("RETRY_ATTEMPTS".into(), "2".into())));
    assert_eq!(
        string_attrs(&got["lambda"])[..2],
        s(&[
            ("ERROR_CODE", "NO_RESOURCE"),
            ("ERROR_MESSAGE", "no lambda here")
        ])[..]
    );
    assert!(
        got["sns"].attributes.is_empty(),
        "SNS's dead letters are the message as it was"
    );
}

#[test]
fn older_job_records_still_decode() {
    // A record written before rates, dead-letter attributes and the new target kinds existed.
    let old = r#"{"lane":"l","ordered":false,"target":{"Queue":{"arn":"arn:q"}},"message":{"body":"b"},"retry":"Never","dead_letter":null,"attempts":2,"recorded_ms":5}"#;
    let job: Job = serde_json::from_str(old).unwrap();
    assert_eq!(job.rate, None);
    assert!(job.dead_letter_attributes.is_empty());
    assert_eq!(job.attempts, 2);
    let api = Job {
        target: Target::Api(Arc::new(ApiCall {
            method: "PUT".into(),
            url: "http://h/p".into(),
            headers: vec![],
            oauth: None,
        })),
        ..job.clone()
    };
    let back: Job = serde_json::from_str(&serde_json::to_string(&api).unwrap()).unwrap();
    assert_eq!(back, api);
}

/// An https endpoint whose certificate no trusted CA signed is refused, and the attempt's error
/// says why, so that the log explains the retries and the dead-lettering that follow.
#[tokio::test]
async fn untrusted_https_certificates_are_refused_with_the_reason() {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into()),
        )
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        if let Ok((mut tcp, _)) = listener.accept() {
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
            let _ = conn.complete_io(&mut tcp);
        }
    });
    match http::Http::default().post(&url, &[], "x").await {
        Outcome::Retry(why) => assert!(why.message.contains("UnknownIssuer"), "{why:?}"),
        other => panic!("{other:?}"),
    }
}

/// A long backlog on one lane waits by id past the first jobs (those the lane runs and
/// `HELD_PER_LANE` more); each is read back
/// from the store when its turn comes, whole: here every one of 300 jobs to a refused endpoint
/// reaches the dead-letter queue with its own body, and no record is left.
#[tokio::test]
async fn a_long_backlog_is_read_back_from_the_store_in_turn() {
    let queues = Arc::new(FakeQueues::default());
    let (d, durable) = engine(queues.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let jobs: Vec<Job> = (0..300)
        .map(|i| Job {
            target: Target::Http {
                url: format!("http://127.0.0.1:{port}/gone"),
                headers: vec![],
                compose: None,
            },
            retry: RetryPolicy::Never,
            dead_letter: Some("dlq".into()),
            ..job("backlog", "unused", &format!("body {i}"))
        })
        .collect();
    d.submit(jobs).wait().await.unwrap();
    for _ in 0..600 {
        if d.counters.dead_lettered.load(Ordering::Relaxed) == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(d.counters.dead_lettered.load(Ordering::Relaxed), 300);
    let mut bodies: Vec<String> = queues
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, m)| m.body.clone())
        .collect();
    bodies.sort();
    let mut want: Vec<String> = (0..300).map(|i| format!("body {i}")).collect();
    want.sort();
    assert_eq!(bodies, want);
    assert_eq!(
        d.counters.read_back.load(Ordering::Relaxed),
        (300 - LANE_CONCURRENCY - HELD_PER_LANE) as u64,
        "all but the first waiting jobs were held by id"
    );
    until(|| pending_records(&durable) == 0).await;
}

/// An `--https-ca` certificate that is no usable CA is refused when the client is made (at
/// start), not at the first delivery.
#[test]
fn unusable_extra_cas_are_refused_up_front() {
    let junk = rustls::pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    let err = http::Http::trusting(&[junk]).err().expect("refused");
    assert!(err.contains("not a usable CA"), "{err}");
}
