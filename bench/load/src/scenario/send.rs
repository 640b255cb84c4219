//! sqs-send: every connection sends SendMessage of --size bytes to one new standard queue.

use super::*;
use crate::body;
use crate::cpu::Snapshot;

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
            let mut s = Caller::default();
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
    Ok(calls_line(out, cpu).render(ctx, Scenario::SqsSend, vec![]))
}
