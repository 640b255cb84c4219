//! ferry-load: runs load scenarios against SQS/SNS/EventBridge endpoints on the loopback and prints
//! one JSON line per run (stdout, and appended to --out), plus a human line on stderr.

use clap::Parser;
use ferry_load::endpoint::{self, Endpoint};
use ferry_load::scenario::{self, Ctx, Scenario, Settings};
use ferry_load::sign::Signer;
use ferry_load::wire::SqsProtocol;
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Protocol {
    Json,
    Query,
}

/// Load for local brokers that speak the AWS wire APIs (ferry, moto_server...): raw HTTP/1.1
/// keep-alive, one connection per worker, every request SigV4-signed like the SDKs sign it
/// (test/test, us-east-1). Endpoints must be on 127.0.0.1 or localhost.
#[derive(Parser, Debug)]
#[command(name = "ferry-load", version)]
struct Args {
    /// An endpoint as label=http://127.0.0.1:PORT; several run in turn.
    #[arg(short = 'e', long = "endpoint", required = true)]
    endpoints: Vec<String>,
    /// Seconds of load per run.
    #[arg(short = 's', long, default_value_t = 10.0)]
    seconds: f64,
    /// Connection counts to run at, e.g. 8,32.
    #[arg(short = 'c', long, value_delimiter = ',', default_value = "32")]
    conns: Vec<usize>,
    /// Message body size in bytes (at least 26).
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// SQS wire protocol: json (awsJson1.0) or query (awsQuery).
    #[arg(long, value_enum, default_value = "json")]
    protocol: Protocol,
    /// ReceiveMessage long poll, seconds.
    #[arg(long, default_value_t = 1)]
    wait: u32,
    /// VisibilityTimeout of the queues created, seconds.
    #[arg(long, default_value_t = 120)]
    visibility: u32,
    /// Bound of each drain after a run, seconds.
    #[arg(long, default_value_t = 60.0)]
    drain_timeout: f64,
    /// A drain connection stops after this many empty long polls in a row.
    #[arg(long, default_value_t = 5)]
    drain_empty: u32,
    /// SQS subscriptions of the sns-fanout topic.
    #[arg(long, default_value_t = 3)]
    subs: usize,
    /// Rules on the events-put bus (one matches).
    #[arg(long, default_value_t = 5)]
    rules: usize,
    /// sns-fanout: add a confirmed HTTP subscription; events-put: add an API-destination target
    /// to the matching rule; both point at a local endpoint that never answers a delivery.
    #[arg(long, conflicts_with = "live_target")]
    dead_target: bool,
    /// The same extra target, answering 200 at once: what --dead-target is compared with.
    #[arg(long)]
    live_target: bool,
    /// Server process id per endpoint (comma-separated, same order), for server_cpu_pct.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Append every JSON line to this file too.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Bound of every single call, seconds.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Print the first N failed calls on stderr.
    #[arg(long, default_value_t = 5)]
    print_errors: usize,
    /// Client threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Scenarios to run, in order: sqs-send sqs-roundtrip sns-fanout events-put raw all.
    #[arg(required = true, value_enum)]
    scenarios: Vec<Scenario>,
}

fn check(args: &Args) -> Result<Vec<Endpoint>, String> {
    let endpoints = args
        .endpoints
        .iter()
        .map(|e| endpoint::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let within = |what: &str, v: f64, lo: f64, hi: f64| {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(format!("{what} must be in {lo}..={hi}"))
        }
    };
    within("--seconds", args.seconds, 0.1, 3600.0)?;
    within("--drain-timeout", args.drain_timeout, 0.0, 3600.0)?;
    within("--timeout", args.timeout, 0.1, 600.0)?;
    within(
        "--size",
        args.size as f64,
        ferry_load::body::MIN_SIZE as f64,
        262_144.0,
    )?;
    within("--wait", f64::from(args.wait), 0.0, 20.0)?;
    within("--subs", args.subs as f64, 1.0, 100.0)?;
    within("--rules", args.rules as f64, 1.0, 2000.0)?;
    within("--drain-empty", f64::from(args.drain_empty), 1.0, 1000.0)?;
    for &c in &args.conns {
        within("--conns", c as f64, 1.0, 4096.0)?;
    }
    if !args.server_pid.is_empty() && args.server_pid.len() != endpoints.len() {
        return Err("--server-pid needs one pid per endpoint".into());
    }
    Ok(endpoints)
}

fn human(line: &Map<String, Value>) -> String {
    let s = |k: &str| match line.get(k) {
        None | Some(Value::Null) => "-".to_string(),
        Some(Value::String(v)) => v.clone(),
        Some(v) => v.to_string(),
    };
    let head = format!(
        "{:<10} {:<13} {:<7} c={:<4}",
        s("label"),
        s("scenario"),
        s("protocol"),
        s("conns")
    );
    if let Some(e) = line.get("error") {
        return format!("{head} ERROR {}", e.as_str().unwrap_or_default());
    }
    let f = |k: &str| {
        line.get(k)
            .and_then(Value::as_f64)
            .map_or("-".into(), |v| format!("{v:.1}"))
    };
    let lat = |k: &str| {
        line["latency_ms"]
            .get(k)
            .and_then(Value::as_f64)
            .map_or("-".into(), |v| format!("{v:.2}"))
    };
    format!(
        "{head} {:>9} ops/s {:>9} msgs/s  p50 {} p99 {} ms  err {} lost {} dup {}  cpu srv {}% cli {}% all {}%",
        f("ops_per_s"),
        f("msgs_per_s"),
        lat("p50"),
        lat("p99"),
        s("errors"),
        s("lost"),
        s("duplicates"),
        s("server_cpu_pct"),
        s("client_cpu_pct"),
        s("machine_cpu_pct"),
    )
}

fn main() {
    let args = Args::parse();
    let endpoints = match check(&args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("ferry-load: {e}");
            std::process::exit(2);
        }
    };
    let settings = Arc::new(Settings {
        seconds: args.seconds,
        size: args.size,
        protocol: match args.protocol {
            Protocol::Json => SqsProtocol::Json,
            Protocol::Query => SqsProtocol::Query,
        },
        wait: args.wait,
        visibility: args.visibility,
        drain_timeout: Duration::from_secs_f64(args.drain_timeout),
        drain_empty: args.drain_empty,
        subs: args.subs,
        rules: args.rules,
        dead_target: args.dead_target,
        live_target: args.live_target,
        timeout: Duration::from_secs_f64(args.timeout),
        print_errors: args.print_errors,
    });
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().expect("tokio runtime");
    let signer = Arc::new(Signer::local());
    let printed = Arc::new(AtomicUsize::new(0));
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut out_file = args.out.as_ref().map(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .unwrap_or_else(|e| {
                eprintln!("ferry-load: cannot open {}: {e}", p.display());
                std::process::exit(2);
            })
    });
    let mut run = 0u32;
    for scenario in Scenario::expand(&args.scenarios) {
        for &conns in &args.conns {
            for (i, ep) in endpoints.iter().enumerate() {
                run += 1;
                let nonce = format!(
                    "{:x}{:05x}-{run}",
                    stamp.as_secs(),
                    std::process::id() & 0xfffff
                );
                let ctx = Ctx::new(
                    Arc::new(ep.clone()),
                    conns,
                    args.server_pid.get(i).copied(),
                    settings.clone(),
                    signer.clone(),
                    nonce,
                    printed.clone(),
                );
                let line = match rt.block_on(scenario::run(&ctx, scenario)) {
                    Ok(line) => line,
                    Err(e) => {
                        let mut m = scenario::header(&ctx, scenario);
                        m.insert("error".into(), json!(e));
                        m
                    }
                };
                let text = Value::Object(line.clone()).to_string();
                println!("{text}");
                eprintln!("{}", human(&line));
                if let Some(f) = out_file.as_mut()
                    && let Err(e) = writeln!(f, "{text}")
                {
                    eprintln!(
                        "ferry-load: writing {}: {e}",
                        args.out.as_ref().unwrap().display()
                    );
                    std::process::exit(1);
                }
            }
        }
    }
}
