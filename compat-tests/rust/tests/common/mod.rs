//! Helpers shared by the integration tests (each test file is its own crate and includes this).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;

pub const ACCOUNT: &str = "000000000000";

/// Every attribute of the queue at `url`.
pub async fn all_attributes(
    client: &aws_sdk_sqs::Client,
    url: &str,
) -> std::collections::HashMap<QueueAttributeName, String> {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .expect("attributes")
}

/// (ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible) of the queue at `url`.
pub async fn queue_counts(client: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes");
    let a = out.attributes().expect("attributes");
    let n = |k: &QueueAttributeName| a.get(k).expect("count present").parse::<u64>().unwrap();
    (
        n(&QueueAttributeName::ApproximateNumberOfMessages),
        n(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}
pub const REGION: &str = "us-east-1";

pub fn endpoint() -> String {
    match std::env::var("FERRY_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => e.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "FERRY_ENDPOINT is not set: start ferry and run e.g. \
             FERRY_ENDPOINT=http://127.0.0.1:4566 cargo test --release --manifest-path compat-tests/rust/Cargo.toml"
        ),
    }
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_for(REGION, "test").await
}

pub async fn sdk_config_for(region: &'static str, access_key_id: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            access_key_id,
            "test",
            None,
            None,
            "ferry-compat",
        ))
        // Plain HTTP (no TLS stack compiled in): ferry listens on http://127.0.0.1.
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config().await)
}

pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "rs-{tag}-{:x}-{}-{}",
        nanos,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn queue_url(name: &str) -> String {
    format!("{}/{ACCOUNT}/{name}", endpoint())
}

pub fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
}

/// Deletes the queues it holds when dropped (best effort, on a fresh runtime thread).
pub struct Cleanup(pub Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let urls = std::mem::take(&mut self.0);
        if urls.is_empty() {
            return;
        }
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let client = sqs().await;
                for url in urls {
                    let _ = client.delete_queue().queue_url(url).send().await;
                }
            });
        })
        .join();
    }
}

/// Creates a queue with `attrs`, registered for deletion; its URL.
pub async fn create_queue(
    client: &aws_sdk_sqs::Client,
    cleanup: &mut Cleanup,
    name: &str,
    attrs: &[(QueueAttributeName, &str)],
) -> String {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    let url = req
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("QueueUrl")
        .to_string();
    cleanup.0.push(url.clone());
    url
}

/// Lower-case hex MD5 of `data`, as SQS writes its digests.
pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// MD5 of message attributes as SQS documents it: sorted by name; name, data type and value each
/// as a 4-byte big-endian length plus bytes, with a transport byte (1 string/number, 2 binary)
/// before the value.
pub fn md5_of_attributes(
    attrs: &std::collections::HashMap<String, aws_sdk_sqs::types::MessageAttributeValue>,
) -> String {
    fn put(buf: &mut Vec<u8>, b: &[u8]) {
        buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
        buf.extend_from_slice(b);
    }
    let mut names: Vec<&String> = attrs.keys().collect();
    names.sort();
    let mut buf = Vec::new();
    for name in names {
        let v = &attrs[name];
        put(&mut buf, name.as_bytes());
        put(&mut buf, v.data_type().as_bytes());
        if let Some(s) = v.string_value() {
            buf.push(1);
            put(&mut buf, s.as_bytes());
        } else if let Some(b) = v.binary_value() {
            buf.push(2);
            put(&mut buf, b.as_ref());
        }
    }
    md5_hex(&buf)
}
