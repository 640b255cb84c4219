//! Connections (how to authorize against an HTTP endpoint) and API destinations (the endpoint).
//! Secrets never come back: AWS keeps them in Secrets Manager and describes only the public half
//! (user name, API key name, OAuth client id and endpoint).

use super::state::{self, Connection, Destination, Registry, page};
use super::validate::{Checks, required};
use super::{not_found, ts, uuid, validation};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::Op;
use serde_json::{Map, Value, json};

type Changed = ApiResult<(Value, Vec<Op>)>;

pub const AUTH_TYPES: [&str; 3] = ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
pub const METHODS: [&str; 7] = ["HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"];
const CONNECTION_ARN_PATTERN: &str = r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$";

fn missing_connection(verb: &str, name: &str) -> ApiError {
    not_found(format!(
        "Failed to {verb} the connection(s). Connection '{name}' does not exist."
    ))
}

/// `AuthParameters` must carry the block its type needs.
fn check_auth(kind: &str, auth: &Value) -> ApiResult<()> {
    let block = match kind {
        "BASIC" => "BasicAuthParameters",
        "API_KEY" => "ApiKeyAuthParameters",
        _ => "OAuthParameters",
    };
    if auth.get(block).is_none_or(|b| !b.is_object()) {
        return Err(validation(format!(
            "Parameter AuthParameters is not valid. Reason: {block} must be provided for AuthorizationType {kind}."
        )));
    }
    Ok(())
}

/// The public half of the auth parameters, as DescribeConnection shows them.
fn public_auth(auth: &Value) -> Value {
    let mut out = auth.clone();
    if let Some(o) = out.as_object_mut() {
        if let Some(b) = o
            .get_mut("BasicAuthParameters")
            .and_then(Value::as_object_mut)
        {
            b.remove("Password");
        }
        if let Some(b) = o
            .get_mut("ApiKeyAuthParameters")
            .and_then(Value::as_object_mut)
        {
            b.remove("ApiKeyValue");
        }
        if let Some(c) = o
            .get_mut("OAuthParameters")
            .and_then(|v| v.get_mut("ClientParameters"))
            .and_then(Value::as_object_mut)
        {
            c.remove("ClientSecret");
        }
    }
    out
}

fn summary(c: &Connection) -> Value {
    json!({
        "ConnectionArn": c.arn(),
        "ConnectionState": c.state,
        "CreationTime": ts(c.created_ms),
        "LastModifiedTime": ts(c.modified_ms),
        "LastAuthorizedTime": ts(c.authorized_ms),
    })
}

fn list_entry(c: &Connection) -> Value {
    let mut v = summary(c);
    v["Name"] = c.name.clone().into();
    v["AuthorizationType"] = c.authorization_type.clone().into();
    v
}

fn state_for(kind: &str) -> &'static str {
    if kind == "OAUTH_CLIENT_CREDENTIALS" {
        "AUTHORIZING"
    } else {
        "AUTHORIZED"
    }
}

pub fn create(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    reg.api_changed();
    let mut checks = Checks::new();
    let name = p.str("Name")?;
    match name {
        Some(n) => checks.name(n, "name", 64, false),
        None => checks.null("name"),
    }
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    let kind = p.str("AuthorizationType")?;
    match kind {
        Some(k) => checks.one_of(k, "authorizationType", &AUTH_TYPES),
        None => checks.null("authorizationType"),
    }
    let auth = p.get("AuthParameters").cloned();
    if auth.is_none() {
        checks.null("authParameters");
    }
    checks.done()?;
    let (name, kind, auth) = (
        name.unwrap_or(""),
        kind.unwrap_or(""),
        auth.unwrap_or_default(),
    );
    check_auth(kind, &auth)?;
    let scope = reg.scope(c, now);
    if scope.connections.contains_key(name) {
        return Err(ApiError::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("Connection {name} already exists."),
        ));
    }
    let suffix: String = uuid()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect();
    let conn = Connection {
        account: c.account.clone(),
        region: c.region.clone(),
        name: name.into(),
        uuid: uuid(),
        secret_suffix: suffix,
        description: p.str("Description")?.map(String::from),
        authorization_type: kind.into(),
        auth_parameters: auth,
        state: state_for(kind).into(),
        created_ms: now,
        modified_ms: now,
        authorized_ms: now,
    };
    let mut out = summary(&conn);
    if let Some(o) = out.as_object_mut() {
        o.remove("LastAuthorizedTime");
    }
    let op = state::put_connection(&conn);
    scope.connections.insert(name.into(), conn);
    Ok((out, vec![op]))
}

pub fn describe(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let name = required(p, "Name", "name")?;
    let conn = reg
        .scope(c, 0)
        .connections
        .get(name)
        .ok_or_else(|| missing_connection("describe", name))?;
    let mut v = list_entry(conn);
    v["AuthParameters"] = public_auth(&conn.auth_parameters);
    v["SecretArn"] = conn.secret_arn().into();
    if let Some(d) = &conn.description {
        v["Description"] = d.clone().into();
    }
    Ok(v)
}

pub fn update(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    reg.api_changed();
    let name = required(p, "Name", "name")?;
    let mut checks = Checks::new();
    if let Some(k) = p.str("AuthorizationType")? {
        checks.one_of(k, "authorizationType", &AUTH_TYPES);
    }
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    checks.done()?;
    let conn = reg
        .scope(c, now)
        .connections
        .get_mut(name)
        .ok_or_else(|| missing_connection("update", name))?;
    let kind = p
        .str("AuthorizationType")?
        .unwrap_or(&conn.authorization_type)
        .to_string();
    let mut auth = conn.auth_parameters.clone();
    if let Some(Value::Object(new)) = p.get("AuthParameters") {
        if kind != conn.authorization_type {
            auth = Value::Object(Map::new());
        }
        let target = auth.as_object_mut().expect("object");
        for (k, v) in new {
            match (target.get_mut(k), v) {
                (Some(Value::Object(old)), Value::Object(upd)) => {
                    for (ik, iv) in upd {
                        old.insert(ik.clone(), iv.clone());
                    }
                }
                _ => {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    check_auth(&kind, &auth)?;
    conn.authorization_type = kind.clone();
    conn.auth_parameters = auth;
    if let Some(d) = p.str("Description")? {
        conn.description = Some(d.into());
    }
    conn.state = state_for(&kind).into();
    conn.modified_ms = now;
    conn.authorized_ms = now;
    Ok((summary(conn), vec![state::put_connection(conn)]))
}

pub fn deauthorize(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    reg.api_changed();
    let name = required(p, "Name", "name")?;
    let conn = reg
        .scope(c, now)
        .connections
        .get_mut(name)
        .ok_or_else(|| missing_connection("deauthorize", name))?;
    conn.state = "DEAUTHORIZED".into();
    conn.modified_ms = now;
    Ok((summary(conn), vec![state::put_connection(conn)]))
}

pub fn delete(reg: &mut Registry, c: &Caller, p: &Params) -> Changed {
    reg.api_changed();
    let name = required(p, "Name", "name")?;
    let conn = reg
        .scope(c, 0)
        .connections
        .remove(name)
        .ok_or_else(|| missing_connection("delete", name))?;
    let mut out = summary(&conn);
    out["ConnectionState"] = "DELETING".into();
    Ok((out, vec![state::delete_connection(&conn)]))
}

pub fn list(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let want = p.str("ConnectionState")?;
    let all: Vec<Value> = reg
        .scope(c, 0)
        .connections
        .values()
        .filter(|x| x.name.starts_with(prefix) && want.is_none_or(|w| w == x.state))
        .map(list_entry)
        .collect();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"Connections": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

fn is_connection_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "events" {
        return false;
    }
    let partition_ok = parts[1]
        .strip_prefix("aws")
        .is_some_and(|r| r.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
    let region_ok = parts[3]
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = parts[4].is_empty()
        || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = parts[5]
        .strip_prefix("connection/")
        .and_then(|r| r.split_once('/'))
        .is_some_and(|(n, id)| {
            super::validate::is_name(n)
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    partition_ok && region_ok && account_ok && rest_ok
}

fn describe_destination_value(d: &Destination, with_description: bool) -> Value {
    let mut v = json!({
        "ApiDestinationArn": d.arn(),
        "Name": d.name,
        "ApiDestinationState": "ACTIVE",
        "ConnectionArn": d.connection_arn,
        "InvocationEndpoint": d.endpoint,
        "HttpMethod": d.method,
        "InvocationRateLimitPerSecond": d.rate_limit,
        "CreationTime": ts(d.created_ms),
        "LastModifiedTime": ts(d.modified_ms),
    });
    if with_description && let Some(desc) = &d.description {
        v["Description"] = desc.clone().into();
    }
    v
}

fn destination_summary(d: &Destination) -> Value {
    json!({
        "ApiDestinationArn": d.arn(),
        "ApiDestinationState": "ACTIVE",
        "CreationTime": ts(d.created_ms),
        "LastModifiedTime": ts(d.modified_ms),
    })
}

/// Checks the members CreateApiDestination and UpdateApiDestination share.
fn check_destination(p: &Params, checks: &mut Checks, create: bool) -> ApiResult<()> {
    match p.str("ConnectionArn")? {
        Some(a) if !is_connection_arn(a) => checks.fail(
            a,
            "connectionArn",
            &format!("Member must satisfy regular expression pattern: {CONNECTION_ARN_PATTERN}"),
        ),
        None if create => checks.null("connectionArn"),
        _ => {}
    }
    match p.str("InvocationEndpoint")? {
        Some(e) => checks.max_len(e, "invocationEndpoint", 2048),
        None if create => checks.null("invocationEndpoint"),
        None => {}
    }
    match p.str("HttpMethod")? {
        Some(m) => checks.one_of(m, "httpMethod", &METHODS),
        None if create => checks.null("httpMethod"),
        None => {}
    }
    if let Some(n) = p.int("InvocationRateLimitPerSecond")?
        && n < 1
    {
        checks.fail(
            &n.to_string(),
            "invocationRateLimitPerSecond",
            "Member must have value greater than or equal to 1",
        );
    }
    if let Some(d) = p.str("Description")? {
        checks.max_len(d, "description", 512);
    }
    Ok(())
}

fn connection_exists(reg: &mut Registry, c: &Caller, arn: &str) -> ApiResult<()> {
    let found = reg.scope(c, 0).connections.values().any(|x| x.arn() == arn);
    if found {
        Ok(())
    } else {
        Err(not_found(format!("Connection '{arn}' does not exist.")))
    }
}

pub fn create_destination(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    reg.api_changed();
    let mut checks = Checks::new();
    let name = p.str("Name")?;
    match name {
        Some(n) => checks.name(n, "name", 64, false),
        None => checks.null("name"),
    }
    check_destination(p, &mut checks, true)?;
    checks.done()?;
    let name = name.unwrap_or("");
    let connection_arn = p.str("ConnectionArn")?.unwrap_or("").to_string();
    connection_exists(reg, c, &connection_arn)?;
    let scope = reg.scope(c, now);
    if scope.destinations.contains_key(name) {
        return Err(ApiError::new(
            ErrorCode::ResourceAlreadyExistsException,
            format!("An api-destination '{name}' already exists."),
        ));
    }
    let d = Destination {
        account: c.account.clone(),
        region: c.region.clone(),
        name: name.into(),
        uuid: uuid(),
        description: p.str("Description")?.map(String::from),
        connection_arn,
        endpoint: p.str("InvocationEndpoint")?.unwrap_or("").into(),
        method: p.str("HttpMethod")?.unwrap_or("").into(),
        rate_limit: p.int("InvocationRateLimitPerSecond")?.unwrap_or(300),
        created_ms: now,
        modified_ms: now,
    };
    let out = destination_summary(&d);
    let op = state::put_destination(&d);
    scope.destinations.insert(name.into(), d);
    Ok((out, vec![op]))
}

fn missing_destination(name: &str) -> ApiError {
    not_found(format!(
        "Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
    ))
}

pub fn describe_destination(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let name = required(p, "Name", "name")?;
    reg.scope(c, 0)
        .destinations
        .get(name)
        .map(|d| describe_destination_value(d, true))
        .ok_or_else(|| missing_destination(name))
}

pub fn update_destination(reg: &mut Registry, c: &Caller, p: &Params, now: u64) -> Changed {
    reg.api_changed();
    let name = required(p, "Name", "name")?;
    let mut checks = Checks::new();
    check_destination(p, &mut checks, false)?;
    checks.done()?;
    if let Some(arn) = p.str("ConnectionArn")? {
        connection_exists(reg, c, arn)?;
    }
    let d = reg
        .scope(c, now)
        .destinations
        .get_mut(name)
        .ok_or_else(|| missing_destination(name))?;
    if let Some(a) = p.str("ConnectionArn")? {
        d.connection_arn = a.into();
    }
    if let Some(e) = p.str("InvocationEndpoint")? {
        d.endpoint = e.into();
    }
    if let Some(m) = p.str("HttpMethod")? {
        d.method = m.into();
    }
    if let Some(n) = p.int("InvocationRateLimitPerSecond")? {
        d.rate_limit = n;
    }
    if let Some(desc) = p.str("Description")? {
        d.description = Some(desc.into());
    }
    d.modified_ms = now;
    Ok((destination_summary(d), vec![state::put_destination(d)]))
}

pub fn delete_destination(reg: &mut Registry, c: &Caller, p: &Params) -> Changed {
    reg.api_changed();
    let name = required(p, "Name", "name")?;
    let d = reg
        .scope(c, 0)
        .destinations
        .remove(name)
        .ok_or_else(|| missing_destination(name))?;
    Ok((json!({}), vec![state::delete_destination(&d)]))
}

pub fn list_destinations(reg: &mut Registry, c: &Caller, p: &Params) -> ApiResult<Value> {
    let prefix = p.str("NamePrefix")?.unwrap_or("");
    let conn = p.str("ConnectionArn")?;
    let all: Vec<Value> = reg
        .scope(c, 0)
        .destinations
        .values()
        .filter(|d| d.name.starts_with(prefix) && conn.is_none_or(|a| a == d.connection_arn))
        .map(|d| describe_destination_value(d, false))
        .collect();
    let (items, next) = page(&all, p.str("NextToken")?, p.int("Limit")?)?;
    let mut out = json!({"ApiDestinations": items});
    if let Some(t) = next {
        out["NextToken"] = t.into();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_arns() {
        assert!(is_connection_arn(
            "arn:aws:events:us-east-1:000000000000:connection/c/1a2b-3c"
        ));
        assert!(!is_connection_arn("invalid-connection-arn"));
        assert!(!is_connection_arn(
            "arn:aws:events:us-east-1:000000000000:connection/c"
        ));
    }

    #[test]
    fn secrets_are_hidden() {
        let auth = json!({"BasicAuthParameters": {"Username": "u", "Password": "p"},
            "OAuthParameters": {"ClientParameters": {"ClientID": "id", "ClientSecret": "s"}}});
        let shown = public_auth(&auth);
        assert_eq!(shown["BasicAuthParameters"], json!({"Username": "u"}));
        assert_eq!(
            shown["OAuthParameters"]["ClientParameters"],
            json!({"ClientID": "id"})
        );
    }
}
