//! ferry-load-hello: a trivial hyper server that answers every request 200 with a two-byte body.
//! Loaded with `ferry-load raw`, it measures this machine's HTTP ceiling for the same client.

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

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
    let addr = ferry_load::endpoint::loopback(&args.listen).unwrap_or_else(|e| {
        eprintln!("ferry-load-hello: {e}");
        std::process::exit(2);
    });
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
            eprintln!("ferry-load-hello: cannot listen on {addr}: {e}");
            std::process::exit(1);
        });
        eprintln!("ferry-load-hello listening on {addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors, most likely: wait for connections to close.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    });
}
