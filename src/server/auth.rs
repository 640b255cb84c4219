//! SigV4 credentials, read not verified: the access key id (a 12-digit one is the account, as
//! LocalStack does it; one from ferry's `AssumeRole` carries the role's account), the region and the service of the credential scope, from the
//! `Authorization` header or a presigned URL's `X-Amz-Credential`.

use crate::caller::Caller;
use std::borrow::Cow;

/// What a SigV4 credential scope says: `AKID/20240101/us-east-1/sqs/aws4_request`. Borrowed from
/// the `Authorization` header (every request has one); owned only when a presigned URL's query
/// string had to be decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    pub service: Option<Cow<'a, str>>,
}

fn parse_scope(scope: &str) -> Credential<'_> {
    // Split by bytes: `str::split` with a char pattern costs more than this short string is worth.
    let mut parts = [""; 4];
    let mut rest = scope;
    for part in &mut parts {
        let end = rest.bytes().position(|b| b == b'/').unwrap_or(rest.len());
        *part = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let [access_key, _date, region, service] =
        parts.map(|s| Some(s).filter(|s| !s.is_empty()).map(Cow::Borrowed));
    Credential {
        access_key,
        region,
        service,
    }
}

/// Reads the credential from an `Authorization` header value, else from a query string.
pub fn credential<'a>(authorization: Option<&'a str>, query: Option<&str>) -> Credential<'a> {
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
        let end = rest
            .bytes()
            .position(|b| b == b',' || b == b' ')
            .unwrap_or(rest.len());
        return parse_scope(&rest[..end]);
    }
    if let Some(q) = query {
        for (k, v) in form_urlencoded::parse(q.as_bytes()) {
            if k == "X-Amz-Credential" {
                let owned = |s: Option<Cow<'_, str>>| s.map(|s| Cow::Owned(s.into_owned()));
                let c = parse_scope(&v);
                return Credential {
                    access_key: owned(c.access_key),
                    region: owned(c.region),
                    service: owned(c.service),
                };
            }
        }
    }
    Credential::default()
}

impl Credential<'_> {
    /// The caller this credential stands for; `default_account` unless the key is 12 digits.
    pub fn caller(&self, default_account: &str, host: &str) -> Caller {
        let access_key = self
            .access_key
            .as_deref()
            .unwrap_or("anonymous")
            .to_string();
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
            region: self.region.as_deref().unwrap_or("us-east-1").to_string(),
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

    proptest::proptest! {
        /// The byte-level split agrees with `str::split` on any scope, and never panics.
        #[test]
        fn scope_parts_are_the_slash_separated_fields(scope in "[a-z0-9/é-]{0,40}") {
            let mut f = scope.split('/').map(|s| Some(s).filter(|s| !s.is_empty()));
            let (a, _, r, s) = (f.next().flatten(), f.next(), f.next().flatten(), f.next().flatten());
            let c = parse_scope(&scope);
            proptest::prop_assert_eq!((c.access_key.as_deref(), c.region.as_deref(), c.service.as_deref()), (a, r, s));
        }
    }

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
