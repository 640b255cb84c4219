//! A real HTTP endpoint on 127.0.0.1 for the in-process test files: it answers each request as
//! the test says and keeps what it saw (method, path, headers, body). One connection per request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a real endpoint on 127.0.0.1 saw: (method, path, headers, body).
pub type Seen = Arc<Mutex<Vec<(String, String, Vec<(String, String)>, String)>>>;

/// An HTTP endpoint that answers `answer(n)` = (status, body) to its n-th request (0-based).
pub fn endpoint(answer: impl Fn(usize) -> (u16, String) + Send + 'static) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let keep = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(200).enumerate() {
            let Ok(mut stream) = stream else { return };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or("").to_string(),
                parts.next().unwrap_or("").to_string(),
            );
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k == "content-length")
                .map_or(0, |(_, v)| v.parse().unwrap_or(0));
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            keep.lock().unwrap().push((
                method,
                path,
                headers,
                String::from_utf8_lossy(&body).into_owned(),
            ));
            let (code, answer) = answer(n);
            let _ = stream.write_all(
                format!(
                    "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                )
                .as_bytes(),
            );
        }
    });
    (url, seen)
}

/// Waits until `seen` holds `n` requests, at most `limit`.
pub fn wait_for(seen: &Seen, n: usize, limit: Duration) {
    let start = Instant::now();
    while seen.lock().unwrap().len() < n && start.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(20));
    }
}
