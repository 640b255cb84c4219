//! Queue management actions: create, look up, list, delete, attributes, tags (permissions live
//! in `permissions.rs`).

use super::attributes::{self, AllowPolicy, COMPUTED, FIFO_ONLY, QueueRecord, SETTABLE, Settings};
use super::fifo;
use super::queue::Queue;
use super::{Sqs, no_such_queue};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::protocol::Params;
use crate::storage::{Op, keys};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const MAX_TAGS: usize = 50;

impl Sqs {
    /// Validates attributes for a queue (`creating` it, or setting them); cross-queue rules
    /// included. `None` values are attributes to remove.
    fn check_attributes(
        &self,
        queue_arn: &str,
        fifo: bool,
        creating: bool,
        given: &BTreeMap<String, String>,
    ) -> ApiResult<BTreeMap<String, Option<String>>> {
        let mut out = BTreeMap::new();
        for (name, value) in given {
            if !fifo
                && creating
                && matches!(name.as_str(), "DeduplicationScope" | "FifoThroughputLimit")
            {
                return Err(ApiError::new(
                    ErrorCode::InvalidAttributeName,
                    format!("You can specify the {name} only when FifoQueue is set to true."),
                ));
            }
            let canonical = attributes::validate(name, value, self.max_message_size, fifo)?;
            if name == "RedrivePolicy"
                && let Some(policy) = &canonical
            {
                self.check_dead_letter_target(queue_arn, fifo, policy, value)?;
            }
            out.insert(name.clone(), canonical);
        }
        // KmsMasterKeyId="" turns encryption off: neither Kms attribute is shown any more.
        if out.get("KmsMasterKeyId") == Some(&None) {
            out.insert("KmsDataKeyReusePeriodSeconds".into(), None);
            out.entry("SqsManagedSseEnabled".into())
                .or_insert_with(|| Some("false".into()));
        }
        Ok(out)
    }

    fn check_dead_letter_target(
        &self,
        source_arn: &str,
        fifo: bool,
        policy: &str,
        raw: &str,
    ) -> ApiResult<()> {
        let r = attributes::parse_redrive(policy)?;
        let dlq = self.by_arn(&r.dead_letter_arn).ok_or_else(|| {
            ApiError::invalid_value("RedrivePolicy", raw, "Dead letter target does not exist.")
        })?;
        if dlq.settings().fifo != fifo {
            return Err(ApiError::invalid_value(
                "RedrivePolicy",
                raw,
                "Dead-letter target must be of the same type as the source queue (standard or FIFO).",
            ));
        }
        let allow = dlq
            .lock()
            .record
            .attributes
            .get("RedriveAllowPolicy")
            .cloned();
        let permitted = match allow.map(|a| attributes::parse_allow_policy(&a)) {
            None | Some(Err(_)) | Some(Ok(AllowPolicy::AllowAll)) => true,
            Some(Ok(AllowPolicy::DenyAll)) => false,
            Some(Ok(AllowPolicy::ByQueue(arns))) => arns.iter().any(|a| a == source_arn),
        };
        if !permitted {
            return Err(ApiError::invalid_value(
                "RedrivePolicy",
                raw,
                "Queue is not allowed as a source queue by the dead-letter queue's RedriveAllowPolicy.",
            ));
        }
        Ok(())
    }

    pub(super) async fn create_queue(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let name = p.required_str("QueueName")?.to_string();
        let given = p.string_map("Attributes")?;
        let mut tags = p.string_map("tags")?;
        tags.extend(p.string_map("Tags")?);
        let fifo = given
            .get("FifoQueue")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if fifo && !fifo::valid_fifo_name(&name) {
            return Err(fifo::fifo_name_error());
        }
        if !fifo && !attributes::valid_queue_name(&name) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        check_tags(&tags)?;
        let arn = format!("arn:aws:sqs:{}:{}:{}", caller.region, caller.account, name);
        let checked = self.check_attributes(&arn, fifo, true, &given)?;
        let set: BTreeMap<String, String> = checked
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        attributes::check_fifo_combination(&set)?;

        let key = super::queue_key(&caller.account, &caller.region, &name);
        // A queue joins the map only once its record is on disk: answered any earlier (to a
        // second CreateQueue of the name, or a send to its URL), a kill -9 could take back a
        // queue, and messages, that a client was told about. A second creation of the same
        // name meanwhile waits for the first to end, then looks again.
        let (done, id) = loop {
            let wait = {
                let queues = self.read_queues();
                if let Some(existing) = queues.get(&key) {
                    return same_queue(caller, existing, fifo, &set, self.max_message_size);
                }
                let mut creating = self.creating.lock().unwrap_or_else(|p| p.into_inner());
                match creating.get(&key) {
                    // (A receiver whose sender is gone without removing it would be stale.)
                    Some(rx) if rx.has_changed().is_ok() => rx.clone(),
                    _ => {
                        let (done, rx) = tokio::sync::watch::channel(());
                        creating.insert(key.clone(), rx);
                        let id = self
                            .next_id
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        break (done, id);
                    }
                }
            };
            let mut wait = wait;
            let _ = wait.changed().await;
        };
        let now_s = self.clock.now_ms() / 1000;
        let record = QueueRecord {
            account: caller.account.clone(),
            region: caller.region.clone(),
            name,
            attributes: set,
            tags,
            created_s: now_s,
            modified_s: now_s,
        };
        let settings = Settings::from_attributes(&record.attributes, self.max_message_size);
        let queue = Arc::new(Queue::new(id, record, settings));
        let pending = self.submit(vec![queue.lock().record_op()]);
        // The rest runs on its own, so that a client that goes away mid-creation (its request
        // dropped) leaves neither a record without its queue nor a name forever being created.
        let sqs = self
            .me
            .upgrade()
            .ok_or_else(|| ApiError::internal("queue creation", "the service is closing"))?;
        let created = queue.clone();
        let finish = tokio::spawn(async move {
            let stored = sqs.persist(pending).await;
            {
                let mut queues = sqs.write_queues();
                if stored.is_ok() {
                    queues.insert(key.clone(), created);
                }
                let mut creating = sqs.creating.lock().unwrap_or_else(|p| p.into_inner());
                creating.remove(&key);
            }
            drop(done);
            stored
        });
        finish
            .await
            .map_err(|e| ApiError::internal("queue creation", e))??;
        Ok(json!({"QueueUrl": Sqs::queue_url(caller, &queue)}))
    }

    pub(super) fn get_queue_url(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let name = p.required_str("QueueName")?;
        let account = p
            .str("QueueOwnerAWSAccountId")?
            .filter(|a| !a.is_empty())
            .unwrap_or(&caller.account);
        let q = self
            .lookup(account, &caller.region, name)
            .ok_or_else(no_such_queue)?;
        Ok(json!({"QueueUrl": Sqs::queue_url(caller, &q)}))
    }

    pub(super) fn list_queues(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let prefix = p.str("QueueNamePrefix")?.unwrap_or("");
        let max = match p.int("MaxResults")? {
            None => None,
            Some(n @ 1..=1000) => Some(n as usize),
            Some(n) => {
                return Err(ApiError::invalid_value(
                    "MaxResults",
                    n,
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        };
        let after = match p.str("NextToken")? {
            None => None,
            Some(t) => Some(
                B64.decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ApiError::new(ErrorCode::InvalidParameterValue, "Invalid NextToken value.")
                    })?,
            ),
        };
        let mut names: Vec<Arc<Queue>> = self
            .read_queues()
            .values()
            .filter(|q| {
                q.account == caller.account
                    && q.region == caller.region
                    && q.name.starts_with(prefix)
            })
            .filter(|q| after.as_deref().is_none_or(|a| q.name.as_str() > a))
            .cloned()
            .collect();
        names.sort_by(|a, b| a.name.cmp(&b.name));
        let limit = max.unwrap_or(1000);
        let more = max.is_some() && names.len() > limit;
        names.truncate(limit);
        let mut out = Map::new();
        if !names.is_empty() {
            out.insert(
                "QueueUrls".into(),
                names
                    .iter()
                    .map(|q| Value::String(Sqs::queue_url(caller, q)))
                    .collect(),
            );
        }
        if more && let Some(last) = names.last() {
            out.insert(
                "NextToken".into(),
                Value::String(B64.encode(last.name.as_bytes())),
            );
        }
        Ok(Value::Object(out))
    }

    pub(super) async fn delete_queue(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let pending = {
            let mut queues = self.write_queues();
            queues.remove(&super::queue_key(&q.account, &q.region, &q.name));
            let mut state = q.lock();
            state.deleted = true;
            let mut ops = state.purge();
            ops.extend(state.drop_dedup());
            ops.push(Op::Delete(keys::queue(q.id)));
            self.submit(ops)
        };
        q.notify.notify_waiters();
        self.persist(pending).await?;
        Ok(json!({}))
    }

    pub(super) fn get_queue_attributes(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let names = p.strings("AttributeNames")?;
        for n in &names {
            let known = n == "All"
                || SETTABLE.contains(&n.as_str())
                || COMPUTED.contains(&n.as_str())
                || FIFO_ONLY.contains(&n.as_str());
            if !known {
                return Err(attributes::unknown_attribute(n));
            }
        }
        let now = self.clock.now_ms();
        let mut state = q.lock();
        let (_, expired) = state.refresh(now);
        self.durable.submit_detached(expired);
        let counts = state.counts();
        let mut all = full_attributes(&state.record.attributes, self.max_message_size);
        all.insert("QueueArn".into(), q.arn.clone());
        all.insert(
            "ApproximateNumberOfMessages".into(),
            counts.visible.to_string(),
        );
        all.insert(
            "ApproximateNumberOfMessagesNotVisible".into(),
            counts.not_visible.to_string(),
        );
        all.insert(
            "ApproximateNumberOfMessagesDelayed".into(),
            counts.delayed.to_string(),
        );
        all.insert(
            "CreatedTimestamp".into(),
            state.record.created_s.to_string(),
        );
        all.insert(
            "LastModifiedTimestamp".into(),
            state.record.modified_s.to_string(),
        );
        drop(state);
        let wanted = |n: &str| names.iter().any(|w| w == "All" || w == n);
        let selected: Map<String, Value> = all
            .into_iter()
            .filter(|(k, _)| wanted(k))
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let mut out = Map::new();
        if !selected.is_empty() {
            out.insert("Attributes".into(), Value::Object(selected));
        }
        Ok(Value::Object(out))
    }

    pub(super) async fn set_queue_attributes(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let given = p.string_map("Attributes")?;
        let fifo = q.settings().fifo;
        let checked = self.check_attributes(&q.arn, fifo, false, &given)?;
        let pending = {
            let mut state = q.lock();
            let mut attrs = state.record.attributes.clone();
            for (k, v) in checked {
                match v {
                    Some(v) => attrs.insert(k, v),
                    None => attrs.remove(&k),
                };
            }
            attributes::check_fifo_combination(&attrs)?;
            state.record.attributes = attrs;
            state.record.modified_s = self.clock.now_ms() / 1000;
            let settings =
                Settings::from_attributes(&state.record.attributes, self.max_message_size);
            q.set_settings(&mut state, settings);
            self.submit(vec![state.record_op()])
        };
        q.notify.notify_waiters();
        self.persist(pending).await?;
        Ok(json!({}))
    }

    /// Applies `change` to a queue's record and stores it.
    pub(super) async fn update_record(
        &self,
        q: &Queue,
        change: impl FnOnce(&mut QueueRecord) -> ApiResult<()>,
    ) -> ApiResult<Value> {
        let pending = {
            let mut state = q.lock();
            let mut record = state.record.clone();
            change(&mut record)?;
            state.record = record;
            self.submit(vec![state.record_op()])
        };
        self.persist(pending).await?;
        Ok(json!({}))
    }

    pub(super) async fn tag_queue(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let tags = p.string_map("Tags")?;
        if tags.is_empty() {
            return Err(ApiError::missing("Tags"));
        }
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(&q.name));
        }
        check_tags(&tags)?;
        self.update_record(&q, |r| {
            r.tags.extend(tags);
            if r.tags.len() > MAX_TAGS {
                return Err(too_many_tags(&r.name));
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn untag_queue(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let keys = p.strings("TagKeys")?;
        if keys.is_empty() {
            return Err(ApiError::missing("TagKeys"));
        }
        self.update_record(&q, |r| {
            for k in &keys {
                r.tags.remove(k);
            }
            Ok(())
        })
        .await
    }

    pub(super) fn list_queue_tags(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let tags = q.lock().record.tags.clone();
        let mut out = Map::new();
        if !tags.is_empty() {
            out.insert("Tags".into(), json!(tags));
        }
        Ok(Value::Object(out))
    }

    pub(super) fn list_dead_letter_source_queues(
        &self,
        caller: &Caller,
        p: Params,
    ) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let max = match p.int("MaxResults")? {
            None => None,
            Some(n @ 1..=1000) => Some(n as usize),
            Some(n) => {
                return Err(ApiError::invalid_value(
                    "MaxResults",
                    n,
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        };
        let after = p
            .str("NextToken")?
            .and_then(|t| B64.decode(t).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let mut sources: Vec<Arc<Queue>> = self
            .read_queues()
            .values()
            .filter(|s| {
                s.lock()
                    .settings
                    .redrive
                    .as_ref()
                    .is_some_and(|r| r.dead_letter_arn == q.arn)
            })
            .filter(|s| after.as_deref().is_none_or(|a| s.name.as_str() > a))
            .cloned()
            .collect();
        sources.sort_by(|a, b| a.name.cmp(&b.name));
        let limit = max.unwrap_or(1000);
        let more = max.is_some() && sources.len() > limit;
        sources.truncate(limit);
        let mut out = Map::new();
        out.insert(
            "queueUrls".into(),
            sources
                .iter()
                .map(|s| Value::String(Sqs::queue_url(caller, s)))
                .collect(),
        );
        if more && let Some(last) = sources.last() {
            out.insert(
                "NextToken".into(),
                Value::String(B64.encode(last.name.as_bytes())),
            );
        }
        Ok(Value::Object(out))
    }

    pub(super) async fn purge_queue(&self, caller: &Caller, p: Params) -> ApiResult<Value> {
        let q = self.queue(caller, &p)?;
        let pending = {
            let mut state = q.lock();
            let now = self.clock.now_ms();
            if state.last_purge_ms.is_some_and(|t| now < t + 60_000) {
                return Err(ApiError::new(
                    ErrorCode::PurgeQueueInProgress,
                    format!(
                        "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
                        q.name
                    ),
                ));
            }
            state.last_purge_ms = Some(now);
            // A purge also forgets FIFO deduplication ids: the same message may be sent again.
            let mut ops = state.purge();
            ops.extend(state.drop_dedup());
            self.submit(ops)
        };
        self.persist(pending).await?;
        Ok(json!({}))
    }
}

/// Every settable attribute with its value or AWS's default, as GetQueueAttributes shows them.
fn full_attributes(
    set: &BTreeMap<String, String>,
    max_message_size: usize,
) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    let defaults = [
        (
            "VisibilityTimeout",
            attributes::DEFAULT_VISIBILITY.to_string(),
        ),
        ("MaximumMessageSize", max_message_size.to_string()),
        (
            "MessageRetentionPeriod",
            attributes::DEFAULT_RETENTION.to_string(),
        ),
        ("DelaySeconds", "0".to_string()),
        ("ReceiveMessageWaitTimeSeconds", "0".to_string()),
        (
            "SqsManagedSseEnabled",
            if set.contains_key("KmsMasterKeyId") {
                "false"
            } else {
                "true"
            }
            .to_string(),
        ),
    ];
    for (k, v) in defaults {
        all.insert(k.to_string(), v);
    }
    let kms = set.contains_key("KmsMasterKeyId");
    if kms {
        all.insert("KmsDataKeyReusePeriodSeconds".into(), "300".into());
    }
    if set.get("FifoQueue").is_some_and(|v| v == "true") {
        for (k, v) in [
            ("ContentBasedDeduplication", "false"),
            ("DeduplicationScope", "queue"),
            ("FifoThroughputLimit", "perQueue"),
        ] {
            all.insert(k.into(), v.into());
        }
    }
    all.extend(
        set.iter()
            .filter(|(k, _)| kms || k.as_str() != "KmsDataKeyReusePeriodSeconds")
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    all
}

/// CreateQueue of a name that exists: its URL when the attributes asked for are the queue's own,
/// `QueueNameExists` otherwise.
fn same_queue(
    caller: &Caller,
    existing: &Arc<Queue>,
    fifo: bool,
    set: &BTreeMap<String, String>,
    max_message_size: usize,
) -> ApiResult<Value> {
    let state = existing.lock();
    let current = full_attributes(&state.record.attributes, max_message_size);
    if state.settings.fifo != fifo {
        return Err(ApiError::new(
            ErrorCode::QueueNameExists,
            "A queue already exists with the same name and a different value for attribute FifoQueue",
        ));
    }
    let differing: Vec<&str> = set
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    if !differing.is_empty() {
        return Err(ApiError::new(
            ErrorCode::QueueNameExists,
            format!(
                "A queue already exists with the same name and a different value for attribute {}",
                differing.join(", ")
            ),
        ));
    }
    Ok(json!({"QueueUrl": Sqs::queue_url(caller, existing)}))
}

fn too_many_tags(queue: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameterValue,
        format!("Too many tags added for queue {queue}."),
    )
}

fn check_tags(tags: &BTreeMap<String, String>) -> ApiResult<()> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValue,
            format!("Too many tags: {} (at most {MAX_TAGS}).", tags.len()),
        ));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(ApiError::invalid_value(
                "Tag key",
                k,
                "Tag keys must be between 1 and 128 characters.",
            ));
        }
        if v.chars().count() > 256 {
            return Err(ApiError::invalid_value(
                "Tag value",
                v,
                "Tag values must be at most 256 characters.",
            ));
        }
    }
    Ok(())
}
