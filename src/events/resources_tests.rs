//! The service's targets, connections, API destinations, archives and out-of-scope actions.

use super::tests::{err, ok, service};
use crate::error::ErrorCode;
use serde_json::{Value, json};

#[tokio::test]
async fn targets_as_aws_answers() {
    let e = service();
    let pattern = r#"{"source":["a"]}"#;
    ok(&e, "PutRule", json!({"Name": "t", "EventPattern": pattern})).await;
    let q = "arn:aws:sqs:us-east-1:000000000000:q";
    // EB-046
    let r = ok(
        &e,
        "PutTargets",
        json!({"Rule": "t", "Targets": [{"Id": "a", "Arn": q}]}),
    )
    .await;
    assert_eq!(r, json!({"FailedEntryCount": 0, "FailedEntries": []}));
    // EB-031: re-putting the rule keeps its targets.
    ok(&e, "PutRule", json!({"Name": "t", "EventPattern": pattern})).await;
    assert_eq!(
        ok(&e, "ListTargetsByRule", json!({"Rule": "t"})).await["Targets"],
        json!([{"Id": "a", "Arn": q}])
    );
    // EB-035
    let x = err(&e, "DeleteRule", json!({"Name": "t"})).await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::ValidationException,
            "Rule can't be deleted since it has targets."
        )
    );
    // EB-048
    let x = err(
        &e,
        "PutTargets",
        json!({"Rule": "t", "Targets": [{"Id": "!@#$@!#$", "Arn": q}]}),
    )
    .await;
    assert_eq!(
        x.message,
        r"1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
    );
    // EB-050: at most five.
    let seven: Vec<Value> = (0..7)
        .map(|i| json!({"Id": format!("x{i}"), "Arn": q}))
        .collect();
    ok(
        &e,
        "PutRule",
        json!({"Name": "many", "EventPattern": pattern}),
    )
    .await;
    let x = err(&e, "PutTargets", json!({"Rule": "many", "Targets": seven})).await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::LimitExceededException,
            "The requested resource exceeds the maximum number allowed."
        )
    );
    let five: Vec<Value> = (0..5)
        .map(|i| json!({"Id": format!("x-{i}"), "Arn": q}))
        .collect();
    ok(&e, "PutTargets", json!({"Rule": "many", "Targets": five})).await;
    // EB-051
    let l = ok(&e, "ListTargetsByRule", json!({"Rule": "many", "Limit": 3})).await;
    assert_eq!(l["Targets"].as_array().unwrap().len(), 3);
    let l2 = ok(
        &e,
        "ListTargetsByRule",
        json!({"Rule": "many", "NextToken": l["NextToken"]}),
    )
    .await;
    let ids: Vec<&str> = l2["Targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["x-3", "x-4"]);
    assert!(l2.get("NextToken").is_none());
    // EB-053: same Arn twice under different Ids, kept in order.
    ok(
        &e,
        "PutTargets",
        json!({"Rule": "t", "Targets": [{"Id": "b", "Arn": q}]}),
    )
    .await;
    let ids: Vec<Value> = ok(&e, "ListTargetsByRule", json!({"Rule": "t"})).await["Targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Id"].clone())
        .collect();
    assert_eq!(ids, [json!("a"), json!("b")]);
    // EB-043
    let names = ok(&e, "ListRuleNamesByTarget", json!({"TargetArn": q})).await;
    assert_eq!(names, json!({"RuleNames": ["many", "t"]}));
    assert_eq!(
        ok(
            &e,
            "ListRuleNamesByTarget",
            json!({"TargetArn": "arn:aws:sqs:us-east-1:0:none"})
        )
        .await,
        json!({"RuleNames": []})
    );
    // EB-080
    let x = err(&e, "PutTargets", json!({"Rule": "t", "Targets": [{"Id": "c", "Arn": q, "InputTransformer": {"InputPathsMap": {"a": "$.detail"}, "InputTemplate": "{\"x\": <notdefinedkey>}"}}]})).await;
    assert_eq!(
        x.message,
        "InputTemplate for target c contains invalid placeholder notdefinedkey."
    );
    // EB-055 members are accepted and kept.
    let full = json!({"Id": "c", "Arn": "arn:aws:events:us-east-1:000000000000:event-bus/default", "RoleArn": "arn:aws:iam::000000000000:role/r", "RetryPolicy": {"MaximumRetryAttempts": 0}, "Input": "{\"k\": 1}"});
    ok(
        &e,
        "PutTargets",
        json!({"Rule": "t", "Targets": [full.clone()]}),
    )
    .await;
    assert_eq!(
        ok(&e, "ListTargetsByRule", json!({"Rule": "t"})).await["Targets"][2],
        full
    );
    // Per-entry failures.
    let r = ok(&e, "PutTargets", json!({"Rule": "t", "Targets": [{"Id": "d", "Arn": "not-an-arn"}, {"Id": "f", "Arn": "arn:aws:sqs:us-east-1:000000000000:q.fifo"}]})).await;
    assert_eq!(r["FailedEntryCount"], 2);
    assert_eq!(
        r["FailedEntries"][0],
        json!({"TargetId": "d", "ErrorCode": "ValidationException", "ErrorMessage": "Provided Arn is not in correct format."})
    );
    // Remove, then the rule can go.
    ok(
        &e,
        "RemoveTargets",
        json!({"Rule": "t", "Ids": ["a", "b", "c"]}),
    )
    .await;
    assert_eq!(ok(&e, "DeleteRule", json!({"Name": "t"})).await, json!({}));
    let x = err(
        &e,
        "PutTargets",
        json!({"Rule": "t", "Targets": [{"Id": "a", "Arn": q}]}),
    )
    .await;
    assert_eq!(x.message, "Rule t does not exist on EventBus default.");
}

#[tokio::test]
async fn connections_and_destinations() {
    let e = service();
    // EB-120, EB-121, EB-123
    let basic = json!({"BasicAuthParameters": {"Username": "u", "Password": "p"}});
    let c = ok(
        &e,
        "CreateConnection",
        json!({"Name": "c1", "AuthorizationType": "BASIC", "AuthParameters": basic}),
    )
    .await;
    assert_eq!(c["ConnectionState"], "AUTHORIZED");
    let oauth = json!({"OAuthParameters": {"ClientParameters": {"ClientID": "id", "ClientSecret": "s"}, "AuthorizationEndpoint": "https://example.com/oauth", "HttpMethod": "POST"}});
    let o = ok(&e, "CreateConnection", json!({"Name": "c2", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": oauth})).await;
    assert_eq!(o["ConnectionState"], "AUTHORIZING");
    let d = ok(&e, "DescribeConnection", json!({"Name": "c1"})).await;
    assert_eq!(
        d["AuthParameters"],
        json!({"BasicAuthParameters": {"Username": "u"}})
    );
    let secret = d["SecretArn"].as_str().unwrap();
    assert!(
        secret.starts_with(
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/c1/"
        ),
        "{secret}"
    );
    assert!(d.get("Description").is_none() && d["LastAuthorizedTime"].is_number());
    // EB-125
    let l = ok(&e, "ListConnections", json!({"NamePrefix": "c1"})).await;
    assert!(l["Connections"][0].get("AuthParameters").is_none());
    // EB-126
    let u = ok(&e, "UpdateConnection", json!({"Name": "c1", "AuthorizationType": "BASIC", "AuthParameters": {"BasicAuthParameters": {"Username": "u2", "Password": "p2"}}})).await;
    assert_eq!(u["ConnectionState"], "AUTHORIZED");
    let d2 = ok(&e, "DescribeConnection", json!({"Name": "c1"})).await;
    assert_eq!(
        (
            d2["AuthParameters"]["BasicAuthParameters"]["Username"].as_str(),
            d2["SecretArn"].as_str()
        ),
        (Some("u2"), Some(secret))
    );
    // EB-128, EB-130
    let x = err(
        &e,
        "CreateConnection",
        json!({"Name": "c3", "AuthorizationType": "INVALID_AUTH_TYPE", "AuthParameters": {}}),
    )
    .await;
    assert_eq!(
        x.message,
        "1 validation error detected: Value 'INVALID_AUTH_TYPE' at 'authorizationType' failed to satisfy constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
    );
    let long = "This should fail with two errors 123467890123412341234123412341234";
    let x = err(
        &e,
        "CreateConnection",
        json!({"Name": long, "AuthorizationType": "INVALID", "AuthParameters": {}}),
    )
    .await;
    assert!(
        x.message.starts_with("3 validation errors detected: "),
        "{}",
        x.message
    );
    // EB-131, EB-133
    let arn = c["ConnectionArn"].as_str().unwrap();
    let a = ok(&e, "CreateApiDestination", json!({"Name": "d1", "ConnectionArn": arn, "HttpMethod": "POST", "InvocationEndpoint": "https://example.com/api", "Description": "x"})).await;
    let mut keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "ApiDestinationArn",
            "ApiDestinationState",
            "CreationTime",
            "LastModifiedTime"
        ]
    );
    let d = ok(&e, "DescribeApiDestination", json!({"Name": "d1"})).await;
    assert_eq!(d["InvocationRateLimitPerSecond"], 300);
    assert_eq!(d["Description"], "x");
    let l = ok(&e, "ListApiDestinations", json!({"NamePrefix": "d"})).await;
    assert!(l["ApiDestinations"][0].get("Description").is_none());
    // EB-135, EB-136
    let x = err(&e, "CreateApiDestination", json!({"Name": "d2", "ConnectionArn": "invalid-connection-arn", "HttpMethod": "INVALID_METHOD", "InvocationEndpoint": "invalid-endpoint"})).await;
    assert_eq!(
        x.message,
        r"2 validation errors detected: Value 'invalid-connection-arn' at 'connectionArn' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$; Value 'INVALID_METHOD' at 'httpMethod' failed to satisfy constraint: Member must satisfy enum value set: [HEAD, POST, PATCH, DELETE, PUT, GET, OPTIONS]"
    );
    let x = err(&e, "CreateApiDestination", json!({"Name": "Invalid Name With Spaces!", "ConnectionArn": arn, "HttpMethod": "POST", "InvocationEndpoint": "https://x"})).await;
    assert!(x.message.contains(
        "at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern"
    ));
    ok(
        &e,
        "UpdateApiDestination",
        json!({"Name": "d1", "InvocationRateLimitPerSecond": 5}),
    )
    .await;
    assert_eq!(
        ok(&e, "DescribeApiDestination", json!({"Name": "d1"})).await["InvocationRateLimitPerSecond"],
        5
    );
    assert_eq!(
        ok(&e, "DeleteApiDestination", json!({"Name": "d1"})).await,
        json!({})
    );
    assert_eq!(
        ok(&e, "DeauthorizeConnection", json!({"Name": "c1"})).await["ConnectionState"],
        "DEAUTHORIZED"
    );
    assert_eq!(
        ok(&e, "DeleteConnection", json!({"Name": "c1"})).await["ConnectionState"],
        "DELETING"
    );
    assert_eq!(
        err(&e, "DescribeConnection", json!({"Name": "c1"}))
            .await
            .code,
        ErrorCode::EventsResourceNotFound
    );
}

#[tokio::test]
async fn archives_as_aws_answers() {
    let e = service();
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    // EB-095
    let a = ok(&e, "CreateArchive", json!({"ArchiveName": "a1", "EventSourceArn": bus, "Description": "d", "EventPattern": r#"{"source":["x"]}"#, "RetentionDays": 1})).await;
    assert_eq!(
        a["ArchiveArn"],
        "arn:aws:events:us-east-1:000000000000:archive/a1"
    );
    assert_eq!(a["State"], "ENABLED");
    // EB-096
    let d = ok(&e, "DescribeArchive", json!({"ArchiveName": "a1"})).await;
    assert_eq!(
        (
            d["EventCount"].as_i64(),
            d["SizeBytes"].as_i64(),
            d["RetentionDays"].as_i64()
        ),
        (Some(0), Some(0), Some(1))
    );
    // EB-098
    assert_eq!(
        ok(&e, "ListArchives", json!({"NamePrefix": "a"})).await["Archives"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ok(
            &e,
            "ListArchives",
            json!({"EventSourceArn": bus, "State": "ENABLED"})
        )
        .await["Archives"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ok(&e, "ListArchives", json!({"NamePrefix": "zz"})).await,
        json!({"Archives": []})
    );
    // EB-100
    let x = err(&e, "UpdateArchive", json!({"ArchiveName": "missing"})).await;
    assert_eq!(
        x.message,
        "At least one of EventPattern, RetentionDays or Description must be provided."
    );
    // EB-103
    let x = err(&e, "CreateArchive", json!({"ArchiveName": "a2", "EventSourceArn": "arn:aws:events:us-east-1:123456789012:event-bus/nobus"})).await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::EventsResourceNotFound,
            "Event bus nobus does not exist."
        )
    );
    let x = err(
        &e,
        "ListArchives",
        json!({"EventSourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/nobus"}),
    )
    .await;
    assert_eq!(x.message, "Event bus nobus does not exist.");
    // Another account's bus, even its default one, is not the caller's to archive.
    let x = err(&e, "CreateArchive", json!({"ArchiveName": "a3", "EventSourceArn": "arn:aws:events:us-east-1:123456789012:event-bus/default"})).await;
    assert_eq!(x.message, "Event bus default does not exist.");
    // EB-101
    assert_eq!(
        ok(&e, "DeleteArchive", json!({"ArchiveName": "a1"})).await,
        json!({})
    );
    // EB-118
    let x = err(&e, "DescribeReplay", json!({"ReplayName": "r"})).await;
    assert_eq!(x.message, "Replay r does not exist.");
    let x = err(&e, "StartReplay", json!({})).await;
    assert_eq!(x.code, ErrorCode::ValidationException);
    assert!(
        x.message
            .starts_with("5 validation errors detected: Value null at 'replayName'")
    );
}

#[tokio::test]
async fn out_of_scope_actions() {
    let e = service();
    assert_eq!(
        err(&e, "ListPartnerEventSources", json!({"NamePrefix": "x"}))
            .await
            .code,
        ErrorCode::OperationDisabledException
    );
    assert_eq!(
        err(&e, "CreateEndpoint", json!({})).await.code,
        ErrorCode::OperationDisabledException
    );
    assert_eq!(
        err(&e, "NoSuchAction", json!({})).await.code,
        ErrorCode::UnknownOperation
    );
}

/// Every action, fed arbitrary members of arbitrary types, answers an AWS error or a result:
/// never a panic, never an internal failure.
#[test]
fn arbitrary_input_never_panics() {
    use crate::caller::Caller;
    use crate::protocol::Params;
    use proptest::prelude::*;
    const ACTIONS: &[&str] = &[
        "CreateEventBus",
        "DescribeEventBus",
        "UpdateEventBus",
        "ListEventBuses",
        "DeleteEventBus",
        "PutPermission",
        "RemovePermission",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "PutRule",
        "DescribeRule",
        "ListRules",
        "EnableRule",
        "DisableRule",
        "DeleteRule",
        "PutTargets",
        "RemoveTargets",
        "ListTargetsByRule",
        "ListRuleNamesByTarget",
        "CreateConnection",
        "DescribeConnection",
        "UpdateConnection",
        "DeauthorizeConnection",
        "DeleteConnection",
        "ListConnections",
        "CreateApiDestination",
        "DescribeApiDestination",
        "UpdateApiDestination",
        "DeleteApiDestination",
        "ListApiDestinations",
        "CreateArchive",
        "DescribeArchive",
        "UpdateArchive",
        "DeleteArchive",
        "ListArchives",
        "DescribeReplay",
        "TestEventPattern",
    ];
    const MEMBERS: &[&str] = &[
        "Name",
        "EventBusName",
        "Description",
        "Policy",
        "Action",
        "Principal",
        "StatementId",
        "Condition",
        "RemoveAllPermissions",
        "ResourceARN",
        "Tags",
        "TagKeys",
        "EventPattern",
        "ScheduleExpression",
        "State",
        "RoleArn",
        "Rule",
        "Targets",
        "Ids",
        "TargetArn",
        "AuthorizationType",
        "AuthParameters",
        "ConnectionArn",
        "HttpMethod",
        "InvocationEndpoint",
        "InvocationRateLimitPerSecond",
        "ArchiveName",
        "EventSourceArn",
        "RetentionDays",
        "NamePrefix",
        "NextToken",
        "Limit",
        "Event",
        "DeadLetterConfig",
        "ReplayName",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9:/*.${}\\[\\]\" -]{0,12}".prop_map(Value::from),
        Just(Value::from("default")),
        Just(Value::from(
            "arn:aws:events:us-east-1:000000000000:event-bus/default"
        )),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    proptest::sample::select(MEMBERS).prop_map(String::from),
                    Just("Id".to_string()),
                    Just("Arn".to_string()),
                    Just("Key".to_string()),
                    Just("Value".to_string()),
                    Just("InputTransformer".to_string()),
                    Just("BasicAuthParameters".to_string()),
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let input = proptest::collection::btree_map(proptest::sample::select(MEMBERS), value, 0..5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let e = service();
    let caller = Caller::local("000000000000", "us-east-1");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    proptest!(ProptestConfig::with_cases(cases), |(action in proptest::sample::select(ACTIONS), members in input)| {
        let v = Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let out = rt.block_on(e.call(action, &caller, Params::from_value(v).unwrap()));
        if let Err(err) = out {
            prop_assert_ne!(err.code, ErrorCode::InternalFailure);
        }
    });
}

/// `--max-rules-per-bus` moves AWS's default quota of 300 rules per bus.
#[tokio::test]
async fn the_rules_quota_can_be_moved() {
    let e = service();
    e.limit_rules_per_bus(2);
    let pattern = r#"{"source":["a"]}"#;
    for name in ["r1", "r2"] {
        ok(
            &e,
            "PutRule",
            json!({"Name": name, "EventPattern": pattern}),
        )
        .await;
    }
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "r3", "EventPattern": pattern}),
    )
    .await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::LimitExceededException,
            "The requested resource exceeds the maximum number allowed: 2 rules per event bus."
        )
    );
    // Changing a rule that exists is not a new rule.
    ok(
        &e,
        "PutRule",
        json!({"Name": "r2", "EventPattern": pattern}),
    )
    .await;
}
