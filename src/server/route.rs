//! Decides (service, protocol, action) before any handler runs: `X-Amz-Target` means awsJson;
//! otherwise a form or query string `Action=` means awsQuery, whose service comes from the SigV4
//! credential scope, then from the action and its parameters.

use super::services;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{Protocol, Service, json, query};
use serde_json::{Map, Value};

/// A request ready for a service.
#[derive(Debug)]
pub struct Routed {
    pub service: Service,
    pub protocol: Protocol,
    pub action: String,
    pub params: Map<String, Value>,
}

/// A request that failed before reaching a service, with what is needed to render the error.
#[derive(Debug)]
pub struct Unrouted {
    pub service: Service,
    pub protocol: Protocol,
    pub error: ApiError,
}

fn service_of_scope(scope: Option<&str>) -> Option<Service> {
    match scope? {
        "sqs" => Some(Service::Sqs),
        "sns" => Some(Service::Sns),
        "sts" => Some(Service::Sts),
        "events" => Some(Service::Events),
        _ => None,
    }
}

/// Routes one request. `form` is the body when it is a form (or empty), `query` the URL's.
pub fn route(
    target: Option<&str>,
    scope_service: Option<&str>,
    query_string: Option<&str>,
    body: &[u8],
    is_json_body: bool,
) -> Result<Routed, Unrouted> {
    if let Some(target) = target {
        let (prefix, action) = target.split_once('.').unwrap_or((target, ""));
        let Some((service, protocol)) = services::ALL.into_iter().find_map(|e| {
            e.json_target()
                .filter(|(p, _)| *p == prefix)
                .map(|(_, protocol)| (e.service(), protocol))
        }) else {
            let service = service_of_scope(scope_service).unwrap_or(Service::Sqs);
            return Err(Unrouted {
                service,
                protocol: Protocol::AwsJson10,
                error: ApiError::new(
                    ErrorCode::UnknownOperation,
                    format!("Operation {target} is not supported."),
                ),
            });
        };
        let params = json::decode(body).map_err(|error| Unrouted {
            service,
            protocol,
            error,
        })?;
        return Ok(Routed {
            service,
            protocol,
            action: action.to_string(),
            params,
        });
    }

    let guess = service_of_scope(scope_service);
    let mut form = Vec::new();
    if let Some(q) = query_string {
        form.extend_from_slice(q.as_bytes());
    }
    if !body.is_empty() && !is_json_body {
        if !form.is_empty() {
            form.push(b'&');
        }
        form.extend_from_slice(body);
    }
    let action = form_urlencoded::parse(&form)
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.into_owned());
    let Some(action) = action else {
        let service = guess.unwrap_or(Service::Sqs);
        let (protocol, error) = if is_json_body {
            (
                Protocol::AwsJson10,
                ApiError::new(ErrorCode::UnknownOperation, "Missing X-Amz-Target header."),
            )
        } else {
            (
                Protocol::AwsQuery,
                ApiError::new(
                    ErrorCode::MissingParameter,
                    "The request must contain the parameter Action.",
                ),
            )
        };
        return Err(Unrouted {
            service,
            protocol,
            error,
        });
    };
    let has = |key: &str| form_has(&form, key);
    let service = guess.unwrap_or_else(|| {
        services::ALL
            .into_iter()
            .find(|e| e.claims(&action, &has))
            .map_or(Service::Sqs, |e| e.service())
    });
    let shape = services::entry(service).query_shape();
    let (_, params) = query::decode(&form, shape).map_err(|error| Unrouted {
        service,
        protocol: Protocol::AwsQuery,
        error,
    })?;
    Ok(Routed {
        service,
        protocol: Protocol::AwsQuery,
        action,
        params,
    })
}

fn form_has(form: &[u8], key: &str) -> bool {
    form_urlencoded::parse(form).any(|(k, _)| k == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(
        target: Option<&str>,
        scope: Option<&str>,
        q: Option<&str>,
        body: &str,
    ) -> (Service, Protocol, String) {
        let r = route(target, scope, q, body.as_bytes(), target.is_some()).unwrap();
        (r.service, r.protocol, r.action)
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn table_of_real_requests() {
        use Protocol::*;
        use Service::*;
        let cases: &[(
            Option<&str>,
            Option<&str>,
            Option<&str>,
            &str,
            (Service, Protocol, &str),
        )] = &[
            (
                Some("AmazonSQS.SendMessage"),
                Some("sqs"),
                None,
                r#"{"QueueUrl":"u"}"#,
                (Sqs, AwsJson10, "SendMessage"),
            ),
            (
                Some("AWSEvents.PutEvents"),
                Some("events"),
                None,
                "{}",
                (Events, AwsJson11, "PutEvents"),
            ),
            (
                None,
                Some("sqs"),
                None,
                "Action=ListQueues&Version=2012-11-05",
                (Sqs, AwsQuery, "ListQueues"),
            ),
            (
                None,
                Some("sns"),
                None,
                "Action=ListTopics&Version=2010-03-31",
                (Sns, AwsQuery, "ListTopics"),
            ),
            (
                None,
                None,
                None,
                "Action=Publish&TopicArn=a",
                (Sns, AwsQuery, "Publish"),
            ),
            (
                None,
                None,
                None,
                "Action=AddPermission&TopicArn=a",
                (Sns, AwsQuery, "AddPermission"),
            ),
            (
                None,
                None,
                None,
                "Action=AddPermission&QueueUrl=a",
                (Sqs, AwsQuery, "AddPermission"),
            ),
            (
                None,
                None,
                Some(
                    "Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A0%3At&Token=x",
                ),
                "",
                (Sns, AwsQuery, "ConfirmSubscription"),
            ),
            (
                None,
                None,
                None,
                "Action=TagResource&ResourceArn=a&Tags.member.1.Key=k",
                (Sns, AwsQuery, "TagResource"),
            ),
            (
                None,
                None,
                None,
                "Action=TagQueue&QueueUrl=a",
                (Sqs, AwsQuery, "TagQueue"),
            ),
            (
                None,
                Some("sts"),
                None,
                "Action=GetCallerIdentity&Version=2011-06-15",
                (Sts, AwsQuery, "GetCallerIdentity"),
            ),
            (
                None,
                None,
                Some("Action=GetCallerIdentity"),
                "",
                (Sts, AwsQuery, "GetCallerIdentity"),
            ),
            (
                None,
                None,
                Some("Action=ReceiveMessage&QueueUrl=x"),
                "",
                (Sqs, AwsQuery, "ReceiveMessage"),
            ),
        ];
        for (t, s, q, b, want) in cases {
            assert_eq!(
                ok(*t, *s, *q, b),
                (want.0, want.1, want.2.to_string()),
                "{t:?} {s:?} {q:?} {b}"
            );
        }
    }

    #[test]
    fn failures() {
        let e = route(Some("Nope.X"), None, None, b"{}", true).unwrap_err();
        assert_eq!(e.error.code, ErrorCode::UnknownOperation);
        let e = route(Some("AmazonSQS.ListQueues"), None, None, b"{oops", true).unwrap_err();
        assert_eq!(
            (e.service, e.error.code),
            (Service::Sqs, ErrorCode::SerializationException)
        );
        let e = route(None, None, None, b"Version=1", false).unwrap_err();
        assert_eq!(
            (e.protocol, e.error.code),
            (Protocol::AwsQuery, ErrorCode::MissingParameter)
        );
        let e = route(
            None,
            Some("sqs"),
            None,
            b"Action=X&Attribute.0.Name=a",
            false,
        )
        .unwrap_err();
        assert_eq!(e.error.code, ErrorCode::MalformedQueryString);
    }
}
