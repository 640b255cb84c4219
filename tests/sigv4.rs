//! Requests signed exactly as the AWS SDKs sign them (aws-sigv4): the credential scope decides the
//! region and the account, in the Authorization header and in presigned query strings alike.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use ferry::server::auth;
use std::time::{Duration, SystemTime};

type Pairs = Vec<(String, String)>;

/// The value of header `name` (any case) among `headers`.
fn header<'a>(headers: &'a Pairs, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn signed_parts(
    access_key: &str,
    region: &str,
    location: SignatureLocation,
    body: &[u8],
) -> (Pairs, Pairs) {
    let identity: Identity = Credentials::new(access_key, "secret", None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = location;
    settings.expires_in = Some(Duration::from_secs(300));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sqs")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [
        ("host", "localhost:4566"),
        ("content-type", "application/x-amz-json-1.0"),
    ];
    let request = SignableRequest::new(
        "POST",
        "http://localhost:4566/",
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _signature) = sign(request, &params).unwrap().into_parts();
    let headers = instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let query = instructions
        .params()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (headers, query)
}

#[test]
fn authorization_header_names_region_and_account() {
    let (headers, _) = signed_parts(
        "123456789012",
        "ap-southeast-2",
        SignatureLocation::Headers,
        b"{}",
    );
    let authorization = header(&headers, "authorization");
    let credential = auth::credential(authorization, None);
    assert_eq!(credential.service.as_deref(), Some("sqs"));
    let caller = credential.caller("000000000000", "localhost:4566");
    assert_eq!(
        (caller.account.as_str(), caller.region.as_str()),
        ("123456789012", "ap-southeast-2")
    );
}

#[test]
fn non_numeric_access_key_uses_the_default_account() {
    let (headers, _) = signed_parts(
        "AKIDEXAMPLE",
        "eu-north-1",
        SignatureLocation::Headers,
        b"{}",
    );
    let authorization = header(&headers, "authorization");
    let caller = auth::credential(authorization, None).caller("000000000000", "h");
    assert_eq!(
        (
            caller.account.as_str(),
            caller.region.as_str(),
            caller.access_key.as_str()
        ),
        ("000000000000", "eu-north-1", "AKIDEXAMPLE")
    );
}

#[test]
fn presigned_query_string_names_region_and_account() {
    let (_, query) = signed_parts(
        "210987654321",
        "sa-east-1",
        SignatureLocation::QueryParams,
        b"",
    );
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter())
        .finish();
    let caller = auth::credential(None, Some(&qs)).caller("000000000000", "h");
    assert_eq!(
        (caller.account.as_str(), caller.region.as_str()),
        ("210987654321", "sa-east-1")
    );
}
