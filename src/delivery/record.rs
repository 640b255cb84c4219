//! How a pending job is stored: a compact binary layout (record version 2), written on every
//! publish that records a delivery. JSON (version 1, what older ferries wrote) is still read, so a
//! data directory with pending deliveries from before keeps them. Binary because the record is on
//! the publish path: escaping a JSON event or envelope into a JSON record cost more than the rest
//! of recording it. The rarely used OAuth settings stay JSON inside the record.

use super::job::{ApiCall, Job, QueueAttribute, QueueMessage, Rate, Target};
use super::retry::{Backoff, RetryPolicy};
use crate::storage::{Dec, Enc};
use crate::storage::{StoreError, StoreResult};
use std::collections::BTreeMap;

const JSON_VERSION: u8 = 1;
const VERSION: u8 = 2;

/// The stored form of `job`.
pub fn encode(job: &Job) -> Vec<u8> {
    let m = &job.message;
    let mut e = Enc::with_capacity(VERSION, 256 + job.lane.len() + m.body.len());
    e.str(&job.lane).u8(u8::from(job.ordered));
    target(&mut e, &job.target);
    e.str(&m.body).u32(m.attributes.len() as u32);
    for (name, a) in &m.attributes {
        e.str(name)
            .str(&a.data_type)
            .opt_str(a.string_value.as_deref());
        match &a.binary_value {
            Some(b) => e.u8(1).bytes(b),
            None => e.u8(0),
        };
    }
    e.opt_str(m.group_id.as_deref())
        .opt_str(m.dedup_id.as_deref())
        .opt_str(m.trace_header.as_deref());
    retry(&mut e, &job.retry);
    e.opt_str(job.dead_letter.as_deref());
    match job.max_per_second {
        Some(n) => e.u8(1).u32(n),
        None => e.u8(0),
    };
    e.u32(job.attempts).u64(job.recorded_ms);
    match &job.rate {
        Some(r) => e.u8(1).str(&r.key).u32(r.per_second),
        None => e.u8(0),
    };
    e.u32(job.dead_letter_attributes.len() as u32);
    for (k, v) in &job.dead_letter_attributes {
        e.str(k).str(v);
    }
    e.finish()
}

/// A job read back from `buf`, in either stored form.
pub fn decode(buf: &[u8]) -> StoreResult<Job> {
    if buf.first() == Some(&JSON_VERSION) {
        return crate::storage::decode_json(JSON_VERSION, buf, "pending delivery");
    }
    let mut d = Dec::new(buf, VERSION)?;
    let lane = d.str()?.to_string();
    let ordered = d.u8()? != 0;
    let target = read_target(&mut d)?;
    let body = d.str()?.to_string();
    let mut attributes = BTreeMap::new();
    for _ in 0..d.u32()? {
        let name = d.str()?.to_string();
        let data_type = d.str()?.to_string();
        let string_value = d.opt_str()?.map(String::from);
        let binary_value = match d.u8()? {
            0 => None,
            _ => Some(d.bytes()?.to_vec()),
        };
        let a = QueueAttribute {
            data_type,
            string_value,
            binary_value,
        };
        attributes.insert(name, a);
    }
    let message = QueueMessage {
        body,
        attributes,
        group_id: d.opt_str()?.map(String::from),
        dedup_id: d.opt_str()?.map(String::from),
        trace_header: d.opt_str()?.map(String::from),
    };
    let retry = read_retry(&mut d)?;
    let dead_letter = d.opt_str()?.map(String::from);
    let max_per_second = match d.u8()? {
        0 => None,
        _ => Some(d.u32()?),
    };
    let attempts = d.u32()?;
    let recorded_ms = d.u64()?;
    let rate = match d.u8()? {
        0 => None,
        _ => Some(Rate {
            key: d.str()?.into(),
            per_second: d.u32()?,
        }),
    };
    let mut dead_letter_attributes = BTreeMap::new();
    for _ in 0..d.u32()? {
        let k = d.str()?.to_string();
        dead_letter_attributes.insert(k, d.str()?.to_string());
    }
    Ok(Job {
        lane,
        ordered,
        target,
        message,
        retry,
        dead_letter,
        max_per_second,
        attempts,
        recorded_ms,
        rate,
        dead_letter_attributes,
    })
}

fn bad(what: &str) -> StoreError {
    StoreError(format!("pending delivery: {what}"))
}

fn pairs(e: &mut Enc, pairs: &[(String, String)]) {
    e.u32(pairs.len() as u32);
    for (k, v) in pairs {
        e.str(k).str(v);
    }
}

fn read_pairs(d: &mut Dec<'_>) -> StoreResult<Vec<(String, String)>> {
    let n = d.u32()?;
    // Each pair takes at least 8 bytes, so a corrupt count cannot reserve much.
    let mut out = Vec::with_capacity((n as usize).min(64));
    for _ in 0..n {
        let k = d.str()?.to_string();
        out.push((k, d.str()?.to_string()));
    }
    Ok(out)
}

fn target(e: &mut Enc, t: &Target) {
    match t {
        Target::Queue { arn } => {
            e.u8(0).str(arn);
        }
        Target::Http {
            url,
            headers,
            compose,
        } => {
            e.u8(1).str(url);
            pairs(e, headers);
            e.opt_str(compose.as_deref());
        }
        Target::Topic { arn } => {
            e.u8(2).str(arn);
        }
        Target::Bus { arn } => {
            e.u8(3).str(arn);
        }
        Target::Api(call) => {
            e.u8(4).str(&call.method).str(&call.url);
            pairs(e, &call.headers);
            let oauth = call
                .oauth
                .as_ref()
                .map(|o| serde_json::to_string(o).unwrap_or_default());
            e.opt_str(oauth.as_deref());
        }
        Target::Unreachable { code, message } => {
            e.u8(5).str(code).str(message);
        }
    }
}

fn read_target(d: &mut Dec<'_>) -> StoreResult<Target> {
    Ok(match d.u8()? {
        0 => Target::Queue {
            arn: d.str()?.to_string(),
        },
        1 => Target::Http {
            url: d.str()?.to_string(),
            headers: read_pairs(d)?,
            compose: d.opt_str()?.map(String::from),
        },
        2 => Target::Topic {
            arn: d.str()?.to_string(),
        },
        3 => Target::Bus {
            arn: d.str()?.to_string(),
        },
        4 => Target::Api(std::sync::Arc::new(ApiCall {
            method: d.str()?.to_string(),
            url: d.str()?.to_string(),
            headers: read_pairs(d)?,
            oauth: match d.opt_str()? {
                None => None,
                Some(json) => {
                    Some(serde_json::from_str(json).map_err(|e| bad(&format!("oauth: {e}")))?)
                }
            },
        })),
        5 => Target::Unreachable {
            code: d.str()?.to_string(),
            message: d.str()?.to_string(),
        },
        n => return Err(bad(&format!("unknown target kind {n}"))),
    })
}

const BACKOFFS: [Backoff; 4] = [
    Backoff::Linear,
    Backoff::Arithmetic,
    Backoff::Geometric,
    Backoff::Exponential,
];

fn retry(e: &mut Enc, r: &RetryPolicy) {
    match r {
        RetryPolicy::Phased {
            num_retries,
            num_no_delay,
            num_min_delay,
            num_max_delay,
            min_delay_s,
            max_delay_s,
            backoff,
        } => {
            e.u8(0);
            for n in [
                num_retries,
                num_no_delay,
                num_min_delay,
                num_max_delay,
                min_delay_s,
                max_delay_s,
            ] {
                e.u32(*n);
            }
            let b = BACKOFFS.iter().position(|b| b == backoff).unwrap_or(0);
            e.u8(b as u8);
        }
        RetryPolicy::Exponential {
            max_retries,
            max_age_s,
        } => {
            e.u8(1).u32(*max_retries).u64(*max_age_s);
        }
        RetryPolicy::Never => {
            e.u8(2);
        }
    }
}

fn read_retry(d: &mut Dec<'_>) -> StoreResult<RetryPolicy> {
    Ok(match d.u8()? {
        0 => RetryPolicy::Phased {
            num_retries: d.u32()?,
            num_no_delay: d.u32()?,
            num_min_delay: d.u32()?,
            num_max_delay: d.u32()?,
            min_delay_s: d.u32()?,
            max_delay_s: d.u32()?,
            backoff: *BACKOFFS
                .get(usize::from(d.u8()?))
                .ok_or_else(|| bad("unknown backoff"))?,
        },
        1 => RetryPolicy::Exponential {
            max_retries: d.u32()?,
            max_age_s: d.u64()?,
        },
        2 => RetryPolicy::Never,
        n => return Err(bad(&format!("unknown retry policy {n}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::OAuth;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        ".{0,40}"
    }

    fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
        proptest::collection::vec((text(), text()), 0..3)
    }

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            text().prop_map(|arn| Target::Queue { arn }),
            (text(), pairs(), proptest::option::of(text())).prop_map(|(url, headers, compose)| {
                Target::Http {
                    url,
                    headers,
                    compose,
                }
            }),
            text().prop_map(|arn| Target::Topic { arn }),
            text().prop_map(|arn| Target::Bus { arn }),
            (text(), text(), pairs(), proptest::option::of(text())).prop_map(
                |(method, url, headers, client_id)| Target::Api(std::sync::Arc::new(ApiCall {
                    method,
                    url,
                    headers: headers.clone(),
                    oauth: client_id.map(|client_id| OAuth {
                        endpoint: "http://127.0.0.1/token".into(),
                        method: "POST".into(),
                        client_id,
                        client_secret: "s".into(),
                        headers: headers.clone(),
                        query: Vec::new(),
                        body: headers,
                    }),
                }))
            ),
            (text(), text()).prop_map(|(code, message)| Target::Unreachable { code, message }),
        ]
    }

    fn retry() -> impl Strategy<Value = RetryPolicy> {
        prop_oneof![
            (any::<[u32; 6]>(), 0usize..4).prop_map(|(n, b)| RetryPolicy::Phased {
                num_retries: n[0],
                num_no_delay: n[1],
                num_min_delay: n[2],
                num_max_delay: n[3],
                min_delay_s: n[4],
                max_delay_s: n[5],
                backoff: BACKOFFS[b],
            }),
            (any::<u32>(), any::<u64>()).prop_map(|(max_retries, max_age_s)| {
                RetryPolicy::Exponential {
                    max_retries,
                    max_age_s,
                }
            }),
            Just(RetryPolicy::Never),
        ]
    }

    fn attribute() -> impl Strategy<Value = QueueAttribute> {
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        )
            .prop_map(|(data_type, string_value, binary_value)| QueueAttribute {
                data_type,
                string_value,
                binary_value,
            })
    }

    fn job() -> impl Strategy<Value = Job> {
        let message = (
            text(),
            proptest::collection::btree_map(text(), attribute(), 0..3),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(text()),
        )
            .prop_map(|(body, attributes, group_id, dedup_id, trace_header)| {
                QueueMessage {
                    body,
                    attributes,
                    group_id,
                    dedup_id,
                    trace_header,
                }
            });
        (
            (text(), any::<bool>(), target(), message, retry()),
            (
                proptest::option::of(text()),
                proptest::option::of(any::<u32>()),
                any::<u32>(),
                any::<u64>(),
                proptest::option::of((text(), any::<u32>())),
                proptest::collection::btree_map(text(), text(), 0..3),
            ),
        )
            .prop_map(
                |(
                    (lane, ordered, target, message, retry),
                    (dead_letter, max_per_second, attempts, recorded_ms, rate, dla),
                )| Job {
                    lane,
                    ordered,
                    target,
                    message,
                    retry,
                    dead_letter,
                    max_per_second,
                    attempts,
                    recorded_ms,
                    rate: rate.map(|(key, per_second)| Rate {
                        key: key.into(),
                        per_second,
                    }),
                    dead_letter_attributes: dla,
                },
            )
    }

    proptest! {
        #[test]
        fn every_job_reads_back_as_written(job in job()) {
            prop_assert_eq!(decode(&encode(&job)).unwrap(), job.clone());
            // And from the JSON records of older ferries.
            let json = crate::storage::encode_json(JSON_VERSION, &job);
            prop_assert_eq!(decode(&json).unwrap(), job);
        }

        /// A damaged record (cut short, bytes changed, or noise) is an error or some job, never a
        /// panic or a huge allocation.
        #[test]
        fn damaged_records_never_panic(
            job in job(),
            cut in any::<usize>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut buf = encode(&job);
            buf.truncate(cut % (buf.len() + 1));
            for (at, b) in flips {
                if !buf.is_empty() {
                    let i = at % buf.len();
                    buf[i] ^= b;
                }
            }
            let _ = decode(&buf);
            let mut noisy = vec![VERSION];
            noisy.extend(noise);
            let _ = decode(&noisy);
        }
    }
}
