//! The HTTP front: accept loop, request ids, body limits, ferry's own `/_ferry/*` endpoints,
//! routing to a service and rendering its answer, and graceful shutdown.

pub mod auth;
pub mod route;
pub mod services;

use crate::App;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{Params, Protocol, Rendered, Service, json, query_json, xml};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::Instrument;

/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish.
pub async fn serve(app: Arc<App>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.keep_alive(true).max_buf_size(512 * 1024);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(%e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(handle(app, req).await) }
                });
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    app.begin_shutdown();
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// Request ids have the form of message ids: a random UUID, as AWS's do.
fn request_id() -> String {
    crate::ids::uuid_string(&crate::ids::uuid_bytes())
}

/// Header names read or written on every request, made once rather than parsed per use (HTTP/1
/// writes header names in lower case either way).
static REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
static X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

fn respond(r: Rendered, request_id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(r.body)));
    *response.status_mut() =
        StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.reserve(2 + r.headers.len());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(r.content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID.clone(), v);
    }
    for (k, v) in r.headers {
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::try_from(v),
        ) {
            (Ok(k), Ok(v)) => {
                headers.append(k, v);
            }
            _ => return Response::new(Full::new(Bytes::new())),
        }
    }
    response
}

fn render_error(
    service: Service,
    protocol: Protocol,
    err: &ApiError,
    request_id: &str,
) -> Rendered {
    match protocol {
        Protocol::AwsQuery => xml::render_error(service, err, request_id),
        _ => json::render_error(service, protocol, err),
    }
}

/// How much of an oversized body is read and dropped, so that a client still uploading reads
/// the 413 rather than a reset connection; past it (or `DRAIN_TIME`) the connection is closed.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(30);

enum BodyError {
    TooLarge,
    Unreadable,
}

/// Reads a body of at most `limit` bytes. A larger one is drained (within the bounds above)
/// before `TooLarge` is answered.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    // A body that arrives in one frame (most do) is kept as it came, not copied.
    let mut whole: Option<Bytes> = None;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Unreadable)?.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > limit {
            let drain = async {
                while seen <= DRAIN_LIMIT {
                    match body.frame().await {
                        Some(Ok(f)) => seen += f.data_ref().map_or(0, |d| d.len()),
                        _ => break,
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
            return Err(BodyError::TooLarge);
        }
        match whole.take() {
            None if buf.is_empty() => whole = Some(data),
            earlier => {
                buf.extend_from_slice(earlier.as_deref().unwrap_or_default());
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok(whole.unwrap_or_else(|| Bytes::from(buf)))
}

/// `/{account}/{queue}`: where old SQS clients post queue actions.
fn is_queue_path(path: &str) -> bool {
    let mut segs = path.trim_start_matches('/').split('/');
    matches!((segs.next(), segs.next(), segs.next()), (Some(a), Some(q), None) if !a.is_empty() && !q.is_empty())
}

async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let rid = request_id();
    if req.uri().path().starts_with("/_ferry/") {
        return ferry_endpoint(&app, req, &rid).await;
    }
    if req.method() == Method::GET {
        let path = req.uri().path();
        if let Some((content_type, body)) =
            services::ALL.iter().find_map(|e| e.resource(&app, path))
        {
            let r = Rendered {
                status: 200,
                content_type,
                headers: Vec::new(),
                body: body.into_bytes(),
            };
            return respond(r, &rid);
        }
    }
    let (parts, body) = req.into_parts();
    // Looked up by `HeaderName`, not by `&str`, which would be parsed and checked on every call.
    let header = |name: &HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let target = header(&X_AMZ_TARGET);
    let is_json = target.is_some() || header(&CONTENT_TYPE).is_some_and(|c| c.contains("json"));
    let credential = auth::credential(header(&AUTHORIZATION), parts.uri.query());
    let mut caller = credential.caller(&app.config.account_id, header(&HOST).unwrap_or(""));
    if header(&X_FORWARDED_PROTO).is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        caller.scheme = "https";
    }
    let limit = app.config.max_message_size * 3 + 256 * 1024;
    let body = match read_body(body, limit).await {
        Ok(b) => b,
        Err(e) => {
            let err = match e {
                BodyError::TooLarge => ApiError::new(
                    ErrorCode::RequestEntityTooLarge,
                    format!("Request body is larger than {limit} bytes."),
                ),
                BodyError::Unreadable => ApiError::new(
                    ErrorCode::MalformedQueryString,
                    "The request body could not be read.",
                ),
            };
            let protocol = if is_json {
                Protocol::AwsJson10
            } else {
                Protocol::AwsQuery
            };
            let mut r = render_error(Service::Sqs, protocol, &err, &rid);
            r.headers.push(("connection", "close".into()));
            return respond(r, &rid);
        }
    };
    let queue_path = is_queue_path(parts.uri.path());
    let accept_json = header(&ACCEPT).is_some_and(|a| a.contains("application/json"));
    let routed = route::route(
        target,
        credential.service.as_deref(),
        parts.uri.query(),
        &body,
        is_json,
    );
    let mut r = match routed {
        Ok(r) => r,
        // A queue URL with no action at all: SQS's bare 404, in XML whatever the client accepts.
        Err(u)
            if target.is_none()
                && queue_path
                && matches!(
                    u.error.code,
                    ErrorCode::MissingParameter | ErrorCode::UnknownOperation
                ) =>
        {
            return respond(xml::unknown_operation(), &rid);
        }
        Err(u) => return respond(render_error(u.service, u.protocol, &u.error, &rid), &rid),
    };
    let entry = services::entry(r.service);
    let line = services::RequestLine {
        protocol: r.protocol,
        action: &r.action,
        path: parts.uri.path(),
        caller: &caller,
        trace_id: header(&X_AMZN_TRACE_ID),
        queue_path,
    };
    if let Err(e) = entry.prepare(&line, &mut r.params) {
        return respond(render_error(r.service, r.protocol, &e, &rid), &rid);
    }
    let span = tracing::debug_span!("request", service = r.service.name(), action = %r.action, request_id = %rid);
    let result = entry
        .call(&app, &r.action, &caller, Params(r.params))
        .instrument(span)
        .await;
    // awsQuery clients may ask for AWS's JSON form of the answer (SQS has one).
    let query_json = if r.protocol == Protocol::AwsQuery && accept_json {
        entry.query_json_names()
    } else {
        None
    };
    let rendered = match (result, query_json) {
        (Ok(out), Some(names)) => query_json::render_ok(&r.action, names, &out.into_value(), &rid),
        (Err(e), Some(_)) => query_json::render_error(r.service, &e, &rid),
        (Ok(out), None) => match r.protocol {
            Protocol::AwsQuery => {
                let out = out.into_value();
                xml::render_ok(r.service, entry.xml_shape(), &r.action, &out, &rid)
            }
            p => json::render_ok(p, &out),
        },
        (Err(e), None) => {
            tracing::debug!(code = e.code.shape_name(), message = %e.message, action = %r.action, "request failed");
            render_error(r.service, r.protocol, &e, &rid)
        }
    };
    respond(rendered, &rid)
}

async fn ferry_endpoint(app: &App, req: Request<Incoming>, rid: &str) -> Response<Full<Bytes>> {
    let ok = |body: String| Rendered {
        status: 200,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.into_bytes(),
    };
    let rendered = match (req.method(), req.uri().path()) {
        (&Method::GET, "/_ferry/health") => ok(app.health().to_string()),
        (&Method::POST, "/_ferry/reset") => match app.reset().await {
            Ok(()) => ok(r#"{"reset":true}"#.to_string()),
            Err(e) => json::render_error(
                Service::Sqs,
                Protocol::AwsJson10,
                &ApiError::internal("reset failed", e),
            ),
        },
        _ => Rendered {
            status: 404,
            content_type: "application/json",
            headers: Vec::new(),
            body: br#"{"message":"not found"}"#.to_vec(),
        },
    };
    respond(rendered, rid)
}
