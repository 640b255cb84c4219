//! HTTP targets: one pooled hyper client for every endpoint, a timeout per attempt, and the
//! outcome classified as AWS classifies it (2xx delivered; 429, 5xx and connection failures worth
//! retrying; any other status final).

use super::Outcome;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// How long one attempt may take, connect to last byte of the answer's head.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// The shared client.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build(connector);
        Http { client }
    }
}

impl Http {
    /// POSTs `body` with `headers` to `url`.
    pub async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> Outcome {
        if !url.starts_with("http://") {
            // No TLS stack in ferry: an https endpoint cannot be reached; retried like any
            // endpoint that does not answer.
            return Outcome::Retry(format!("cannot reach {url}: only http:// is delivered"));
        }
        let mut req = hyper::Request::post(url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = match req.body(Full::new(Bytes::from(body.to_string()))) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("invalid request for {url}: {e}")),
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(req)).await {
            Err(_) => Outcome::Retry(format!("{url} did not answer within {ATTEMPT_TIMEOUT:?}")),
            Ok(Err(e)) => Outcome::Retry(format!("{url}: {e}")),
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                // Drain the body so that the connection goes back to the pool.
                let _ = tokio::time::timeout(
                    ATTEMPT_TIMEOUT,
                    http_body_util::BodyExt::collect(resp.into_body()),
                )
                .await;
                match status {
                    200..=299 => Outcome::Delivered,
                    429 | 500..=599 => Outcome::Retry(format!("{url} answered {status}")),
                    _ => Outcome::Failed(format!("{url} answered {status}")),
                }
            }
        }
    }
}
