//! A small JSON reader for patterns, filter policies and TestEventPattern events.
//!
//! Why not `serde_json::Value`: AWS reads a pattern as a token stream, so the error it reports is
//! the first offending member in document order, duplicate keys are seen in order (the later one
//! wins), and number literals keep their exact text (AWS matches a number both by its literal text
//! and by value). `serde_json::Value` (without `preserve_order`/`arbitrary_precision`) sorts keys
//! and rounds numbers. This reader keeps all three and bounds nesting so hostile input can neither
//! overflow the stack nor run long: it is a single forward pass.

/// A parsed JSON value with ordered members and number literals kept as text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum JVal {
    Null,
    Bool(bool),
    /// The literal text of the number, exactly as written.
    Num(Box<str>),
    Str(String),
    Arr(Vec<JVal>),
    /// Members in document order; duplicates are kept.
    Obj(Vec<(String, JVal)>),
}

impl JVal {
    /// The text AWS's parser would give for this token (used in some reason texts).
    pub(crate) fn token_text(&self) -> String {
        match self {
            JVal::Null => "null".into(),
            JVal::Bool(b) => b.to_string(),
            JVal::Num(n) => n.to_string(),
            JVal::Str(s) => s.clone(),
            JVal::Arr(_) => "[".into(),
            JVal::Obj(_) => "{".into(),
        }
    }
}

/// Why a document is not JSON, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub offset: usize,
    pub what: &'static str,
}

/// The `what` of an error at a bare word that is not `true`, `false` or `null`.
pub(crate) const UNRECOGNIZED_TOKEN: &str = "unrecognized token";

/// Deepest nesting accepted; deeper documents are refused rather than recursed into.
pub(crate) const MAX_DEPTH: usize = 128;

/// Parses one complete JSON document (surrounding whitespace allowed).
pub(crate) fn parse(src: &str) -> Result<JVal, JsonError> {
    let mut r = Reader {
        b: src.as_bytes(),
        i: 0,
    };
    r.ws();
    let v = r.value(0)?;
    r.ws();
    if r.i != r.b.len() {
        return Err(r.err("trailing characters after the JSON value"));
    }
    Ok(v)
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn err(&self, what: &'static str) -> JsonError {
        JsonError {
            offset: self.i,
            what,
        }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<JVal, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.b.get(self.i) {
            None => Err(self.err("expected a value")),
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(JVal::Obj(members));
                }
                loop {
                    self.ws();
                    if self.b.get(self.i) != Some(&b'"') {
                        return Err(self.err("was expecting double-quote to start field name"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.b.get(self.i) != Some(&b':') {
                        return Err(
                            self.err("was expecting a colon to separate field name and value")
                        );
                    }
                    self.i += 1;
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(JVal::Obj(members));
                        }
                        _ => return Err(self.err("was expecting comma to separate Object entries")),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(JVal::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(JVal::Arr(items));
                        }
                        _ => return Err(self.err("was expecting comma to separate Array entries")),
                    }
                }
            }
            Some(b'"') => Ok(JVal::Str(self.string()?)),
            Some(b't') => self.literal(b"true", JVal::Bool(true)),
            Some(b'f') => self.literal(b"false", JVal::Bool(false)),
            Some(b'n') => self.literal(b"null", JVal::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                let end = number_end(self.b, start).ok_or_else(|| self.err("malformed number"))?;
                self.i = end;
                // The slice is ASCII digits and signs, so it is valid UTF-8.
                let text = std::str::from_utf8(&self.b[start..end]).unwrap_or("0");
                Ok(JVal::Num(text.into()))
            }
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &[u8], v: JVal) -> Result<JVal, JsonError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err(UNRECOGNIZED_TOKEN))
        }
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        let (s, end) = read_string(self.b, self.i).map_err(|off| JsonError {
            offset: off,
            what: "malformed string",
        })?;
        self.i = end;
        Ok(s)
    }
}

/// Returns the end offset of the JSON number starting at `start`, or `None` if malformed.
pub(crate) fn number_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return None;
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !matches!(b.get(i), Some(b'0'..=b'9')) {
            return None;
        }
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
    }
    Some(i)
}

/// Decodes the JSON string whose opening quote is at `start`; returns it and the offset after
/// the closing quote. `b` must be valid UTF-8 (it comes from a `&str`).
pub(crate) fn read_string(b: &[u8], start: usize) -> Result<(String, usize), usize> {
    let mut i = start + 1;
    let mut out: Vec<u8> = Vec::new();
    let mut run = i;
    loop {
        match b.get(i) {
            None => return Err(i),
            Some(b'"') => {
                out.extend_from_slice(&b[run..i]);
                // Only whole UTF-8 sequences and ASCII escapes were copied.
                let s = String::from_utf8(out).map_err(|_| i)?;
                return Ok((s, i + 1));
            }
            Some(b'\\') => {
                out.extend_from_slice(&b[run..i]);
                i += 1;
                let c = *b.get(i).ok_or(i)?;
                i += 1;
                match c {
                    b'"' => out.push(b'"'),
                    b'\\' => out.push(b'\\'),
                    b'/' => out.push(b'/'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'u' => {
                        let hi = hex4(b, i).ok_or(i)?;
                        i += 4;
                        let ch = if (0xD800..0xDC00).contains(&hi) {
                            if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                                match hex4(b, i + 2) {
                                    Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                                        i += 6;
                                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                        char::from_u32(cp).unwrap_or('\u{FFFD}')
                                    }
                                    _ => '\u{FFFD}',
                                }
                            } else {
                                '\u{FFFD}'
                            }
                        } else {
                            char::from_u32(hi).unwrap_or('\u{FFFD}')
                        };
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    _ => return Err(i - 1),
                }
                run = i;
            }
            Some(&c) if c < 0x20 => return Err(i),
            Some(_) => i += 1,
        }
    }
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in s {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Converts a `serde_json::Value` into a `JVal` (key order is whatever serde_json kept).
pub(crate) fn from_serde(v: &serde_json::Value) -> JVal {
    match v {
        serde_json::Value::Null => JVal::Null,
        serde_json::Value::Bool(b) => JVal::Bool(*b),
        serde_json::Value::Number(n) => JVal::Num(n.to_string().into()),
        serde_json::Value::String(s) => JVal::Str(s.clone()),
        serde_json::Value::Array(a) => JVal::Arr(a.iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            JVal::Obj(o.iter().map(|(k, v)| (k.clone(), from_serde(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_duplicates_and_number_text() {
        let v = parse(r#"{"b":1.50,"a":[true,null],"b":"x\u00e9\ud83d\ude80"}"#).unwrap();
        let JVal::Obj(m) = v else { panic!() };
        assert_eq!(m[0], ("b".into(), JVal::Num("1.50".into())));
        assert_eq!(m[1].0, "a");
        assert_eq!(m[2].1, JVal::Str("xé🚀".into()));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\\x\"",
            "tru",
            "{} x",
            "\"a\nb\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
        let ok = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn lone_surrogate_becomes_replacement() {
        assert_eq!(
            parse(r#""\ud800x""#).unwrap(),
            JVal::Str("\u{FFFD}x".into())
        );
    }
}
