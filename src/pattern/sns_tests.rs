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
    let none: std::collections::HashMap<String, MessageAttribute> = Default::default();
    assert!(p.matches_message(r#"{"order":{"status":"paid","total":11}}"#, &none));
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
    let p = r#"{"a":["1","2","3","4","5"],"b":["1","2","3","4","5"],"c":["1","2","3","4","5","6","7"]}"#;
    assert_eq!(
        reason(p, MessageAttributes),
        "Invalid parameter: FilterPolicy: Filter policy is too complex"
    );
    let p =
        r#"{"a":["1","2","3","4","5"],"b":["1","2","3","4","5"],"c":["1","2","3","4","5","6"]}"#;
    assert!(FilterPolicy::parse(p, MessageAttributes).is_ok());
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

#[test]
fn topic_policies_share_one_rule_set() {
    let mut set = crate::pattern::RuleSet::new();
    let policies = [
        ("sub-a", r#"{"store":["example_corp"]}"#),
        ("sub-b", r#"{"price":[{"numeric":[">",100]}]}"#),
        ("sub-c", r#"{"tags":["red"],"store":[{"prefix":"ex"}]}"#),
        ("sub-d", r#"{"missing":[{"exists":false}]}"#),
    ];
    for (id, p) in policies {
        let fp = FilterPolicy::parse(p, FilterPolicyScope::MessageAttributes).unwrap();
        set.insert(id, fp.pattern().clone());
    }
    let a = attrs(&[
        ("store", "String", "example_corp"),
        ("price", "Number", "150"),
        ("tags", "String.Array", r#"["blue","red"]"#),
    ]);
    let mut hits = set.matches_attributes(a.iter().map(|(n, v)| (n.as_str(), v)));
    hits.sort();
    assert_eq!(hits, vec!["sub-a", "sub-b", "sub-c", "sub-d"]);
    let a = attrs(&[("price", "Number", "99"), ("missing", "Binary", "x")]);
    assert_eq!(
        set.matches_attributes(a.iter().map(|(n, v)| (n.as_str(), v))),
        vec!["sub-d"]
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const SNIPPETS: &[&str] = &[
        r#""x""#,
        "5",
        r#"{"prefix":"x"}"#,
        r#"{"anything-but":"x"}"#,
        r#"{"numeric":[">",1]}"#,
        r#"{"exists":false}"#,
        r#"{"exists":true}"#,
        r#"{"equals-ignore-case":"X"}"#,
    ];
    const VALUES: &[(&str, &str)] = &[
        ("String", "x"),
        ("String", "xy"),
        ("String", "X"),
        ("Number", "5"),
        ("Number", "0.5"),
        ("String.Array", r#"["x",5,"y"]"#),
        ("String.Array", "not an array"),
        ("Binary", "AAAA"),
    ];

    fn policy() -> impl Strategy<Value = String> {
        prop::collection::btree_map(
            prop::sample::select(&["a", "b", "c"][..]),
            prop::collection::vec(prop::sample::select(SNIPPETS), 1..3),
            1..3,
        )
        .prop_map(|m| {
            let fields: Vec<String> = m
                .iter()
                .map(|(k, v)| format!(r#""{k}":[{}]"#, v.join(",")))
                .collect();
            format!("{{{}}}", fields.join(","))
        })
    }

    proptest! {
        /// A topic's rule set answers what each subscription's policy answers alone.
        #[test]
        fn rule_set_equals_each_policy(
            policies in prop::collection::vec(policy(), 1..6),
            picks in prop::collection::vec(
                (prop::sample::select(&["a", "b", "c"][..]), prop::sample::select(VALUES)),
                0..4,
            ),
        ) {
            let list: Vec<(&str, &str, &str)> = picks.iter().map(|(n, (t, v))| (*n, *t, *v)).collect();
            let a = attrs(&list);
            let mut set = crate::pattern::RuleSet::new();
            let mut want = Vec::new();
            for (i, p) in policies.iter().enumerate() {
                let fp = FilterPolicy::parse(p, FilterPolicyScope::MessageAttributes).unwrap();
                if fp.matches_attributes(a.iter().map(|(n, v)| (n.as_str(), v))) {
                    want.push(i);
                }
                set.insert(i, fp.pattern().clone());
            }
            let mut got = set.matches_attributes(a.iter().map(|(n, v)| (n.as_str(), v)));
            got.sort();
            prop_assert_eq!(got, want);
        }
    }
}
