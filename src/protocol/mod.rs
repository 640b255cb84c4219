//! Wire codecs and nothing else: awsQuery forms in and XML out (`query.rs`, `xml.rs`), awsJson in
//! and out (`json.rs`), and the one error renderer per protocol. Both request codecs decode into the
//! same JSON-shaped [`Params`], so actions are written once for both protocols.

pub mod json;
mod params;
pub mod query;
pub mod query_json;
pub mod xml;

pub use params::Params;

/// The AWS services ferry speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Sqs,
    Sns,
    Events,
    Sts,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Events => "events",
            Service::Sts => "sts",
        }
    }

    /// The XML namespace of the service's awsQuery responses.
    pub fn xml_namespace(self) -> &'static str {
        match self {
            Service::Sqs => "http://queue.amazonaws.com/doc/2012-11-05/",
            Service::Sns => "http://sns.amazonaws.com/doc/2010-03-31/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
            Service::Events => "http://events.amazonaws.com/doc/2015-10-07/",
        }
    }
}

/// The wire protocols ferry decodes and renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    AwsQuery,
    AwsJson10,
    AwsJson11,
}

/// What an action answers. Most answers are JSON-shaped values. The answers on every message's
/// path (a send's result, a receive's messages, a batch's outcome) are typed instead: awsJson
/// serializes them straight to bytes, without building and dropping a map per message (a tenth
/// of a receive-and-delete's instructions went there), and the other renderers take their value.
pub enum Output {
    Value(serde_json::Value),
    Typed(Box<dyn Typed>),
}

/// A typed answer: anything serde can serialize, as JSON bytes or as a value.
pub trait Typed: Send {
    fn json(&self) -> Vec<u8>;
    fn value(&self) -> serde_json::Value;
}

impl<T: serde::Serialize + Send> Typed for T {
    fn json(&self) -> Vec<u8> {
        // Typed answers are structs, strings and numbers: writing them cannot fail.
        json::to_vec_of(self).unwrap_or_default()
    }

    fn value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Output {
    pub fn typed(answer: impl Typed + 'static) -> Output {
        Output::Typed(Box::new(answer))
    }

    pub fn into_value(self) -> serde_json::Value {
        match self {
            Output::Value(v) => v,
            Output::Typed(t) => t.value(),
        }
    }
}

impl From<serde_json::Value> for Output {
    fn from(v: serde_json::Value) -> Output {
        Output::Value(v)
    }
}

/// A rendered response, ready for the HTTP layer.
#[derive(Debug)]
pub struct Rendered {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}
