//! sns-fanout: a topic with --subs SQS subscriptions (raw message delivery); every connection
//! publishes; then every queue is drained and every acknowledged message must be in every queue.
//! Nothing is consumed during the run, so the delivered rate includes the drain.

use super::*;
use crate::body;
use crate::cpu::Snapshot;

#[derive(Default)]
struct Publisher {
    calls: Tally,
    lat: Latencies,
    acked: Vec<u64>,
    unanswered: Vec<u64>,
    last_end: Duration,
    connects: u64,
}

fn decode(m: &Received) -> Decoded {
    let (message, wrapped) = wire::unwrap_sns(&m.body);
    Decoded {
        key: body::parse(&message).map(|b| b.key),
        id: None,
        wrapped,
    }
}

/// Subscribes an endpoint that confirms, then never answers a notification (or, `live`, answers
/// every one at once).
async fn http_subscription(conn: &mut Conn, topic: &str, live: bool) -> Result<(), String> {
    let started = if live {
        crate::blackhole::start_answering().await
    } else {
        crate::blackhole::start().await
    };
    let mut hole = started.map_err(|e| format!("extra endpoint: {e}"))?;
    setup(conn, wire::subscribe_http(topic, &hole.url)).await?;
    let token = tokio::time::timeout(Duration::from_secs(20), hole.tokens.recv())
        .await
        .ok()
        .flatten()
        .ok_or("the HTTP subscription's confirmation never came")?;
    setup(conn, wire::confirm_subscription(topic, &token)).await?;
    Ok(())
}

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let mut conn = ctx.conn();
    let name = ctx.name("fanout");
    let topic = need(
        wire::topic_arn(&setup(&mut conn, wire::create_topic(&name)).await?),
        "CreateTopic",
    )?;
    let mut queues = Vec::new();
    for i in 0..ctx.settings.subs {
        let (url, arn) = create_queue(ctx, &mut conn, &format!("{name}-{i}")).await?;
        need(
            wire::subscription_arn(&setup(&mut conn, wire::subscribe_raw_sqs(&topic, &arn)).await?),
            "Subscribe",
        )?;
        queues.push(url);
    }
    if ctx.settings.dead_target || ctx.settings.live_target {
        http_subscription(&mut conn, &topic, ctx.settings.live_target).await?;
    }
    let topic: Arc<str> = topic.into();
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);
    let out = workers(ctx, ctx.conns, |w, mut conn, ctx| {
        let topic = topic.clone();
        async move {
            let mut s = Publisher::default();
            let mut seq = 0;
            while Instant::now() < deadline {
                let text = body::make(w as u16, seq, us_since(t0), ctx.settings.size);
                let key = body::key(w as u16, seq);
                seq += 1;
                let start = Instant::now();
                match conn.call(&wire::publish(&topic, &text)).await {
                    Ok(b) if wire::message_id(SqsProtocol::Query, &b).is_some() => {
                        s.calls.ok += 1;
                        s.lat.record(start.elapsed());
                        s.acked.push(key);
                    }
                    Ok(_) => {
                        s.calls.unreadable(&ctx, "Publish");
                        s.unanswered.push(key);
                    }
                    Err(e) => {
                        s.calls.failed(&ctx, "Publish", &e);
                        s.unanswered.push(key);
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

    let drain_start = Instant::now();
    let drain_deadline = drain_start + ctx.settings.drain_timeout;
    let per_queue = (ctx.conns / queues.len()).clamp(1, 8);
    let mut trackers = Vec::new();
    let mut drains = Vec::new();
    for url in &queues {
        let mut t = Tracker::default();
        for s in &out {
            s.acked.iter().for_each(|&k| t.expect(k, None));
            s.unanswered.iter().for_each(|&k| t.maybe(k));
        }
        let t = Arc::new(Mutex::new(t));
        trackers.push(t.clone());
        let (ctx, url) = (ctx.clone(), url.clone());
        // Every queue drains at the same time.
        drains.push(tokio::spawn(async move {
            drain(&ctx, &url, per_queue, t, decode, t0, drain_deadline).await
        }));
    }
    let mut drained = Vec::new();
    for d in drains {
        drained.push(d.await.expect("a drain panicked"));
    }
    let drain_s = drain_start.elapsed();
    let (mut lost, mut dup, mut unknown, mut delivered) = (0, 0, 0, 0);
    for t in &trackers {
        let t = t.lock().unwrap();
        lost += t.lost();
        dup += t.duplicates();
        unknown += t.unknown;
        delivered += t.unique();
    }
    let window = drained
        .iter()
        .filter_map(|d| d.last_new)
        .max()
        .unwrap_or_default();
    let mut calls = Tally::default();
    for s in &out {
        calls.add(&s.calls);
    }
    let seconds = secs(out.iter().map(|s| s.last_end).max().unwrap_or_default());
    let connects = out.iter().map(|s| s.connects).sum();
    let published = calls.ok;
    let delivered_per_s = stats::rate(delivered, secs(window));
    let line = Line {
        seconds,
        ops: published,
        msgs: delivered,
        msgs_per_s: Some(delivered_per_s),
        latency: merge_lat(out.into_iter().map(|s| s.lat)).summary(),
        calls,
        other_errors: 0,
        lost: Some(lost),
        duplicates: Some(dup),
        connects,
        cpu,
    };
    let extras = vec![
        ("latency_op", json!("Publish")),
        ("subs", json!(queues.len())),
        ("dead_target", json!(ctx.settings.dead_target)),
        ("live_target", json!(ctx.settings.live_target)),
        ("published", json!(published)),
        ("published_per_s", json!(stats::rate(published, seconds))),
        ("delivered", json!(delivered)),
        ("delivered_per_s", json!(delivered_per_s)),
        ("delivery_window_s", json!(stats::round(secs(window), 2))),
        ("drain_s", json!(stats::round(secs(drain_s), 2))),
        (
            "drain_errors",
            json!(drained.iter().map(|d| d.errors).sum::<u64>()),
        ),
        ("unknown", json!(unknown)),
        (
            "wrapped_not_raw",
            json!(drained.iter().map(|d| d.wrapped).sum::<u64>()),
        ),
    ];
    Ok(line.render(ctx, Scenario::SnsFanout, extras))
}
