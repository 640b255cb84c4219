//! An HTTP endpoint on 127.0.0.1 that never answers a delivery: what `--dead-target` points an SNS
//! subscription or an EventBridge API destination at, to show that a dead endpoint does not slow
//! publishing. It answers one kind of request, an SNS `SubscriptionConfirmation` (whose `Token` it
//! hands over, so the subscription can be confirmed); every other request is read and then held
//! unanswered until the sender gives up and closes the connection. The endpoint (its listener)
//! lives as long as the process.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Most connections held at once; later ones are closed at once (a dead host refuses too).
const MAX_HELD: usize = 1024;

/// A running endpoint: its URL, and the tokens of the confirmations it received.
pub struct Blackhole {
    pub url: String,
    pub tokens: mpsc::UnboundedReceiver<String>,
}

/// Starts the endpoint on a free port of 127.0.0.1; it lives as long as the process.
pub async fn start() -> std::io::Result<Blackhole> {
    listen(false).await
}

/// The same endpoint, but answering 200 to every delivery: the live twin a dead endpoint is
/// compared with (`--live-target`).
pub async fn start_answering() -> std::io::Result<Blackhole> {
    listen(true).await
}

async fn listen(answer: bool) -> std::io::Result<Blackhole> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/dead", listener.local_addr()?);
    let (tx, tokens) = mpsc::unbounded_channel();
    let held = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            use std::sync::atomic::Ordering;
            if held.fetch_add(1, Ordering::Relaxed) >= MAX_HELD {
                held.fetch_sub(1, Ordering::Relaxed);
                continue;
            }
            let (tx, held) = (tx.clone(), held.clone());
            tokio::spawn(async move {
                serve(stream, tx, answer).await;
                held.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
    Ok(Blackhole { url, tokens })
}

/// Answers confirmations on `stream` (and everything when `answer`); returns once the peer
/// closes it.
async fn serve(mut stream: TcpStream, tokens: mpsc::UnboundedSender<String>, answer: bool) {
    let mut buf = Vec::new();
    loop {
        let Some(body) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let token = confirmation_token(&body);
        if token.is_none() && !answer {
            // Never answered: wait for the sender to hang up.
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        }
        if let Some(token) = token {
            let _ = tokens.send(token);
        }
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        if stream.write_all(ok).await.is_err() {
            return;
        }
    }
}

/// Reads one request (head, then `content-length` bytes of body) and returns its body.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = buf[end + 4..end + 4 + len].to_vec();
                buf.drain(..end + 4 + len);
                return Some(body);
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 16 << 20 {
            return None;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `Token` of an SNS `SubscriptionConfirmation` body.
pub fn confirmation_token(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("Type")?.as_str()? != "SubscriptionConfirmation" {
        return None;
    }
    Some(v.get("Token")?.as_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_confirmations_carry_a_token() {
        let c = br#"{"Type":"SubscriptionConfirmation","Token":"t1","SubscribeURL":"http://x"}"#;
        assert_eq!(confirmation_token(c), Some("t1".into()));
        assert_eq!(
            confirmation_token(br#"{"Type":"Notification","Token":"t"}"#),
            None
        );
        assert_eq!(confirmation_token(b"not json"), None);
    }

    #[tokio::test]
    async fn confirms_then_holds_every_other_request() {
        let mut hole = start().await.unwrap();
        let addr = hole
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/dead")
            .to_string();
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let body = r#"{"Type":"SubscriptionConfirmation","Token":"abc"}"#;
        let req = format!(
            "POST /dead HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = [0u8; 64];
        let n = s.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
        assert_eq!(hole.tokens.recv().await.as_deref(), Some("abc"));
        s.write_all(b"POST /dead HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(200), s.read(&mut answer)).await;
        assert!(waited.is_err(), "a notification is never answered");
    }

    #[tokio::test]
    async fn the_live_twin_answers_every_request() {
        let hole = start_answering().await.unwrap();
        let addr = hole
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/dead")
            .to_string();
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /dead HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}")
            .await
            .unwrap();
        let mut answer = [0u8; 64];
        let n = s.read(&mut answer).await.unwrap();
        assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    }
}
