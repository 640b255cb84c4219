//! raw: every connection sends a signed empty POST; any 2xx counts. Against ferry-load-hello this
//! is the machine's HTTP ceiling for this client.

use super::*;
use crate::cpu::Snapshot;

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);
    let out = workers(ctx, ctx.conns, |_, mut conn, ctx| async move {
        let call = wire::raw();
        let mut s = Caller::default();
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
    let line = calls_line(out, cpu);
    if line.calls.ok == 0 && line.calls.errors() > 0 {
        return Err(format!(
            "no POST succeeded ({} failed)",
            line.calls.errors()
        ));
    }
    Ok(line.render(ctx, Scenario::Raw, vec![]))
}
