//! SigV4 signing exactly as the AWS SDKs do it (the `aws-sigv4` crate the Rust SDK uses), with the
//! credentials local brokers expect: `test`/`test` in `us-east-1`.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

/// Signs requests with one set of credentials and one region.
pub struct Signer {
    identity: Identity,
    region: String,
}

impl Signer {
    /// A signer for `access_key`/`secret` in `region`.
    pub fn new(access_key: &str, secret: &str, region: &str) -> Self {
        let identity = Credentials::new(access_key, secret, None, None, "ferry-load").into();
        Signer {
            identity,
            region: region.to_string(),
        }
    }

    /// `test`/`test` in `us-east-1`: what SDK users point at local brokers.
    pub fn local() -> Self {
        Signer::new("test", "test", "us-east-1")
    }

    /// The headers to add (`authorization`, `x-amz-date`) to a POST of `body` to `/` on `host`,
    /// for signing name `service`, given the request's other `headers` (which must include
    /// `host`; all of them are signed), at `time`.
    pub fn sign(
        &self,
        service: &str,
        host: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, String> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        let uri = format!("http://{host}/");
        let request = SignableRequest::new(
            "POST",
            &uri,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("signable request: {e}"))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| format!("signing: {e}"))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::{Digest, Sha256};
    use std::time::Duration;

    fn hmac(key: &[u8], data: &str) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    }

    fn sha_hex(data: &[u8]) -> String {
        hex::encode(Sha256::digest(data))
    }

    /// The signature computed from the SigV4 specification step by step, independently of
    /// aws-sigv4: canonical request, string to sign, derived key.
    fn by_the_book(headers: &[(&str, &str)], amz_date: &str, service: &str, body: &[u8]) -> String {
        let mut h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        h.push(("x-amz-date".into(), amz_date.into()));
        h.sort();
        let canonical_headers: String = h.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let signed: Vec<&str> = h.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical = format!(
            "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
            sha_hex(body)
        );
        let day = &amz_date[..8];
        let scope = format!("{day}/us-east-1/{service}/aws4_request");
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha_hex(canonical.as_bytes())
        );
        let mut key = hmac(b"AWS4test", day);
        for part in ["us-east-1", service, "aws4_request"] {
            key = hmac(&key, part);
        }
        let signature = hex::encode(hmac(&key, &to_sign));
        format!(
            "AWS4-HMAC-SHA256 Credential=test/{scope}, SignedHeaders={signed}, Signature={signature}"
        )
    }

    #[test]
    fn one_request_at_a_fixed_time_matches_the_specification() {
        // 2026-11-30T06:30:00Z
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_020_200);
        let body = br#"{"QueueUrl":"http://127.0.0.1:4566/000000000000/q","MessageBody":"hi"}"#;
        let headers = [
            ("host", "127.0.0.1:4566"),
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "AmazonSQS.SendMessage"),
        ];
        let added = Signer::local()
            .sign("sqs", "127.0.0.1:4566", &headers, body, time)
            .unwrap();
        let get = |name: &str| {
            added
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("x-amz-date").as_deref(), Some("20261130T063000Z"));
        let expected = by_the_book(&headers, "20261130T063000Z", "sqs", body);
        assert_eq!(get("authorization").as_deref(), Some(expected.as_str()));
        assert!(expected.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target,"));
        // A different body, service or time changes the signature.
        let other = Signer::local()
            .sign("sqs", "127.0.0.1:4566", &headers, b"{}", time)
            .unwrap();
        assert_ne!(other, added);
        let events = Signer::local()
            .sign("events", "127.0.0.1:4566", &headers, body, time)
            .unwrap();
        assert!(
            events
                .iter()
                .any(|(_, v)| v.contains("/us-east-1/events/aws4_request"))
        );
    }
}
