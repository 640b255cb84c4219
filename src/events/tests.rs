//! The service over a memory store: every action family, AWS's recorded answers.

use super::*;
use crate::storage::MemoryStore;

fn service() -> Arc<Events> {
    let durable = Arc::new(Durable::new(Arc::new(MemoryStore::default())));
    Events::open(durable, Clock::new()).unwrap()
}

fn caller() -> Caller {
    Caller::local("000000000000", "us-east-1")
}

async fn ok(e: &Events, action: &str, v: Value) -> Value {
    e.call(action, &caller(), Params::from_value(v).unwrap())
        .await
        .unwrap_or_else(|err| panic!("{action}: {err}"))
}

async fn err(e: &Events, action: &str, v: Value) -> ApiError {
    e.call(action, &caller(), Params::from_value(v).unwrap())
        .await
        .expect_err(action)
}

#[tokio::test]
async fn test_event_pattern_still_answers() {
    let e = service();
    let event = r#"{"id":"1","source":"s","detail-type":"d","account":"123456789012","region":"us-east-1","time":"2022-07-13T13:48:01Z","resources":[],"detail":{"n":5}}"#;
    let r = ok(
        &e,
        "TestEventPattern",
        json!({"EventPattern": r#"{"source":["s"]}"#, "Event": event}),
    )
    .await;
    assert_eq!(r, json!({"Result": true}));
    let x = err(
        &e,
        "TestEventPattern",
        json!({"EventPattern": r#"{"source":[]}"#, "Event": event}),
    )
    .await;
    assert_eq!(x.code, ErrorCode::InvalidEventPatternException);
    assert_eq!(
        err(&e, "PutEvents", json!({})).await.code,
        ErrorCode::UnknownOperation
    );
}

#[tokio::test]
async fn buses_as_aws_answers() {
    let e = service();
    // EB-005
    let r = ok(
        &e,
        "CreateEventBus",
        json!({"Name": "b1", "Description": "test bus"}),
    )
    .await;
    assert_eq!(
        r,
        json!({"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/b1", "Description": "test bus"})
    );
    // EB-013
    let x = err(&e, "CreateEventBus", json!({"Name": "b1"})).await;
    assert_eq!(x.code, ErrorCode::ResourceAlreadyExistsException);
    assert_eq!(x.message, "Event bus b1 already exists.");
    assert_eq!(x.code.status(), 400);
    // EB-006
    let d = ok(&e, "DescribeEventBus", json!({"Name": "b1"})).await;
    let mut keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "Arn",
            "CreationTime",
            "Description",
            "LastModifiedTime",
            "Name"
        ]
    );
    // By ARN too.
    let d2 = ok(
        &e,
        "DescribeEventBus",
        json!({"Name": "arn:aws:events:us-east-1:000000000000:event-bus/b1"}),
    )
    .await;
    assert_eq!(d2["Name"], "b1");
    // The default bus exists.
    assert_eq!(
        ok(&e, "DescribeEventBus", json!({})).await["Name"],
        "default"
    );
    // EB-011 paging
    for i in 0..6 {
        ok(&e, "CreateEventBus", json!({"Name": format!("p-{i}")})).await;
    }
    let page1 = ok(
        &e,
        "ListEventBuses",
        json!({"NamePrefix": "p-", "Limit": 3}),
    )
    .await;
    let names: Vec<&str> = page1["EventBuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p-0", "p-1", "p-2"]);
    let page2 = ok(
        &e,
        "ListEventBuses",
        json!({"NamePrefix": "p-", "Limit": 5, "NextToken": page1["NextToken"]}),
    )
    .await;
    assert_eq!(page2["EventBuses"].as_array().unwrap().len(), 3);
    assert!(page2.get("NextToken").is_none());
    // EB-010, EB-015, EB-016
    ok(&e, "DeleteEventBus", json!({"Name": "b1"})).await;
    assert_eq!(
        ok(&e, "ListEventBuses", json!({"NamePrefix": "b1"})).await,
        json!({"EventBuses": []})
    );
    assert_eq!(
        ok(&e, "DeleteEventBus", json!({"Name": "never"})).await,
        json!({})
    );
    let x = err(&e, "DeleteEventBus", json!({"Name": "default"})).await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::ValidationException,
            "Cannot delete event bus default."
        )
    );
    let x = err(&e, "DescribeEventBus", json!({"Name": "b1"})).await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::EventsResourceNotFound,
            "Event bus b1 does not exist."
        )
    );
    let u = ok(
        &e,
        "UpdateEventBus",
        json!({"Name": "p-0", "Description": "new"}),
    )
    .await;
    assert_eq!(u["Description"], "new");
}

#[tokio::test]
async fn bus_policy() {
    let e = service();
    ok(&e, "CreateEventBus", json!({"Name": "pb"})).await;
    // EB-018
    for (sid, principal) in [("s1", "111111111111"), ("s2", "111111111111"), ("s3", "*")] {
        ok(&e, "PutPermission", json!({"EventBusName": "pb", "Action": "events:PutEvents", "Principal": principal, "StatementId": sid})).await;
    }
    let d = ok(&e, "DescribeEventBus", json!({"Name": "pb"})).await;
    let policy: Value = serde_json::from_str(d["Policy"].as_str().unwrap()).unwrap();
    let st = policy["Statement"].as_array().unwrap();
    assert_eq!(st.len(), 3);
    assert_eq!(st[2]["Principal"], "*");
    assert_eq!(
        st[0]["Principal"],
        json!({"AWS": "arn:aws:iam::111111111111:root"})
    );
    assert_eq!(
        st[0]["Resource"],
        "arn:aws:events:us-east-1:000000000000:event-bus/pb"
    );
    // EB-021
    ok(
        &e,
        "RemovePermission",
        json!({"EventBusName": "pb", "StatementId": "s1", "RemoveAllPermissions": false}),
    )
    .await;
    let d = ok(&e, "DescribeEventBus", json!({"Name": "pb"})).await;
    let policy: Value = serde_json::from_str(d["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);
    // EB-020
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "events:ListRules", "Resource": "*"}]});
    ok(
        &e,
        "PutPermission",
        json!({"EventBusName": "pb", "Policy": doc.to_string()}),
    )
    .await;
    let d = ok(&e, "DescribeEventBus", json!({"Name": "pb"})).await;
    assert_eq!(
        serde_json::from_str::<Value>(d["Policy"].as_str().unwrap()).unwrap(),
        doc
    );
    ok(
        &e,
        "RemovePermission",
        json!({"EventBusName": "pb", "RemoveAllPermissions": true}),
    )
    .await;
    assert!(
        ok(&e, "DescribeEventBus", json!({"Name": "pb"}))
            .await
            .get("Policy")
            .is_none()
    );
    // EB-023
    let x = err(&e, "PutPermission", json!({"EventBusName": "nope", "Action": "events:PutEvents", "Principal": "*", "StatementId": "s"})).await;
    assert_eq!(x.message, "Event bus nope does not exist.");
}

#[tokio::test]
async fn rules_as_aws_answers() {
    let e = service();
    ok(&e, "CreateEventBus", json!({"Name": "cb"})).await;
    let pattern = r#"{"source":["a"]}"#;
    // EB-025, EB-026, EB-030
    let r = ok(
        &e,
        "PutRule",
        json!({"Name": "r1", "EventPattern": pattern}),
    )
    .await;
    assert_eq!(
        r,
        json!({"RuleArn": "arn:aws:events:us-east-1:000000000000:rule/r1"})
    );
    let r = ok(
        &e,
        "PutRule",
        json!({"Name": "r1", "EventPattern": pattern, "EventBusName": "cb"}),
    )
    .await;
    assert_eq!(
        r,
        json!({"RuleArn": "arn:aws:events:us-east-1:000000000000:rule/cb/r1"})
    );
    let again = ok(&e, "PutRule", json!({"Name": "r1", "EventPattern": pattern, "EventBusName": "arn:aws:events:us-east-1:000000000000:event-bus/cb"})).await;
    assert_eq!(again, r);
    assert_eq!(
        ok(&e, "ListRules", json!({"EventBusName": "cb"})).await["Rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // EB-028
    let d = ok(&e, "DescribeRule", json!({"Name": "r1"})).await;
    assert_eq!(
        d,
        json!({"Name": "r1", "Arn": "arn:aws:events:us-east-1:000000000000:rule/r1", "EventPattern": pattern, "State": "ENABLED", "EventBusName": "default", "CreatedBy": "000000000000"})
    );
    // EB-033
    let x = err(&e, "DescribeRule", json!({"Name": "none"})).await;
    assert_eq!(x.message, "Rule none does not exist on EventBus default.");
    let x = err(
        &e,
        "DescribeRule",
        json!({"Name": "none", "EventBusName": "cb"}),
    )
    .await;
    assert_eq!(x.message, "Rule none does not exist on EventBus cb.");
    // EB-036, EB-038
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "s", "ScheduleExpression": "rate(5 minutes)", "EventBusName": "cb"}),
    )
    .await;
    assert_eq!(
        x.message,
        "ScheduleExpression is supported only on the default event bus."
    );
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "s", "ScheduleExpression": "rate(1 minutes)"}),
    )
    .await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::ValidationException,
            "Parameter ScheduleExpression is not valid."
        )
    );
    let s = ok(
        &e,
        "PutRule",
        json!({"Name": "s", "ScheduleExpression": "cron(0 12 * * ? *)", "State": "DISABLED"}),
    )
    .await;
    assert!(s["RuleArn"].as_str().unwrap().ends_with(":rule/s"));
    let d = ok(&e, "DescribeRule", json!({"Name": "s"})).await;
    assert_eq!(
        (d["ScheduleExpression"].as_str(), d["State"].as_str()),
        (Some("cron(0 12 * * ? *)"), Some("DISABLED"))
    );
    ok(&e, "EnableRule", json!({"Name": "s"})).await;
    assert_eq!(
        ok(&e, "DescribeRule", json!({"Name": "s"})).await["State"],
        "ENABLED"
    );
    ok(&e, "DisableRule", json!({"Name": "s"})).await;
    assert_eq!(
        ok(&e, "DescribeRule", json!({"Name": "s"})).await["State"],
        "DISABLED"
    );
    // Patterns are validated as TestEventPattern validates them, complexity included.
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "bad", "EventPattern": r#"{"source":[]}"#}),
    )
    .await;
    assert_eq!(x.code, ErrorCode::InvalidEventPatternException);
    assert_eq!(
        x.message,
        "Event pattern is not valid. Reason: Empty arrays are not allowed"
    );
    let complex = format!(r#"{{"source":[{{"wildcard":"*{}"}}]}}"#, "a".repeat(120));
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "bad", "EventPattern": complex}),
    )
    .await;
    assert!(x.message.ends_with("Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"), "{}", x.message);
    let x = err(&e, "PutRule", json!({"Name": "bad"})).await;
    assert_eq!(x.code, ErrorCode::ValidationException);
    let x = err(
        &e,
        "PutRule",
        json!({"Name": "bad", "EventPattern": pattern, "EventBusName": "nobus"}),
    )
    .await;
    assert_eq!(x.message, "Event bus nobus does not exist.");
    // ListRules prefix and paging.
    for i in 0..5 {
        ok(
            &e,
            "PutRule",
            json!({"Name": format!("pre-{i}"), "EventPattern": pattern}),
        )
        .await;
    }
    let l = ok(&e, "ListRules", json!({"NamePrefix": "pre-", "Limit": 2})).await;
    assert_eq!(l["Rules"].as_array().unwrap().len(), 2);
    assert!(l["NextToken"].is_string());
    assert!(l["Rules"][0].get("CreatedBy").is_none());
    // Deleting an unknown rule succeeds.
    assert_eq!(
        ok(&e, "DeleteRule", json!({"Name": "never"})).await,
        json!({})
    );
}

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
async fn tags_on_buses_and_rules() {
    let e = service();
    ok(
        &e,
        "CreateEventBus",
        json!({"Name": "tb", "Tags": [{"Key": "tag1", "Value": "value1"}]}),
    )
    .await;
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/tb";
    ok(
        &e,
        "TagResource",
        json!({"ResourceARN": bus, "Tags": [{"Key": "tag2", "Value": "value2"}]}),
    )
    .await;
    // EB-146, EB-148
    assert_eq!(
        ok(&e, "ListTagsForResource", json!({"ResourceARN": bus})).await,
        json!({"Tags": [{"Key": "tag1", "Value": "value1"}, {"Key": "tag2", "Value": "value2"}]})
    );
    ok(
        &e,
        "UntagResource",
        json!({"ResourceARN": bus, "TagKeys": ["tag1"]}),
    )
    .await;
    assert_eq!(
        ok(&e, "ListTagsForResource", json!({"ResourceARN": bus})).await["Tags"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let def = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    assert_eq!(
        ok(&e, "ListTagsForResource", json!({"ResourceARN": def})).await,
        json!({"Tags": []})
    );
    let r = ok(&e, "PutRule", json!({"Name": "tr", "EventBusName": "tb", "EventPattern": r#"{"source":["a"]}"#, "Tags": [{"Key": "k", "Value": "v"}]})).await;
    assert_eq!(
        ok(
            &e,
            "ListTagsForResource",
            json!({"ResourceARN": r["RuleArn"]})
        )
        .await["Tags"],
        json!([{"Key": "k", "Value": "v"}])
    );
    // EB-150, EB-151
    let x = err(
        &e,
        "TagResource",
        json!({"ResourceARN": "arn:aws:events:us-east-1:000000000000:event-bus/gone", "Tags": []}),
    )
    .await;
    assert_eq!(
        (x.code, x.message.as_str()),
        (
            ErrorCode::EventsResourceNotFound,
            "Event bus gone does not exist."
        )
    );
    ok(
        &e,
        "DeleteRule",
        json!({"Name": "tr", "EventBusName": "tb"}),
    )
    .await;
    let x = err(
        &e,
        "ListTagsForResource",
        json!({"ResourceARN": r["RuleArn"]}),
    )
    .await;
    assert_eq!(x.message, "Rule tr does not exist on EventBus tb.");
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
    // EB-101
    assert_eq!(
        ok(&e, "DeleteArchive", json!({"ArchiveName": "a1"})).await,
        json!({})
    );
    // EB-118
    let x = err(&e, "DescribeReplay", json!({"ReplayName": "r"})).await;
    assert_eq!(x.message, "Replay r does not exist.");
    assert_eq!(
        err(&e, "StartReplay", json!({})).await.code,
        ErrorCode::UnknownOperation
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

#[tokio::test]
async fn state_is_rebuilt_from_the_store() {
    let store: Arc<dyn crate::storage::Store> = Arc::new(MemoryStore::default());
    let durable = Arc::new(Durable::new(store.clone()));
    let e = Events::open(durable.clone(), Clock::new()).unwrap();
    ok(&e, "CreateEventBus", json!({"Name": "keep"})).await;
    ok(
        &e,
        "PutRule",
        json!({"Name": "r", "EventBusName": "keep", "EventPattern": r#"{"source":["a"]}"#}),
    )
    .await;
    ok(&e, "PutTargets", json!({"Rule": "r", "EventBusName": "keep", "Targets": [{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}]})).await;
    ok(&e, "TagResource", json!({"ResourceARN": "arn:aws:events:us-east-1:000000000000:event-bus/default", "Tags": [{"Key": "k", "Value": "v"}]})).await;
    let basic = json!({"ApiKeyAuthParameters": {"ApiKeyName": "n", "ApiKeyValue": "v"}});
    ok(
        &e,
        "CreateConnection",
        json!({"Name": "c", "AuthorizationType": "API_KEY", "AuthParameters": basic}),
    )
    .await;
    ok(&e, "CreateArchive", json!({"ArchiveName": "ar", "EventSourceArn": "arn:aws:events:us-east-1:000000000000:event-bus/keep"})).await;
    let again = Events::open(Arc::new(Durable::new(store)), Clock::new()).unwrap();
    assert_eq!(
        ok(
            &again,
            "ListTargetsByRule",
            json!({"Rule": "r", "EventBusName": "keep"})
        )
        .await["Targets"][0]["Id"],
        "t"
    );
    assert_eq!(
        ok(
            &again,
            "ListTagsForResource",
            json!({"ResourceARN": "arn:aws:events:us-east-1:000000000000:event-bus/default"})
        )
        .await["Tags"][0]["Key"],
        "k"
    );
    assert_eq!(
        ok(&again, "DescribeConnection", json!({"Name": "c"})).await["ConnectionState"],
        "AUTHORIZED"
    );
    assert_eq!(
        ok(&again, "DescribeArchive", json!({"ArchiveName": "ar"})).await["ArchiveName"],
        "ar"
    );
    // Deleting the bus removes its rules from the store too.
    ok(
        &again,
        "RemoveTargets",
        json!({"Rule": "r", "EventBusName": "keep", "Ids": ["t"]}),
    )
    .await;
    ok(&again, "DeleteEventBus", json!({"Name": "keep"})).await;
    let third = Events::open(durable, Clock::new()).unwrap();
    assert_eq!(
        err(&third, "DescribeEventBus", json!({"Name": "keep"}))
            .await
            .code,
        ErrorCode::EventsResourceNotFound
    );
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let e = service();
    let other = Caller::local("111111111111", "eu-west-1");
    ok(&e, "CreateEventBus", json!({"Name": "mine"})).await;
    let x = e
        .call(
            "DescribeEventBus",
            &other,
            Params::from_value(json!({"Name": "mine"})).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(x.code, ErrorCode::EventsResourceNotFound);
    let d = e
        .call("DescribeEventBus", &other, Params::default())
        .await
        .unwrap();
    assert_eq!(
        d["Arn"],
        "arn:aws:events:eu-west-1:111111111111:event-bus/default"
    );
}
