//! The accept loop of the two reference servers (`ferry-load-hello`, `ferry-load-null`): HTTP/1.1
//! keep-alive on the loopback only, one task per connection, the answer made by `answer`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use tokio::net::TcpListener;

/// Serves `answer` on `listen` (127.0.0.1:PORT or localhost:PORT) with `threads` workers (one per
/// core by default), forever. A refused address exits 2, one that cannot be bound exits 1.
pub fn forever<F, Fut>(name: &str, listen: &str, threads: Option<usize>, answer: F) -> !
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let addr = crate::endpoint::loopback(listen).unwrap_or_else(|e| {
        eprintln!("{name}: {e}");
        std::process::exit(2);
    });
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = threads {
        rt.worker_threads(n.max(1));
    }
    let rt = rt.enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let listener = TcpListener::bind(addr).await.unwrap_or_else(|e| {
            eprintln!("{name}: cannot listen on {addr}: {e}");
            std::process::exit(1);
        });
        eprintln!("{name} listening on {addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors, most likely: wait for connections to close.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    })
}
