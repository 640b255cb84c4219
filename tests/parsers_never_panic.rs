//! Every parser of outside input, fed random input: it answers (often with an error) and never
//! panics. The query-form decoder and the pattern language have their own property tests beside
//! their code; these cover the rest.

use ferry::protocol::{Params, json};
use ferry::server::auth;
use ferry::server::route;
use ferry::sqs::QueueRef;
use ferry::sqs::message::ReceiptHandle;
use proptest::prelude::*;

proptest! {
    #[test]
    fn json_bodies(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(map) = json::decode(&body) {
            let p = Params(map);
            let _ = p.int("MaxNumberOfMessages");
            let _ = p.strings("AttributeNames");
            let _ = p.list("Entries");
        }
    }

    #[test]
    fn json_shaped_params(s in r#"\{("[A-Za-z]{1,8}":(-?[0-9]{1,25}|"[^"\\]{0,8}"|\[\]|\{\}|null|true),?){0,6}\}"#) {
        if let Ok(map) = json::decode(s.as_bytes()) {
            let p = Params(map);
            for name in ["A", "Entries", "QueueUrl"] {
                let _ = p.int(name);
                let _ = p.str(name);
                let _ = p.string_map(name);
                let _ = p.list(name);
            }
        }
    }

    #[test]
    fn receipt_handles(s in ".{0,120}") {
        let _ = ReceiptHandle::decode(&s);
    }

    #[test]
    fn base64_shaped_receipt_handles(s in "[A-Za-z0-9+/=]{0,80}") {
        let _ = ReceiptHandle::decode(&s);
    }

    #[test]
    fn credentials(header in ".{0,120}", query in ".{0,120}") {
        let c = auth::credential(Some(&header), Some(&query));
        let _ = c.caller("000000000000", "localhost");
    }

    #[test]
    fn queue_urls(url in ".{0,80}") {
        let _ = QueueRef::parse(&url);
    }

    #[test]
    fn routing(target in proptest::option::of(".{0,30}"), body in proptest::collection::vec(any::<u8>(), 0..120), query in proptest::option::of(".{0,60}")) {
        let _ = route::route(target.as_deref(), None, query.as_deref(), &body, target.is_some());
    }
}
