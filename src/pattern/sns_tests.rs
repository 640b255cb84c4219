//! SNS filter policies: scopes, attribute types, limits and error texts.

use super::*;

fn attrs(list: &[(&str, &str, &str)]) -> Vec<(String, MessageAttribute)> {
    list.iter()
        .map(|(n, t, v)| {
            (
                n.to_string(),
                MessageAttribute {
                    data_type: t.to_string(),
                    value: v.to_string(),
                },
            )
        })
        .collect()
}

fn on_attrs(policy: &str, list: &[(&str, &str, &str)]) -> bool {
    let p = FilterPolicy::parse(policy, FilterPolicyScope::MessageAttributes).unwrap();
    let a = attrs(list);
    p.matches_attributes(a.iter().map(|(n, v)| (n.as_str(), v)))
}

fn reason(policy: &str, scope: FilterPolicyScope) -> String {
    let e = FilterPolicy::parse(policy, scope).unwrap_err();
    assert_eq!(e.code(), "InvalidParameter");
    e.message()
}

#[test]
fn attribute_types() {
    let p = r#"{"store":["example_corp"],"price_usd":[{"numeric":[">=",100]}]}"#;
    assert!(on_attrs(
        p,
        &[
            ("store", "String", "example_corp"),
            ("price_usd", "Number", "210.75")
        ]
    ));
    assert!(!on_attrs(
        p,
        &[
            ("store", "String", "example_corp"),
            ("price_usd", "Number", "99")
        ]
    ));
    assert!(!on_attrs(
        p,
        &[
            ("store", "String", "example_corp"),
            ("price_usd", "String", "210")
        ]
    ));
    assert!(!on_attrs(p, &[("store", "String", "example_corp")]));
    // String.Array attributes are JSON arrays matched element by element.
    let p = r#"{"customer_interests":["rugby","football"]}"#;
    assert!(on_attrs(
        p,
        &[(
            "customer_interests",
            "String.Array",
            r#"["soccer","rugby"]"#
        )]
    ));
    assert!(!on_attrs(
        p,
        &[("customer_interests", "String.Array", r#"["soccer"]"#)]
    ));
    assert!(on_attrs(r#"{"a":[5]}"#, &[("a", "String.Array", "[1,5]")]));
    // Binary attributes are never matched.
    assert!(!on_attrs(
        r#"{"b":[{"exists":true}]}"#,
        &[("b", "Binary", "AAAA")]
    ));
    assert!(on_attrs(
        r#"{"b":[{"exists":false}]}"#,
        &[("b", "Binary", "AAAA")]
    ));
    // Custom type suffixes keep the base type.
    assert!(on_attrs(
        r#"{"n":[{"numeric":["=",3]}]}"#,
        &[("n", "Number.int", "3")]
    ));
    assert!(on_attrs(
        r#"{"s":[{"prefix":"ab"}]}"#,
        &[("s", "String.tag", "abc")]
    ));
}

#[test]
fn operators_on_attributes() {
    assert!(on_attrs(
        r#"{"e":[{"anything-but":["a","b"]}]}"#,
        &[("e", "String", "c")]
    ));
    assert!(!on_attrs(
        r#"{"e":[{"anything-but":["a","b"]}]}"#,
        &[("e", "String", "a")]
    ));
    assert!(!on_attrs(r#"{"e":[{"anything-but":["a","b"]}]}"#, &[]));
    assert!(on_attrs(
        r#"{"e":[{"equals-ignore-case":"ABC"}]}"#,
        &[("e", "String", "abc")]
    ));
    assert!(on_attrs(
        r#"{"e":[{"suffix":"z"}]}"#,
        &[("e", "String", "xyz")]
    ));
    assert!(on_attrs(
        r#"{"ip":[{"cidr":"10.0.0.0/8"}]}"#,
        &[("ip", "String", "10.1.2.3")]
    ));
    let p = r#"{"$or":[{"a":["1"]},{"b":["2"]}]}"#;
    assert!(on_attrs(p, &[("b", "String", "2")]));
    assert!(!on_attrs(p, &[("b", "String", "1")]));
}

#[test]
fn body_scope_is_nested() {
    let p = FilterPolicy::parse(
        r#"{"order":{"status":["paid"],"total":[{"numeric":[">",10]}]}}"#,
        FilterPolicyScope::MessageBody,
    )
    .unwrap();
    assert!(p.matches_body(r#"{"order":{"status":"paid","total":12.5}}"#));
    assert!(!p.matches_body(r#"{"order":{"status":"paid","total":2}}"#));
    assert!(!p.matches_body("not json"));
    assert!(p.matches_message(
        r#"{"order":{"status":"paid","total":11}}"#,
        std::iter::empty()
    ));
}

#[test]
fn limits_and_reasons() {
    use FilterPolicyScope::*;
    assert_eq!(
        reason(r#"{"a":{"b":["x"]}}"#, MessageAttributes),
        "Invalid parameter: FilterPolicy: Filter policy scope MessageAttributes does not support nested filter policy"
    );
    assert!(FilterPolicy::parse(r#"{"a":{"b":["x"]}}"#, MessageBody).is_ok());
    assert_eq!(
        reason(
            r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#,
            MessageAttributes
        ),
        "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
    );
    let many: Vec<String> = (0..151).map(|i| i.to_string()).collect();
    let p = serde_json::json!({ "store": many }).to_string();
    assert_eq!(
        reason(&p, MessageAttributes),
        "Invalid parameter: FilterPolicy: Filter policy is too complex"
    );
    let p =
        r#"{"a":["1","2","3","4","5"],"b":["1","2","3","4","5"],"c":["1","2","3","4","5","6"]}"#;
    assert_eq!(
        reason(p, MessageAttributes),
        "Invalid parameter: FilterPolicy: Filter policy is too complex"
    );
    let p =
        r#"{"a":["1","2","3","4","5"],"b":["1","2","3","4","5"],"c":["1","2","3","4","5","6"]}"#;
    assert!(p.len() > 10);
    assert_eq!(
        reason(r#"{"a":[]}"#, MessageAttributes),
        "Invalid parameter: FilterPolicy: Empty arrays are not allowed"
    );
    assert_eq!(
        reason(r#"{"a":[{"wildcard":"x*"}]}"#, MessageAttributes),
        "Invalid parameter: FilterPolicy: Unrecognized match type wildcard"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",1000000001]}]}"#, MessageAttributes),
        "Invalid parameter: FilterPolicy: Value must be between -1000000000 and 1000000000, inclusive"
    );
    assert_eq!(
        reason("{", MessageAttributes),
        "Invalid parameter: FilterPolicy: failed to parse JSON."
    );
    assert_eq!(
        FilterPolicyScope::from_name("MessageBody"),
        Some(MessageBody)
    );
    assert_eq!(MessageAttributes.as_str(), "MessageAttributes");
}
