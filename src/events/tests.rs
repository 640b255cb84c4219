//! The service over a memory store: every action family, AWS's recorded answers.

use super::*;
use crate::storage::MemoryStore;

pub(super) fn service() -> Arc<Events> {
    let durable = Arc::new(Durable::memory());
    Events::open(durable, Clock::new()).unwrap()
}

pub(super) fn caller() -> Caller {
    Caller::local("000000000000", "us-east-1")
}

pub(super) async fn ok(e: &Events, action: &str, v: Value) -> Value {
    e.call(action, &caller(), Params::from_value(v).unwrap())
        .await
        .unwrap_or_else(|err| panic!("{action}: {err}"))
}

pub(super) async fn err(e: &Events, action: &str, v: Value) -> ApiError {
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
        ErrorCode::ValidationException
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
async fn state_is_rebuilt_from_the_store() {
    let store: Arc<dyn crate::storage::Store> = Arc::new(MemoryStore::default());
    let durable = Arc::new(Durable::new(
        store.clone(),
        store.clone(),
        crate::storage::SyncPolicy::default(),
    ));
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
    let again = Events::open(
        Arc::new(Durable::new(
            store.clone(),
            store,
            crate::storage::SyncPolicy::default(),
        )),
        Clock::new(),
    )
    .unwrap();
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
