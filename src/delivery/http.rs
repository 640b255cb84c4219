//! HTTP targets: one pooled hyper client for every endpoint, http:// and https://, a timeout per
//! attempt, and the outcome classified as AWS classifies it (2xx delivered; 429, 5xx and
//! connection failures worth retrying; any other status final).
//!
//! **Which https endpoints are trusted.** AWS delivers only to endpoints whose certificate chains
//! to a trusted certificate authority and names the endpoint's host; a self-signed certificate is
//! refused. ferry keeps that rule and makes it usable locally: it trusts Mozilla's roots (the set
//! browsers ship, from `webpki-roots`), the system's roots (`/etc/ssl/certs`, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`), and the certificates of an optional PEM file given with `--https-ca` /
//! `FERRY_HTTPS_CA` (a local development CA such as mkcert's). Host names are checked as usual.
//! A refused certificate fails the attempt like an endpoint that does not answer: the delivery
//! is retried by the subscription's policy and then dead-lettered, and the log names the reason.

use super::Outcome;
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
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long one attempt may take, connect to last byte of the answer's head.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// POSTs `body` with `headers` to `url`.
    pub async fn post(&self, url: &str, headers: &[(String, String)], body: &str) -> Outcome {
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
            Ok(Err(e)) => Outcome::Retry(format!("{url}: {}", describe(&e))),
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
