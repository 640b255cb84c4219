//! Event buses as a target of the delivery engine: a rule's bus target hands its event here, and
//! it is matched against the rules of the receiving bus (in any account or region) like an event
//! that PutEvents accepted there. The envelope is kept (`account` and `region` stay the
//! original's, EB-140 / EB-141); an event that crosses regions gets a new `id` (EB-141). It goes
//! one hop only: the receiving bus's rules do not send it on to a third bus.

use super::envelope::{self, Accepted, BusRef};
use super::{Events, uuid};
use crate::delivery::{Inbox, QueueError, QueueMessage};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;

impl Inbox for Events {
    fn send<'a>(
        &'a self,
        bus_arn: &'a str,
        m: QueueMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), QueueError>> + Send + 'a>> {
        Box::pin(async move {
            let bus = parse_bus_arn(bus_arn).ok_or(QueueError::Missing)?;
            let exists = {
                let mut reg = self.lock();
                let scope = reg.scope_of(&bus.account, &bus.region, self.now_ms());
                scope.buses.contains_key(&bus.name)
            };
            if !exists {
                return Err(QueueError::Missing);
            }
            let mut event: Value = serde_json::from_str(&m.body)
                .map_err(|e| QueueError::Rejected(format!("the event is not JSON: {e}")))?;
            if event.get("region").and_then(Value::as_str) != Some(bus.region.as_str()) {
                event["id"] = json!(uuid());
            }
            let id = event
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let ingestion = envelope::iso_millis(self.now_ms());
            let accepted = Accepted { bus, event };
            let jobs = self.route_from(&accepted, &id, &ingestion, m.trace_header.as_deref(), true);
            let Some(delivery) = self.delivery.get() else {
                return Err(QueueError::Unavailable("no delivery engine".into()));
            };
            delivery
                .submit(jobs)
                .wait()
                .await
                .map_err(|e| QueueError::Unavailable(e.to_string()))
        })
    }
}

/// `arn:aws:events:<region>:<account>:event-bus/<name>`.
fn parse_bus_arn(arn: &str) -> Option<BusRef> {
    let mut it = arn.splitn(6, ':');
    let (_, _, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    let name = resource.strip_prefix("event-bus/")?;
    (service == "events" && !name.is_empty()).then(|| BusRef {
        account: account.into(),
        region: region.into(),
        name: name.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_bus_arn;

    #[test]
    fn bus_arns() {
        let b = parse_bus_arn("arn:aws:events:eu-west-1:111122223333:event-bus/orders").unwrap();
        assert_eq!(
            (b.account.as_str(), b.region.as_str(), b.name.as_str()),
            ("111122223333", "eu-west-1", "orders")
        );
        assert!(parse_bus_arn("arn:aws:events:eu-west-1:1:rule/r").is_none());
        assert!(parse_bus_arn("arn:aws:sqs:eu-west-1:1:event-bus/x").is_none());
        assert!(parse_bus_arn("event-bus/x").is_none());
    }
}
