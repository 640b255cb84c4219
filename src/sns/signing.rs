//! Message signatures: SignatureVersion 1 (SHA1withRSA) and 2 (SHA256withRSA) over AWS's string
//! to sign, with an RSA key and a self-signed X.509 certificate that ferry creates once, keeps in
//! the store and serves at `SigningCertURL`, so that SNS message validators accept ferry's
//! messages when told to trust its host.

use crate::storage::{Durable, Op, StoreResult, keys};
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

const KEY_NAME: &str = "sns-signing";
const RECORD_VERSION: u8 = 1;
const KEY_BITS: usize = 2048;

/// The signing key and its certificate.
pub struct Signer {
    key: RsaPrivateKey,
    /// The certificate, PEM-encoded, as `SigningCertURL` serves it.
    pub cert_pem: String,
    /// Names the certificate in its URL: `/SimpleNotificationService-<id>.pem`.
    pub cert_id: String,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    /// PKCS#8 DER of the private key, base64.
    key: String,
    cert_pem: String,
}

/// One key per process for volatile stores, so that in-memory servers (and tests) start fast.
static VOLATILE: OnceLock<Arc<Signer>> = OnceLock::new();

/// The signer. A stored key is loaded at start; without one (a fresh data directory, as in
/// every `docker run` of a CI job), generating an RSA key takes a few hundred milliseconds, so it
/// happens in a background thread rather than before ferry answers, and is stored once made. A
/// request that needs the key first waits for it (or makes it).
#[derive(Clone)]
pub struct LazySigner {
    cell: Arc<OnceLock<Arc<Signer>>>,
}

impl LazySigner {
    pub fn start(durable: &Arc<Durable>) -> StoreResult<LazySigner> {
        let cell: Arc<OnceLock<Arc<Signer>>> = Arc::default();
        if durable.is_volatile() {
            if let Some(s) = VOLATILE.get() {
                let _ = cell.set(s.clone());
                return Ok(LazySigner { cell });
            }
        } else if let Some(s) = Signer::load(durable)? {
            let _ = cell.set(Arc::new(s));
            return Ok(LazySigner { cell });
        }
        // The thread holds no strong reference to the store, so a server that stops meanwhile
        // releases its files at once.
        let (warm, store) = (cell.clone(), Arc::downgrade(durable));
        let spawned = std::thread::Builder::new()
            .name("ferry-sns-key".into())
            .spawn(move || {
                let made = Arc::new(Signer::generate(crate::clock::Clock::new().now_ms()));
                let used = warm.get_or_init(|| made).clone();
                match store.upgrade() {
                    Some(d) if d.is_volatile() => {
                        let _ = VOLATILE.set(used);
                    }
                    Some(d) => d.submit_detached(vec![used.record_op()]),
                    None => {}
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(%e, "could not prepare the SNS signing key in the background");
        }
        Ok(LazySigner { cell })
    }

    pub fn get(&self) -> &Arc<Signer> {
        self.cell
            .get_or_init(|| Arc::new(Signer::generate(crate::clock::Clock::new().now_ms())))
    }
}

impl Signer {
    /// The stored key, if there is a usable one.
    fn load(durable: &Durable) -> StoreResult<Option<Signer>> {
        let mut found = None;
        durable.scan(&keys::named(keys::SIGNING_KEY, KEY_NAME), &mut |_, v| {
            let s: Stored = crate::storage::decode_json(RECORD_VERSION, v, "signing key")?;
            found = Some(s);
            Ok(())
        })?;
        Ok(found.and_then(|s| Signer::from_stored(&s)))
    }

    /// The op that stores this key.
    fn record_op(&self) -> Op {
        let stored = Stored {
            key: base64::engine::general_purpose::STANDARD.encode(
                self.key
                    .to_pkcs8_der()
                    .map(|d| d.as_bytes().to_vec())
                    .unwrap_or_default(),
            ),
            cert_pem: self.cert_pem.clone(),
        };
        Op::Put(
            keys::named(keys::SIGNING_KEY, KEY_NAME),
            crate::storage::encode_json(RECORD_VERSION, &stored),
        )
    }

    fn from_stored(s: &Stored) -> Option<Signer> {
        let der = base64::engine::general_purpose::STANDARD
            .decode(&s.key)
            .ok()?;
        let key = RsaPrivateKey::from_pkcs8_der(&der).ok()?;
        let cert_id = cert_id(&RsaPublicKey::from(&key));
        Some(Signer {
            key,
            cert_pem: s.cert_pem.clone(),
            cert_id,
        })
    }

    /// A new key and a certificate valid from a day before `now_ms` for 30 years.
    fn generate(now_ms: u64) -> Signer {
        let mut rng = rsa::rand_core::OsRng;
        let key = RsaPrivateKey::new(&mut rng, KEY_BITS).expect("RSA key generation");
        let public = RsaPublicKey::from(&key);
        let spki = public
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default();
        let from = now_ms.saturating_sub(86_400_000);
        let until = from + 30 * 365 * 86_400_000;
        let tbs = der::tbs_certificate(&spki, from, until);
        let signature = SigningKey::<Sha256>::new(key.clone()).sign(&tbs).to_vec();
        let cert = der::certificate(&tbs, &signature);
        Signer {
            cert_id: cert_id(&public),
            cert_pem: pem(&cert),
            key,
        }
    }

    /// The signature of `text`, base64: SHA1withRSA for version "1", SHA256withRSA for "2".
    pub fn sign(&self, version: &str, text: &str) -> String {
        let bytes = if version == "2" {
            SigningKey::<Sha256>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        } else {
            SigningKey::<sha1::Sha1>::new(self.key.clone())
                .sign(text.as_bytes())
                .to_vec()
        };
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The path `SigningCertURL` names.
    pub fn cert_path(&self) -> String {
        format!("/SimpleNotificationService-{}.pem", self.cert_id)
    }
}

fn cert_id(public: &RsaPublicKey) -> String {
    let spki = public
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default();
    crate::ids::hex(&Sha256::digest(&spki)[..16])
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The few DER structures a self-signed certificate needs.
mod der {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    /// sha256WithRSAEncryption (1.2.840.113549.1.1.11) with NULL parameters.
    fn sha256_with_rsa() -> Vec<u8> {
        seq(&[
            &[
                0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B,
            ],
            &[0x05, 0x00],
        ])
    }

    /// `CN=sns.amazonaws.com` — the name SNS's own certificates carry.
    fn name() -> Vec<u8> {
        let cn = [
            &[0x06, 0x03, 0x55, 0x04, 0x03][..],
            &tlv(0x0C, b"sns.amazonaws.com"),
        ]
        .concat();
        seq(&[&tlv(0x31, &seq(&[&cn]))])
    }

    /// UTCTime (before 2050) or GeneralizedTime.
    fn time(ms: u64) -> Vec<u8> {
        let t = crate::sns::envelope::timestamp(ms);
        let digits: String = t[..19].chars().filter(char::is_ascii_digit).collect();
        let year: u32 = digits[..4].parse().unwrap_or(2000);
        if year < 2050 {
            tlv(0x17, format!("{}Z", &digits[2..]).as_bytes())
        } else {
            tlv(0x18, format!("{digits}Z").as_bytes())
        }
    }

    pub fn tbs_certificate(spki: &[u8], from_ms: u64, until_ms: u64) -> Vec<u8> {
        let version = tlv(0xA0, &tlv(0x02, &[2]));
        let serial = tlv(0x02, &[0x01, 0x5E, 0x55]);
        let validity = seq(&[&time(from_ms), &time(until_ms)]);
        seq(&[
            &version,
            &serial,
            &sha256_with_rsa(),
            &name(),
            &validity,
            &name(),
            spki,
        ])
    }

    pub fn certificate(tbs: &[u8], signature: &[u8]) -> Vec<u8> {
        let bits = [&[0u8][..], signature].concat();
        seq(&[tbs, &sha256_with_rsa(), &tlv(0x03, &bits)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::signature::Verifier;

    #[test]
    fn signatures_verify_with_the_certificates_key() {
        let s = Signer::generate(1_700_000_000_000);
        assert!(s.cert_pem.starts_with("-----BEGIN CERTIFICATE-----\nMII"));
        assert_eq!(s.cert_id.len(), 32);
        let public = RsaPublicKey::from(&s.key);
        let text = "Message\nhi\nMessageId\nm\nTimestamp\nt\nTopicArn\na\nType\nNotification\n";
        let b = |v: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(s.sign(v, text))
                .unwrap()
        };
        let v1 = rsa::pkcs1v15::Signature::try_from(b("1").as_slice()).unwrap();
        VerifyingKey::<sha1::Sha1>::new(public.clone())
            .verify(text.as_bytes(), &v1)
            .unwrap();
        let v2 = rsa::pkcs1v15::Signature::try_from(b("2").as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(public.clone())
            .verify(text.as_bytes(), &v2)
            .unwrap();
        assert!(
            VerifyingKey::<Sha256>::new(public)
                .verify(b"other", &v2)
                .is_err()
        );
        let back = Signer::from_stored(&Stored {
            key: base64::engine::general_purpose::STANDARD
                .encode(s.key.to_pkcs8_der().unwrap().as_bytes()),
            cert_pem: s.cert_pem.clone(),
        })
        .unwrap();
        assert_eq!(back.cert_id, s.cert_id);
    }
}
