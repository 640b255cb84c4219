//! The two binaries end to end on the loopback: ferry-load-hello answers, ferry-load loads it for
//! a fraction of a second and reports a JSON line; other hosts and dead servers are handled.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LOAD: &str = env!("CARGO_BIN_EXE_ferry-load");
const HELLO: &str = env!("CARGO_BIN_EXE_ferry-load-hello");
const NULL: &str = env!("CARGO_BIN_EXE_ferry-load-null");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hello() -> (Server, u16) {
    start(HELLO)
}

/// Starts one of the reference servers on a free port, one thread.
fn start(bin: &str) -> (Server, u16) {
    let port = free_port();
    let child = Command::new(bin)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--threads", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{bin} did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The JSON lines of a run that must have succeeded (its stderr shown if not).
fn lines_of_success(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

#[test]
fn raw_load_against_hello_reports_one_line_per_connection_count() {
    let (server, port) = hello();
    let out_file =
        std::env::temp_dir().join(format!("ferry-load-test-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&out_file);
    let out = Command::new(LOAD)
        .args([
            "-e",
            &format!("hello=http://127.0.0.1:{port}"),
            "-s",
            "0.3",
            "-c",
            "1,4",
            "--threads",
            "1",
        ])
        .args([
            "--server-pid",
            &server.0.id().to_string(),
            "--out",
            out_file.to_str().unwrap(),
            "raw",
        ])
        .output()
        .unwrap();
    let lines = lines_of_success(&out);
    assert_eq!(lines.len(), 2);
    for (line, conns) in lines.iter().zip([1, 4]) {
        assert_eq!(line["label"], "hello");
        assert_eq!(line["scenario"], "raw");
        assert_eq!(line["conns"], conns);
        assert!(line["ops"].as_u64().unwrap() > 0, "{line}");
        assert_eq!(line["errors"], 0);
        assert_eq!(
            line["connects"], conns,
            "keep-alive: one connection per worker"
        );
        assert!(
            line["latency_ms"]["p50"].as_f64().unwrap()
                <= line["latency_ms"]["p99"].as_f64().unwrap()
        );
        assert!(line["server_cpu_pct"].is_number());
    }
    let appended = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(appended.lines().count(), 2);
    let _ = std::fs::remove_file(&out_file);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ops/s"));
}

#[test]
fn a_server_without_the_service_gives_an_error_line_not_a_crash() {
    // hello answers 200 "ok" to everything: CreateQueue's answer has no QueueUrl.
    let (_server, port) = hello();
    let out = Command::new(LOAD)
        .args([
            "-e",
            &format!("h=http://localhost:{port}"),
            "-s",
            "0.2",
            "-c",
            "2",
            "sqs-send",
            "events-put",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["error"], "CreateQueue: unreadable answer");
    assert_eq!(lines[1]["scenario"], "events-put");
    assert!(lines[1]["error"].is_string());
}

#[test]
fn a_dead_endpoint_gives_an_error_line() {
    let port = free_port(); // nothing listens there any more
    let out = Command::new(LOAD)
        .args([
            "-e",
            &format!("gone=http://127.0.0.1:{port}"),
            "-s",
            "0.2",
            "sqs-roundtrip",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("connect"),
        "{}",
        lines[0]
    );
}

#[test]
fn only_the_loopback_is_accepted() {
    for url in [
        "x=http://192.0.2.1:4566",
        "x=http://example.com:80",
        "x=https://127.0.0.1:1",
    ] {
        let out = Command::new(LOAD)
            .args(["-e", url, "-s", "1", "raw"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(out.stdout.is_empty());
    }
    let out = Command::new(HELLO)
        .args(["--listen", "0.0.0.0:4599"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_null_broker_passes_send_and_roundtrip_and_refuses_what_it_does_not_answer() {
    let (server, port) = start(NULL);
    let out = Command::new(LOAD)
        .args([
            "-e",
            &format!("null=http://127.0.0.1:{port}"),
            "-s",
            "0.5",
            "-c",
            "4",
        ])
        .args([
            "--server-pid",
            &server.0.id().to_string(),
            "sqs-send",
            "sqs-roundtrip",
        ])
        .output()
        .unwrap();
    let lines = lines_of_success(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["scenario"], "sqs-send");
    assert_eq!(lines[1]["scenario"], "sqs-roundtrip");
    for line in &lines {
        assert!(line.get("error").is_none(), "{line}");
        assert_eq!(line["errors"], 0, "{line}");
        assert!(line["msgs"].as_u64().unwrap() > 0, "{line}");
    }
    assert_eq!(lines[1]["lost"], 0, "{}", lines[1]);
    assert_eq!(lines[1]["duplicates"], 0, "{}", lines[1]);
    // What it does not answer is an error, as the scenarios a broker lacks expect.
    let out = Command::new(LOAD)
        .args([
            "-e",
            &format!("null=http://127.0.0.1:{port}"),
            "-s",
            "0.2",
            "-c",
            "1",
        ])
        .args(["sns-fanout", "--protocol", "query", "sqs-send"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["error"].is_string()), "{lines:?}");
}
