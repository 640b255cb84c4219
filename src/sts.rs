//! STS: `GetCallerIdentity`, so that `aws sts get-caller-identity` and SDK credential checks in CI
//! work against ferry, and `AssumeRole`, so that cross-account tests can act in another account.
//!
//! Assumed credentials are stateless: the access key id carries the role's account (base32, with a
//! checksum so that ordinary keys are not misread), and [`account_of_key`] reads it back on every
//! request, so the credentials keep working across restarts until the client drops them.

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use serde_json::{Value, json};
use sha2::Digest;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Temporary access key ids start with ASIA, as AWS's do.
const PREFIX: &str = "ASIA";
const DEFAULT_DURATION: i64 = 3600;

pub fn call(action: &str, caller: &Caller, p: Params) -> ApiResult<Value> {
    match action {
        "GetCallerIdentity" => Ok(json!({
            "UserId": caller.access_key,
            "Account": caller.account,
            "Arn": format!("arn:aws:iam::{}:root", caller.account),
        })),
        "AssumeRole" => assume_role(&p),
        _ => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {action} for version 2011-06-15"),
        )),
    }
}

fn validation(message: String) -> ApiError {
    ApiError::new(ErrorCode::ValidationError, message)
}

fn assume_role(p: &Params) -> ApiResult<Value> {
    let role_arn = p.required_str("RoleArn")?;
    let session = p.required_str("RoleSessionName")?;
    // arn:aws:iam::123456789012:role/path/name
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let (account, role) = match parts.as_slice() {
        ["arn", _, "iam", "", account, resource]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match resource.strip_prefix("role/") {
                Some(path) if !path.is_empty() => {
                    (*account, path.rsplit('/').next().unwrap_or(path))
                }
                _ => return Err(validation(format!("{role_arn} is invalid"))),
            }
        }
        _ => return Err(validation(format!("{role_arn} is invalid"))),
    };
    let session_ok = (2..=64).contains(&session.len())
        && session
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=,.@-_".contains(&b));
    if !session_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{session}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and length between 2 and 64"
        )));
    }
    let duration = match p.int("DurationSeconds")? {
        None => DEFAULT_DURATION,
        Some(d @ 900..=43200) => d,
        Some(d) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 43200"
            )));
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let role_id = format!("AROA{}", random_chars(17));
    Ok(json!({
        "Credentials": {
            "AccessKeyId": access_key_for(account),
            "SecretAccessKey": random_chars(40),
            "SessionToken": format!("FQoGZXIvYXdzE{}", random_chars(160)),
            "Expiration": iso8601(now + duration as u64),
        },
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{role_id}:{session}"),
            "Arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        },
        "PackedPolicySize": 0,
    }))
}

fn random_chars(n: usize) -> String {
    (0..n)
        .map(|_| BASE32[rand::random::<u8>() as usize % 32] as char)
        .collect()
}

/// 20 bits that tie a key's account digits to ferry, so that an AWS key is not misread.
fn checksum(account: u64) -> u32 {
    let d = sha2::Sha256::digest(format!("ferry-sts:{account}"));
    u32::from_be_bytes([0, d[0], d[1], d[2]]) >> 4
}

fn base32(mut n: u64, chars: usize) -> String {
    let mut out = vec![b'A'; chars];
    for c in out.iter_mut().rev() {
        *c = BASE32[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn unbase32(s: &str) -> Option<u64> {
    s.bytes().try_fold(0u64, |n, b| {
        let v = BASE32.iter().position(|&c| c == b)? as u64;
        Some((n << 5) | v)
    })
}

/// A temporary access key id for `account` (12 digits): ASIA, 8 characters of account, 4 of
/// checksum, 4 random.
pub fn access_key_for(account: &str) -> String {
    let n: u64 = account.parse().unwrap_or(0);
    format!(
        "{PREFIX}{}{}{}",
        base32(n, 8),
        base32(checksum(n) as u64, 4),
        random_chars(4)
    )
}

/// The account of a key made by [`access_key_for`]; `None` for any other key.
pub fn account_of_key(key: &str) -> Option<String> {
    let rest = key.strip_prefix(PREFIX)?;
    if rest.len() != 16 || !rest.is_ascii() {
        return None;
    }
    let n = unbase32(&rest[..8])?;
    let sum = unbase32(&rest[8..12])?;
    (n < 1_000_000_000_000 && sum == checksum(n) as u64).then(|| format!("{n:012}"))
}

/// `2026-01-02T03:04:05Z` for seconds since the epoch.
fn iso8601(secs: u64) -> String {
    crate::clock::iso_seconds(secs as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_their_account() {
        for account in [
            "000000000000",
            "111111111111",
            "999999999999",
            "123456789012",
        ] {
            let key = access_key_for(account);
            assert_eq!(key.len(), 20);
            assert!(key.starts_with("ASIA"));
            assert_eq!(account_of_key(&key).as_deref(), Some(account));
        }
        for other in [
            "ASIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLE",
            "test",
            "ASIAé",
        ] {
            assert_eq!(account_of_key(other), None, "{other}");
        }
    }

    #[test]
    fn assume_role_answers_and_validates() {
        let p = Params::from_value(json!({
            "RoleArn": "arn:aws:iam::111111111111:role/path/deployer",
            "RoleSessionName": "ci-run",
            "DurationSeconds": 900,
        }))
        .unwrap();
        let out = assume_role(&p).unwrap();
        let key = out["Credentials"]["AccessKeyId"].as_str().unwrap();
        assert_eq!(account_of_key(key).as_deref(), Some("111111111111"));
        assert_eq!(
            out["AssumedRoleUser"]["Arn"],
            "arn:aws:sts::111111111111:assumed-role/deployer/ci-run"
        );
        assert!(
            out["Credentials"]["Expiration"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        for bad in [
            json!({"RoleArn": "nope", "RoleSessionName": "s1"}),
            json!({"RoleArn": "arn:aws:iam::111111111111:user/x", "RoleSessionName": "s1"}),
            json!({"RoleArn": "arn:aws:iam::111111111111:role/x", "RoleSessionName": "a b"}),
            json!({"RoleArn": "arn:aws:iam::111111111111:role/x", "RoleSessionName": "s1", "DurationSeconds": 60}),
        ] {
            let e = assume_role(&Params::from_value(bad.clone()).unwrap()).unwrap_err();
            assert_eq!(e.code, ErrorCode::ValidationError, "{bad}");
        }
        let e = assume_role(&Params::from_value(json!({"RoleSessionName": "s"})).unwrap());
        assert_eq!(e.unwrap_err().code, ErrorCode::MissingParameter);
    }

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
