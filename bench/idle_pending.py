#!/usr/bin/env python3
"""Idle cost of pending HTTP deliveries (issue #10: 10,000 pending deliveries to a dead endpoint
must cost < 5% of a core while idle and < 50 MiB). Standard library only.

    bench/idle_pending.py [--binary target/release/ferry] [--messages 10000] [--mode hang|refuse]
                          [--settle 5] [--seconds 20]

Starts the release ferry on a free 127.0.0.1 port with a temporary data dir, subscribes an HTTP
endpoint of this script on 127.0.0.1 to a topic (the endpoint answers the SubscriptionConfirmation,
which is confirmed), then makes the endpoint dead: `hang` accepts connections and never answers
(each attempt waits for ferry's 15 s timeout), `refuse` closes the listener (connections refused).
Publishes --messages with PublishBatch, waits --settle seconds, samples ferry's CPU time and RSS
from /proc for --seconds, prints one JSON line, and stops ferry by PID. Every loop is bounded.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ferrybench import Ferry, proc_cpu_s, proc_rss_kib  # noqa: E402

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sns/aws4_request, "
        "SignedHeaders=host, Signature=x")


class DeadEndpoint:
    """Answers the first request (the SubscriptionConfirmation) with 200 and keeps its body; then,
    in `hang` mode, accepts and holds connections without answering, or in `refuse` mode closes
    its listener."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.confirmation = None
        self.confirmed = threading.Event()
        self.held = []  # connections left unanswered (bounded below)
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # listener closed
            self.accepted += 1
            if self.confirmation is None:
                self._answer_confirmation(conn)
                if self.mode == "refuse":
                    self.sock.close()
                    return
                continue
            self.held.append(conn)
            if len(self.held) > 2000:
                self.held.pop(0).close()

    def _answer_confirmation(self, conn):
        conn.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()
        self.confirmation = json.loads(body)
        self.confirmed.set()


def sns(port, pairs):
    """One awsQuery SNS call; returns the response text (raises on a non-200 answer)."""
    body = urllib.parse.urlencode([("Version", "2010-03-31")] + list(pairs))
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/", body, {"Content-Type": "application/x-www-form-urlencoded", "Authorization": AUTH})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"{dict(pairs).get('Action')}: {r.status} {text}")
    return text


def xml_field(text, tag):
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


def health(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/_ferry/health")
    out = json.loads(c.getresponse().read())
    c.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--binary", default=os.path.join(repo, "target", "release", "ferry"))
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--mode", choices=["hang", "refuse"], default="hang")
    ap.add_argument("--settle", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ferry-idle-pending-")
    ferry = Ferry(a.binary, os.path.join(tmp, "data"), log_path=os.path.join(tmp, "ferry.log"))
    ferry.start()
    try:
        ferry.wait_healthy(timeout=60)
        rss_start_kib = proc_rss_kib(ferry.pid)
        ep = DeadEndpoint(a.mode)
        topic = xml_field(sns(ferry.port, [("Action", "CreateTopic"), ("Name", "idle-pending")]), "TopicArn")
        sns(ferry.port, [("Action", "Subscribe"), ("TopicArn", topic), ("Protocol", "http"), ("Endpoint", ep.url)])
        if not ep.confirmed.wait(30):
            raise RuntimeError("no SubscriptionConfirmation arrived")
        sns(ferry.port, [("Action", "ConfirmSubscription"), ("TopicArn", topic), ("Token", ep.confirmation["Token"])])

        base = health(ferry.port)["deliveries"]
        t0 = time.monotonic()
        for first in range(0, a.messages, 10):
            entries = []
            for i, n in enumerate(range(first, min(first + 10, a.messages)), 1):
                entries += [(f"PublishBatchRequestEntries.member.{i}.Id", f"e{n}"),
                            (f"PublishBatchRequestEntries.member.{i}.Message", f"pending delivery {n} " + "x" * 200)]
            sns(ferry.port, [("Action", "PublishBatch"), ("TopicArn", topic)] + entries)
        publish_s = time.monotonic() - t0
        rss_after_publish_kib = proc_rss_kib(ferry.pid)

        time.sleep(a.settle)
        before = health(ferry.port)["deliveries"]
        cpu0, w0 = proc_cpu_s(ferry.pid), time.monotonic()
        rss_max = 0
        while time.monotonic() - w0 < a.seconds:
            rss_max = max(rss_max, proc_rss_kib(ferry.pid) or 0)
            time.sleep(0.5)
        cpu1, w1 = proc_cpu_s(ferry.pid), time.monotonic()
        after = health(ferry.port)["deliveries"]
        finished = sum(after[k] - base[k] for k in ("delivered", "dead_lettered", "dropped"))
        cpu_pct = 100.0 * (cpu1 - cpu0) / (w1 - w0)
        out = {
            "bench": "idle_pending",
            "mode": a.mode,
            "published": a.messages,
            "publish_s": round(publish_s, 2),
            "pending_at_end": a.messages - finished,
            "window_s": round(w1 - w0, 1),
            "attempts_in_window": after["attempts"] - before["attempts"],
            "endpoint_connections": ep.accepted,
            "cpu_pct_of_one_core": round(cpu_pct, 2),
            "rss_mib_start": round(rss_start_kib / 1024, 1),
            "rss_mib_after_publish": round(rss_after_publish_kib / 1024, 1),
            "rss_mib_max_in_window": round(rss_max / 1024, 1),
            "limits": {"cpu_pct_of_one_core": 5, "rss_mib": 50},
            "ok": cpu_pct < 5 and rss_max / 1024 < 50,
        }
        print(json.dumps(out), flush=True)
    finally:
        ferry.stop(signal.SIGTERM, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
