//! awsQuery request decoding: `application/x-www-form-urlencoded` pairs with flattened members
//! (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`, `Entries.member.1.Id`,
//! `Attributes.entry.1.key`) become the JSON shape awsJson clients send, so actions see one input.

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a service's flattened query names map to its JSON member names, and which members are maps.
pub struct QueryShape {
    /// (query name, JSON name), e.g. ("Attribute", "Attributes").
    pub renames: &'static [(&'static str, &'static str)],
    /// JSON names of members that are maps, written as lists of key/value entries on the wire.
    pub maps: &'static [&'static str],
}

/// SQS's flattened names, from the last botocore model that spoke awsQuery.
pub const SQS: QueryShape = QueryShape {
    renames: &[
        ("Attribute", "Attributes"),
        ("AttributeName", "AttributeNames"),
        ("MessageAttribute", "MessageAttributes"),
        ("MessageSystemAttribute", "MessageSystemAttributes"),
        ("MessageAttributeName", "MessageAttributeNames"),
        ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
        ("Tag", "Tags"),
        ("TagKey", "TagKeys"),
        ("AWSAccountId", "AWSAccountIds"),
        ("ActionName", "Actions"),
        ("StringListValue", "StringListValues"),
        ("BinaryListValue", "BinaryListValues"),
        ("SendMessageBatchRequestEntry", "Entries"),
        ("DeleteMessageBatchRequestEntry", "Entries"),
        ("ChangeMessageVisibilityBatchRequestEntry", "Entries"),
    ],
    maps: &[
        "Attributes",
        "MessageAttributes",
        "MessageSystemAttributes",
        "Tags",
    ],
};

/// Services without flattened members (STS) use this.
pub const PLAIN: QueryShape = QueryShape {
    renames: &[],
    maps: &[],
};

/// The most list entries one flattened member may have; bounds memory on hostile input.
const MAX_INDEX: usize = 1000;

#[derive(Debug, Default)]
enum Node {
    #[default]
    Empty,
    Leaf(String),
    Branch(BTreeMap<String, Node>),
}

/// Parses form pairs into (Action, Version, params).
pub fn parse_pairs(pairs: &[(String, String)]) -> ApiResult<(Option<String>, Map<String, Value>)> {
    let mut action = None;
    let mut root = Node::Branch(BTreeMap::new());
    for (key, value) in pairs {
        if key == "Action" {
            action = Some(value.clone());
            continue;
        }
        if key == "Version" || key.starts_with("X-Amz-") || key.is_empty() {
            continue;
        }
        insert(&mut root, key, value)?;
    }
    Ok((
        action,
        match root {
            Node::Branch(b) => b.into_iter().map(|(k, v)| (k, to_json(v))).collect(),
            _ => Map::new(),
        },
    ))
}

fn insert(root: &mut Node, key: &str, value: &str) -> ApiResult<()> {
    let mut node = root;
    let segments: Vec<&str> = key
        .split('.')
        .filter(|s| *s != "member" && *s != "entry")
        .collect();
    for (i, seg) in segments.iter().enumerate() {
        if seg.is_empty() {
            return Err(malformed(key));
        }
        if seg.bytes().all(|b| b.is_ascii_digit())
            && seg
                .parse::<usize>()
                .map_or(true, |n| n == 0 || n > MAX_INDEX)
        {
            return Err(malformed(key));
        }
        if !matches!(node, Node::Branch(_)) {
            *node = Node::Branch(BTreeMap::new());
        }
        let Node::Branch(children) = node else {
            unreachable!("just made a branch")
        };
        // Zero-pad indexes so that the BTreeMap orders them numerically.
        let k = if seg.bytes().all(|b| b.is_ascii_digit()) {
            format!("{:010}", seg.parse::<usize>().unwrap_or(0))
        } else {
            seg.to_string()
        };
        node = children.entry(k).or_default();
        if i == segments.len() - 1 {
            *node = Node::Leaf(value.to_string());
        }
    }
    Ok(())
}

fn malformed(key: &str) -> ApiError {
    ApiError::new(
        ErrorCode::MalformedQueryString,
        format!("The query parameter {key} is malformed."),
    )
}

fn to_json(node: Node) -> Value {
    match node {
        Node::Empty => Value::Null,
        Node::Leaf(s) => Value::String(s),
        Node::Branch(children) => {
            let is_list = !children.is_empty()
                && children
                    .keys()
                    .all(|k| k.bytes().all(|b| b.is_ascii_digit()));
            if is_list {
                Value::Array(children.into_values().map(to_json).collect())
            } else {
                Value::Object(children.into_iter().map(|(k, v)| (k, to_json(v))).collect())
            }
        }
    }
}

/// Renames flattened names to JSON member names and folds key/value entry lists into maps,
/// recursively, as the service's shape says.
pub fn reshape(params: Map<String, Value>, shape: &QueryShape) -> Map<String, Value> {
    params
        .into_iter()
        .map(|(k, v)| {
            let name = shape
                .renames
                .iter()
                .find(|(q, _)| *q == k)
                .map_or(k, |(_, j)| j.to_string());
            let v = reshape_value(v, shape);
            let v = if shape.maps.contains(&name.as_str()) {
                fold_map(v)
            } else {
                v
            };
            (name, v)
        })
        .collect()
}

fn reshape_value(v: Value, shape: &QueryShape) -> Value {
    match v {
        Value::Object(m) => Value::Object(reshape(m, shape)),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| reshape_value(v, shape)).collect()),
        other => other,
    }
}

/// `[{Name|Key: k, Value: v}, ...]` → `{k: v}`.
fn fold_map(v: Value) -> Value {
    let Value::Array(entries) = v else { return v };
    let mut out = Map::new();
    for e in entries {
        let Value::Object(mut e) = e else { continue };
        let key = ["Name", "Key", "key", "name"]
            .iter()
            .find_map(|k| e.remove(*k));
        let value = ["Value", "value"].iter().find_map(|k| e.remove(*k));
        if let Some(Value::String(k)) = key {
            out.insert(k, value.unwrap_or(Value::Null));
        }
    }
    Value::Object(out)
}

/// Decodes a form body (and/or URL query string) for `shape`.
pub fn decode(form: &[u8], shape: &QueryShape) -> ApiResult<(Option<String>, Map<String, Value>)> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
    let (action, params) = parse_pairs(&pairs)?;
    Ok((action, reshape(params, shape)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn flattened_members_become_json() {
        let form = b"Action=SendMessageBatch&QueueUrl=http%3A%2F%2Fx%2F1%2Fq\
            &SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two\
            &SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one\
            &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k\
            &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v\
            &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String";
        let (action, p) = decode(form, &SQS).unwrap();
        assert_eq!(action.as_deref(), Some("SendMessageBatch"));
        assert_eq!(
            Value::Object(p),
            json!({"QueueUrl": "http://x/1/q", "Entries": [
                {"Id": "a", "MessageBody": "one", "MessageAttributes": {"k": {"StringValue": "v", "DataType": "String"}}},
                {"Id": "b", "MessageBody": "two"}
            ]})
        );
    }

    #[test]
    fn maps_lists_and_ordering() {
        let form = b"Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5\
            &Tag.1.Key=env&Tag.1.Value=dev&AttributeName.10=B&AttributeName.2=A&Entries.member.1.Id=x";
        let (_, p) = decode(form, &SQS).unwrap();
        assert_eq!(p["Attributes"], json!({"DelaySeconds": "5"}));
        assert_eq!(p["Tags"], json!({"env": "dev"}));
        assert_eq!(p["AttributeNames"], json!(["A", "B"]));
        assert_eq!(p["Entries"], json!([{"Id": "x"}]));
    }

    #[test]
    fn malformed_keys_are_errors() {
        for bad in [
            &b"A..B=1"[..],
            b"Attribute.0.Name=x",
            b"Attribute.99999999999999999999.Name=x",
            b"Attribute.1001.Name=x",
        ] {
            assert_eq!(
                decode(bad, &SQS).unwrap_err().code,
                ErrorCode::MalformedQueryString
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(form in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&form, &SQS);
        }

        #[test]
        fn never_panics_on_structured_keys(keys in proptest::collection::vec("[A-Za-z.0-9]{0,20}", 0..20)) {
            let form: String = keys.iter().map(|k| format!("{k}=v&")).collect();
            let _ = decode(form.as_bytes(), &SQS);
        }
    }
}
