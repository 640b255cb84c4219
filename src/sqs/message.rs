//! A message as SQS keeps it: body, user and system attributes, the MD5s AWS computes over them,
//! receipt handles, and the stored encoding (an immutable record plus a small mutable state record).

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::storage::{Dec, Enc, StoreResult};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// AWS's limit on user (and system) attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;

/// A message attribute value: the type label (`String`, `Number.float`, `Binary.png`, ...) and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub data_type: String,
    pub value: AttrValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// String and Number attributes.
    Text(String),
    Binary(Vec<u8>),
}

/// Attributes sorted by name, the order AWS hashes them in.
pub type Attributes = BTreeMap<String, Attribute>;

/// The wire form of an attribute value, as both protocols decode it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValueInput {
    pub data_type: Option<String>,
    pub string_value: Option<String>,
    pub binary_value: Option<String>,
    #[serde(default)]
    pub string_list_values: Option<Value>,
    #[serde(default)]
    pub binary_list_values: Option<Value>,
}

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValue, message)
}

/// Validates user message attributes as SendMessage does (`user = true`) or the system attributes
/// of `MessageSystemAttributes` (`user = false`, only `AWSTraceHeader`).
pub fn parse_attributes(
    input: BTreeMap<String, AttributeValueInput>,
    user: bool,
) -> ApiResult<Attributes> {
    let kind = if user { "user" } else { "system" };
    if input.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
            input.len()
        )));
    }
    let mut out = Attributes::new();
    for (name, v) in input {
        if user {
            validate_attribute_name(&name)?;
        } else if name != "AWSTraceHeader" {
            return Err(invalid(format!(
                "Message system attribute name '{name}' is invalid. The only supported name is AWSTraceHeader."
            )));
        }
        let data_type = match v.data_type.as_deref() {
            Some(t) if !t.is_empty() => t.to_string(),
            _ => {
                return Err(invalid(format!(
                    "The message attribute '{name}' must contain non-empty message attribute type."
                )));
            }
        };
        if data_type.len() > 256 {
            return Err(invalid(format!(
                "Message ({kind}) attribute '{name}' type must be shorter than 256 bytes."
            )));
        }
        let base = data_type.split('.').next().unwrap_or("");
        let value = match base {
            "String" | "Number" => match v.string_value {
                Some(s) if !s.is_empty() => {
                    if base == "Number" && !is_sqs_number(&s) {
                        return Err(invalid(format!(
                            "Can't cast the value of message ({kind}) attribute '{name}' to a number."
                        )));
                    }
                    validate_chars(&s).map_err(|c| {
                        invalid(format!("Invalid binary character '{c}' was found in the message attribute '{name}'."))
                    })?;
                    AttrValue::Text(s)
                }
                _ => {
                    return Err(invalid(format!(
                        "Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
                    )));
                }
            },
            "Binary" => {
                let bytes = v.binary_value.as_deref().map(|b| B64.decode(b));
                match bytes {
                    Some(Ok(b)) if !b.is_empty() => AttrValue::Binary(b),
                    Some(Err(_)) => {
                        return Err(invalid(format!(
                            "Message ({kind}) attribute '{name}' has a BinaryValue that is not valid base64."
                        )));
                    }
                    _ => {
                        return Err(invalid(format!(
                            "Message ({kind}) attribute '{name}' must contain a non-empty value of type 'Binary'."
                        )));
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
                )));
            }
        };
        if !user && base != "String" {
            return Err(invalid(format!(
                "The message system attribute '{name}' must have the data type String."
            )));
        }
        if v.string_list_values.is_some_and(|l| !is_empty_list(&l))
            || v.binary_list_values.is_some_and(|l| !is_empty_list(&l))
        {
            return Err(invalid(format!(
                "Message ({kind}) attribute '{name}': StringListValues and BinaryListValues are not supported."
            )));
        }
        out.insert(name, Attribute { data_type, value });
    }
    Ok(out)
}

fn is_empty_list(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// AWS's rules for user attribute names.
fn validate_attribute_name(name: &str) -> ApiResult<()> {
    let lower = name.to_ascii_lowercase();
    // Letters and digits of any script (AWS accepts `attr.1øßä`).
    let ok_chars = name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.');
    let reason = if name.is_empty() {
        Some("must not be empty")
    } else if name.len() > 256 {
        Some("must be shorter than 256 bytes")
    } else if !ok_chars {
        Some(
            "can only contain alphanumeric characters, hyphens (-), underscores (_), or periods (.)",
        )
    } else if lower.starts_with("aws.") || lower.starts_with("amazon.") {
        Some("must not start with AWS-reserved prefixes (AWS. or Amazon.)")
    } else if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        Some("must not start or end with a period (.), or contain consecutive periods")
    } else {
        None
    };
    match reason {
        Some(r) => Err(invalid(format!(
            "Message (user) attribute name '{name}' is invalid: it {r}."
        ))),
        None => Ok(()),
    }
}

/// SQS Number attributes: up to 38 significant digits, magnitude from 10^-128 to 10^+126.
fn is_sqs_number(s: &str) -> bool {
    let t = s.trim_start_matches(['-', '+']);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()),
        None => (t, Some(0)),
    };
    let Some(exp) = exp else { return false };
    let mut parts = mantissa.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || s.len() - t.len() > 1
    {
        return false;
    }
    let digits: String = int.chars().chain(frac.chars()).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    if significant.len() > 38 {
        return false;
    }
    if significant.is_empty() {
        return true;
    }
    let lead = int.trim_start_matches('0');
    let magnitude = if lead.is_empty() {
        -(frac.len() as i32 - frac.trim_start_matches('0').len() as i32) - 1
    } else {
        lead.len() as i32 - 1
    } + exp;
    (-128..=126).contains(&magnitude)
}

/// The characters SQS allows in bodies and string attributes; returns the first bad one as `#xN`.
pub fn validate_chars(s: &str) -> Result<(), String> {
    // Every send checks its body, so the common case is one pass over bytes: a `str` holds no
    // surrogates and nothing above 0x10FFFF, so the only characters refused are the controls
    // below 0x20 (but tab, LF and CR) and U+FFFE / U+FFFF, whose UTF-8 starts with 0xEF.
    // The test has no early exit inside a chunk, so the compiler makes it vector code.
    let suspect = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0xEF);
    if s.as_bytes()
        .chunks(64)
        .all(|chunk| !chunk.iter().fold(false, |acc, &b| acc | suspect(b)))
    {
        return Ok(());
    }
    for c in s.chars() {
        let ok = matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF);
        if !ok {
            return Err(format!("#x{:X}", c as u32));
        }
    }
    Ok(())
}

/// Bytes an attribute counts towards the message size limit (name + type + value).
pub fn attributes_size(attrs: &Attributes) -> usize {
    attrs
        .iter()
        .map(|(n, a)| {
            n.len()
                + a.data_type.len()
                + match &a.value {
                    AttrValue::Text(s) => s.len(),
                    AttrValue::Binary(b) => b.len(),
                }
        })
        .sum()
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub use crate::ids::hex;

/// MD5OfMessageAttributes / MD5OfMessageSystemAttributes exactly as AWS computes them: for each
/// attribute in name order, length-prefixed name, length-prefixed type, a transport byte (1 string,
/// 2 binary) and the length-prefixed value. `None` when there are no attributes.
pub fn md5_of_attributes<'a>(
    attrs: impl IntoIterator<Item = (&'a String, &'a Attribute)>,
) -> Option<Md5Digest> {
    let mut h = Md5::new();
    let mut any = false;
    for (name, a) in attrs {
        any = true;
        let put = |h: &mut Md5, b: &[u8]| {
            h.update((b.len() as u32).to_be_bytes());
            h.update(b);
        };
        put(&mut h, name.as_bytes());
        put(&mut h, a.data_type.as_bytes());
        match &a.value {
            AttrValue::Text(s) => {
                h.update([1u8]);
                put(&mut h, s.as_bytes());
            }
            AttrValue::Binary(b) => {
                h.update([2u8]);
                put(&mut h, b);
            }
        }
    }
    any.then(|| Md5Digest(h.finalize().into()))
}

/// Renders attributes as the wire map `{name: {DataType, StringValue | BinaryValue}}`.
pub fn attributes_json<'a>(
    attrs: impl IntoIterator<Item = (&'a String, &'a Attribute)>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, a) in attrs {
        let mut v = Map::new();
        match &a.value {
            AttrValue::Text(s) => v.insert("StringValue".into(), Value::String(s.clone())),
            AttrValue::Binary(b) => v.insert("BinaryValue".into(), Value::String(B64.encode(b))),
        };
        v.insert("DataType".into(), Value::String(a.data_type.clone()));
        out.insert(name.clone(), Value::Object(v));
    }
    out
}

/// 16 bytes shown as AWS shows message ids (a lowercase UUID); kept as bytes to keep a million
/// queued messages small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// A random version-4 id.
    pub fn random() -> MessageId {
        MessageId(crate::ids::uuid_bytes())
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::ids::uuid_string(&self.0))
    }
}

/// An MD5 digest, shown in lowercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Md5Digest(pub [u8; 16]);

impl Md5Digest {
    pub fn of(data: &[u8]) -> Md5Digest {
        Md5Digest(Md5::digest(data).into())
    }
}

impl std::fmt::Display for Md5Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

/// The fields most messages do not have, boxed so that they cost one pointer when absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    pub trace_header: Option<String>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
    /// ARN of the queue this message was dead-lettered from.
    pub dead_letter_source: Option<String>,
}

/// A message body. It is in memory from the send until the message's record is written; from then
/// on the store holds it (on disk, the message log) and a receive reads it back, so a queue of a
/// million messages does not keep a million bodies in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Here(Box<str>),
    /// In the store, under this queue's message key with this sequence number.
    Stored {
        seq: u64,
        len: u32,
    },
}

impl Body {
    pub fn len(&self) -> usize {
        match self {
            Body::Here(b) => b.len(),
            Body::Stored { len, .. } => *len as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, when it is in memory.
    pub fn text(&self) -> Option<&str> {
        match self {
            Body::Here(b) => Some(b),
            Body::Stored { .. } => None,
        }
    }
}

/// A stored message. Everything but `state` is fixed at the send; `state` changes on every
/// receive and visibility change and is stored under its own key once it differs from the send.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub body: Body,
    pub attributes: Attributes,
    pub md5_body: Md5Digest,
    pub md5_attributes: Option<Md5Digest>,
    /// Shared between the messages of a queue that have the same sender (see `QueueState`).
    pub sender_id: std::sync::Arc<str>,
    pub sent_ms: u64,
    pub extra: Option<Box<Extra>>,
    pub state: MessageState,
    /// Whether `state` has its own record in the store (written at the first receive or
    /// visibility change; until then the state stored with the message is current).
    pub state_stored: bool,
}

/// What changes while a message sits in a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageState {
    pub receive_count: u32,
    pub first_receive_ms: u64,
    /// Epoch ms from which the message may be received (delay or visibility timeout); 0 = now.
    pub visible_at: u64,
}

const MESSAGE_VERSION: u8 = 1;
const STATE_VERSION: u8 = 1;

impl Message {
    /// A new message; its MD5s are derived here.
    pub fn new(
        id: MessageId,
        body: Box<str>,
        attributes: Attributes,
        sender_id: &str,
        sent_ms: u64,
        extra: Extra,
    ) -> Message {
        let md5_body = Md5Digest::of(body.as_bytes());
        let md5_attributes = md5_of_attributes(&attributes);
        let extra = (extra != Extra::default()).then(|| Box::new(extra));
        Message {
            id,
            body: Body::Here(body),
            attributes,
            md5_body,
            md5_attributes,
            sender_id: sender_id.into(),
            sent_ms,
            extra,
            state: MessageState::default(),
            state_stored: false,
        }
    }

    pub fn extra(&self) -> &Extra {
        static NONE: Extra = Extra {
            trace_header: None,
            group_id: None,
            dedup_id: None,
            sequence_number: None,
            dead_letter_source: None,
        };
        self.extra.as_deref().unwrap_or(&NONE)
    }

    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// MD5OfMessageSystemAttributes (AWSTraceHeader is the only system attribute a send carries).
    pub fn md5_system(&self) -> Option<Md5Digest> {
        let t = self.extra().trace_header.as_ref()?;
        let name = "AWSTraceHeader".to_string();
        let attr = Attribute {
            data_type: "String".into(),
            value: AttrValue::Text(t.clone()),
        };
        md5_of_attributes([(&name, &attr)])
    }

    /// Size counted against `MaximumMessageSize`.
    pub fn size(&self) -> usize {
        self.body.len() + attributes_size(&self.attributes)
    }

    /// The stored record. Only a message whose body is in memory is ever encoded: a send, or a
    /// move whose body was read back first (`Sqs::hydrate`).
    pub fn encode(&self) -> Vec<u8> {
        let body = self
            .body
            .text()
            .expect("a message is encoded only while its body is in memory");
        // Fixed fields, the strings' length prefixes and the strings themselves.
        let x = self.extra();
        let extra_len = [
            &x.trace_header,
            &x.group_id,
            &x.dedup_id,
            &x.sequence_number,
            &x.dead_letter_source,
        ]
        .iter()
        .map(|s| 5 + s.as_ref().map_or(0, String::len))
        .sum::<usize>();
        let capacity = 64
            + body.len()
            + self.sender_id.len()
            + extra_len
            + attributes_size(&self.attributes)
            + 16 * self.attributes.len();
        let mut e = Enc::with_capacity(MESSAGE_VERSION, capacity);
        e.bytes(&self.id.0)
            .u64(self.sent_ms)
            .u64(self.state.visible_at)
            .str(body)
            .str(&self.sender_id);
        e.u32(self.attributes.len() as u32);
        for (name, a) in &self.attributes {
            e.str(name).str(&a.data_type);
            match &a.value {
                AttrValue::Text(s) => e.u8(1).str(s),
                AttrValue::Binary(b) => e.u8(2).bytes(b),
            };
        }
        e.opt_str(x.trace_header.as_deref())
            .opt_str(x.group_id.as_deref())
            .opt_str(x.dedup_id.as_deref())
            .opt_str(x.sequence_number.as_deref())
            .opt_str(x.dead_letter_source.as_deref());
        e.finish()
    }

    /// Reads only the body of a stored record.
    pub fn decode_body(buf: &[u8]) -> StoreResult<Box<str>> {
        let mut d = Dec::new(buf, MESSAGE_VERSION)?;
        d.bytes()?;
        d.u64()?;
        d.u64()?;
        Ok(d.str()?.into())
    }

    /// Decodes a stored message whose sequence number is `seq`, leaving its body in the store;
    /// `state` is its separately stored state, if it has one.
    pub fn decode_stored(
        buf: &[u8],
        seq: u64,
        state: Option<MessageState>,
    ) -> StoreResult<Message> {
        let mut m = Message::decode(buf, state)?;
        m.body = Body::Stored {
            seq,
            len: m.body.len() as u32,
        };
        Ok(m)
    }

    /// Decodes a stored message; `state` is its separately stored state, if it has one.
    pub fn decode(buf: &[u8], state: Option<MessageState>) -> StoreResult<Message> {
        let mut d = Dec::new(buf, MESSAGE_VERSION)?;
        let id = MessageId(
            d.bytes()?
                .try_into()
                .map_err(|_| crate::storage::StoreError("bad message id".into()))?,
        );
        let sent_ms = d.u64()?;
        let initial = MessageState {
            visible_at: d.u64()?,
            ..Default::default()
        };
        let body: Box<str> = d.str()?.into();
        let sender_id = d.str()?;
        let n = d.u32()?;
        let mut attributes = Attributes::new();
        for _ in 0..n {
            let name = d.str()?.to_string();
            let data_type = d.str()?.to_string();
            let value = match d.u8()? {
                1 => AttrValue::Text(d.str()?.to_string()),
                _ => AttrValue::Binary(d.bytes()?.to_vec()),
            };
            attributes.insert(name, Attribute { data_type, value });
        }
        let extra = Extra {
            trace_header: d.opt_str()?.map(String::from),
            group_id: d.opt_str()?.map(String::from),
            dedup_id: d.opt_str()?.map(String::from),
            sequence_number: d.opt_str()?.map(String::from),
            dead_letter_source: d.opt_str()?.map(String::from),
        };
        let mut m = Message::new(id, body, attributes, sender_id, sent_ms, extra);
        m.state = state.unwrap_or(initial);
        m.state_stored = state.is_some();
        Ok(m)
    }
}

impl MessageState {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(STATE_VERSION, 21);
        e.u32(self.receive_count)
            .u64(self.first_receive_ms)
            .u64(self.visible_at);
        e.finish()
    }

    pub fn decode(buf: &[u8]) -> StoreResult<MessageState> {
        let mut d = Dec::new(buf, STATE_VERSION)?;
        Ok(MessageState {
            receive_count: d.u32()?,
            first_receive_ms: d.u64()?,
            visible_at: d.u64()?,
        })
    }
}

/// What a receipt handle points at. Handles are per receive; any handle of a message deletes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub queue_id: u64,
    pub seq: u64,
    pub receive_count: u32,
    pub message_id: MessageId,
}

const HANDLE_VERSION: u8 = 1;

impl ReceiptHandle {
    pub fn encode(&self) -> String {
        let mut e = Enc::with_capacity(HANDLE_VERSION, 45);
        e.u64(self.queue_id).u64(self.seq).u32(self.receive_count);
        e.0.extend_from_slice(&self.message_id.0);
        let nonce: [u8; 8] = rand::random();
        e.0.extend_from_slice(&nonce);
        B64.encode(e.finish())
    }

    /// Parses a handle; `ReceiptHandleIsInvalid` with AWS's wording otherwise.
    pub fn decode(s: &str) -> ApiResult<ReceiptHandle> {
        let bad = || {
            ApiError::new(
                ErrorCode::ReceiptHandleIsInvalid,
                format!("The input receipt handle \"{s}\" is not a valid receipt handle."),
            )
        };
        let bytes = B64.decode(s.trim()).map_err(|_| bad())?;
        if bytes.len() != 1 + 8 + 8 + 4 + 16 + 8 {
            return Err(bad());
        }
        let mut d = Dec::new(&bytes, HANDLE_VERSION).map_err(|_| bad())?;
        let (queue_id, seq, receive_count) =
            (|| Ok::<_, crate::storage::StoreError>((d.u64()?, d.u64()?, d.u32()?)))()
                .map_err(|_| bad())?;
        let id: [u8; 16] = bytes[21..37].try_into().map_err(|_| bad())?;
        Ok(ReceiptHandle {
            queue_id,
            seq,
            receive_count,
            message_id: MessageId(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str, v: &str) -> Attribute {
        Attribute {
            data_type: t.into(),
            value: AttrValue::Text(v.into()),
        }
    }

    #[test]
    fn md5_of_body_matches_aws_example() {
        assert_eq!(md5_hex(b"hello world"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }

    #[test]
    fn md5_of_attributes_matches_known_values() {
        // Reference values computed with the algorithm published in the SQS developer guide.
        let mut a = Attributes::new();
        a.insert("City".into(), text("String", "Any City"));
        a.insert("Population".into(), text("Number", "1250800"));
        let mut h = Md5::new();
        for (n, t, v) in [
            ("City", "String", "Any City"),
            ("Population", "Number", "1250800"),
        ] {
            for part in [n, t] {
                h.update((part.len() as u32).to_be_bytes());
                h.update(part.as_bytes());
            }
            h.update([1]);
            h.update((v.len() as u32).to_be_bytes());
            h.update(v.as_bytes());
        }
        assert_eq!(
            md5_of_attributes(&a).unwrap().to_string(),
            hex(&h.finalize())
        );
        assert_eq!(md5_of_attributes(&Attributes::new()), None);
    }

    #[test]
    fn attribute_validation() {
        let mut m = BTreeMap::new();
        m.insert(
            "n".to_string(),
            AttributeValueInput {
                data_type: Some("Number".into()),
                string_value: Some("1.5e3".into()),
                ..Default::default()
            },
        );
        m.insert(
            "attr.1øßä".to_string(),
            AttributeValueInput {
                data_type: Some("String".into()),
                string_value: Some("v".into()),
                ..Default::default()
            },
        );
        assert!(parse_attributes(m, true).is_ok());
        for (name, dt, sv) in [
            ("n", "String", "a\u{1}b"),
            ("a b", "String", "v"),
            ("AWS.x", "String", "v"),
            ("a..b", "String", "v"),
            ("n", "Number", "abc"),
            ("n", "Integer", "1"),
            ("n", "String", ""),
            ("n", "", "v"),
        ] {
            let mut m = BTreeMap::new();
            m.insert(
                name.to_string(),
                AttributeValueInput {
                    data_type: Some(dt.into()),
                    string_value: Some(sv.into()),
                    ..Default::default()
                },
            );
            let e = parse_attributes(m, true).unwrap_err();
            assert_eq!(
                e.code,
                ErrorCode::InvalidParameterValue,
                "{name} {dt} {sv}: {}",
                e.message
            );
        }
    }

    #[test]
    fn numbers() {
        for ok in [
            "0",
            "-1",
            "1.25",
            "1e126",
            "12345678901234567890123456789012345678",
            ".5",
        ] {
            assert!(is_sqs_number(ok), "{ok}");
        }
        for bad in [
            "",
            "-",
            "1e127",
            "123456789012345678901234567890123456789",
            "1.2.3",
            "abc",
            "--1",
        ] {
            assert!(!is_sqs_number(bad), "{bad}");
        }
    }

    #[test]
    fn chars() {
        assert!(validate_chars("ok\t\n\r é 😀").is_ok());
        assert_eq!(validate_chars("a\u{1}b").unwrap_err(), "#x1");
        assert_eq!(validate_chars("é\u{fffe}").unwrap_err(), "#xFFFE");
        assert_eq!(validate_chars("\u{ffff}x\u{1}").unwrap_err(), "#xFFFF");
        assert!(validate_chars("\u{fffd}\u{effe}\u{10ffff}\u{7f}").is_ok());
    }

    proptest::proptest! {
        /// The byte-wise fast path agrees with the rule character by character.
        #[test]
        fn chars_fast_path_agrees(s in "[\\x00-\\x7f]*|\\PC*|.*[\u{fffe}\u{ffff}\u{efff}].*") {
            let first_bad = s.chars().find(|&c| !matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF));
            proptest::prop_assert_eq!(validate_chars(&s).err(), first_bad.map(|c| format!("#x{:X}", c as u32)));
        }
    }

    #[test]
    fn handle_round_trip_and_garbage() {
        let h = ReceiptHandle {
            queue_id: 4,
            seq: 99,
            receive_count: 2,
            message_id: MessageId::random(),
        };
        let s = h.encode();
        assert_eq!(ReceiptHandle::decode(&s).unwrap(), h);
        assert_ne!(h.encode(), s, "handles are unique per issue");
        for g in ["", "garbage", "AAAA", "!!!"] {
            assert_eq!(
                ReceiptHandle::decode(g).unwrap_err().code,
                ErrorCode::ReceiptHandleIsInvalid
            );
        }
    }

    #[test]
    fn ids_look_like_aws() {
        let id = MessageId::random().to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(
            Md5Digest::of(b"hello world").to_string(),
            md5_hex(b"hello world")
        );
    }

    #[test]
    fn message_round_trip() {
        let mut attributes = Attributes::new();
        attributes.insert(
            "b".into(),
            Attribute {
                data_type: "Binary".into(),
                value: AttrValue::Binary(vec![0, 1]),
            },
        );
        attributes.insert("s".into(), text("String.x", "v"));
        let extra = Extra {
            trace_header: Some("Root=1".into()),
            dedup_id: Some("d".into()),
            ..Default::default()
        };
        let mut m = Message::new(
            MessageId::random(),
            "body".into(),
            attributes,
            "AKID",
            42,
            extra,
        );
        m.state.visible_at = 7;
        let state = MessageState {
            receive_count: 3,
            first_receive_ms: 5,
            visible_at: 9,
        };
        let back = Message::decode(
            &m.encode(),
            Some(MessageState::decode(&state.encode()).unwrap()),
        )
        .unwrap();
        assert_eq!(back.attributes, m.attributes);
        assert_eq!(back.md5_attributes, m.md5_attributes);
        assert_eq!(back.md5_system(), m.md5_system());
        assert!(m.md5_system().is_some());
        assert_eq!(back.state, state);
        assert!(back.state_stored);
        assert_eq!(back.extra().dedup_id.as_deref(), Some("d"));
        let fresh = Message::decode(&m.encode(), None).unwrap();
        assert_eq!(
            fresh.state,
            MessageState {
                visible_at: 7,
                ..Default::default()
            },
            "the initial state travels with the message"
        );
        let plain = Message::new(
            MessageId::random(),
            "b".into(),
            Attributes::new(),
            "s",
            1,
            Extra::default(),
        );
        assert!(plain.extra.is_none(), "no extra fields, no allocation");
    }
}
