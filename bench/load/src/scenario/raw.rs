//! raw: every connection sends a signed empty POST; any 2xx counts. Against ferry-load-hello this
//! is the machine's HTTP ceiling for this client.

use super::*;
use crate::cpu::Snapshot;

struct Poster {
    calls: Tally,
    lat: Latencies,
    last_end: Duration,
    connects: u64,
}

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);
    let out = workers(ctx, ctx.conns, |_, mut conn, ctx| async move {
        let call = wire::raw();
        let mut s = Poster {
            calls: Tally::default(),
            lat: Latencies::default(),
            last_end: Duration::ZERO,
            connects: 0,
        };
        while Instant::now() < deadline {
            let start = Instant::now();
            match conn.call(&call).await {
                Ok(_) => {
                    s.calls.ok += 1;
                    s.lat.record(start.elapsed());
                }
                Err(e) => s.calls.failed(&ctx, "POST", &e),
            }
            s.last_end = t0.elapsed();
        }
        s.connects = conn.connects;
        s
    })
    .await;
    let cpu = cpu0.percent_until(&Snapshot::take(ctx.server_pid));
    let mut calls = Tally::default();
    for s in &out {
        calls.add(&s.calls);
    }
    if calls.ok == 0 && calls.errors() > 0 {
        return Err(format!("no POST succeeded ({} failed)", calls.errors()));
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
    Ok(line.render(ctx, Scenario::Raw, vec![]))
}
