//! Who is calling and where: the account, region and access key read from the request's SigV4
//! credential, and the Host the client used (queue URLs are built from it).

/// The identity and location of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub region: String,
    pub access_key: String,
    /// `host[:port]` as the client addressed us.
    pub host: String,
    /// `https` when a TLS-terminating proxy in front of ferry says so (`X-Forwarded-Proto`), so
    /// that the links SNS writes into messages (`SigningCertURL`, `SubscribeURL`,
    /// `UnsubscribeURL`) are https as AWS's are; otherwise `http`.
    pub scheme: &'static str,
}

impl Caller {
    /// A caller for tests and internal deliveries.
    pub fn local(account: &str, region: &str) -> Caller {
        Caller {
            account: account.into(),
            region: region.into(),
            access_key: "test".into(),
            host: "localhost:4566".into(),
            scheme: "http",
        }
    }

    /// `scheme://host[:port]`, the base of the URLs ferry hands out.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }
}
