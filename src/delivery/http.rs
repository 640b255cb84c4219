//! HTTP targets: one pooled hyper client for every endpoint, http:// and https://, a timeout per
//! attempt, and the outcome classified as AWS classifies it (2xx delivered; 429, 5xx and
//! connection failures worth retrying; any other status final, except that API destinations also
//! retry 401, 407 and 409). API destinations add their method, headers and OAuth
//! client-credentials tokens.
//!
//! **Which https endpoints are trusted.** AWS delivers only to endpoints whose certificate chains
//! to a trusted certificate authority and names the endpoint's host; a self-signed certificate is
//! refused. ferry keeps that rule and makes it usable locally: it trusts Mozilla's roots (the set
//! browsers ship, from `webpki-roots`), the system's roots (`/etc/ssl/certs`, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`), and the certificates of an optional PEM file given with `--https-ca` /
//! `FERRY_HTTPS_CA` (a local development CA such as mkcert's). Host names are checked as usual.
//! A refused certificate fails the attempt like an endpoint that does not answer: the delivery
//! is retried by the subscription's policy and then dead-lettered, and the log names the reason.

use super::{Failure, Outcome};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long one attempt may take, connect to last byte of the answer's head: SNS gives an
/// HTTP/S endpoint 15 seconds.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// The same for API destinations (and their OAuth token requests): EventBridge times a request
/// out after 5 seconds, and retries it under the target's retry policy.
pub const API_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// The shared client.
pub struct Http {
    client: Client<LazyConnector, Full<Bytes>>,
}

/// Reads the certificates of a PEM file (`--https-ca`); an error names the file and the reason.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// Adds `extra` to `roots`; an error says which certificate is not a usable CA.
fn add_extra(roots: &mut RootCertStore, extra: &[CertificateDer<'static>]) -> Result<(), String> {
    for cert in extra {
        roots
            .add(cert.clone())
            .map_err(|e| format!("--https-ca: a certificate is not a usable CA: {e}"))?;
    }
    Ok(())
}

/// The roots https deliveries trust: Mozilla's, the system's, and `extra` (already checked).
fn roots(extra: &[CertificateDer<'static>]) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let system = rustls_native_certs::load_native_certs();
    if !system.errors.is_empty() {
        tracing::debug!(errors = ?system.errors, "some system CA certificates could not be read");
    }
    // Unparsable system certificates are skipped, as every TLS client does.
    roots.add_parsable_certificates(system.certs);
    if let Err(e) = add_extra(&mut roots, extra) {
        tracing::error!(error = %e, "https deliveries do not trust --https-ca");
    }
    roots
}

/// http:// and https:// connections. The TLS part (and the reading of the system's roots, a few
/// milliseconds) is made on the first delivery rather than at start.
#[derive(Clone)]
struct LazyConnector {
    extra: Arc<Vec<CertificateDer<'static>>>,
    built: Arc<OnceLock<HttpsConnector<HttpConnector>>>,
}

impl LazyConnector {
    fn connector(&self) -> HttpsConnector<HttpConnector> {
        self.built
            .get_or_init(|| {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .expect("ring supports TLS 1.2 and 1.3")
                    .with_root_certificates(roots(&self.extra))
                    .with_no_client_auth();
                let mut tcp = HttpConnector::new();
                tcp.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
                tcp.set_nodelay(true);
                tcp.enforce_http(false);
                hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(tcp)
            })
            .clone()
    }
}

impl tower_service::Service<Uri> for LazyConnector {
    type Response = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Response;
    type Error = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Error;
    type Future = <HttpsConnector<HttpConnector> as tower_service::Service<Uri>>::Future;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Plain TCP connectors are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        self.connector().call(uri)
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::trusting(&[]).expect("no extra CA, nothing to refuse")
    }
}

impl Http {
    /// A client that also trusts the CA certificates `extra` (see the module's trust rule); an
    /// unusable one is refused here, at start.
    pub fn trusting(extra: &[CertificateDer<'static>]) -> Result<Http, String> {
        add_extra(&mut RootCertStore::empty(), extra)?;
        let connector = LazyConnector {
            extra: Arc::new(extra.to_vec()),
            built: Arc::default(),
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(32)
            .build(connector);
        Ok(Http { client })
    }
}

/// An error with its causes (hyper's own text says only "client error (Connect)"; the cause says
/// "invalid peer certificate: UnknownIssuer").
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Http {
    /// POSTs `body` with `headers` to `url` (SNS's HTTP subscriptions).
    pub async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> Outcome {
        match self.send("POST", url, headers, body, false).await {
            Ok(_) => Outcome::Delivered,
            Err((f, retry)) => outcome(f, retry),
        }
    }

    /// Invokes an API destination: `method` to `url` with `headers`, authorized by `oauth` when
    /// the connection uses OAuth client credentials (a token from the connection's authorization
    /// endpoint, cached in `tokens` until it expires and fetched again once on a 401). Besides
    /// 429 and 5xx, EventBridge retries 401, 407 and 409; any other status is final.
    pub async fn invoke(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &str,
        oauth: Option<&OAuth>,
        tokens: &Tokens,
    ) -> Outcome {
        let Some(oauth) = oauth else {
            return match self.send(method, url, headers, body, true).await {
                Ok(_) => Outcome::Delivered,
                Err((f, retry)) => outcome(f, retry),
            };
        };
        let mut fresh = false;
        loop {
            let token = match self.token(oauth, tokens, fresh).await {
                Ok(t) => t,
                Err((f, retry)) => return outcome(f, retry),
            };
            let mut with_token = headers.to_vec();
            with_token.push(("authorization".into(), format!("Bearer {token}")));
            match self.send(method, url, &with_token, body, true).await {
                Ok(_) => return Outcome::Delivered,
                Err((f, _)) if f.status == Some(401) && !fresh => {
                    tracing::debug!(%url, why = %f.message, "token refused; fetching a new one");
                    tokens.forget(oauth);
                    fresh = true;
                }
                Err((f, retry)) => return outcome(f, retry),
            }
        }
    }

    /// A bearer token for `oauth`: the cached one unless `fresh`, else one requested from the
    /// authorization endpoint with the client id and secret as Basic credentials and the
    /// connection's OAuth parameters (body parameters form-encoded).
    async fn token(&self, oauth: &OAuth, tokens: &Tokens, fresh: bool) -> Result<String, Fail> {
        if !fresh && let Some(t) = tokens.get(oauth) {
            return Ok(t);
        }
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", oauth.client_id, oauth.client_secret));
        let mut headers = oauth.headers.clone();
        headers.push(("authorization".into(), format!("Basic {basic}")));
        let mut body = String::new();
        if !oauth.body.is_empty() {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(oauth.body.iter())
                .finish();
        }
        let url = with_query(&oauth.endpoint, &oauth.query);
        let answer = self
            .send(&oauth.method, &url, &headers, &body, true)
            .await
            .map_err(|(mut f, retry)| {
                f.message = format!("OAuth token request failed: {}", f.message);
                (f, retry)
            })?;
        let parsed: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        let Some(token) = parsed.get("access_token").and_then(|t| t.as_str()) else {
            return Err((
                Failure::new(
                    "SDK_CLIENT_ERROR",
                    format!("{} answered no access_token", oauth.endpoint),
                ),
                true,
            ));
        };
        let expires_in = parsed
            .get("expires_in")
            .and_then(|e| e.as_u64().or_else(|| e.as_str()?.parse().ok()))
            .unwrap_or(3600);
        tokens.put(oauth, token, Duration::from_secs(expires_in));
        Ok(token.to_string())
    }

    /// One request; the answer's body on 2xx, else the failure and whether it is worth
    /// retrying (`api`: with API destinations' wider set of retried statuses).
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &str,
        api: bool,
    ) -> Result<Bytes, Fail> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = match req.body(Full::new(Bytes::from(body.to_string()))) {
            Ok(r) => r,
            Err(e) => {
                return Err((
                    Failure::new(
                        "INVALID_PARAMETER",
                        format!("invalid request for {url}: {e}"),
                    ),
                    false,
                ));
            }
        };
        let limit = if api {
            API_ATTEMPT_TIMEOUT
        } else {
            ATTEMPT_TIMEOUT
        };
        match tokio::time::timeout(limit, self.client.request(req)).await {
            Err(_) => Err((
                Failure::new("TIMEOUT", format!("{url} did not answer within {limit:?}")),
                true,
            )),
            Ok(Err(e)) => Err((
                Failure::new("CONNECTION_FAILURE", format!("{url}: {}", describe(&e))),
                true,
            )),
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                // Read the body so that the connection goes back to the pool.
                let got =
                    tokio::time::timeout(limit, http_body_util::BodyExt::collect(resp.into_body()))
                        .await;
                let answer = match got {
                    Ok(Ok(b)) => b.to_bytes(),
                    _ => Bytes::new(),
                };
                if (200..300).contains(&status) {
                    return Ok(answer);
                }
                let retry =
                    matches!(status, 429 | 500..=599) || (api && matches!(status, 401 | 407 | 409));
                let code = if status == 429 {
                    "THROTTLING"
                } else {
                    "SDK_CLIENT_ERROR"
                };
                let mut f = Failure::new(code, format!("{url} answered {status}"));
                f.status = Some(status);
                Err((f, retry))
            }
        }
    }
}

/// A failure and whether it is worth retrying.
type Fail = (Failure, bool);

fn outcome(f: Failure, retry: bool) -> Outcome {
    if retry {
        Outcome::Retry(f)
    } else {
        Outcome::Failed(f)
    }
}

/// `url` with `query` appended (percent-encoded).
pub fn with_query(url: &str, query: &[(String, String)]) -> String {
    if query.is_empty() {
        return url.to_string();
    }
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter())
        .finish();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{q}")
}

/// An EventBridge connection's OAuth client-credentials settings, carried by each job so that
/// a pending delivery needs nothing else after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuth {
    pub endpoint: String,
    pub method: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Vec<(String, String)>,
}

impl OAuth {
    fn key(&self) -> String {
        format!("{} {} {}", self.method, self.endpoint, self.client_id)
    }
}

/// Bearer tokens by (endpoint, client), each until it expires (on tokio's clock).
#[derive(Default)]
pub struct Tokens(Mutex<HashMap<String, (String, tokio::time::Instant)>>);

impl Tokens {
    fn get(&self, o: &OAuth) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&o.key())
            .filter(|(_, until)| *until > tokio::time::Instant::now())
            .map(|(t, _)| t.clone())
    }

    fn put(&self, o: &OAuth, token: &str, lifetime: Duration) {
        // Renewed a little before it runs out, so a request never carries a token at its end.
        let margin = Duration::from_secs(30).min(lifetime / 10);
        let until = tokio::time::Instant::now() + lifetime - margin;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(o.key(), (token.to_string(), until));
    }

    fn forget(&self, o: &OAuth) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&o.key());
    }
}
