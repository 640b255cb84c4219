//! ferry-load-hello: a trivial hyper server that answers every request 200 with a two-byte body.
//! Loaded with `ferry-load raw`, it measures this machine's HTTP ceiling for the same client.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use std::convert::Infallible;

/// Answers every HTTP/1.1 request 200 "ok" (keep-alive), on the loopback only.
#[derive(Parser, Debug)]
#[command(name = "ferry-load-hello", version)]
struct Args {
    /// Where to listen: 127.0.0.1:PORT or localhost:PORT.
    #[arg(long, default_value = "127.0.0.1:4599")]
    listen: String,
    /// Server threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

async fn answer(
    req: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    // Read the request body like a real server would before answering.
    let _ = req.into_body().collect().await;
    Ok(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
}

fn main() {
    let args = Args::parse();
    ferry_load::serve::forever("ferry-load-hello", &args.listen, args.threads, answer)
}
