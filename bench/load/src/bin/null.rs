//! ferry-load-null: the least a server can do and still pass `ferry-load`'s sqs-send and
//! sqs-roundtrip (the same awsJson calls brokerload makes). It keeps queues in memory, checks no
//! signature, computes no digest (every MD5 is zeros), has no visibility timeout (a received
//! message is gone; deletes only answer) and answers a long poll as soon as one message is there.
//!
//! It is not a broker. Loaded like ferry, it measures what the client, HTTP and a JSON codec cost
//! for these scenarios on this machine: the most any SQS server could reach here, beside
//! `ferry-load-hello`'s empty POSTs.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Answers SQS's awsJson calls from memory, on the loopback only.
#[derive(Parser, Debug)]
#[command(name = "ferry-load-null", version)]
struct Args {
    /// Where to listen: 127.0.0.1:PORT or localhost:PORT.
    #[arg(long, default_value = "127.0.0.1:4598")]
    listen: String,
    /// Server threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Default)]
struct Queue {
    ready: Mutex<VecDeque<(String, String)>>,
    bell: Notify,
}

static QUEUES: LazyLock<Mutex<HashMap<String, Arc<Queue>>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
const ZEROS: &str = "00000000000000000000000000000000";

type Answer = Result<Value, (&'static str, String)>;

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str, (&'static str, String)> {
    v[name]
        .as_str()
        .ok_or_else(|| ("MissingParameter", format!("{name} is required")))
}

fn queue(v: &Value) -> Result<Arc<Queue>, (&'static str, String)> {
    let url = field(v, "QueueUrl")?;
    let name = url.rsplit('/').next().unwrap_or_default();
    let queues = QUEUES.lock().unwrap();
    queues
        .get(name)
        .cloned()
        .ok_or_else(|| ("QueueDoesNotExist", format!("no queue {name:?}")))
}

async fn act(action: &str, host: &str, v: Value) -> Answer {
    Ok(match action {
        "CreateQueue" | "GetQueueUrl" => {
            let name = field(&v, "QueueName")?;
            if action == "CreateQueue" {
                QUEUES.lock().unwrap().entry(name.to_string()).or_default();
            }
            json!({"QueueUrl": format!("http://{host}/000000000000/{name}")})
        }
        "GetQueueAttributes" => {
            queue(&v)?;
            let name = field(&v, "QueueUrl")?
                .rsplit('/')
                .next()
                .unwrap_or_default();
            json!({"Attributes": {"QueueArn": format!("arn:aws:sqs:us-east-1:000000000000:{name}")}})
        }
        "SendMessage" => {
            let q = queue(&v)?;
            let id = format!(
                "00000000-0000-4000-8000-{:012x}",
                NEXT_ID.fetch_add(1, Ordering::Relaxed)
            );
            let body = field(&v, "MessageBody")?.to_string();
            q.ready.lock().unwrap().push_back((id.clone(), body));
            q.bell.notify_one();
            json!({"MD5OfMessageBody": ZEROS, "MessageId": id})
        }
        "ReceiveMessage" => {
            let q = queue(&v)?;
            let max = v["MaxNumberOfMessages"].as_u64().unwrap_or(1).clamp(1, 10) as usize;
            let wait = v["WaitTimeSeconds"].as_u64().unwrap_or(0).min(20);
            let deadline = Instant::now() + Duration::from_secs(wait);
            let got = loop {
                let got: Vec<_> = {
                    let mut ready = q.ready.lock().unwrap();
                    let n = max.min(ready.len());
                    ready.drain(..n).collect()
                };
                // A wake-up this poll does not use goes on to the next one waiting.
                if !got.is_empty() && !q.ready.lock().unwrap().is_empty() {
                    q.bell.notify_one();
                }
                if !got.is_empty() || Instant::now() >= deadline {
                    break got;
                }
                let _ = tokio::time::timeout_at(deadline, q.bell.notified()).await;
            };
            if got.is_empty() {
                json!({})
            } else {
                let messages: Vec<Value> = got
                    .into_iter()
                    .map(|(id, body)| json!({"MessageId": id, "ReceiptHandle": id, "MD5OfBody": ZEROS, "Body": body}))
                    .collect();
                json!({"Messages": messages})
            }
        }
        "DeleteMessageBatch" => {
            queue(&v)?;
            let entries = v["Entries"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let ok: Vec<Value> = entries.iter().map(|e| json!({"Id": e["Id"]})).collect();
            json!({"Successful": ok, "Failed": []})
        }
        "DeleteMessage" | "PurgeQueue" => {
            queue(&v)?;
            json!({})
        }
        "DeleteQueue" => {
            let name = field(&v, "QueueUrl")?
                .rsplit('/')
                .next()
                .unwrap_or_default();
            QUEUES.lock().unwrap().remove(name);
            json!({})
        }
        _ => {
            return Err((
                "InvalidAction",
                format!("ferry-load-null does not answer {action:?}"),
            ));
        }
    })
}

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != hyper::Method::POST {
        // A readiness probe (`curl http://127.0.0.1:PORT/`).
        return Ok(Response::new(Full::new(Bytes::from_static(
            b"ferry-load-null",
        ))));
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (target, host) = (header("x-amz-target"), header("host"));
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = match (
        target.strip_prefix("AmazonSQS."),
        serde_json::from_slice(&body),
    ) {
        (Some(action), Ok(v)) => act(action, &host, v).await,
        (None, _) => Err((
            "InvalidAction",
            "only awsJson SQS calls are answered".into(),
        )),
        (_, Err(e)) => Err(("SerializationException", e.to_string())),
    };
    let (status, out) = match answer {
        Ok(v) => (StatusCode::OK, v),
        Err((code, message)) => (
            StatusCode::BAD_REQUEST,
            json!({"__type": format!("com.amazonaws.sqs#{code}"), "message": message}),
        ),
    };
    let mut resp = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(&out).unwrap_or_default(),
    )));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    Ok(resp)
}

fn main() {
    let args = Args::parse();
    ferry_load::serve::forever("ferry-load-null", &args.listen, args.threads, answer)
}
