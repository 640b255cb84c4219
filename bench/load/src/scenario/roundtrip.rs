//! sqs-roundtrip: half the connections send, the other half receive (10, long poll) and delete
//! what they got; afterwards the queue is drained and every acknowledged body must have arrived.
//!
//! The delivered rate is unique messages received during the run over the time up to the later of
//! the last send and the last receive that returned messages: the final empty long poll of each
//! receiver is not charged to it.

use super::*;
use crate::body;
use crate::cpu::Snapshot;

#[derive(Default)]
struct Sender {
    calls: Tally,
    lat: Latencies,
    acked: Vec<(u64, String)>,
    unanswered: Vec<u64>,
    last_end: Duration,
    connects: u64,
}

#[derive(Default)]
struct Receiver {
    recv: Tally,
    del: Tally,
    delete_failed: u64,
    recv_lat: Latencies,
    del_lat: Latencies,
    e2e: Latencies,
    got: Vec<(Option<u64>, String)>,
    /// End of the last call that did work (an empty poll that ended after the deadline did not).
    last_end: Duration,
    /// End of the last receive that returned messages.
    last_nonempty: Duration,
    connects: u64,
}

fn decode(m: &Received) -> Decoded {
    Decoded {
        key: body::parse(&m.body).map(|b| b.key),
        id: Some(m.id.clone()),
        wrapped: false,
    }
}

pub async fn run(ctx: &Ctx) -> Result<Map<String, Value>, String> {
    let (url, _) = create_queue(ctx, &mut ctx.conn(), &ctx.name("roundtrip")).await?;
    let url: Arc<str> = url.into();
    let senders = (ctx.conns / 2).max(1);
    let receivers = (ctx.conns - senders).max(1);
    let t0 = Instant::now();
    let cpu0 = Snapshot::take(ctx.server_pid);
    let deadline = ctx.deadline(t0);

    let send_url = url.clone();
    let send = workers(ctx, senders, move |w, mut conn, ctx| {
        let url = send_url.clone();
        async move {
            let (p, size) = (ctx.settings.protocol, ctx.settings.size);
            let mut s = Sender::default();
            let mut seq = 0;
            while Instant::now() < deadline {
                let text = body::make(w as u16, seq, us_since(t0), size);
                let key = body::key(w as u16, seq);
                seq += 1;
                let start = Instant::now();
                match conn.call(&wire::send_message(p, &url, &text)).await {
                    Ok(b) => match wire::message_id(p, &b) {
                        Some(id) => {
                            s.calls.ok += 1;
                            s.lat.record(start.elapsed());
                            s.acked.push((key, id));
                        }
                        None => {
                            s.calls.unreadable(&ctx, "SendMessage");
                            s.unanswered.push(key);
                        }
                    },
                    Err(e) => {
                        s.calls.failed(&ctx, "SendMessage", &e);
                        s.unanswered.push(key);
                    }
                }
                s.last_end = t0.elapsed();
            }
            s.connects = conn.connects;
            s
        }
    });
    let recv_url = url.clone();
    let receive = workers(ctx, receivers, move |_, mut conn, ctx| {
        let url = recv_url.clone();
        async move {
            let mut r = Receiver::default();
            while Instant::now() < deadline {
                let batch = receive_and_delete(
                    &ctx,
                    &mut conn,
                    &url,
                    &mut r.recv,
                    &mut r.del,
                    &mut r.delete_failed,
                )
                .await;
                let now = t0.elapsed();
                let Some(batch) = batch else {
                    r.last_end = now;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                r.recv_lat.record(batch.receive);
                if let Some(d) = batch.delete {
                    r.del_lat.record(d);
                }
                if batch.messages.is_empty() {
                    if Instant::now() < deadline {
                        r.last_end = now;
                    }
                    continue;
                }
                let received_us =
                    u64::try_from((now - batch.delete.unwrap_or_default()).as_micros())
                        .unwrap_or(0);
                for m in &batch.messages {
                    let parsed = body::parse(&m.body);
                    if let Some(b) = &parsed {
                        r.e2e.record_us(received_us.saturating_sub(b.sent_us));
                    }
                    r.got.push((parsed.map(|b| b.key), m.id.clone()));
                }
                r.last_end = now;
                r.last_nonempty = now - batch.delete.unwrap_or_default();
            }
            r.connects = conn.connects;
            r
        }
    });
    let (send, receive) = tokio::join!(send, receive);
    let cpu = cpu0.percent_until(&Snapshot::take(ctx.server_pid));

    // Who sent what, then what arrived during the run.
    let mut tracker = Tracker::default();
    for s in &send {
        for (k, id) in &s.acked {
            tracker.expect(*k, Some(id.clone()));
        }
        for k in &s.unanswered {
            tracker.maybe(*k);
        }
    }
    let mut delivered_during_run = 0;
    for r in &receive {
        for (k, id) in &r.got {
            delivered_during_run += u64::from(tracker.observe(*k, Some(id)));
        }
    }
    let tracker = Arc::new(Mutex::new(tracker));
    let drain_start = Instant::now();
    let drained = drain(
        ctx,
        &url,
        receivers,
        tracker.clone(),
        decode,
        t0,
        drain_start + ctx.settings.drain_timeout,
    )
    .await;
    let drain_s = drain_start.elapsed();
    let t = tracker.lock().unwrap();

    let mut sends = Tally::default();
    let (mut recvs, mut dels) = (Tally::default(), Tally::default());
    for s in &send {
        sends.add(&s.calls);
    }
    for r in &receive {
        recvs.add(&r.recv);
        dels.add(&r.del);
    }
    let delete_failed: u64 = receive.iter().map(|r| r.delete_failed).sum();
    let last_send = send.iter().map(|s| s.last_end).max().unwrap_or_default();
    let last_work = receive
        .iter()
        .map(|r| r.last_end)
        .max()
        .unwrap_or_default()
        .max(last_send);
    let delivered_window = receive
        .iter()
        .map(|r| r.last_nonempty)
        .max()
        .unwrap_or_default()
        .max(last_send);
    let connects = send.iter().map(|s| s.connects).sum::<u64>()
        + receive.iter().map(|r| r.connects).sum::<u64>();
    let mut calls = sends.clone();
    calls.add(&recvs);
    calls.add(&dels);
    let ops = calls.ok;
    let (recv_calls, del_calls) = (recvs.ok, dels.ok);
    let mut recv_lat = Latencies::default();
    let mut del_lat = Latencies::default();
    let mut e2e = Latencies::default();
    let mut send_lat = Latencies::default();
    for s in send {
        send_lat.merge(s.lat);
    }
    for r in receive {
        recv_lat.merge(r.recv_lat);
        del_lat.merge(r.del_lat);
        e2e.merge(r.e2e);
    }
    let line = Line {
        seconds: secs(last_work),
        ops,
        msgs: delivered_during_run,
        msgs_per_s: Some(stats::rate(delivered_during_run, secs(delivered_window))),
        latency: send_lat.summary(),
        calls,
        other_errors: delete_failed,
        lost: Some(t.lost()),
        duplicates: Some(t.duplicates()),
        connects,
        cpu,
    };
    let extras = vec![
        ("latency_op", json!("SendMessage")),
        ("senders", json!(senders)),
        ("receivers", json!(receivers)),
        ("sent", json!(sends.ok)),
        ("sent_per_s", json!(stats::rate(sends.ok, secs(last_send)))),
        ("delivered_during_run", json!(delivered_during_run)),
        (
            "delivered_seconds",
            json!(stats::round(secs(delivered_window), 2)),
        ),
        ("receive_calls", json!(recv_calls)),
        ("delete_calls", json!(del_calls)),
        ("delete_failed", json!(delete_failed)),
        ("receive_latency_ms", recv_lat.summary().to_json()),
        ("delete_latency_ms", del_lat.summary().to_json()),
        ("e2e_latency_ms", e2e.summary().to_json()),
        ("drained", json!(drained.messages)),
        ("drain_s", json!(stats::round(secs(drain_s), 2))),
        ("drain_errors", json!(drained.errors)),
        ("unknown", json!(t.unknown)),
        ("id_mismatch", json!(t.id_mismatch)),
    ];
    Ok(line.render(ctx, Scenario::SqsRoundtrip, extras))
}
