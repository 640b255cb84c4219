//! awsQuery response writing: JSON-shaped output rendered as the XML AWS sends, with flattened lists
//! and key/value maps named as the service's model names them, and errors as `ErrorResponse`.

use super::{Rendered, Service};
use crate::error::{ApiError, ErrorCode, Fault};
use serde_json::Value;

/// How a service names list members and map entries in XML.
pub struct XmlShape {
    /// (JSON member, element name of each flattened item).
    pub lists: &'static [(&'static str, &'static str)],
    /// (JSON member, entry element, key element, value element).
    pub maps: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// True when lists and maps sit inside an element of their own name (`<Topics><member>…`,
    /// `<Attributes><entry><key>…`), as SNS writes them; false for SQS's flattened ones.
    pub wrapped: bool,
}

pub const SQS: XmlShape = XmlShape {
    lists: &[
        ("Messages", "Message"),
        ("QueueUrls", "QueueUrl"),
        ("queueUrls", "QueueUrl"),
        ("Failed", "BatchResultErrorEntry"),
        ("Results", "ListMessageMoveTasksResultEntry"),
        ("StringListValues", "StringListValue"),
        ("BinaryListValues", "BinaryListValue"),
    ],
    maps: &[
        ("Attributes", "Attribute", "Name", "Value"),
        ("MessageAttributes", "MessageAttribute", "Name", "Value"),
        ("Tags", "Tag", "Key", "Value"),
    ],
    wrapped: false,
};

pub const PLAIN: XmlShape = XmlShape {
    lists: &[],
    maps: &[],
    wrapped: false,
};

/// Escapes text for XML. Carriage returns are written as `&#xD;` because XML parsers would
/// otherwise normalise them away, changing message bodies (and breaking their MD5).
pub fn escape(s: &str, out: &mut String) {
    let escaped = quick_xml::escape::escape(s);
    if escaped.contains('\r') {
        out.push_str(&escaped.replace('\r', "&#xD;"));
    } else {
        out.push_str(&escaped);
    }
}

fn open(out: &mut String, name: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
}

fn close(out: &mut String, name: &str) {
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

struct Writer<'a> {
    shape: &'a XmlShape,
    action: &'a str,
    out: String,
}

impl Writer<'_> {
    fn element(&mut self, name: &str, v: &Value) {
        match v {
            Value::Null => {}
            Value::Array(items) if self.shape.wrapped => {
                open(&mut self.out, name);
                for item in items {
                    self.element("member", item);
                }
                close(&mut self.out, name);
            }
            Value::Array(items) => {
                let item_name = if name == "Successful" {
                    format!("{}ResultEntry", self.action)
                } else {
                    self.shape
                        .lists
                        .iter()
                        .find(|(j, _)| *j == name)
                        .map_or(name, |(_, x)| x)
                        .to_string()
                };
                for item in items {
                    self.element(&item_name, item);
                }
            }
            Value::Object(m) => {
                if let Some((_, entry, key, value)) =
                    self.shape.maps.iter().find(|(j, ..)| *j == name)
                {
                    if self.shape.wrapped {
                        open(&mut self.out, name);
                    }
                    for (k, v) in m {
                        open(&mut self.out, entry);
                        open(&mut self.out, key);
                        escape(k, &mut self.out);
                        close(&mut self.out, key);
                        self.element(value, v);
                        close(&mut self.out, entry);
                    }
                    if self.shape.wrapped {
                        close(&mut self.out, name);
                    }
                } else {
                    open(&mut self.out, name);
                    self.fields(v);
                    close(&mut self.out, name);
                }
            }
            Value::String(s) => {
                open(&mut self.out, name);
                escape(s, &mut self.out);
                close(&mut self.out, name);
            }
            other => {
                open(&mut self.out, name);
                self.out.push_str(&other.to_string());
                close(&mut self.out, name);
            }
        }
    }

    fn fields(&mut self, v: &Value) {
        if let Value::Object(m) = v {
            for (k, v) in m {
                self.element(k, v);
            }
        }
    }
}

/// `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>`.
pub fn render_ok(
    service: Service,
    shape: &XmlShape,
    action: &str,
    output: &Value,
    request_id: &str,
) -> Rendered {
    let mut w = Writer {
        shape,
        action,
        out: String::with_capacity(512),
    };
    w.out.push_str("<?xml version=\"1.0\"?><");
    w.out.push_str(action);
    w.out.push_str("Response xmlns=\"");
    w.out.push_str(service.xml_namespace());
    w.out.push_str("\"><");
    w.out.push_str(action);
    // An empty result is one empty element, as AWS writes it: `<ReceiveMessageResult/>`.
    if output.as_object().is_none_or(|m| m.is_empty()) {
        w.out.push_str("Result/>");
    } else {
        w.out.push_str("Result>");
        w.fields(output);
        w.out.push_str("</");
        w.out.push_str(action);
        w.out.push_str("Result>");
    }
    w.out.push_str("<ResponseMetadata><RequestId>");
    w.out.push_str(request_id);
    w.out.push_str("</RequestId></ResponseMetadata></");
    w.out.push_str(action);
    w.out.push_str("Response>");
    Rendered {
        status: 200,
        content_type: "text/xml",
        headers: Vec::new(),
        body: w.out.into_bytes(),
    }
}

/// The message awsQuery clients see: SQS words a missing queue as its old WSDL API did.
pub fn query_message(service: Service, err: &ApiError) -> &str {
    match (service, err.code) {
        (Service::Sqs, ErrorCode::QueueDoesNotExist) => {
            "The specified queue does not exist for this wsdl version."
        }
        _ => &err.message,
    }
}

/// What SQS answers a request to a queue URL that names no action: a bare 404 document.
pub fn unknown_operation() -> Rendered {
    Rendered {
        status: 404,
        content_type: "text/xml",
        headers: Vec::new(),
        body: b"<UnknownOperationException/>".to_vec(),
    }
}

/// AWS's awsQuery error document, with the legacy error code.
pub fn render_error(service: Service, err: &ApiError, request_id: &str) -> Rendered {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\"?><ErrorResponse xmlns=\"");
    out.push_str(service.xml_namespace());
    out.push_str("\"><Error><Type>");
    out.push_str(match err.code.fault() {
        Fault::Sender => "Sender",
        Fault::Receiver => "Receiver",
    });
    out.push_str("</Type><Code>");
    out.push_str(if service == Service::Sqs {
        err.code.legacy_code()
    } else {
        err.code.shape_name()
    });
    out.push_str("</Code><Message>");
    escape(query_message(service, err), &mut out);
    out.push_str("</Message><Detail/></Error><RequestId>");
    out.push_str(request_id);
    out.push_str("</RequestId></ErrorResponse>");
    Rendered {
        status: err.code.status(),
        content_type: "text/xml",
        headers: Vec::new(),
        body: out.into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn golden_receive() {
        let out = json!({"Messages": [{"MessageId": "m", "Body": "a<b\r\n", "Attributes": {"SentTimestamp": "1"},
            "MessageAttributes": {"k": {"StringValue": "v", "DataType": "String"}}}]});
        let r = render_ok(Service::Sqs, &SQS, "ReceiveMessage", &out, "rid");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <ReceiveMessageResult><Message><MessageId>m</MessageId><Body>a&lt;b&#xD;\n</Body>\
             <Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>\
             <MessageAttribute><Name>k</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute>\
             </Message></ReceiveMessageResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        );
    }

    #[test]
    fn golden_wrapped_lists_and_maps() {
        const SHAPE: XmlShape = XmlShape {
            lists: &[],
            maps: &[("Attributes", "entry", "key", "value")],
            wrapped: true,
        };
        let out =
            json!({"Topics": [{"TopicArn": "a"}], "Attributes": {"k": "v"}, "NextToken": null});
        let r = render_ok(Service::Sns, &SHAPE, "X", &out, "r");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "<?xml version=\"1.0\"?><XResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><XResult>\
             <Topics><member><TopicArn>a</TopicArn></member></Topics>\
             <Attributes><entry><key>k</key><value>v</value></entry></Attributes>\
             </XResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></XResponse>"
        );
        let e = render_error(
            Service::Sns,
            &ApiError::new(ErrorCode::BatchEntryIdsNotDistinct, "m"),
            "r",
        );
        assert!(
            String::from_utf8(e.body)
                .unwrap()
                .contains("<Code>BatchEntryIdsNotDistinct</Code>")
        );
    }

    #[test]
    fn golden_batch_and_error() {
        let out = json!({"Successful": [{"Id": "a", "MessageId": "m"}], "Failed": [{"Id": "b", "SenderFault": true}]});
        let body =
            String::from_utf8(render_ok(Service::Sqs, &SQS, "SendMessageBatch", &out, "r").body)
                .unwrap();
        assert!(body.contains("<SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>"));
        assert!(body.contains("<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault></BatchResultErrorEntry>"));
        let e = render_error(
            Service::Sqs,
            &ApiError::new(ErrorCode::QueueDoesNotExist, "nope & gone"),
            "r",
        );
        assert_eq!(e.status, 400);
        assert_eq!(
            String::from_utf8(e.body).unwrap(),
            "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error><Type>Sender</Type>\
             <Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message><Detail/></Error>\
             <RequestId>r</RequestId></ErrorResponse>"
        );
        let e = render_error(
            Service::Sqs,
            &ApiError::new(ErrorCode::InvalidParameterValue, "a & b"),
            "r",
        );
        assert!(
            String::from_utf8(e.body)
                .unwrap()
                .contains("<Message>a &amp; b</Message>")
        );
    }

    #[test]
    fn empty_result_is_one_element() {
        let r = render_ok(Service::Sqs, &SQS, "ReceiveMessage", &json!({}), "r");
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <ReceiveMessageResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        );
    }
}
