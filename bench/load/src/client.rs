//! One keep-alive HTTP/1.1 connection per worker, signed requests, reconnecting when the server
//! closes (moto answers every request with `Connection: close`).

use crate::endpoint::Endpoint;
use crate::sign::Signer;
use crate::wire::Call;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;

/// Why a call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with a non-2xx status (and this body).
    Http(u16, Bytes),
    /// No answer: connect, I/O, protocol error or timeout.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Http(status, body) => {
                write!(f, "HTTP {status}: {}", crate::wire::describe_error(body))
            }
            CallError::Transport(e) => write!(f, "transport: {e}"),
        }
    }
}

/// A worker's connection to one endpoint.
pub struct Conn {
    endpoint: Arc<Endpoint>,
    signer: Arc<Signer>,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened so far (1 when the server keeps them alive).
    pub connects: u64,
}

type Request = http::Request<Full<Bytes>>;

impl Conn {
    /// Not connected yet: the first call connects. Every call is bounded by `timeout`.
    pub fn new(endpoint: Arc<Endpoint>, signer: Arc<Signer>, timeout: Duration) -> Conn {
        Conn {
            endpoint,
            signer,
            timeout,
            sender: None,
            connects: 0,
        }
    }

    async fn connect(&mut self) -> Result<(), CallError> {
        self.sender = None;
        let transport =
            |what: &str, e: &dyn std::fmt::Display| CallError::Transport(format!("{what}: {e}"));
        let stream = match TcpStream::connect(self.endpoint.addr).await {
            Ok(s) => s,
            Err(e) => {
                // A server that is down refuses at once: pause so a worker does not spin on it.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return Err(transport("connect", &e));
            }
        };
        stream
            .set_nodelay(true)
            .map_err(|e| transport("nodelay", &e))?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| transport("handshake", &e))?;
        tokio::spawn(async move {
            let _ = conn.await; // ends when the server closes or the sender is dropped
        });
        self.connects += 1;
        self.sender = Some(sender);
        Ok(())
    }

    fn request(&self, call: &Call) -> Result<Request, CallError> {
        let host = self.endpoint.host.as_str();
        let mut headers: Vec<(&str, &str)> = vec![("host", host)];
        if let Some(ct) = call.content_type {
            headers.push(("content-type", ct));
        }
        if let Some(t) = &call.target {
            headers.push(("x-amz-target", t));
        }
        let signed = self
            .signer
            .sign(call.service, host, &headers, &call.body, SystemTime::now())
            .map_err(CallError::Transport)?;
        let mut b = http::Request::post("/")
            .header(HOST, host)
            .header(CONTENT_LENGTH, call.body.len());
        if let Some(ct) = call.content_type {
            b = b.header(CONTENT_TYPE, ct);
        }
        if let Some(t) = &call.target {
            b = b.header("x-amz-target", t.as_str());
        }
        for (k, v) in &signed {
            b = b.header(k.as_str(), v.as_str());
        }
        b.body(Full::new(call.body.clone()))
            .map_err(|e| CallError::Transport(format!("request: {e}")))
    }

    /// Sends `call`, signed now; the body of a 2xx answer, else why not. At most `timeout`.
    pub async fn call(&mut self, call: &Call) -> Result<Bytes, CallError> {
        let req = self.request(call)?;
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(r) => r,
            Err(_) => {
                self.sender = None; // the answer may still come: never reuse this connection
                Err(CallError::Transport(format!(
                    "no answer within {:?}",
                    self.timeout
                )))
            }
        }
    }

    async fn exchange(&mut self, req: Request) -> Result<Bytes, CallError> {
        let mut req = req;
        // A connection the server closed while idle is replaced, once, before the request is sent;
        // a request that may have reached the server is never sent twice.
        for attempt in 0..2 {
            if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
                self.connect().await?;
            }
            let sender = self.sender.as_mut().expect("connected above");
            if sender.ready().await.is_err() {
                self.sender = None;
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => return self.read(resp).await,
                Err(mut e) => {
                    self.sender = None;
                    match e.take_message() {
                        Some(unsent) if attempt == 0 => req = unsent,
                        _ => return Err(CallError::Transport(e.into_error().to_string())),
                    }
                }
            }
        }
        Err(CallError::Transport(
            "connection closed before the request could be sent".into(),
        ))
    }

    async fn read(
        &mut self,
        resp: http::Response<hyper::body::Incoming>,
    ) -> Result<Bytes, CallError> {
        let close = resp
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let status = resp.status();
        let body = match resp.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                self.sender = None;
                return Err(CallError::Transport(format!("reading the answer: {e}")));
            }
        };
        if close {
            self.sender = None;
        }
        if status.is_success() {
            Ok(body)
        } else {
            Err(CallError::Http(status.as_u16(), body))
        }
    }
}
