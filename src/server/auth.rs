//! SigV4 credentials, read not verified: the access key id (a 12-digit one is the account, as
//! LocalStack does it; one from ferry's `AssumeRole` carries the role's account), the region and the service of the credential scope, from the
//! `Authorization` header or a presigned URL's `X-Amz-Credential`.

use crate::caller::Caller;

/// What a SigV4 credential scope says: `AKID/20240101/us-east-1/sqs/aws4_request`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credential {
    pub access_key: Option<String>,
    pub region: Option<String>,
    pub service: Option<String>,
}

fn parse_scope(scope: &str) -> Credential {
    let mut parts = scope.split('/');
    let access_key = parts.next().filter(|s| !s.is_empty()).map(String::from);
    let _date = parts.next();
    let region = parts.next().filter(|s| !s.is_empty()).map(String::from);
    let service = parts.next().filter(|s| !s.is_empty()).map(String::from);
    Credential {
        access_key,
        region,
        service,
    }
}

/// Reads the credential from an `Authorization` header value, else from a query string.
pub fn credential(authorization: Option<&str>, query: Option<&str>) -> Credential {
    // What every SDK sends starts with the credential: no search needed.
    const USUAL: &str = "AWS4-HMAC-SHA256 Credential=";
    if let Some(auth) = authorization
        && let Some(i) = if auth.starts_with(USUAL) {
            Some(USUAL.len() - "Credential=".len())
        } else {
            auth.find("Credential=")
        }
    {
        let rest = &auth[i + "Credential=".len()..];
        let end = rest.find([',', ' ']).unwrap_or(rest.len());
        return parse_scope(&rest[..end]);
    }
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if k == "X-Amz-Credential" {
                return parse_scope(&v);
            }
        }
    }
    Credential::default()
}

impl Credential {
    /// The caller this credential stands for; `default_account` unless the key is 12 digits.
    pub fn caller(&self, default_account: &str, host: &str) -> Caller {
        let access_key = self
            .access_key
            .clone()
            .unwrap_or_else(|| "anonymous".into());
        let account = if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
            access_key.clone()
        } else if let Some(account) = crate::sts::account_of_key(&access_key) {
            // Credentials from ferry's AssumeRole act in the role's account.
            account
        } else {
            default_account.to_string()
        };
        Caller {
            account,
            region: self.region.clone().unwrap_or_else(|| "us-east-1".into()),
            access_key,
            host: if host.is_empty() {
                "localhost:4566".into()
            } else {
                host.to_string()
            },
            scheme: "http",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_presigned() {
        let h = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=abc";
        let c = credential(Some(h), None);
        assert_eq!(c.access_key.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.service.as_deref(), Some("sqs"));
        let q = "Action=ListQueues&X-Amz-Credential=123456789012%2F20240101%2Fap-south-1%2Fsqs%2Faws4_request";
        let c = credential(None, Some(q));
        let caller = c.caller("000000000000", "h:1");
        assert_eq!(caller.account, "123456789012");
        assert_eq!(caller.region, "ap-south-1");
        let none = credential(Some("garbage"), None).caller("000000000000", "");
        assert_eq!(
            (
                none.account.as_str(),
                none.region.as_str(),
                none.host.as_str()
            ),
            ("000000000000", "us-east-1", "localhost:4566")
        );
    }
}
