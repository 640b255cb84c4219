//! JSON writing on the hot path: answers are written on every request. Both writers here produce
//! serde_json's bytes exactly (the tests hold them to it), only cheaper: [`to_vec`] writes a
//! `Value`, [`to_vec_of`] anything serde can serialize (the typed answers), without a `Value`
//! in between. Strings that need no escaping (bodies, receipt handles) are scanned eight bytes
//! at a time and copied whole; serde_json looks at them a byte at a time.

use serde::Serialize;
use serde::ser::{self, Serializer};
use serde_json::Value;
use std::fmt;

/// `serde_json::to_vec(v)` of a value.
pub fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, v);
    out
}

/// `serde_json::to_vec(v)` of anything serializable into JSON. Map keys must be strings or
/// integers (written quoted, as serde_json writes them); any other key is an error.
pub fn to_vec_of<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>, Error> {
    let mut w = Writer {
        out: Vec::with_capacity(1024),
    };
    v.serialize(&mut w)?;
    Ok(w.out)
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Numbers exactly as serde_json writes them (itoa / ryu); writing to a Vec cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, v);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte of `w` (eight bytes of a string) that JSON escapes: below 0x20, `"`
/// or `\`. The lowest bit set is always such a byte; a borrow may also mark bytes above it,
/// which the caller looks at again.
fn escapes(w: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
        | zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
}

fn plain(b: u8) -> bool {
    b >= 0x20 && b != b'"' && b != b'\\'
}

/// A JSON string as serde_json escapes it: `"` and `\`, and control characters below 0x20
/// (`\b \t \n \f \r` by name, the others as `\u00XX`); nothing else.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i..].first_chunk::<8>() {
            Some(chunk) => {
                let hits = escapes(u64::from_le_bytes(*chunk));
                if hits == 0 {
                    i += 8;
                    continue;
                }
                i += hits.trailing_zeros() as usize / 8;
            }
            None if plain(bytes[i]) => {
                i += 1;
                continue;
            }
            None => {}
        }
        escape(out, bytes, &mut start, i, bytes[i]);
        i += 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Copies `bytes[*start..i]`, then the escape of `b` (the byte at `i`).
fn escape(out: &mut Vec<u8>, bytes: &[u8], start: &mut usize, i: usize, b: u8) {
    out.extend_from_slice(&bytes[*start..i]);
    *start = i + 1;
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        }
    }
}

/// What [`to_vec_of`] cannot write: a map key that is neither a string nor an integer, or an
/// error of the value's own `Serialize`.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    /// Numbers as serde_json writes them (itoa, ryu; non-finite floats as `null`).
    fn number<T: Serialize>(&mut self, n: T) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, &n).map_err(|e| Error(e.to_string()))
    }

    /// `{"variant":`, the opening of an enum variant with content.
    fn variant(&mut self, variant: &str) {
        self.out.push(b'{');
        write_str(&mut self.out, variant);
        self.out.push(b':');
    }
}

/// An open array or object: whether a member was written yet, and what closes it (two bytes
/// for a variant's content, which closes its wrapping object too).
struct Compound<'a> {
    w: &'a mut Writer,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_> {
    fn open<'a>(w: &'a mut Writer, open: u8, close: &'static [u8]) -> Compound<'a> {
        w.out.push(open);
        Compound {
            w,
            first: true,
            close,
        }
    }

    fn comma(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.w.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        self.comma();
        v.serialize(&mut *self.w)
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        let at = self.w.out.len();
        key.serialize(&mut *self.w)?;
        let written = &self.w.out[at..];
        if written.first() != Some(&b'"') {
            if !written.iter().all(|b| b.is_ascii_digit() || *b == b'-') {
                return Err(Error("a map key must be a string or an integer".into()));
            }
            self.w.out.insert(at, b'"');
            self.w.out.push(b'"');
        }
        self.w.out.push(b':');
        Ok(())
    }

    fn end(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The serializer's number methods, each through [`Writer::number`].
macro_rules! numbers {
    ($($method:ident: $t:ty),* $(,)?) => {$(
        fn $method(self, v: $t) -> Result<(), Error> {
            self.number(v)
        }
    )*};
}

impl<'a> Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    numbers! {
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64,
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(&mut self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(&mut self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.collect_seq(v)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.variant(variant);
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self, b'[', b"]"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self, b'[', b"]"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self, b'[', b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.variant(variant);
        Ok(Compound::open(self, b'[', b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self, b'{', b"}"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self, b'{', b"}"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        self.variant(variant);
        Ok(Compound::open(self, b'{', b"}}"))
    }
}

/// Arrays: each element through [`Compound::element`].
macro_rules! elements {
    ($($kind:ident :: $method:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
                self.element(v)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structures: each field as a member named by its key.
macro_rules! fields {
    ($($kind:ident),*) => {$(
        impl ser::$kind for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), Error> {
                self.key(key)?;
                v.serialize(&mut *self.w)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self)
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// Both writers against serde_json.
    fn same(v: &(impl Serialize + ?Sized)) {
        let expected = serde_json::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8(to_vec_of(v).unwrap()).unwrap(),
            String::from_utf8(expected.clone()).unwrap()
        );
        let value = serde_json::to_value(v).unwrap();
        assert_eq!(to_vec(&value), expected);
    }

    /// Both writers are serde_json's, byte for byte, on everything JSON can hold.
    #[test]
    fn writers_match_serde_json() {
        let samples = [
            json!(null),
            json!({"a": [1, -2, 3.5, 1e300, 0.1, true, false, null], "": {}, "e": []}),
            json!({"s": "plain", "q": "a\"b\\c/d", "c": "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}"}),
            json!({"u": "é ☃ 𝄞 \u{fffd}", "k\"ey\n": "v", "n": u64::MAX, "i": i64::MIN}),
            json!([[], [[]], {"x": {"y": {"z": "deep"}}}]),
            json!("eight!!!\"eight!!!\\0123456\u{1}7 and a tail of fewer than eight"),
        ];
        for v in &samples {
            same(v);
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        absent: Option<String>,
        present: Option<u32>,
        flag: bool,
        ratio: f64,
        nan: f64,
        chars: char,
        bytes: &'static [u8],
        unit: (),
        pair: (i8, &'static str),
        by_number: BTreeMap<i64, &'static str>,
        shape: Shape,
        shapes: Vec<Shape>,
        value: serde_json::Value,
    }

    #[derive(Serialize)]
    enum Shape {
        Plain,
        Wrapped(u8),
        Pair(u8, u8),
        Named { side: u8 },
    }

    #[test]
    fn typed_structures_match_serde_json() {
        let entry = Entry {
            id: "a\"1".into(),
            absent: None,
            present: None,
            flag: true,
            ratio: 0.25,
            nan: f64::NAN,
            chars: '\n',
            bytes: b"\x00\xff",
            unit: (),
            pair: (-3, "x"),
            by_number: BTreeMap::from([(-1, "minus"), (7, "seven")]),
            shape: Shape::Plain,
            shapes: vec![
                Shape::Wrapped(1),
                Shape::Pair(2, 3),
                Shape::Named { side: 4 },
            ],
            value: json!({"nested": [1, {"k": "v"}]}),
        };
        same(&entry);
        same(&vec![entry]);
        same(&BTreeMap::from([("b", 2), ("a", 1)]));
    }

    #[test]
    fn keys_that_are_not_strings_or_integers_are_refused() {
        assert!(to_vec_of(&BTreeMap::from([(true, 1)])).is_err());
        assert!(to_vec_of(&BTreeMap::from([((), 1)])).is_err());
        assert!(to_vec_of(&BTreeMap::from([("ok", 1)])).is_ok());
    }

    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            "\\PC*|[\\x00-\\x7f]*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((".*", inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn writers_match_serde_json_on_any_string(s in "\\PC*|[\\x00-\\x7f]*", k in ".*") {
            same(&json!({k: [s.clone(), {"s": s}]}));
        }

        #[test]
        fn writers_match_serde_json_on_any_value(v in any_value()) {
            same(&v);
        }
    }
}
