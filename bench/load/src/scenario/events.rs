//! events-put: a custom bus with --rules rules that all target one queue, of which only the first
//! matches the events sent; every connection sends PutEvents of 10 entries; then the queue is
//! drained and every accepted event id must have arrived, once.

use super::*;
use crate::body;
use crate::cpu::Snapshot;

const SOURCE: &str = "ferry.load";
const DETAIL_TYPE: &str = "load";
const ENTRIES: usize = 10;

#[derive(Default)]
struct Putter {
    calls: Tally,
    lat: Latencies,
    accepted: Vec<(u64, String)>,
    unanswered: Vec<u64>,
    failed_entries: u64,
    last_end: Duration,
    connects: u64,
}

fn decode(m: &Received) -> Decoded {
    match wire::event_id_and_key(&m.body) {
        Some((id, k)) => Decoded {
            key: body::parse(&k).map(|b| b.key),
            id: Some(id),
            wrapped: false,
        },
        None => Decoded {
            key: None,
            id: None,
            wrapped: false,
        },
    }
}

/// Rule `i`'s pattern: rule 0 matches the events sent; the others differ in source or detail-type.
fn pattern(i: usize) -> Value {
    match i {
        0 => json!({"source": [SOURCE], "detail-type": [DETAIL_TYPE]}),
        i if i % 2 == 1 => {
            json!({"source": [format!("{SOURCE}.other{i}")], "detail-type": [DETAIL_TYPE]})
        }
        i => json!({"source": [SOURCE], "detail-type": [format!("other{i}")]}),
    }
}

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let mut conn = ctx.conn();
    let bus = ctx.name("events");
    setup(&mut conn, wire::create_event_bus(&bus)).await?;
    let (url, arn) = create_queue(ctx, &mut conn, &bus).await?;
    for i in 0..ctx.settings.rules {
        let rule = format!("rule-{i}");
        setup(&mut conn, wire::put_rule(&bus, &rule, &pattern(i))).await?;
        let answer = setup(&mut conn, wire::put_targets(&bus, &rule, "queue", &arn)).await?;
        if serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v.get("FailedEntryCount")?.as_u64())
            != Some(0)
        {
            return Err(format!(
                "PutTargets refused the queue target: {}",
                String::from_utf8_lossy(&answer)
            ));
        }
    }
    if ctx.settings.dead_target || ctx.settings.live_target {
        let started = if ctx.settings.live_target {
            crate::blackhole::start_answering().await
        } else {
            crate::blackhole::start().await
        };
        let hole = started.map_err(|e| format!("extra endpoint: {e}"))?;
        let name = ctx.name("dead");
        let connection = need(
            wire::json_field(
                &setup(&mut conn, wire::create_connection(&name)).await?,
                "ConnectionArn",
            ),
            "CreateConnection",
        )?;
        let destination = need(
            wire::json_field(
                &setup(
                    &mut conn,
                    wire::create_api_destination(&name, &connection, &hole.url),
                )
                .await?,
                "ApiDestinationArn",
            ),
            "CreateApiDestination",
        )?;
        setup(
            &mut conn,
            wire::put_role_target(&bus, "rule-0", "dead", &destination),
        )
        .await?;
    }
    // One PutEvents that no rule matches: a broker without PutEvents gives an error line here,
    // instead of a run of failed calls.
    setup(
        &mut conn,
        wire::put_events(&bus, SOURCE, "probe", &[json!({"k": "probe"})]),
    )
    .await?;
    let bus: Arc<str> = bus.into();
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);
    let out = workers(ctx, ctx.conns, |w, mut conn, ctx| {
        let bus = bus.clone();
        async move {
            let mut s = Putter::default();
            let mut seq = 0;
            while Instant::now() < deadline {
                let now = us_since(t0);
                let keys: Vec<u64> = (seq..seq + ENTRIES as u64)
                    .map(|q| body::key(w as u16, q))
                    .collect();
                let details: Vec<Value> = (seq..seq + ENTRIES as u64)
                    .map(|q| json!({"k": body::make(w as u16, q, now, ctx.settings.size)}))
                    .collect();
                seq += ENTRIES as u64;
                let start = Instant::now();
                match conn
                    .call(&wire::put_events(&bus, SOURCE, DETAIL_TYPE, &details))
                    .await
                {
                    Ok(b) => match wire::put_events_result(&b) {
                        Some(r) if r.ids.len() == ENTRIES => {
                            s.calls.ok += 1;
                            s.lat.record(start.elapsed());
                            for (k, id) in keys.into_iter().zip(r.ids) {
                                match id {
                                    Some(id) => s.accepted.push((k, id)),
                                    None => s.failed_entries += 1,
                                }
                            }
                        }
                        _ => {
                            s.calls.unreadable(&ctx, "PutEvents");
                            s.unanswered.extend(keys);
                        }
                    },
                    Err(e) => {
                        s.calls.failed(&ctx, "PutEvents", &e);
                        s.unanswered.extend(keys);
                    }
                }
                s.last_end = t0.elapsed();
            }
            s.connects = conn.connects;
            s
        }
    })
    .await;
    let cpu = cpu0.percent_until(&Snapshot::take(ctx.server_pid));

    let mut t = Tracker::default();
    for s in &out {
        s.accepted
            .iter()
            .for_each(|(k, id)| t.expect(*k, Some(id.clone())));
        s.unanswered.iter().for_each(|&k| t.maybe(k));
    }
    let tracker = Arc::new(Mutex::new(t));
    let drain_start = Instant::now();
    let drained = drain(
        ctx,
        &url,
        ctx.conns.clamp(1, 8),
        tracker.clone(),
        decode,
        t0,
        drain_start + ctx.settings.drain_timeout,
    )
    .await;
    let drain_s = drain_start.elapsed();
    let t = tracker.lock().unwrap();

    let mut calls = Tally::default();
    for s in &out {
        calls.add(&s.calls);
    }
    let failed_entries: u64 = out.iter().map(|s| s.failed_entries).sum();
    let events = t.expected();
    let seconds = secs(out.iter().map(|s| s.last_end).max().unwrap_or_default());
    let connects = out.iter().map(|s| s.connects).sum();
    let window = drained.last_new.unwrap_or_default();
    let line = Line {
        seconds,
        ops: calls.ok,
        msgs: events,
        msgs_per_s: None,
        latency: merge_lat(out.into_iter().map(|s| s.lat)).summary(),
        calls,
        other_errors: failed_entries,
        lost: Some(t.lost()),
        duplicates: Some(t.duplicates()),
        connects,
        cpu,
    };
    let extras = vec![
        ("latency_op", json!("PutEvents")),
        ("rules", json!(ctx.settings.rules)),
        ("dead_target", json!(ctx.settings.dead_target)),
        ("live_target", json!(ctx.settings.live_target)),
        ("entries_per_call", json!(ENTRIES)),
        ("events", json!(events)),
        ("events_per_s", json!(stats::rate(events, seconds))),
        ("failed_entries", json!(failed_entries)),
        ("delivered", json!(t.unique())),
        (
            "delivered_per_s",
            json!(stats::rate(t.unique(), secs(window))),
        ),
        ("delivery_window_s", json!(stats::round(secs(window), 2))),
        ("drain_s", json!(stats::round(secs(drain_s), 2))),
        ("drain_errors", json!(drained.errors)),
        ("unknown", json!(t.unknown)),
        ("id_mismatch", json!(t.id_mismatch)),
    ];
    Ok(line.render(ctx, Scenario::EventsPut, extras))
}
