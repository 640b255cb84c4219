//! Mobile push and SMS, stored but never sent: platform applications and their endpoints are
//! kept (so code that registers devices runs against ferry), publishing to an endpoint is
//! accepted or refused as AWS would (`EndpointDisabled`), and the account's SMS attributes and
//! opt-outs answer as for an account that never sent an SMS.

use super::{Sns, arn_prefix, encode, invalid, not_found, page, parse_arn, required, uuid};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::{Op, keys};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const PLATFORMS: &[&str] = &[
    "ADM",
    "APNS",
    "APNS_SANDBOX",
    "APNS_VOIP",
    "APNS_VOIP_SANDBOX",
    "BAIDU",
    "GCM",
    "MACOS",
    "MACOS_SANDBOX",
    "MPNS",
    "WNS",
];

/// A platform application or an endpoint, as stored (`keys::PLATFORM` + ARN).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Record {
    Application {
        arn: String,
        attributes: BTreeMap<String, String>,
    },
    Endpoint {
        arn: String,
        application: String,
        attributes: BTreeMap<String, String>,
    },
}

impl Record {
    pub fn arn(&self) -> &str {
        match self {
            Record::Application { arn, .. } | Record::Endpoint { arn, .. } => arn,
        }
    }

    fn op(&self) -> Op {
        Op::Put(keys::named(keys::PLATFORM, self.arn()), encode(self))
    }
}

fn null_attributes() -> ApiError {
    ApiError::new(
        ErrorCode::ValidationError,
        "1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null",
    )
}

/// Attributes an application's `Get…Attributes` does not return.
fn is_credential(name: &str) -> bool {
    matches!(name, "PlatformCredential" | "PlatformPrincipal")
}

fn check_credentials(a: &BTreeMap<String, String>) -> ApiResult<()> {
    match (
        a.contains_key("PlatformPrincipal"),
        a.contains_key("PlatformCredential"),
    ) {
        (true, false) => Err(invalid(
            "Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential",
        )),
        (false, true) => Err(invalid(
            "Attributes Reason: PlatformCredential attribute provided without PlatformPrincipal",
        )),
        _ => Ok(()),
    }
}

fn check_endpoint_attributes(a: &BTreeMap<String, String>) -> ApiResult<()> {
    for (k, v) in a {
        match k.as_str() {
            "CustomUserData" if v.len() > 2048 => {
                return Err(invalid(
                    "Attributes Reason: Invalid value for attribute: CustomUserData: must be at most 2048 bytes long in UTF-8 encoding",
                ));
            }
            "CustomUserData" | "Enabled" | "Token" => {}
            other => {
                return Err(invalid(format!(
                    "Attributes Reason: Invalid attribute name: {other}"
                )));
            }
        }
    }
    Ok(())
}

/// AWS's phone number check: `+` and up to 15 digits.
fn valid_phone(n: &str) -> bool {
    let digits = n.strip_prefix('+').unwrap_or(n);
    !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Sns {
    fn application_arn<'a>(&self, p: &'a Params) -> ApiResult<&'a str> {
        let arn = required(p, "PlatformApplicationArn")?;
        parse_arn("PlatformApplicationArn", arn)?;
        Ok(arn)
    }

    async fn put_platform(&self, records: Vec<Record>, deletes: Vec<String>) -> ApiResult<()> {
        let mut ops: Vec<Op> = records.iter().map(Record::op).collect();
        ops.extend(
            deletes
                .iter()
                .map(|a| Op::Delete(keys::named(keys::PLATFORM, a))),
        );
        {
            let mut state = self.write();
            for d in &deletes {
                state.platform.remove(d);
            }
            for r in records {
                state.platform.insert(r.arn().to_string(), r);
            }
        }
        self.persist(ops).await
    }

    /// Runs a platform or SMS action; None if `action` is neither.
    pub(super) async fn platform_call(
        &self,
        action: &str,
        caller: &Caller,
        p: &Params,
    ) -> Option<ApiResult<Value>> {
        Some(match action {
            "CreatePlatformApplication" => self.create_platform_application(caller, p).await,
            "GetPlatformApplicationAttributes" => self.get_platform_application_attributes(p),
            "SetPlatformApplicationAttributes" => self.set_platform_application_attributes(p).await,
            "DeletePlatformApplication" => self.delete_platform_application(p).await,
            "ListPlatformApplications" => self.list_platform_applications(caller, p),
            "CreatePlatformEndpoint" => self.create_platform_endpoint(p).await,
            "GetEndpointAttributes" => self.get_endpoint_attributes(p),
            "SetEndpointAttributes" => self.set_endpoint_attributes(p).await,
            "DeleteEndpoint" => self.delete_endpoint(p).await,
            "ListEndpointsByPlatformApplication" => self.list_endpoints(p),
            "SetSMSAttributes" => self.set_sms_attributes(caller, p).await,
            "GetSMSAttributes" => Ok(self.get_sms_attributes(caller, p)),
            "CheckIfPhoneNumberIsOptedOut" => {
                let n = p.str("phoneNumber").ok().flatten().unwrap_or("");
                if valid_phone(n) {
                    Ok(json!({"isOptedOut": false}))
                } else {
                    Err(invalid("PhoneNumber Reason: input incorrectly formatted"))
                }
            }
            "OptInPhoneNumber" => {
                let n = p.str("phoneNumber").ok().flatten().unwrap_or("");
                if valid_phone(n) {
                    Ok(json!({}))
                } else {
                    Err(invalid("PhoneNumber Reason: input incorrectly formatted"))
                }
            }
            "ListPhoneNumbersOptedOut" => Ok(json!({"phoneNumbers": []})),
            _ => return None,
        })
    }

    async fn create_platform_application(&self, caller: &Caller, p: &Params) -> ApiResult<Value> {
        let name = required(p, "Name")?;
        let platform = required(p, "Platform")?;
        let attributes = p.string_map("Attributes")?;
        if attributes.is_empty() {
            return Err(null_attributes());
        }
        if !PLATFORMS.contains(&platform) {
            return Err(invalid(format!(
                "Platform Reason: {platform} is not supported"
            )));
        }
        check_credentials(&attributes)?;
        let arn = format!("{}app/{platform}/{name}", arn_prefix(caller));
        let mut attributes = attributes;
        attributes
            .entry("Enabled".into())
            .or_insert_with(|| "true".into());
        self.put_platform(
            vec![Record::Application {
                arn: arn.clone(),
                attributes,
            }],
            Vec::new(),
        )
        .await?;
        Ok(json!({"PlatformApplicationArn": arn}))
    }

    fn application(&self, arn: &str) -> ApiResult<BTreeMap<String, String>> {
        match self.read().platform.get(arn) {
            Some(Record::Application { attributes, .. }) => Ok(attributes.clone()),
            _ => Err(not_found("PlatformApplication")),
        }
    }

    fn get_platform_application_attributes(&self, p: &Params) -> ApiResult<Value> {
        let arn = self.application_arn(p)?;
        let shown: Map<String, Value> = self
            .application(arn)?
            .into_iter()
            .filter(|(k, _)| !is_credential(k))
            .map(|(k, v)| (k, json!(v)))
            .collect();
        Ok(json!({"Attributes": shown}))
    }

    async fn set_platform_application_attributes(&self, p: &Params) -> ApiResult<Value> {
        let arn = self.application_arn(p)?;
        let given = p.string_map("Attributes")?;
        if given.is_empty() {
            return Err(null_attributes());
        }
        let mut attributes = self.application(arn)?;
        attributes.extend(given);
        check_credentials(&attributes)?;
        self.put_platform(
            vec![Record::Application {
                arn: arn.to_string(),
                attributes,
            }],
            Vec::new(),
        )
        .await?;
        Ok(json!({}))
    }

    async fn delete_platform_application(&self, p: &Params) -> ApiResult<Value> {
        let arn = self.application_arn(p)?;
        let mut gone: Vec<String> = self
            .read()
            .platform
            .values()
            .filter(|r| matches!(r, Record::Endpoint { application, .. } if application == arn))
            .map(|r| r.arn().to_string())
            .collect();
        gone.push(arn.to_string());
        self.put_platform(Vec::new(), gone).await?;
        Ok(json!({}))
    }

    fn list_platform_applications(&self, caller: &Caller, p: &Params) -> ApiResult<Value> {
        let prefix = format!("{}app/", arn_prefix(caller));
        let items: Vec<(String, Value)> = self
            .read()
            .platform
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, r)| match r {
                Record::Application { attributes, .. } => {
                    let shown: Map<String, Value> = attributes
                        .iter()
                        .filter(|(k, _)| !is_credential(k))
                        .map(|(k, v)| (k.clone(), json!(v)))
                        .collect();
                    Some((
                        k.clone(),
                        json!({"PlatformApplicationArn": k, "Attributes": shown}),
                    ))
                }
                Record::Endpoint { .. } => None,
            })
            .collect();
        let (apps, next) = page(items, p.str("NextToken")?, 100)?;
        Ok(json!({"PlatformApplications": apps, "NextToken": next}))
    }

    async fn create_platform_endpoint(&self, p: &Params) -> ApiResult<Value> {
        let app_arn = self.application_arn(p)?;
        let token = required(p, "Token")?;
        let mut attributes = p.string_map("Attributes")?;
        check_endpoint_attributes(&attributes)?;
        if let Some(data) = p.str("CustomUserData")? {
            attributes.insert("CustomUserData".into(), data.to_string());
            check_endpoint_attributes(&attributes)?;
        }
        self.application(app_arn)?;
        attributes
            .entry("Enabled".into())
            .or_insert_with(|| "true".into());
        attributes.insert("Token".into(), token.to_string());
        let existing = self.read().platform.values().find_map(|r| match r {
            Record::Endpoint {
                arn,
                application,
                attributes: a,
            } if application == app_arn && a.get("Token") == Some(&token.to_string()) => {
                Some((arn.clone(), a.clone()))
            }
            _ => None,
        });
        if let Some((arn, a)) = existing {
            if a != attributes {
                return Err(invalid(format!(
                    "Token Reason: Endpoint {arn} already exists with the same Token, but different attributes."
                )));
            }
            return Ok(json!({"EndpointArn": arn}));
        }
        // arn:aws:sns:<region>:<account>:app/<platform>/<name> → …:endpoint/<platform>/<name>/<id>
        let arn = format!("{}/{}", app_arn.replacen(":app/", ":endpoint/", 1), uuid());
        self.put_platform(
            vec![Record::Endpoint {
                arn: arn.clone(),
                application: app_arn.to_string(),
                attributes,
            }],
            Vec::new(),
        )
        .await?;
        Ok(json!({"EndpointArn": arn}))
    }

    fn endpoint(&self, p: &Params) -> ApiResult<(String, String, BTreeMap<String, String>)> {
        let arn = required(p, "EndpointArn")?;
        parse_arn("EndpointArn", arn)?;
        match self.read().platform.get(arn) {
            Some(Record::Endpoint {
                arn,
                application,
                attributes,
            }) => Ok((arn.clone(), application.clone(), attributes.clone())),
            _ => Err(not_found("Endpoint")),
        }
    }

    /// Whether a publish to the endpoint `arn` is accepted (it is never sent).
    pub(super) fn check_endpoint_publish(&self, arn: &str) -> ApiResult<()> {
        match self.read().platform.get(arn) {
            Some(Record::Endpoint { attributes, .. })
                if attributes.get("Enabled").is_some_and(|e| e == "false") =>
            {
                Err(ApiError::new(
                    ErrorCode::EndpointDisabled,
                    "Endpoint is disabled",
                ))
            }
            Some(Record::Endpoint { .. }) => Ok(()),
            _ => Err(not_found("Endpoint")),
        }
    }

    fn get_endpoint_attributes(&self, p: &Params) -> ApiResult<Value> {
        let (_, _, attributes) = self.endpoint(p)?;
        Ok(json!({"Attributes": attributes}))
    }

    async fn set_endpoint_attributes(&self, p: &Params) -> ApiResult<Value> {
        let given = p.string_map("Attributes")?;
        if given.is_empty() {
            return Err(null_attributes());
        }
        check_endpoint_attributes(&given)?;
        let (arn, application, mut attributes) = self.endpoint(p)?;
        attributes.extend(given);
        self.put_platform(
            vec![Record::Endpoint {
                arn,
                application,
                attributes,
            }],
            Vec::new(),
        )
        .await?;
        Ok(json!({}))
    }

    async fn delete_endpoint(&self, p: &Params) -> ApiResult<Value> {
        let arn = required(p, "EndpointArn")?;
        parse_arn("EndpointArn", arn)?;
        self.put_platform(Vec::new(), vec![arn.to_string()]).await?;
        Ok(json!({}))
    }

    fn list_endpoints(&self, p: &Params) -> ApiResult<Value> {
        let app = self.application_arn(p)?;
        self.application(app)?;
        let items: Vec<(String, Value)> = self
            .read()
            .platform
            .values()
            .filter_map(|r| match r {
                Record::Endpoint {
                    arn,
                    application,
                    attributes,
                } if application == app => Some((
                    arn.clone(),
                    json!({"EndpointArn": arn, "Attributes": attributes}),
                )),
                _ => None,
            })
            .collect();
        let (endpoints, next) = page(items, p.str("NextToken")?, 100)?;
        Ok(json!({"Endpoints": endpoints, "NextToken": next}))
    }

    async fn set_sms_attributes(&self, caller: &Caller, p: &Params) -> ApiResult<Value> {
        let given = p.string_map("attributes")?;
        for (k, v) in &given {
            match k.as_str() {
                "DefaultSMSType" if !matches!(v.as_str(), "Promotional" | "Transactional") => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        "DefaultSMSType is invalid",
                    ));
                }
                "MonthlySpendLimit"
                | "DeliveryStatusIAMRole"
                | "DeliveryStatusSuccessSamplingRate"
                | "DefaultSenderID"
                | "DefaultSMSType"
                | "UsageReportS3Bucket" => {}
                other => {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameter,
                        format!("{other} is not a valid attribute"),
                    ));
                }
            }
        }
        let key = format!("{}sms", arn_prefix(caller));
        let mut attributes = match self.read().platform.get(&key) {
            Some(Record::Application { attributes, .. }) => attributes.clone(),
            _ => BTreeMap::new(),
        };
        attributes.extend(given);
        self.put_platform(
            vec![Record::Application {
                arn: key,
                attributes,
            }],
            Vec::new(),
        )
        .await?;
        Ok(json!({}))
    }

    fn get_sms_attributes(&self, caller: &Caller, p: &Params) -> Value {
        let mut attributes = BTreeMap::from([("MonthlySpendLimit".to_string(), "1".to_string())]);
        if let Some(Record::Application {
            attributes: set, ..
        }) = self
            .read()
            .platform
            .get(&format!("{}sms", arn_prefix(caller)))
        {
            attributes.extend(set.clone());
        }
        let wanted = p.strings("attributes").unwrap_or_default();
        if !wanted.is_empty() {
            attributes.retain(|k, _| wanted.contains(k));
        }
        json!({"attributes": attributes})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_attribute_rules() {
        let m = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert_eq!(
            check_endpoint_attributes(&m("PlatformPrincipal", "x"))
                .unwrap_err()
                .message,
            "Invalid parameter: Attributes Reason: Invalid attribute name: PlatformPrincipal"
        );
        assert!(
            check_endpoint_attributes(&m("CustomUserData", &"a".repeat(2050)))
                .unwrap_err()
                .message
                .ends_with("must be at most 2048 bytes long in UTF-8 encoding")
        );
        assert!(check_endpoint_attributes(&m("Enabled", "false")).is_ok());
        assert_eq!(
            check_credentials(&m("PlatformPrincipal", "p"))
                .unwrap_err()
                .message,
            "Invalid parameter: Attributes Reason: PlatformPrincipal attribute provided without PlatformCredential"
        );
        assert!(valid_phone("+4411111111") && !valid_phone("invalid"));
    }
}
