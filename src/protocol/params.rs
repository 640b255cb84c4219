//! Typed access to decoded request parameters. Both protocols decode into the same JSON shape, but
//! awsQuery carries every scalar as a string, so integers and booleans are read leniently here, and a
//! wrong type or a missing member becomes AWS's error rather than a panic or a 500.

use crate::error::{ApiError, ApiResult, ErrorCode};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The parameters of one request (or of one batch entry).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

fn wrong_type(name: &str, v: &Value, expected: &str) -> ApiError {
    let shown = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ApiError::invalid_value(name, shown, &format!("Must be {expected}."))
}

impl Params {
    pub fn from_value(v: Value) -> ApiResult<Params> {
        match v {
            Value::Object(m) => Ok(Params(m)),
            Value::Null => Ok(Params::default()),
            _ => Err(ApiError::new(
                ErrorCode::SerializationException,
                "The request body must be a JSON object.",
            )),
        }
    }

    /// A member's value; absent and null read as absent. The empty string is a value (AWS
    /// validates `MessageGroupId=""`), except where a structure, list, map or number is expected:
    /// there it is how awsQuery clients write an empty one (`Entries=`), read by [`Params::get`].
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// A non-scalar or numeric member's value: absent, null and the empty string read as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.value(name).filter(|v| v.as_str() != Some(""))
    }

    /// A string member; an empty string is returned as such.
    pub fn str(&self, name: &str) -> ApiResult<Option<&str>> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(wrong_type(name, v, "a string")),
        }
    }

    /// A required string; absent or empty is `MissingParameter`.
    pub fn required_str(&self, name: &str) -> ApiResult<&str> {
        match self.str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::missing(name)),
        }
    }

    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(name, &Value::Number(n.clone()), "an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| wrong_type(name, &Value::String(s.clone()), "an integer")),
            Some(v) => Err(wrong_type(name, v, "an integer")),
        }
    }

    /// A list of strings; absent is empty.
    pub fn strings(&self, name: &str) -> ApiResult<Vec<String>> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| wrong_type(name, v, "a list of strings"))
                })
                .collect(),
            Some(v) => Err(wrong_type(name, v, "a list of strings")),
        }
    }

    /// A map of strings to strings; absent is empty.
    pub fn string_map(&self, name: &str) -> ApiResult<BTreeMap<String, String>> {
        match self.get(name) {
            None => Ok(BTreeMap::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    other => Err(wrong_type(name, other, "a map of strings")),
                })
                .collect(),
            Some(v) => Err(wrong_type(name, v, "a map of strings")),
        }
    }

    /// A map whose values are structures, deserialized with serde; absent is empty.
    pub fn struct_map<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> ApiResult<BTreeMap<String, T>> {
        match self.get(name) {
            None => Ok(BTreeMap::new()),
            Some(v @ Value::Object(_)) => serde_json::from_value(v.clone()).map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    format!("The value of parameter {name} is invalid: {e}."),
                )
            }),
            Some(v) => Err(wrong_type(name, v, "a map")),
        }
    }

    /// [`Params::list`], moving the entries out rather than copying them: for an action that
    /// reads its batch once. The member is left empty.
    pub fn take_list(&mut self, name: &str) -> ApiResult<Vec<Params>> {
        match self.get(name) {
            Some(Value::Array(a)) if a.iter().all(Value::is_object) => {}
            _ => return self.list(name),
        }
        let Some(Value::Array(a)) = self.0.get_mut(name).map(std::mem::take) else {
            return Ok(Vec::new());
        };
        Ok(a.into_iter()
            .filter_map(|v| match v {
                Value::Object(m) => Some(Params(m)),
                _ => None,
            })
            .collect())
    }

    /// A list of structures (batch entries); absent is empty.
    pub fn list(&self, name: &str) -> ApiResult<Vec<Params>> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(Params(m.clone())),
                    other => Err(wrong_type(name, other, "a list of structures")),
                })
                .collect(),
            Some(v) => Err(wrong_type(name, v, "a list")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_scalars_and_errors() {
        let p = Params::from_value(
            json!({"A": "5", "B": 7, "C": "x", "D": ["a"], "E": {"k": "v", "n": 1}, "F": ""}),
        )
        .unwrap();
        assert_eq!(p.int("A").unwrap(), Some(5));
        assert_eq!(p.int("B").unwrap(), Some(7));
        assert_eq!(
            p.int("C").unwrap_err().message,
            "Value x for parameter C is invalid. Reason: Must be an integer."
        );
        assert_eq!(p.int("Z").unwrap(), None);
        assert_eq!(p.strings("D").unwrap(), vec!["a"]);
        assert!(p.strings("A").is_err());
        assert_eq!(p.string_map("E").unwrap()["n"], "1");
        assert_eq!(p.str("F").unwrap(), Some(""), "an empty string is a value");
        assert!(
            p.list("F").unwrap().is_empty(),
            "but an empty awsQuery list"
        );
        assert_eq!(p.int("F").unwrap(), None);
        assert_eq!(
            p.required_str("F").unwrap_err().code,
            ErrorCode::MissingParameter
        );
        assert_eq!(
            p.required_str("Q").unwrap_err().message,
            "The request must contain the parameter Q."
        );
        assert!(Params::from_value(json!([1])).is_err());
        let mut p =
            Params::from_value(json!({"L": [{"a": 1}, {"b": 2}], "M": [{}, 3], "E": ""})).unwrap();
        let expect = p.list("L").unwrap();
        let taken = p.take_list("L").unwrap();
        assert_eq!(
            taken.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
            expect.iter().map(|e| e.0.clone()).collect::<Vec<_>>()
        );
        assert_eq!(
            p.take_list("M").unwrap_err().message,
            p.list("M").unwrap_err().message
        );
        assert!(p.take_list("E").unwrap().is_empty());
        assert!(p.take_list("Absent").unwrap().is_empty());
    }
}
