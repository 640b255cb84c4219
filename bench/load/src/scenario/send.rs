//! sqs-send: every connection sends SendMessage of --size bytes to one new standard queue.

use super::*;
use crate::body;
use crate::cpu::Snapshot;

struct Sender {
    calls: Tally,
    lat: Latencies,
    last_end: Duration,
    connects: u64,
}

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let (url, _) = create_queue(ctx, &mut ctx.conn(), &ctx.name("send")).await?;
    let url: Arc<str> = url.into();
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);
    let out = workers(ctx, ctx.conns, |w, mut conn, ctx| {
        let url = url.clone();
        async move {
            let (p, size) = (ctx.settings.protocol, ctx.settings.size);
            let mut s = Sender {
                calls: Tally::default(),
                lat: Latencies::default(),
                last_end: Duration::ZERO,
                connects: 0,
            };
            let mut seq = 0;
            while Instant::now() < deadline {
                let text = body::make(w as u16, seq, us_since(t0), size);
                seq += 1;
                let start = Instant::now();
                match conn.call(&wire::send_message(p, &url, &text)).await {
                    Ok(b) if wire::message_id(p, &b).is_some() => {
                        s.calls.ok += 1;
                        s.lat.record(start.elapsed());
                    }
                    Ok(_) => s.calls.unreadable(&ctx, "SendMessage"),
                    Err(e) => s.calls.failed(&ctx, "SendMessage", &e),
                }
                s.last_end = t0.elapsed();
            }
            s.connects = conn.connects;
            s
        }
    })
    .await;
    let cpu = cpu0.percent_until(&Snapshot::take(ctx.server_pid));
    let mut calls = Tally::default();
    for s in &out {
        calls.add(&s.calls);
    }
    let seconds = secs(out.iter().map(|s| s.last_end).max().unwrap_or_default());
    let connects = out.iter().map(|s| s.connects).sum();
    let latency = merge_lat(out.into_iter().map(|s| s.lat)).summary();
    let line = Line {
        seconds,
        ops: calls.ok,
        msgs: calls.ok,
        msgs_per_s: None,
        latency,
        calls,
        other_errors: 0,
        lost: None,
        duplicates: None,
        connects,
        cpu,
    };
    Ok(line.render(ctx, Scenario::SqsSend, vec![]))
}
