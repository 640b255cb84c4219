//! Cases written from the AWS documentation of each operator, plus every reason text.

use super::*;

fn reason(p: &str) -> String {
    match parse(p, Dialect::EventBridge) {
        Ok(_) => panic!("pattern accepted: {p}"),
        Err(e) => e.reason,
    }
}

fn m(p: &str, e: &str) -> bool {
    let pat = parse(p, Dialect::EventBridge).unwrap_or_else(|e| panic!("{p}: {e}"));
    let single = pat.matches(e);
    // The compiled rule set must agree with the pattern alone on every case here.
    let mut rs = crate::pattern::RuleSet::new();
    rs.insert(1, pat);
    assert_eq!(
        rs.matches(e) == vec![1],
        single,
        "rule set disagrees: {p} / {e}"
    );
    single
}

#[test]
fn exact_values_of_every_type() {
    assert!(m(r#"{"a":["x"]}"#, r#"{"a":"x"}"#));
    assert!(!m(r#"{"a":["x"]}"#, r#"{"a":"X"}"#));
    assert!(m(r#"{"a":[5]}"#, r#"{"a":5.0}"#));
    assert!(m(r#"{"a":[3.018e2]}"#, r#"{"a":301.8}"#));
    assert!(!m(r#"{"a":[5]}"#, r#"{"a":"5"}"#));
    assert!(!m(r#"{"a":["5"]}"#, r#"{"a":5}"#));
    assert!(m(r#"{"a":[true]}"#, r#"{"a":true}"#));
    assert!(!m(r#"{"a":[true]}"#, r#"{"a":"true"}"#));
    assert!(m(r#"{"a":[null]}"#, r#"{"a":null}"#));
    assert!(!m(r#"{"a":[null]}"#, r#"{"b":null}"#));
    assert!(!m(r#"{"a":[null]}"#, r#"{"a":"null"}"#));
    assert!(m(r#"{"a":[""]}"#, r#"{"a":""}"#));
    assert!(!m(r#"{"a":[""]}"#, r#"{"a":null}"#));
    // Large integers such as account ids are matched by their text.
    assert!(m(
        r#"{"account":[123456789012]}"#,
        r#"{"account":123456789012}"#
    ));
}

#[test]
fn arrays_on_either_side() {
    let p = r#"{"resources":["arn:1","arn:2"]}"#;
    assert!(m(p, r#"{"resources":["arn:0","arn:2"]}"#));
    assert!(!m(p, r#"{"resources":["arn:0","arn:3"]}"#));
    assert!(!m(p, r#"{"resources":[]}"#));
    assert!(m(r#"{"a":{"b":["x"]}}"#, r#"{"a":[{"b":"y"},{"b":"x"}]}"#));
    // Fields inside one array element must come from the same element.
    let p = r#"{"a":{"b":["1"],"c":["4"]}}"#;
    assert!(!m(p, r#"{"a":[{"b":"1","c":"2"},{"b":"3","c":"4"}]}"#));
    assert!(m(p, r#"{"a":[{"b":"1","c":"4"},{"b":"3","c":"2"}]}"#));
}

#[test]
fn nested_objects_and_dotted_keys() {
    assert!(m(
        r#"{"detail":{"state":{"status":["running"]}}}"#,
        r#"{"detail":{"state.status":"running"}}"#
    ));
    assert!(m(
        r#"{"detail":{"state.status":["running"]}}"#,
        r#"{"detail":{"state":{"status":"running"}}}"#
    ));
    assert!(!m(
        r#"{"detail":{"my-key":["v"]}}"#,
        r#"{"detail":"{\"my-key\": \"v\"}"}"#
    ));
    assert!(!m(r#"{"MY_KEY":["v"]}"#, r#"{"my_key":"v"}"#));
}

#[test]
fn prefix_and_suffix() {
    assert!(m(
        r#"{"time":[{"prefix":"2017-10-02"}]}"#,
        r#"{"time":"2017-10-02T18:43:48Z"}"#
    ));
    assert!(!m(
        r#"{"time":[{"prefix":"2017-10-02"}]}"#,
        r#"{"time":"2017-10-03"}"#
    ));
    assert!(!m(r#"{"n":[{"prefix":"1"}]}"#, r#"{"n":12}"#));
    assert!(m(r#"{"s":[{"prefix":""}]}"#, r#"{"s":"anything"}"#));
    let p = r#"{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}"#;
    assert!(m(p, r#"{"service":"eventbridge"}"#));
    assert!(m(p, r#"{"service":"EVENTBRIDGE"}"#));
    assert!(!m(p, r#"{"service":"sns"}"#));
    assert!(m(
        r#"{"FileName":[{"suffix":".png"}]}"#,
        r#"{"FileName":"image.png"}"#
    ));
    assert!(!m(
        r#"{"FileName":[{"suffix":".png"}]}"#,
        r#"{"FileName":"image.PNG"}"#
    ));
    let p = r#"{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}"#;
    assert!(m(p, r#"{"FileName":"image.PnG"}"#));
    assert!(!m(p, r#"{"FileName":"image.jpg"}"#));
}

#[test]
fn equals_ignore_case() {
    let p = r#"{"name":[{"equals-ignore-case":"alice"}]}"#;
    assert!(m(p, r#"{"name":"ALICE"}"#));
    assert!(m(p, r#"{"name":"Alice"}"#));
    assert!(!m(p, r#"{"name":"Alicia"}"#));
    assert!(!m(
        r#"{"v":[{"equals-ignore-case":""}]}"#,
        r#"{"v":"test-value"}"#
    ));
    assert!(m(
        r#"{"v":[{"equals-ignore-case":"ÉTÉ"}]}"#,
        r#"{"v":"été"}"#
    ));
}

#[test]
fn wildcard() {
    assert!(m(
        r#"{"f":[{"wildcard":"dir/*.png"}]}"#,
        r#"{"f":"dir/hello.png"}"#
    ));
    assert!(!m(
        r#"{"f":[{"wildcard":"dir/*.png"}]}"#,
        r#"{"f":"dir/hello.jpg"}"#
    ));
    assert!(m(r#"{"f":[{"wildcard":"*"}]}"#, r#"{"f":""}"#));
    assert!(!m(r#"{"f":[{"wildcard":"*"}]}"#, r#"{"f":1}"#));
    assert!(m(r#"{"f":[{"wildcard":"a\\*b"}]}"#, r#"{"f":"a*b"}"#));
    assert!(!m(r#"{"f":[{"wildcard":"a\\*b"}]}"#, r#"{"f":"axb"}"#));
    assert!(m(r#"{"f":[{"wildcard":"*x*"}]}"#, r#"{"f":"axb"}"#));
    assert!(!m(r#"{"f":[{"wildcard":""}]}"#, r#"{"f":"x"}"#));
}

#[test]
fn anything_but() {
    let p = r#"{"state":[{"anything-but":"initializing"}]}"#;
    assert!(m(p, r#"{"state":"pending"}"#));
    assert!(!m(p, r#"{"state":"initializing"}"#));
    assert!(!m(p, r#"{"other":"x"}"#));
    assert!(m(p, r#"{"state":null}"#));
    assert!(m(p, r#"{"state":["initializing","x"]}"#));
    let p = r#"{"x":[{"anything-but":[100,200,300]}]}"#;
    assert!(m(p, r#"{"x":999}"#));
    assert!(!m(p, r#"{"x":2e2}"#));
    assert!(m(p, r#"{"x":"200"}"#));
    let p = r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#;
    assert!(m(p, r#"{"r":"eu-west-1"}"#));
    assert!(!m(p, r#"{"r":"us-east-1"}"#));
    let p = r#"{"f":[{"anything-but":{"suffix":".png"}}]}"#;
    assert!(!m(p, r#"{"f":"a.png"}"#));
    assert!(m(p, r#"{"f":"a.jpg"}"#));
    let p = r#"{"s":[{"anything-but":{"equals-ignore-case":["initializing","stopped"]}}]}"#;
    assert!(!m(p, r#"{"s":"STOPPED"}"#));
    assert!(m(p, r#"{"s":"running"}"#));
    let p = r#"{"p":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#;
    assert!(!m(p, r#"{"p":"/usr/lib/x"}"#));
    assert!(m(p, r#"{"p":"/usr/bin/x"}"#));
}

#[test]
fn numeric() {
    let p = r#"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}"#;
    assert!(m(
        p,
        r#"{"detail":{"c-count":5,"d-count":7,"x-limit":301.8}}"#
    ));
    assert!(!m(
        p,
        r#"{"detail":{"c-count":0,"d-count":7,"x-limit":301.8}}"#
    ));
    assert!(!m(
        p,
        r#"{"detail":{"c-count":5,"d-count":10,"x-limit":301.8}}"#
    ));
    assert!(!m(
        p,
        r#"{"detail":{"c-count":"5","d-count":7,"x-limit":301.8}}"#
    ));
    assert!(m(
        r#"{"n":[{"numeric":[">=",-5e9]}]}"#,
        r#"{"n":-5000000000}"#
    ));
    assert!(!m(r#"{"n":[{"numeric":[">=",0]}]}"#, r#"{"n":6e9}"#));
    assert!(!m(r#"{"n":[{"numeric":[">",1]}]}"#, r#"{"n":1.0000001}"#));
    assert!(m(r#"{"n":[{"numeric":[">",1]}]}"#, r#"{"n":1.000001}"#));
    assert!(!m(r#"{"n":[{"numeric":[">",100]}]}"#, r#"{"n":null}"#));
}

#[test]
fn exists() {
    assert!(m(r#"{"state":[{"exists":true}]}"#, r#"{"state":"x"}"#));
    assert!(m(r#"{"state":[{"exists":true}]}"#, r#"{"state":null}"#));
    assert!(!m(r#"{"state":[{"exists":true}]}"#, r#"{"other":"x"}"#));
    assert!(!m(
        r#"{"state":[{"exists":true}]}"#,
        r#"{"state":{"S":"x"}}"#
    ));
    assert!(!m(r#"{"state":[{"exists":true}]}"#, r#"{"state":[]}"#));
    assert!(m(r#"{"state":[{"exists":false}]}"#, r#"{"other":"x"}"#));
    assert!(m(r#"{"state":[{"exists":false}]}"#, r#"{"state":{}}"#));
    assert!(!m(r#"{"state":[{"exists":false}]}"#, r#"{"state":"x"}"#));
    assert!(m(r#"{"a":[{"exists":false},"x"]}"#, r#"{"a":"x"}"#));
    assert!(m(r#"{"a":[{"exists":false},"x"]}"#, r#"{"b":"x"}"#));
    assert!(!m(r#"{"a":[{"exists":false},"x"]}"#, r#"{"a":"y"}"#));
}

#[test]
fn cidr_and_ip_exact() {
    let p = r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#;
    assert!(m(p, r#"{"ip":"10.0.0.255"}"#));
    assert!(!m(p, r#"{"ip":"10.0.1.0"}"#));
    assert!(!m(p, r#"{"ip":"10.0.0.256"}"#));
    assert!(!m(p, r#"{"ip":123}"#));
    let p = r#"{"ip":[{"cidr":"2001:db8:1234:1a00::/64"}]}"#;
    assert!(m(p, r#"{"ip":"2001:db8:1234:1a00::1"}"#));
    assert!(!m(p, r#"{"ip":"2001:0db8:123f:1a01:0000:0000:0000:0000"}"#));
    assert!(m(
        r#"{"ip":["2001:db8::1"]}"#,
        r#"{"ip":"2001:0db8:0:0:0:0:0:1"}"#
    ));
}

#[test]
fn or_at_any_level() {
    let p = r#"{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}"#;
    assert!(m(
        p,
        r#"{"source":"aws.cloudwatch","metricName":"ReadLatency"}"#
    ));
    assert!(m(p, r#"{"source":"aws.cloudwatch","namespace":"AWS/ES"}"#));
    assert!(!m(p, r#"{"source":"aws.cloudwatch","namespace":"AWS/S3"}"#));
    assert!(!m(p, r#"{"source":"aws.s3","namespace":"AWS/ES"}"#));
    let p = r#"{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}"#;
    assert!(m(p, r#"{"detail":{"x-limit":301.8}}"#));
    assert!(m(p, r#"{"detail":{"d-count":3}}"#));
    assert!(!m(p, r#"{"detail":{"c-count":6}}"#));
    let p = r#"{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}"#;
    assert!(m(p, r#"{"c":"3"}"#));
    assert!(!m(p, r#"{"d":"3"}"#));
    // A later member overrides the same path inside one branch.
    let p = r#"{"a":["x"],"$or":[{"a":["y"]},{"b":["z"]}]}"#;
    assert!(m(p, r#"{"a":"y"}"#));
    assert!(m(p, r#"{"a":"x","b":"z"}"#));
    assert!(!m(p, r#"{"a":"x"}"#));
}

#[test]
fn reasons_for_structure() {
    assert_eq!(reason("[]"), "Filter is not an object");
    assert_eq!(reason("{}"), "Empty objects are not allowed");
    assert_eq!(reason(r#"{"a":{}}"#), "Empty objects are not allowed");
    assert_eq!(reason(r#"{"a":[]}"#), "Empty arrays are not allowed");
    assert_eq!(
        reason(r#"{"string":"v"}"#),
        "\"string\" must be an object or an array"
    );
    assert_eq!(reason(r#"{"a":1}"#), "\"a\" must be an object or an array");
    assert_eq!(
        reason(r#"{"a":[[1]]}"#),
        "Match value must be String, number, true, false, or null"
    );
    assert_eq!(reason(r#"{"a":[{}]}"#), "Match expression name not found");
    assert_eq!(
        reason(r#"{"a":[{"EXISTS":true}]}"#),
        "Unrecognized match type EXISTS"
    );
    assert_eq!(
        reason(r#"{"a":[{"prefix":"x","suffix":"y"}]}"#),
        "Only one key allowed in match expression"
    );
    assert_eq!(
        reason(r#"{"$or":{"a":["1"]}}"#),
        "It must be an Array followed with $or."
    );
    assert_eq!(
        reason(r#"{"$or":[{"a":["1"]}]}"#),
        "There must have at least 2 Objects in $or relationship."
    );
    assert_eq!(
        reason(r#"{"$or":[{"a":["1"]},"b"]}"#),
        "Only JSON object is allowed in array of $or relationship."
    );
    // The first problem in document order is the one reported.
    assert_eq!(reason(r#"{"z":[],"a":1}"#), "Empty arrays are not allowed");
}

#[test]
fn reasons_for_operators() {
    assert_eq!(
        reason(r#"{"a":[{"prefix":123}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"prefix":["x"]}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"suffix":null}]}"#),
        "suffix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"prefix":{}}]}"#),
        "Prefix expression name not found"
    );
    assert_eq!(
        reason(r#"{"a":[{"prefix":{"x":"y"}}]}"#),
        "Unsupported prefix pattern: x"
    );
    assert_eq!(
        reason(r#"{"a":[{"suffix":{"x":"y"}}]}"#),
        "Unsupported suffix pattern: x"
    );
    assert_eq!(
        reason(r#"{"a":[{"prefix":{"equals-ignore-case":1}}]}"#),
        "equals-ignore-case match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"equals-ignore-case":1}]}"#),
        "equals-ignore-case match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"wildcard":1}]}"#),
        "wildcard match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"wildcard":"a**"}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert_eq!(
        reason(r#"{"a":[{"wildcard":"a\\b"}]}"#),
        "Invalid escape character at pos 2"
    );
    assert_eq!(
        reason(&format!(
            r#"{{"a":[{{"wildcard":"*{}"}}]}}"#,
            "a".repeat(150)
        )),
        wildcard::TOO_COMPLEX
    );
    assert_eq!(
        reason(r#"{"a":[{"exists":"true"}]}"#),
        "exists match pattern must be either true or false."
    );
    assert_eq!(
        reason(r#"{"a":[{"cidr":["x"]}]}"#),
        "prefix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"cidr":"xx.11.xx/8"}]}"#),
        "Nonstandard IP address: xx.11.xx"
    );
    assert_eq!(
        reason(r#"{"a":[{"cidr":"bad-/64filter"}]}"#),
        "Malformed CIDR, mask bits must be an integer"
    );
}

#[test]
fn reasons_for_numeric() {
    assert_eq!(
        reason(r#"{"a":[{"numeric":10}]}"#),
        "Value of numeric must be an array."
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[]}]}"#),
        "Invalid member in numeric match: ]"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[5]}]}"#),
        "Invalid member in numeric match: 5"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":["!",5]}]}"#),
        "Unrecognized numeric range operator: !"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0,"<"]}]}"#),
        "Value of < must be numeric"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">","0"]}]}"#),
        "Value of > must be numeric"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":["=","0"]}]}"#),
        "Value of equals must be numeric"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":["=",0,1]}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":["<",0,1]}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0,1]}]}"#),
        "Bad value in numeric range: 1"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0,">",1]}]}"#),
        "Bad numeric range operator: >"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0,"<",1,2]}]}"#),
        "Too many terms in numeric range expression"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",5,"<",1]}]}"#),
        "Bottom must be less than top"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0.0000001]}]}"#),
        "Only values upto 6 decimals are supported"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":["<",5000000001]}]}"#),
        "Value must be between -5000000000 and 5000000000, inclusive"
    );
    assert_eq!(
        reason(r#"{"a":[{"numeric":[">",0],"x":1}]}"#),
        "Too many elements in numeric expression"
    );
}

#[test]
fn reasons_for_anything_but() {
    assert_eq!(
        reason(r#"{"a":[{"anything-but":null}]}"#),
        "Value of anything-but must be an array or single string/number value."
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":true}]}"#),
        "Value of anything-but must be an array or single string/number value."
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":["a",null]}]}"#),
        "Inside anything but list, start|null|boolean is not supported."
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":["a",1]}]}"#),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":[]}]}"#),
        "Inside anything but list, either all values are number or string, mixed type is not supported"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{}}]}"#),
        "Anything-But expression name not found"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"numeric":[">",1]}}]}"#),
        "Unsupported anything-but pattern: numeric"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"prefix":""}}]}"#),
        "Null prefix/suffix not allowed"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"suffix":[""]}}]}"#),
        "Null prefix/suffix not allowed"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"suffix":123}}]}"#),
        "prefix/suffix match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"equals-ignore-case":123}}]}"#),
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"wildcard":[1]}}]}"#),
        "wildcard match pattern must be a string"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"wildcard":"a**"}}]}"#),
        "Consecutive wildcard characters at pos 2"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":{"prefix":"a","suffix":"b"}}]}"#),
        "Too many elements in numeric expression"
    );
    assert_eq!(
        reason(r#"{"a":[{"anything-but":1e-7}]}"#),
        "Only values upto 6 decimals are supported"
    );
}

#[test]
fn invalid_json_is_refused() {
    for bad in [
        "",
        "{",
        r#"{"a":["x"],}"#,
        "nope",
        "[1,",
        "\"x",
        "{\"a\" 1}",
    ] {
        let e = parse(bad, Dialect::EventBridge).unwrap_err();
        assert_eq!(e.code(), "InvalidEventPatternException");
    }
    assert_eq!(reason(""), "Filter is not an object");
    assert_eq!(reason("[1,"), "Filter is not an object");
    assert_eq!(reason("  42"), "Filter is not an object");
    assert_eq!(
        reason("nope"),
        "Unrecognized token 'nope': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
    );
    assert_eq!(
        reason(r#"{"a":["x"],}"#),
        "Unexpected character ('}' (code 125)): was expecting double-quote to start field name"
    );
    assert_eq!(
        reason(r#"{"a" 1}"#),
        "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value"
    );
    assert_eq!(reason(r#"{"a":["x"]"#), "Unexpected end-of-input");
}

#[test]
fn or_expansion_is_bounded() {
    let parts: Vec<String> = (0..12)
        .map(|i| format!(r#""k{i}":{{"$or":[{{"a":["1"]}},{{"b":["2"]}}]}}"#))
        .collect();
    let p = format!("{{{}}}", parts.join(","));
    assert_eq!(reason(&p), wildcard::TOO_COMPLEX);
    let parts: Vec<String> = (0..9)
        .map(|i| format!(r#""k{i}":{{"$or":[{{"a":["1"]}},{{"b":["2"]}}]}}"#))
        .collect();
    let p = format!("{{{}}}", parts.join(","));
    assert_eq!(parse(&p, Dialect::EventBridge).unwrap().branches.len(), 512);
}

#[test]
fn reserved_names_inside_or() {
    assert_eq!(
        reason(r#"{"$or":[{"prefix":["a"]},{"b":["c"]}]}"#),
        "prefix is Ruler reserved fieldName which cannot be used inside $or."
    );
    assert_eq!(
        reason(r#"{"$or":[{"x":{"numeric":["a"]}},{"b":["c"]}]}"#),
        "numeric is Ruler reserved fieldName which cannot be used inside $or."
    );
    // Outside $or these are ordinary field names.
    assert!(m(r#"{"prefix":["a"]}"#, r#"{"prefix":"a"}"#));
}
