//! https:// subscriptions against a real TLS server on 127.0.0.1 whose certificate is signed by a
//! CA this test makes: trusted when ferry is given that CA with `--https-ca` (confirmation, then a
//! notification), refused without it (nothing reaches the endpoint, the attempts fail).

#[path = "support/server.rs"]
mod server;

use ferry::Config;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use server::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A CA and a server certificate for 127.0.0.1 that it signed.
struct Pki {
    ca_pem: String,
    server: rustls::ServerConfig,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "ferry test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca_cert, &ca_key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server,
    }
}

/// What the endpoint saw: each request's (headers, body), and each failed TLS handshake's error.
#[derive(Default)]
struct Seen {
    requests: Vec<(Vec<(String, String)>, String)>,
    handshake_errors: Vec<String>,
}

/// A real https endpoint on 127.0.0.1 that answers 200 to every request.
fn tls_endpoint(config: rustls::ServerConfig) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/hook", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let keep = seen.clone();
    let config = Arc::new(config);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(tcp) = stream else { return };
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                keep.lock().unwrap().handshake_errors.push(e.to_string());
                continue;
            }
            let mut reader = BufReader::new(&mut tls);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.is_empty() {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap_or(0));
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            keep.lock()
                .unwrap()
                .requests
                .push((headers, String::from_utf8_lossy(&body).into_owned()));
            let _ =
                tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (url, seen)
}

fn wait_until(limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sns(f: &Server, pairs: &[(&str, &str)]) -> (u16, String) {
    sns_via(f, &[], pairs)
}

/// An SNS request with `extra` headers (a proxy's `X-Forwarded-Proto`).
fn sns_via(f: &Server, extra: &[(&str, &str)], pairs: &[(&str, &str)]) -> (u16, String) {
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("Version", "2010-03-31")
        .extend_pairs(pairs)
        .finish();
    let mut headers = vec![
        (
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x",
        ),
    ];
    headers.extend_from_slice(extra);
    let (status, _, body) = f.request("POST", "/", &headers, form.as_bytes());
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn xml_field(xml: &str, tag: &str) -> String {
    let start = xml
        .find(&format!("<{tag}>"))
        .unwrap_or_else(|| panic!("{xml}"))
        + tag.len()
        + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap() + start;
    xml[start..end].replace("&amp;", "&")
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[test]
fn https_endpoints_signed_by_a_trusted_ca_get_confirmation_and_notifications() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let config = Config {
        https_ca: Some(ca_file),
        ..Config::in_memory()
    };
    config.validate().unwrap();
    let f = Server::start(config);
    let (url, seen) = tls_endpoint(pki.server);
    let (_, body) = sns(&f, &[("Action", "CreateTopic"), ("Name", "secure")]);
    let topic = xml_field(&body, "TopicArn");
    let (status, body) = sns(
        &f,
        &[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "https"),
            ("Endpoint", &url),
        ],
    );
    assert_eq!(status, 200, "{body}");

    wait_until(Duration::from_secs(10), || {
        !seen.lock().unwrap().requests.is_empty()
    });
    let (headers, body) = seen.lock().unwrap().requests[0].clone();
    assert_eq!(
        header(&headers, "x-amz-sns-message-type"),
        Some("SubscriptionConfirmation")
    );
    let confirmation: Value = serde_json::from_str(&body).unwrap();
    let (status, body) = sns(
        &f,
        &[
            ("Action", "ConfirmSubscription"),
            ("TopicArn", &topic),
            ("Token", confirmation["Token"].as_str().unwrap()),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let sub = xml_field(&body, "SubscriptionArn");

    let (_, body) = sns(
        &f,
        &[
            ("Action", "Publish"),
            ("TopicArn", &topic),
            ("Message", "over tls"),
        ],
    );
    let message_id = xml_field(&body, "MessageId");
    wait_until(Duration::from_secs(10), || {
        seen.lock().unwrap().requests.len() >= 2
    });
    let seen = seen.lock().unwrap();
    assert!(
        seen.handshake_errors.is_empty(),
        "{:?}",
        seen.handshake_errors
    );
    let (headers, body) = seen.requests[1].clone();
    assert_eq!(
        header(&headers, "x-amz-sns-message-type"),
        Some("Notification")
    );
    assert_eq!(
        header(&headers, "x-amz-sns-subscription-arn"),
        Some(sub.as_str())
    );
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(n["Message"], "over tls");
    assert_eq!(n["MessageId"], message_id.as_str());
    drop(seen);
    f.stop();
}

#[test]
fn https_endpoints_with_an_untrusted_certificate_get_nothing() {
    let pki = pki();
    // ferry is not told about the test's CA: Mozilla's and the system's roots do not cover it.
    let f = Server::start(Config::in_memory());
    let (url, seen) = tls_endpoint(pki.server);
    let (_, body) = sns(&f, &[("Action", "CreateTopic"), ("Name", "untrusted")]);
    let topic = xml_field(&body, "TopicArn");
    let (status, body) = sns(
        &f,
        &[
            ("Action", "Subscribe"),
            ("TopicArn", &topic),
            ("Protocol", "https"),
            ("Endpoint", &url),
        ],
    );
    assert_eq!(status, 200, "{body}");
    wait_until(Duration::from_secs(10), || {
        !seen.lock().unwrap().handshake_errors.is_empty()
    });
    let seen = seen.lock().unwrap();
    assert!(
        seen.requests.is_empty(),
        "nothing may cross an untrusted TLS connection"
    );
    // The client broke off the handshake because it does not know the issuer.
    assert!(
        seen.handshake_errors[0].contains("UnknownCA"),
        "{:?}",
        seen.handshake_errors
    );
}

/// Behind a TLS-terminating proxy (`X-Forwarded-Proto: https`) the links in SNS messages are
/// https, as AWS's are; without it they are http.
#[test]
fn links_follow_the_scheme_a_proxy_reports() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let f = Server::start(Config {
        https_ca: Some(ca_file),
        ..Config::in_memory()
    });
    let (url, seen) = tls_endpoint(pki.server);
    let proxied = [("X-Forwarded-Proto", "https")];
    let (_, body) = sns(&f, &[("Action", "CreateTopic"), ("Name", "proxied")]);
    let topic = xml_field(&body, "TopicArn");
    let subscribe = [
        ("Action", "Subscribe"),
        ("TopicArn", topic.as_str()),
        ("Protocol", "https"),
        ("Endpoint", url.as_str()),
    ];
    sns_via(&f, &proxied, &subscribe);
    wait_until(Duration::from_secs(10), || {
        !seen.lock().unwrap().requests.is_empty()
    });
    let confirmation: Value = serde_json::from_str(&seen.lock().unwrap().requests[0].1).unwrap();
    let base = format!("https://{}/", f.addr);
    for link in ["SubscribeURL", "SigningCertURL"] {
        let link = confirmation[link].as_str().unwrap();
        assert!(link.starts_with(&base), "{link}");
    }
    let (_, body) = sns(
        &f,
        &[
            ("Action", "ConfirmSubscription"),
            ("TopicArn", &topic),
            ("Token", confirmation["Token"].as_str().unwrap()),
        ],
    );
    xml_field(&body, "SubscriptionArn");
    sns_via(
        &f,
        &proxied,
        &[
            ("Action", "Publish"),
            ("TopicArn", &topic),
            ("Message", "p"),
        ],
    );
    sns(
        &f,
        &[
            ("Action", "Publish"),
            ("TopicArn", &topic),
            ("Message", "d"),
        ],
    );
    wait_until(Duration::from_secs(10), || {
        seen.lock().unwrap().requests.len() >= 3
    });
    let seen = seen.lock().unwrap();
    let n: Vec<Value> = seen.requests[1..3]
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    let proxied = n.iter().find(|m| m["Message"] == "p").unwrap();
    let direct = n.iter().find(|m| m["Message"] == "d").unwrap();
    for link in ["UnsubscribeURL", "SigningCertURL"] {
        assert!(
            proxied[link].as_str().unwrap().starts_with(&base),
            "{proxied}"
        );
        let plain = format!("http://{}/", f.addr);
        assert!(
            direct[link].as_str().unwrap().starts_with(&plain),
            "{direct}"
        );
    }
}
