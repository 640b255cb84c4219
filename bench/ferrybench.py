#!/usr/bin/env python3
"""Measurements of ferry that ferry-load (bench/load) does not make; standard library only.

Subcommands (each prints JSON lines on stdout and appends them to --out):
  startup   start-to-healthy time with an empty data dir (median of --runs) and idle RSS
  longpoll  --conns consumers long-polling an empty queue: ferry's CPU while they wait
  big       --messages sent with SendMessageBatch, RSS, disk, SIGTERM + restart timing,
            then every message received and deleted, and disk after that
  fifo      single SendMessage to a standard queue and to FIFO queues with 1, 10, 1000 groups,
            then ReceiveMessage(10) + DeleteMessageBatch until empty: rates, p50/p99, FIFO/standard
            ratios, per-group order, lost and duplicated messages, client vs server CPU
  summarize read ferry-load's JSON lines, print the comparison tables, emit summary lines

Every subcommand that needs a server starts its own ferry (on a free 127.0.0.1 port, with a
temporary data dir) and stops it by PID. Requests are unsigned awsJson1.0 (ferry accepts any
or no credentials). Every loop is bounded in count and time.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
OUT = None  # results file (appended)
RUN_ID = None
CHILDREN = []  # Popen objects we started
EXTRA_HEADERS = {}  # e.g. a fake SigV4 Authorization header, to try the helpers on moto_server


# ---------------------------------------------------------------- plumbing

def emit(obj):
    obj = {"run": RUN_ID, **obj} if RUN_ID else obj
    line = json.dumps(obj, separators=(",", ":"))
    print(line, flush=True)
    if OUT:
        with open(OUT, "a") as f:
            f.write(line + "\n")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def disk_usage(path):
    """(apparent bytes, allocated bytes, files) of a directory tree, like du -sb / du -sB1."""
    apparent = allocated = files = 0
    for root, _dirs, names in os.walk(path):
        for n in names:
            try:
                st = os.lstat(os.path.join(root, n))
            except FileNotFoundError:
                continue
            apparent += st.st_size
            allocated += st.st_blocks * 512
            files += 1
    return apparent, allocated, files


class Ferry:
    """One ferry process on a free port with its own data dir."""

    def __init__(self, binary, data_dir, port=None, log_path=None):
        self.binary = binary
        self.data_dir = data_dir
        self.port = port or free_port()
        self.log_path = log_path or os.path.join(os.path.dirname(data_dir), f"ferry-{self.port}.log")
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir,
             "--log-level", "warn"],
            stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, env=env)
        logf.close()
        CHILDREN.append(self.proc)
        return self.proc

    def health_once(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            c.request("GET", "/_ferry/health")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout=60.0, interval=0.001):
        """Seconds from now until /_ferry/health answers 200 (polled every `interval`)."""
        t0 = time.perf_counter()
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ferry exited with {self.proc.returncode}; see {self.log_path}")
            if self.health_once():
                return time.perf_counter() - t0
            time.sleep(interval)
        raise RuntimeError(f"ferry not healthy after {timeout}s; see {self.log_path}")

    def stop(self, sig=signal.SIGTERM, timeout=60.0):
        """Send `sig`, wait for the exit; returns seconds taken (None if killed after timeout)."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        t0 = time.perf_counter()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
            return time.perf_counter() - t0
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def cleanup_children(*_):
    for p in CHILDREN:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


class Sqs:
    """A keep-alive awsJson1.0 client on one connection (unsigned)."""

    def __init__(self, port, timeout=30.0):
        self.port = port
        self.timeout = timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, action, body):
        data = json.dumps(body).encode()
        headers = {"X-Amz-Target": f"AmazonSQS.{action}",
                   "Content-Type": "application/x-amz-json-1.0", **EXTRA_HEADERS}
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", data, headers)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.conn.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                if attempt:
                    raise
        if r.status != 200:
            raise RuntimeError(f"{action}: HTTP {r.status} {payload[:300]!r}")
        return json.loads(payload) if payload else {}

    def close(self):
        self.conn.close()


def create_queue(port, name, attrs=None):
    c = Sqs(port)
    body = {"QueueName": name}
    if attrs:
        body["Attributes"] = attrs
    url = c.call("CreateQueue", body)["QueueUrl"]
    c.close()
    return url


def approx_messages(sqs, url):
    a = sqs.call("GetQueueAttributes", {
        "QueueUrl": url,
        "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    })["Attributes"]
    return int(a.get("ApproximateNumberOfMessages", 0)), int(a.get("ApproximateNumberOfMessagesNotVisible", 0))


def new_data_dir(prefix):
    base = tempfile.mkdtemp(prefix=prefix)
    return base, os.path.join(base, "data")


# ---------------------------------------------------------------- startup

def cmd_startup(a):
    times, rss = [], []
    for i in range(a.runs):
        base, data = new_data_dir("ferrybench-start-")
        f = Ferry(a.bin, data)
        try:
            t0 = time.perf_counter()
            f.start()
            f.wait_healthy(timeout=30)
            t = time.perf_counter() - t0
            time.sleep(0.2)  # let it settle before reading the idle RSS
            r = proc_rss_kib(f.pid)
            times.append(t * 1000)
            rss.append(r)
            log(f"startup run {i + 1}: healthy after {t * 1000:.1f} ms, VmRSS {r} KiB")
        finally:
            f.stop()
            shutil.rmtree(base, ignore_errors=True)
    emit({"label": "ferry", "scenario": "startup", "runs": a.runs, "poll_interval_ms": 1,
          "start_to_healthy_ms": {"median": round(statistics.median(times), 2),
                                  "min": round(min(times), 2), "max": round(max(times), 2),
                                  "all": [round(t, 2) for t in times]},
          "idle_rss_kib": {"median": statistics.median(rss), "max": max(rss)}})


# ---------------------------------------------------------------- long poll

def cmd_longpoll(a):
    base, data = new_data_dir("ferrybench-lp-")
    f = Ferry(a.bin, data)
    threads, conns = [], []
    stats = {"early": 0, "errors": 0, "messages": 0, "first_msg_at": None}
    lock = threading.Lock()
    stop = threading.Event()
    try:
        f.start()
        f.wait_healthy()
        url = create_queue(f.port, "bench-longpoll")

        def waiter(sqs):
            calls = 0
            while not stop.is_set() and calls < 10:
                calls += 1
                t0 = time.perf_counter()
                try:
                    out = sqs.call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 20,
                                                      "MaxNumberOfMessages": 1})
                except Exception:
                    if not stop.is_set():
                        with lock:
                            stats["errors"] += 1
                    return
                msgs = out.get("Messages", [])
                with lock:
                    if msgs:
                        stats["messages"] += len(msgs)
                        if stats["first_msg_at"] is None:
                            stats["first_msg_at"] = time.perf_counter()
                    elif time.perf_counter() - t0 < 19.0:
                        stats["early"] += 1  # an empty answer before the 20 s wait ran out
                if msgs:
                    sqs.call("DeleteMessage", {"QueueUrl": url,
                                               "ReceiptHandle": msgs[0]["ReceiptHandle"]})

        for _ in range(a.conns):
            s = Sqs(f.port, timeout=40)
            s.conn.connect()
            conns.append(s)
        for s in conns:
            t = threading.Thread(target=waiter, args=(s,), daemon=True)
            t.start()
            threads.append(t)
        time.sleep(1.0)  # every request sent and parked
        rss0 = proc_rss_kib(f.pid)
        c0, w0 = proc_cpu_s(f.pid), time.perf_counter()
        time.sleep(a.seconds)
        c1, w1 = proc_cpu_s(f.pid), time.perf_counter()
        rss1 = proc_rss_kib(f.pid)
        cpu_pct = 100.0 * (c1 - c0) / (w1 - w0)
        log(f"longpoll: {a.conns} waiters for {w1 - w0:.1f}s: ferry CPU {cpu_pct:.2f}% of one core, "
            f"{stats['early']} early empty answers")

        # Wake-up latency: one message, how long until one parked waiter has it.
        sender = Sqs(f.port)
        t_send = time.perf_counter()
        sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "wake"})
        deadline = time.perf_counter() + 5
        while stats["first_msg_at"] is None and time.perf_counter() < deadline:
            time.sleep(0.0005)
        wake_ms = None if stats["first_msg_at"] is None else (stats["first_msg_at"] - t_send) * 1000
        sender.close()
        emit({"label": "ferry", "scenario": "longpoll-idle", "conns": a.conns, "wait_s": 20,
              "seconds": round(w1 - w0, 2), "server_cpu_pct": round(cpu_pct, 3),
              "server_cpu_s": round(c1 - c0, 3), "rss_kib": rss1, "rss_kib_before": rss0,
              "early_empty_answers": stats["early"], "errors": stats["errors"],
              "wake_latency_ms": None if wake_ms is None else round(wake_ms, 2)})
    finally:
        stop.set()
        for s in conns:
            try:
                s.conn.sock and s.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(2)
        f.stop()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- big

def _worker_init():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    CHILDREN.clear()


def _sender(args):
    """Worker process: `threads` connections, each sending `batches` SendMessageBatch of 10."""
    port, url, counts, size, deadline, wid = args
    threads = len(counts)
    sent = [0] * threads
    errors = [0] * threads
    pad = "x" * size

    def run(t):
        sqs = Sqs(port)
        for b in range(counts[t]):
            if time.time() > deadline:
                break
            entries = []
            for k in range(10):
                key = f"{wid:03d}{t:03d}{b:07d}{k}"
                entries.append({"Id": str(k), "MessageBody": (key + pad)[:size]})
            try:
                out = sqs.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
                ok = len(out.get("Successful", []))
                sent[t] += ok
                errors[t] += 10 - ok
            except Exception:
                errors[t] += 10
                sqs.close()
                sqs = Sqs(port)
        sqs.close()

    run_threads(run, threads)
    return sum(sent), sum(errors)


def _drainer(args):
    """Worker process: receive 10 + DeleteMessageBatch until `want` are gone or time is up."""
    port, url, threads, deadline = args
    deleted = [0] * threads
    errors = [0] * threads

    def run(t):
        sqs = Sqs(port)
        empty = 0
        while time.time() < deadline and empty < 3:
            try:
                out = sqs.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                                  "WaitTimeSeconds": 1, "VisibilityTimeout": 300})
                msgs = out.get("Messages", [])
                if not msgs:
                    empty += 1
                    continue
                empty = 0
                d = sqs.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]})
                deleted[t] += len(d.get("Successful", []))
                errors[t] += len(d.get("Failed", []))
            except Exception:
                errors[t] += 1
                sqs.close()
                sqs = Sqs(port)
        sqs.close()

    run_threads(run, threads)
    return sum(deleted), sum(errors)


def cmd_big(a):
    base, data = new_data_dir("ferrybench-big-")
    f = Ferry(a.bin, data)
    procs, threads = a.procs, a.threads
    nconn = procs * threads
    nbatch = a.messages // 10  # --messages is rounded down to a multiple of 10
    counts = [nbatch // nconn + (1 if i < nbatch % nconn else 0) for i in range(nconn)]
    try:
        f.start()
        f.wait_healthy()
        url = create_queue(f.port, "bench-big", {"VisibilityTimeout": "300",
                                                 "MessageRetentionPeriod": "1209600"})
        rss_empty = proc_rss_kib(f.pid)
        log(f"big: sending {a.messages} x {a.size} B with {procs}x{threads} connections, "
            f"batches of 10, at most {a.max_seconds}s")
        c0, t0 = proc_cpu_s(f.pid), time.perf_counter()
        deadline = time.time() + a.max_seconds
        with multiprocessing.Pool(procs, initializer=_worker_init) as pool:
            res = pool.map(_sender, [(f.port, url, counts[w * threads:(w + 1) * threads], a.size,
                                      deadline, w) for w in range(procs)])
        send_s = time.perf_counter() - t0
        send_cpu = proc_cpu_s(f.pid) - c0
        sent = sum(r[0] for r in res)
        send_err = sum(r[1] for r in res)
        sqs = Sqs(f.port)
        visible, _ = approx_messages(sqs, url)
        sqs.close()
        time.sleep(1.0)
        rss_full = proc_rss_kib(f.pid)
        app, alloc, files = disk_usage(data)
        log(f"big: sent {sent} in {send_s:.1f}s ({sent / send_s:.0f} msg/s), errors {send_err}, "
            f"RSS {rss_full} KiB, disk {alloc / 1e6:.1f} MB allocated / {app / 1e6:.1f} MB apparent")

        # SIGTERM, then restart on the same data dir.
        shut_s = f.stop(signal.SIGTERM, timeout=120)
        app_stop, alloc_stop, _ = disk_usage(data)
        f2 = Ferry(a.bin, data, port=f.port)
        t0 = time.perf_counter()
        f2.start()
        f = f2
        f.wait_healthy(timeout=a.max_seconds)
        health_s = time.perf_counter() - t0
        sqs = Sqs(f.port, timeout=120)
        counted_s, seen = None, None
        while time.perf_counter() - t0 < a.max_seconds:
            try:
                seen, _ = approx_messages(sqs, url)
            except Exception as e:  # queue not loaded yet
                seen = f"error: {e}"[:200]
            if seen == sent:
                counted_s = time.perf_counter() - t0
                break
            time.sleep(0.01)
        sqs.close()
        rss_restarted = proc_rss_kib(f.pid)
        log(f"big: SIGTERM exit {shut_s}s; restart healthy {health_s * 1000:.0f} ms, "
            f"ApproximateNumberOfMessages={seen} after {counted_s}s, RSS {rss_restarted} KiB")
        emit({"label": "ferry", "scenario": "big-send-restart", "messages": a.messages, "size": a.size,
              "conns": procs * threads, "sent": sent, "send_errors": send_err,
              "send_seconds": round(send_s, 2), "send_msgs_per_s": round(sent / send_s, 1),
              "send_server_cpu_pct": round(100 * send_cpu / send_s, 1),
              "approx_visible_after_send": visible,
              "rss_kib_empty": rss_empty, "rss_kib_full": rss_full,
              "disk_bytes_allocated": alloc, "disk_bytes_apparent": app, "disk_files": files,
              "disk_bytes_allocated_after_stop": alloc_stop, "disk_bytes_apparent_after_stop": app_stop,
              "bytes_per_live_message": round(alloc / sent, 1) if sent else None,
              "sigterm_exit_s": None if shut_s is None else round(shut_s, 3),
              "restart_to_healthy_ms": round(health_s * 1000, 1),
              "restart_to_full_count_s": None if counted_s is None else round(counted_s, 3),
              "count_after_restart": seen, "rss_kib_after_restart": rss_restarted})

        # (d) receive + delete everything, then disk use.
        log(f"big: receiving and deleting {sent} messages, at most {a.max_seconds}s")
        c0, t0 = proc_cpu_s(f.pid), time.perf_counter()
        deadline = time.time() + a.max_seconds
        with multiprocessing.Pool(procs, initializer=_worker_init) as pool:
            res = pool.map(_drainer, [(f.port, url, threads, deadline) for _ in range(procs)])
        drain_s = time.perf_counter() - t0
        drain_cpu = proc_cpu_s(f.pid) - c0
        deleted = sum(r[0] for r in res)
        del_err = sum(r[1] for r in res)
        sqs = Sqs(f.port)
        left, inflight = approx_messages(sqs, url)
        sqs.close()
        time.sleep(2.0)
        rss_drained = proc_rss_kib(f.pid)
        app_d, alloc_d, files_d = disk_usage(data)
        # Left idle: within 60 s the data directory should follow live data (<= 10% of its peak)
        # and so should memory (RSS <= 25% of its peak).
        peak_disk = max(alloc, alloc_d)
        peak_rss = max(rss_full, rss_restarted, rss_drained)
        idle_t0, idle_met_s = time.perf_counter(), None
        while time.perf_counter() - idle_t0 < 60:
            rss_idle, (_, alloc_idle, _) = proc_rss_kib(f.pid), disk_usage(data)
            if idle_met_s is None and alloc_idle <= 0.10 * peak_disk and rss_idle <= 0.25 * peak_rss:
                idle_met_s = time.perf_counter() - idle_t0
                break
            time.sleep(1.0)
        log(f"big: idle after the drain: RSS {rss_idle} KiB (peak {peak_rss}), disk {alloc_idle / 1e6:.1f} MB "
            f"(peak {peak_disk / 1e6:.1f}); both bars met after {idle_met_s} s")
        shut2 = f.stop(signal.SIGTERM, timeout=120)
        app_d2, alloc_d2, _ = disk_usage(data)
        # Restart on the drained store: does the empty-but-used store cost start time or memory?
        f = Ferry(a.bin, data, port=f.port)
        t0 = time.perf_counter()
        f.start()
        f.wait_healthy(timeout=a.max_seconds)
        health2_s = time.perf_counter() - t0
        time.sleep(0.5)
        rss_restart2 = proc_rss_kib(f.pid)
        f.stop(signal.SIGTERM, timeout=120)
        log(f"big: deleted {deleted} in {drain_s:.1f}s ({deleted / drain_s:.0f} msg/s), left {left}+{inflight}, "
            f"disk {alloc_d / 1e6:.1f} MB allocated, {alloc_d2 / 1e6:.1f} MB after stop; RSS {rss_drained} KiB; "
            f"restart healthy {health2_s * 1000:.0f} ms, RSS {rss_restart2} KiB")
        emit({"label": "ferry", "scenario": "big-drain", "messages": sent, "deleted": deleted,
              "errors": del_err, "seconds": round(drain_s, 2),
              "deleted_per_s": round(deleted / drain_s, 1),
              "server_cpu_pct": round(100 * drain_cpu / drain_s, 1),
              "left_visible": left, "left_in_flight": inflight, "rss_kib": rss_drained,
              "disk_bytes_allocated": alloc_d, "disk_bytes_apparent": app_d, "disk_files": files_d,
              "disk_bytes_allocated_after_stop": alloc_d2, "disk_bytes_apparent_after_stop": app_d2,
              "disk_bytes_per_message_processed": round(alloc_d2 / sent, 1) if sent else None,
              "sigterm_exit_s": None if shut2 is None else round(shut2, 3),
              "restart_to_healthy_ms": round(health2_s * 1000, 1), "rss_kib_after_restart": rss_restart2,
              "peak_rss_kib": peak_rss, "peak_disk_bytes_allocated": peak_disk, "idle_rss_kib": rss_idle,
              "idle_disk_bytes_allocated": alloc_idle,
              "idle_bars_met_after_s": None if idle_met_s is None else round(idle_met_s, 1)})
    finally:
        f.stop()
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- fifo

def _pct(sorted_vals, q):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_vals:
        return None
    return sorted_vals[min(len(sorted_vals) - 1, int(q * len(sorted_vals)))]


def run_threads(run, threads):
    """Runs run(0) .. run(threads - 1), each on its own thread, and waits for all of them."""
    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _lat_summary(lat_ms):
    s = sorted(lat_ms)
    r = lambda v: None if v is None else round(v, 3)  # noqa: E731
    return {"p50": r(_pct(s, 0.50)), "p99": r(_pct(s, 0.99)), "max": r(s[-1] if s else None),
            "n": len(s)}


def machine_busy_s():
    """CPU seconds spent busy (not idle, not iowait) by the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def _run_workers(target, per_worker_args, seconds, server_pid, done=None):
    """Fork one process per entry of `per_worker_args`; each runs target(*args, ready, go, results).

    The workers open their connections, then wait for `go`. Returns (t0, t1, server CPU s,
    machine busy CPU s, results, exit codes): t0 is perf_counter() when `go` was set
    (CLOCK_MONOTONIC: comparable across processes), t1 when `done()` first held (or every
    result was in); the CPU figures are over [t0, t1].
    """
    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    results = ctx.Queue()
    ready = ctx.Semaphore(0)
    procs = [ctx.Process(target=target, args=(*args, ready, go, results), daemon=True)
             for args in per_worker_args]
    for p in procs:
        p.start()
    for _ in procs:  # every worker connected and waiting
        if not ready.acquire(timeout=30):
            raise RuntimeError("fifo: a worker did not get ready in 30 s")
    s0, m0 = proc_cpu_s(server_pid), machine_busy_s()
    t0 = time.perf_counter()
    go.set()
    out, snap = [], None
    deadline = time.time() + seconds + 30  # workers bound themselves; this is the backstop
    while len(out) < len(procs) and time.time() < deadline:
        if snap is None and done is not None and done():
            snap = (time.perf_counter(), proc_cpu_s(server_pid), machine_busy_s())
        try:
            out.append(results.get(timeout=0.01))
        except Exception:  # queue.Empty
            if not any(p.is_alive() for p in procs) and results.empty():
                break
    if snap is None:
        snap = (time.perf_counter(), proc_cpu_s(server_pid), machine_busy_s())
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join()
    return t0, snap[0], snap[1] - s0, snap[2] - m0, out, [p.exitcode for p in procs]


def _fifo_body(tag, sender, k, size):
    head = f"{tag}|{sender}|{k}|"
    return head + "x" * max(0, size - len(head))


def _fifo_send_worker(port, url, groups, wid, threads, nconn, counts, size, deadline, run_tag,
                      ready, go, results):
    """One process: `threads` keep-alive connections, each sending counts[t] single SendMessage.

    Sender s = wid*threads+t sends message k as global index i = s + nconn*k, group g{i % groups}
    (no group for a standard queue, groups == 0), dedup id unique per message; the body carries
    group, sender and k.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    CHILDREN.clear()
    lat = [[] for _ in range(threads)]
    sent = [0] * threads
    failed = [[] for _ in range(threads)]
    last = [0.0] * threads
    conns = []
    for _ in range(threads):
        s = Sqs(port)
        s.conn.connect()
        conns.append(s)
    ready.release()
    go.wait()
    cpu0 = time.process_time()

    def run(t):
        sqs = conns[t]
        sender = wid * threads + t
        for k in range(counts[t]):
            if time.time() > deadline:
                break
            i = sender + nconn * k
            body = {"QueueUrl": url}
            if groups:
                g = i % groups
                body["MessageBody"] = _fifo_body(f"g{g}", sender, k, size)
                body["MessageGroupId"] = f"g{g}"
                body["MessageDeduplicationId"] = f"{run_tag}-{i}"
            else:
                body["MessageBody"] = _fifo_body("-", sender, k, size)
            t1 = time.perf_counter()
            try:
                sqs.call("SendMessage", body)
                t2 = time.perf_counter()
                lat[t].append((t2 - t1) * 1000)
                sent[t] += 1
                last[t] = t2
            except Exception:
                failed[t].append(k)
                sqs.close()
                sqs = conns[t] = Sqs(port)
        sqs.close()

    run_threads(run, threads)
    results.put({"sent": sum(sent),
                 "attempted": {wid * threads + t: sent[t] + len(failed[t]) for t in range(threads)},
                 "failed": [(wid * threads + t, k) for t in range(threads) for k in failed[t]],
                 "lat": [x for l in lat for x in l], "last": max(last),
                 "cpu_s": time.process_time() - cpu0})


def _fifo_recv_worker(port, url, fifo, wid, threads, expected, counter, deadline, ready, go, results):
    """One process: `threads` consumers doing ReceiveMessage(10, wait 1 s) + DeleteMessageBatch.

    Stops when `counter` (messages deleted, shared by all workers) reaches `expected`, after
    5 consecutive empty long polls, or at `deadline`. Records, per non-empty receive, the
    perf_counter() time right after the answer (before the delete, so a group's next batch,
    which FIFO only hands out after this delete, is recorded later) and the messages in order.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    CHILDREN.clear()
    recs = [[] for _ in range(threads)]  # (t, pos, tag, sender, k, seq)
    lat = [[] for _ in range(threads)]
    batches = [[] for _ in range(threads)]  # (answered at, delete sent at, groups)
    stats = [{"empty": 0, "deleted": 0, "delete_failed": 0, "errors": 0, "last": 0.0}
             for _ in range(threads)]
    conns = []
    for _ in range(threads):
        s = Sqs(port, timeout=30)
        s.conn.connect()
        conns.append(s)
    ready.release()
    go.wait()
    cpu0 = time.process_time()
    req = {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1, "VisibilityTimeout": 300}
    if fifo:
        req["MessageSystemAttributeNames"] = ["SequenceNumber", "MessageGroupId"]

    def run(t):
        sqs = conns[t]
        st = stats[t]
        empties = 0
        while time.time() < deadline and counter.value < expected and empties < 5:
            try:
                t1 = time.perf_counter()
                out = sqs.call("ReceiveMessage", req)
                t2 = time.perf_counter()
                msgs = out.get("Messages", [])
                if not msgs:
                    st["empty"] += 1
                    empties += 1
                    continue
                empties = 0
                lat[t].append((t2 - t1) * 1000)
                groups_in = set()
                for pos, m in enumerate(msgs):
                    tag, sender, k, _ = m["Body"].split("|", 3)
                    attrs = m.get("Attributes") or {}
                    seq = attrs.get("SequenceNumber")
                    if fifo and attrs.get("MessageGroupId") not in (None, tag):
                        tag = f"{tag}!={attrs.get('MessageGroupId')}"  # counted as a wrong group
                    recs[t].append((t2, pos, tag, int(sender), int(k), int(seq) if seq else None))
                    groups_in.add(tag)
                # Time just before the delete is sent: a group's next batch must be answered later.
                batches[t].append((t2, time.perf_counter(), sorted(groups_in)))
                d = sqs.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]})
                ok = len(d.get("Successful", []))
                st["deleted"] += ok
                st["delete_failed"] += len(d.get("Failed", []))
                st["last"] = time.perf_counter()
                with counter.get_lock():
                    counter.value += ok
            except Exception:
                st["errors"] += 1
                sqs.close()
                sqs = conns[t] = Sqs(port, timeout=30)
        sqs.close()

    run_threads(run, threads)
    results.put({"recs": [r for rs in recs for r in rs], "batches": [b for bs in batches for b in bs],
                 "lat": [x for l in lat for x in l],
                 **{k: sum(s[k] for s in stats) for k in ("empty", "deleted", "delete_failed", "errors")},
                 "last": max(s["last"] for s in stats), "cpu_s": time.process_time() - cpu0})


def _cpu_fields(server_s, client_s, machine_s, seconds, procs):
    """CPU use of a phase in % of one core, and which side limited the rate.

    bound: "client" when every Python worker process is near one core (GIL-bound), otherwise,
    when the machine's cores are nearly all busy, the biggest user of them ("client", "server",
    or "other" = processes outside this benchmark); "neither" when the machine had idle CPU
    (the rate is then set by latency: round trips, FIFO group locks).
    """
    ncpu = os.cpu_count() or 2
    pct = lambda x: round(100 * x / seconds, 1)  # noqa: E731
    server, client, machine = pct(server_s), pct(client_s), pct(machine_s)
    other = max(0.0, round(machine - server - client, 1))
    if client / procs >= 85:
        bound = "client"
    elif machine >= 0.85 * ncpu * 100:
        bound = max((client, "client"), (server, "server"), (other, "other"))[1]
    else:
        bound = "neither"
    return {"server_cpu_pct": server, "client_cpu_pct": client, "machine_cpu_pct": machine,
            "other_cpu_pct": other, "cpus": ncpu, "bound": bound}


def fifo_table(lines, out=sys.stdout):
    """Human table of the `fifo` scenario lines; returns flat summary dicts, one per case."""
    cases = [l for l in lines if l.get("scenario") == "fifo" and "send" in l]
    if not cases:
        return []
    fmt = lambda v, spec="{:.0f}": "-" if v is None else spec.format(v)  # noqa: E731
    c0 = cases[0]
    print(f"\nFIFO vs standard: {c0['conns']} conns, {c0['size']} B, {c0['messages']} msgs per queue; "
          f"send = single SendMessage, receive = ReceiveMessage(10) + DeleteMessageBatch", file=out)
    hdr = (f"{'queue':<8} {'groups':>6} | {'send/s':>7} {'p50':>6} {'p99':>6} {'/std':>5} {'bound':>7} | "
           f"{'recv/s':>7} {'p50':>6} {'p99':>6} {'/std':>5} {'msg/rcv':>7} {'bound':>7} | "
           f"{'lost':>4} {'dup':>4} {'order':>5} | CPU% srv/cli/all send, recv")
    print(hdr, file=out)
    print("-" * len(hdr), file=out)
    flat = []
    for l in cases:
        sd, rc = l["send"], l["receive"]
        order = rc.get("order")
        ok = "-" if order is None else ("ok" if order["ok"] else "BAD")
        print(f"{l['queue']:<8} {fmt(l['groups'], '{}'):>6} | {fmt(sd['msgs_per_s']):>7} "
              f"{fmt(sd['latency_ms']['p50'], '{:.2f}'):>6} {fmt(sd['latency_ms']['p99'], '{:.1f}'):>6} "
              f"{fmt(l.get('send_vs_standard'), '{:.2f}'):>5} {sd['bound']:>7} | {fmt(rc['msgs_per_s']):>7} "
              f"{fmt(rc['latency_ms']['p50'], '{:.2f}'):>6} {fmt(rc['latency_ms']['p99'], '{:.1f}'):>6} "
              f"{fmt(l.get('receive_vs_standard'), '{:.2f}'):>5} {fmt(rc['msgs_per_receive'], '{:.1f}'):>7} "
              f"{rc['bound']:>7} | {rc['lost']:>4} {rc['duplicates']:>4} {ok:>5} | "
              f"{sd['server_cpu_pct']:.0f}/{sd['client_cpu_pct']:.0f}/{sd['machine_cpu_pct']:.0f}, "
              f"{rc['server_cpu_pct']:.0f}/{rc['client_cpu_pct']:.0f}/{rc['machine_cpu_pct']:.0f}", file=out)
        flat.append({"label": "ferry", "scenario": "fifo", "queue": l["queue"], "groups": l["groups"],
                     "conns": l["conns"], "kind": "summary",
                     "send_msgs_per_s": sd["msgs_per_s"], "send_p50_ms": sd["latency_ms"]["p50"],
                     "send_p99_ms": sd["latency_ms"]["p99"], "send_vs_standard": l.get("send_vs_standard"),
                     "send_bound": sd["bound"], "receive_msgs_per_s": rc["msgs_per_s"],
                     "receive_p50_ms": rc["latency_ms"]["p50"], "receive_p99_ms": rc["latency_ms"]["p99"],
                     "receive_vs_standard": l.get("receive_vs_standard"), "receive_bound": rc["bound"],
                     "lost": rc["lost"], "duplicates": rc["duplicates"],
                     "order_ok": None if order is None else order["ok"]})
    print(f"CPU% is of one core (the machine has {c0['send'].get('cpus')}); bound: client = every Python "
          f"worker near one core, server/client/other = biggest user of a busy machine, neither = idle "
          f"CPU left (latency-bound)", file=out)
    return flat


def cmd_fifo(a):
    """Standard vs FIFO (1, 10, 1000 groups): single SendMessage, then receive 10 + delete."""
    base, data = new_data_dir("ferrybench-fifo-")
    f = Ferry(a.bin, data)
    procs, threads = a.procs, a.threads
    nconn = procs * threads
    group_counts = [int(g) for g in a.groups.split(",") if g.strip()]
    cases = [("fifo" if g else "standard", g) for g in group_counts]
    run_tag = f"{os.getpid()}-{int(time.time())}"
    t_start = time.time()
    std = None
    lines = []
    try:
        f.start()
        f.wait_healthy()

        def send_phase(url, groups, n, seconds):
            counts = [n // nconn + (1 if i < n % nconn else 0) for i in range(nconn)]
            t0, t1, srv_s, mach_s, res, codes = _run_workers(_fifo_send_worker, [
                (f.port, url, groups, w, threads, nconn, counts[w * threads:(w + 1) * threads], a.size,
                 time.time() + seconds, run_tag) for w in range(procs)], seconds, f.pid)
            if len(res) != procs:
                raise RuntimeError(f"fifo: {procs - len(res)} send worker(s) died (exit codes {codes})")
            sent = sum(r["sent"] for r in res)
            active = max(max(r["last"] for r in res) - t0, 1e-9)
            # Every (sender, k) that was tried and did not fail; a failed try that the server did
            # accept anyway shows up as "unexpected" after the receive phase.
            failed = {tuple(x) for r in res for x in r["failed"]}
            keys = {(snd, k) for r in res for snd, n in r["attempted"].items() for k in range(n)} - failed
            return {"sent": sent, "send_errors": len(failed), "seconds": round(active, 3),
                    "msgs_per_s": round(sent / active, 1), "latency_ms": _lat_summary([x for r in res for x in r["lat"]]),
                    **_cpu_fields(srv_s, sum(r["cpu_s"] for r in res), mach_s, t1 - t0, procs),
                    "_keys": keys}

        def recv_phase(url, fifo, expected_keys, seconds):
            counter = multiprocessing.get_context("fork").Value("q", 0)
            t0, t1, srv_s, mach_s, res, codes = _run_workers(_fifo_recv_worker, [
                (f.port, url, fifo, w, threads, len(expected_keys), counter, time.time() + seconds)
                for w in range(procs)], seconds, f.pid, done=lambda: counter.value >= len(expected_keys))
            if len(res) != procs:
                raise RuntimeError(f"fifo: {procs - len(res)} receive worker(s) died (exit codes {codes})")
            recs = sorted((r for x in res for r in x["recs"]), key=lambda r: (r[0], r[1]))
            deleted = sum(x["deleted"] for x in res)
            active = max(max(x["last"] for x in res) - t0, 1e-9)
            keys = [(r[3], r[4]) for r in recs]
            seen = set(keys)
            lost = len(expected_keys - seen)
            unexpected = len(seen - expected_keys)
            duplicates = len(keys) - len(seen)
            order = None
            if fifo:
                # For each group, in delivery order: sequence numbers must increase, and so must k
                # of each sender (a sender's sends to a group are sequential: that is send order).
                last_seq, last_k, seq_bad, k_bad, wrong_group, dup_in_group = {}, {}, 0, 0, 0, 0
                for _t, _pos, tag, sender, k, seq in recs:
                    if "!=" in tag:
                        wrong_group += 1
                    if seq is None or (tag in last_seq and seq <= last_seq[tag]):
                        seq_bad += 1
                    if seq is not None:
                        last_seq[tag] = max(seq, last_seq.get(tag, seq))
                    sk = (tag, sender)
                    if sk in last_k and k <= last_k[sk]:
                        k_bad += 1
                    last_k[sk] = max(k, last_k.get(sk, k))
                # Group lock: a batch answered before an earlier batch of the same group was even
                # sent for deletion proves two batches of that group in flight at once.
                lock_bad, del_sent = 0, {}
                for answered, delete_sent, gs in sorted(b for x in res for b in x["batches"]):
                    for g in gs:
                        if answered < del_sent.get(g, 0.0):
                            lock_bad += 1
                        del_sent[g] = max(del_sent.get(g, 0.0), delete_sent)
                order = {"groups_seen": len(last_seq), "seq_out_of_order": seq_bad,
                         "sender_out_of_order": k_bad, "wrong_group": wrong_group,
                         "group_lock_violations": lock_bad,
                         "ok": seq_bad == 0 and k_bad == 0 and wrong_group == 0 and lock_bad == 0}
            sqs = Sqs(f.port)
            left, inflight = approx_messages(sqs, url)
            sqs.close()
            return {"delivered": len(recs), "deleted": deleted, "seconds": round(active, 3),
                    "msgs_per_s": round(deleted / active, 1),
                    "latency_ms": _lat_summary([x for r in res for x in r["lat"]]),
                    "receives_empty": sum(x["empty"] for x in res),
                    "delete_failed": sum(x["delete_failed"] for x in res),
                    "errors": sum(x["errors"] for x in res),
                    "lost": lost, "duplicates": duplicates, "unexpected": unexpected,
                    "left_visible": left, "left_in_flight": inflight, "order": order,
                    "msgs_per_receive": round(len(recs) / max(1, sum(len(x["lat"]) for x in res)), 2),
                    # client CPU: the workers' whole run; after t1 they only wait out a long poll
                    **_cpu_fields(srv_s, sum(x["cpu_s"] for x in res), mach_s, t1 - t0, procs)}

        if a.warmup:
            url = create_queue(f.port, "bench-fifo-warmup.fifo",
                               {"FifoQueue": "true", "VisibilityTimeout": "300"})
            w = send_phase(url, 10, a.warmup, 5)
            recv_phase(url, True, w["_keys"], 5)
            log(f"fifo: warm-up {a.warmup} messages sent and received")

        for n, (kind, groups) in enumerate(cases):
            name = f"bench-{n}-std" if kind == "standard" else f"bench-{n}-g{groups}.fifo"
            attrs = {"VisibilityTimeout": "300"}
            if kind == "fifo":
                attrs.update({"FifoQueue": "true", "ContentBasedDeduplication": "false"})
            url = create_queue(f.port, name, attrs)
            s = send_phase(url, groups, a.messages, a.send_seconds)
            expected = s.pop("_keys")
            log(f"fifo: {name}: sent {s['sent']} in {s['seconds']} s ({s['msgs_per_s']}/s), "
                f"p50 {s['latency_ms']['p50']} ms p99 {s['latency_ms']['p99']} ms, "
                f"CPU% server {s['server_cpu_pct']} client {s['client_cpu_pct']} machine {s['machine_cpu_pct']} "
                f"-> bound: {s['bound']}")
            r = recv_phase(url, kind == "fifo", expected, a.receive_seconds)
            log(f"fifo: {name}: deleted {r['deleted']} in {r['seconds']} s ({r['msgs_per_s']}/s), "
                f"p50 {r['latency_ms']['p50']} ms p99 {r['latency_ms']['p99']} ms, lost {r['lost']} "
                f"dup {r['duplicates']} order {r['order']}, CPU% server {r['server_cpu_pct']} "
                f"client {r['client_cpu_pct']} machine {r['machine_cpu_pct']} -> bound: {r['bound']}")
            line = {"label": "ferry", "scenario": "fifo", "queue": kind, "groups": groups or None,
                    "conns": nconn, "size": a.size, "messages": a.messages, "send": s, "receive": r}
            if kind == "standard":
                std = std or line  # ratios are against the first standard queue
            elif std:
                line["send_vs_standard"] = round(s["msgs_per_s"] / std["send"]["msgs_per_s"], 3)
                line["receive_vs_standard"] = round(r["msgs_per_s"] / std["receive"]["msgs_per_s"], 3)
            emit(line)
            lines.append(line)
    finally:
        f.stop()
        shutil.rmtree(base, ignore_errors=True)
    log(f"fifo: total {time.time() - t_start:.1f} s")
    fifo_table(lines, out=sys.stderr)
    bad = [f"{l['queue']} groups={l['groups']}" for l in lines
           if l["receive"]["lost"] or l["receive"]["duplicates"] or l["receive"]["unexpected"]
           or l["send"]["send_errors"] or (l["receive"]["order"] and not l["receive"]["order"]["ok"])]
    if bad:
        log(f"fifo: FAILED checks (errors, lost, duplicated or out of order) in: {', '.join(bad)}")
        sys.exit(1)


# ---------------------------------------------------------------- summary

def fanout_events_table(lines, find, conns, out=sys.stdout):
    """SNS fan-out and EventBridge PutEvents at `conns` connections, per broker: the rates, or the
    error a broker answered (ferry has no SNS / PutEvents yet). Returns the summary lines."""
    # ferry-dead: the same runs with one more target that never answers (an HTTP subscription, an
    # API destination); ferry-1000: PutEvents with 1,000 rules on the bus instead of 5.
    labels = [l for l in ("ferry", "ferry-dead", "ferry-1000", "moto") if any(x.get("label") == l for x in lines)]
    if not any(x.get("scenario") in ("sns-fanout", "events-put") for x in lines):
        return []
    hello = find("hello", "raw", conns=conns)
    print(f"\nSNS fan-out (Publish, every body checked in every subscribed queue) and PutEvents (10 entries "
          f"per call, one matching rule of several) at {conns} connections", file=out)
    hdr = f"{'broker':<10} {'scenario':<11} {'calls/s':>8} {'/hello':>6} {'msgs/s':>9} {'deliv/s':>9} {'p50 ms':>8} " \
          f"{'p99 ms':>8} {'err':>4} {'lost':>4} {'dup':>4}"
    print(hdr, file=out)
    print("-" * len(hdr), file=out)
    summaries = []
    for label in labels:
        for scen in ("sns-fanout", "events-put"):
            l = find(label, scen, conns=conns)
            if l is None:
                err = next((x["error"] for x in lines if x.get("label") == label and x.get("scenario") == scen
                            and x.get("conns") == conns and "error" in x), None)
                if label in ("ferry", "moto") or err:
                    print(f"{label:<10} {scen:<11} {'(error: ' + err + ')' if err else '(no result)'}", file=out)
                continue
            rate = l.get("published_per_s", l.get("events_per_s"))
            s = {"label": label, "scenario": scen, "conns": conns, "kind": "summary",
                 "ops_per_s": l["ops_per_s"], "msgs_per_s": rate, "delivered_per_s": l.get("delivered_per_s"),
                 "p50_ms": l["latency_ms"]["p50"], "p99_ms": l["latency_ms"]["p99"], "errors": l["errors"],
                 "lost": l.get("lost"), "duplicates": l.get("duplicates"),
                 "server_cpu_pct": l.get("server_cpu_pct"),
                 "calls_vs_hello": round(l["ops_per_s"] / hello["ops_per_s"], 3) if hello else None}
            summaries.append(s)
            f = lambda v, spec="{:.1f}": "-" if v is None else spec.format(v)
            print(f"{label:<10} {scen:<11} {f(s['ops_per_s']):>8} {f(s['calls_vs_hello'], '{:.3f}'):>6} "
                  f"{f(rate):>9} {f(s['delivered_per_s']):>9} "
                  f"{f(s['p50_ms'], '{:.2f}'):>8} {f(s['p99_ms'], '{:.2f}'):>8} {s['errors']:>4} "
                  f"{f(s['lost'], '{}'):>4} {f(s['duplicates'], '{}'):>4}", file=out)
    print("msgs/s: published (fan-out) or accepted events (PutEvents); deliv/s: unique deliveries over the time to "
          "the last one, drain included; /hello: calls per second over the HTTP ceiling; ferry-dead: one more "
          "target that never answers; ferry-1000: 1,000 rules on the bus", file=out)
    return summaries


def dead_target_table(lines, conns, out=sys.stdout):
    """The p99 of Publish and PutEvents with a target that never answers (ferry-dead) over the same
    run without it (ferry), pair by pair in the order they ran, and the median of those ratios: the
    figure the "a dead target does not slow the caller" bar is read from."""
    summaries = []
    for scen in ("sns-fanout", "events-put"):
        runs = {label: [l for l in lines if l.get("label") == label and l.get("scenario") == scen
                        and l.get("conns") == conns and "error" not in l] for label in ("ferry", "ferry-dead")}
        pairs = list(zip(runs["ferry"], runs["ferry-dead"]))
        if not pairs:
            continue
        ratios = sorted(d["latency_ms"]["p99"] / b["latency_ms"]["p99"] for b, d in pairs)
        median = statistics.median(ratios)
        each = ", ".join(f"{b['latency_ms']['p99']:.2f} / {d['latency_ms']['p99']:.2f}" for b, d in pairs)
        print(f"{scen}: p99 without / with a dead target, ms: {each}; median ratio {median:.3f} "
              f"({len(pairs)} pairs)", file=out)
        summaries.append({"label": "ferry-dead", "scenario": scen, "conns": conns, "kind": "summary-dead-target",
                          "pairs": len(pairs), "p99_ratios": [round(r, 3) for r in ratios],
                          "median_p99_ratio": round(median, 3)})
    return summaries


def ceiling_pairs_table(lines, conns, out=sys.stdout):
    """sqs-send and sqs-roundtrip (json, default --sync) over the HTTP ceiling, each round measured
    one right after the other on servers started for them: ferry-load-hello (label hello-pair),
    ferry-load-null (null-pair: the least any SQS server can do for these scenarios) and ferry
    (ferry-pair). Per scenario, round by round: ferry / ceiling (the figure the bars are read
    from), null / ceiling (what a server that does nothing reaches with the same client on the
    same cores) and ferry / null; then the median of each. The ceiling of one moment is no ceiling
    for a run minutes later: on this shared machine it moved from 51,000 to 85,000 requests/s
    within an hour."""
    def runs(label, scenario):
        return [l for l in lines if l.get("label") == label and l.get("scenario") == scenario
                and l.get("conns") == conns and "error" not in l]
    hellos = runs("hello-pair", "raw")
    summaries = []
    for scenario in ("sqs-send", "sqs-roundtrip"):
        ferry, null = runs("ferry-pair", scenario), runs("null-pair", scenario)
        rounds = list(zip(hellos, ferry, null)) if null else [(h, f, None) for h, f in zip(hellos, ferry)]
        if not rounds:
            continue
        med = lambda xs: round(statistics.median(xs), 3)
        of_ceiling = [f["msgs_per_s"] / h["ops_per_s"] for h, f, _ in rounds]
        each = ", ".join(f"{f['msgs_per_s']:.0f}" + (f" / null {n['msgs_per_s']:.0f}" if n else "")
                         + f" / hello {h['ops_per_s']:.0f}" for h, f, n in rounds)
        line = {"label": "ferry-pair", "scenario": scenario, "conns": conns, "kind": "summary-ceiling-pairs",
                "pairs": len(rounds), "msgs_per_s": [f["msgs_per_s"] for _, f, _ in rounds],
                "hello_ops_per_s": [h["ops_per_s"] for h, _, _ in rounds],
                "ratios": [round(r, 3) for r in of_ceiling], "median_ratio": med(of_ceiling),
                "p99_ms": [f["latency_ms"]["p99"] for _, f, _ in rounds]}
        text = f"{scenario} / ceiling, alternating: {each}; ferry / ceiling median {med(of_ceiling):.3f}"
        if null:
            null_of_ceiling = [n["msgs_per_s"] / h["ops_per_s"] for h, _, n in rounds]
            of_null = [f["msgs_per_s"] / n["msgs_per_s"] for _, f, n in rounds]
            line.update({"null_msgs_per_s": [n["msgs_per_s"] for _, _, n in rounds],
                         "null_ratios": [round(r, 3) for r in null_of_ceiling],
                         "null_median_ratio": med(null_of_ceiling),
                         "ferry_over_null": [round(r, 3) for r in of_null],
                         "ferry_over_null_median": med(of_null)})
            text += f", null / ceiling {med(null_of_ceiling):.3f}, ferry / null {med(of_null):.3f}"
        print(f"{text} ({len(rounds)} rounds)", file=out)
        summaries.append(line)
    return summaries


def cmd_summarize(a):
    global OUT, RUN_ID
    lines = []
    for path in a.inputs:
        with open(path) as fh:
            lines += [json.loads(l) for l in fh if l.strip()]
    if a.sum_run_id:
        RUN_ID = a.sum_run_id
    tag = {k: v for k, v in (("rev", a.rev), ("load_seconds", a.seconds)) if v is not None}
    if a.append_inputs:
        OUT = a.append_inputs
        with open(OUT, "a") as fh:
            for l in lines:
                fh.write(json.dumps({"run": RUN_ID, **tag, **l}, separators=(",", ":")) + "\n")

    def find(label, scenario, protocol=None, conns=None, signed=None):
        for l in lines:
            if l.get("label") == label and l.get("scenario") == scenario and "error" not in l \
                    and (protocol is None or l.get("protocol") == protocol) \
                    and (conns is None or l.get("conns") == conns):
                return l
        return None

    hello = find("hello", "raw", conns=a.conns)
    hrate = hello["ops_per_s"] if hello else None

    def ratio(x, y):
        return round(x / y, 4) if x is not None and y else None

    rows, summaries = [], []
    for label, proto in (("ferry", "json"), ("ferry-mem", "json"), ("ferry-sync", "json"), ("ferry", "query"),
                         ("moto", "json")):
        for scen in ("sqs-send", "sqs-roundtrip"):
            l = find(label, scen, proto, a.conns)
            if l is None:
                rows.append((label, proto, scen, None))
                continue
            rate = l["msgs_per_s"]  # send: messages sent; roundtrip: unique messages delivered
            moto = find("moto", scen, "json", a.conns)
            s = {"label": label, "scenario": scen, "protocol": proto, "conns": a.conns,
                 "kind": "summary", "msgs_per_s": rate, "ops_per_s": l["ops_per_s"],
                 "vs_hello": ratio(rate, hrate),
                 "vs_moto": ratio(rate, moto["msgs_per_s"]) if moto and label != "moto" else None,
                 "p50_ms": l["latency_ms"]["p50"], "p99_ms": l["latency_ms"]["p99"],
                 "e2e_p50_ms": (l.get("e2e_latency_ms") or {}).get("p50"),
                 "e2e_p99_ms": (l.get("e2e_latency_ms") or {}).get("p99"),
                 "errors": l["errors"], "lost": l.get("lost"), "duplicates": l.get("duplicates"),
                 "server_cpu_pct": l.get("server_cpu_pct"), "client_cpu_pct": l.get("client_cpu_pct"),
                 "hello_ops_per_s": hrate, **tag}
            summaries.append(s)
            rows.append((label, proto, scen, s))

    def fmt(v, spec="{:.1f}"):
        return "-" if v is None else (spec.format(v) if isinstance(v, (int, float)) else str(v))

    out = sys.stdout
    print(f"\nSQS at {a.conns} connections, 256 B bodies (msgs/s: send = sent, roundtrip = delivered)", file=out)
    hdr = f"{'broker':<10} {'proto':<5} {'scenario':<13} {'msgs/s':>9} {'/hello':>7} {'/moto':>7} " \
          f"{'p50 ms':>7} {'p99 ms':>7} {'e2e p99':>8} {'err':>4} {'lost':>4} {'dup':>4} {'srv CPU%':>8}"
    print(hdr, file=out)
    print("-" * len(hdr), file=out)
    for label, proto, scen, s in rows:
        if s is None:
            print(f"{label:<10} {proto:<5} {scen:<13} {'(no result)':>9}", file=out)
            continue
        print(f"{label:<10} {proto:<5} {scen:<13} {fmt(s['msgs_per_s']):>9} {fmt(s['vs_hello'], '{:.3f}'):>7} "
              f"{fmt(s['vs_moto'], '{:.1f}x'):>7} {fmt(s['p50_ms'], '{:.2f}'):>7} {fmt(s['p99_ms'], '{:.2f}'):>7} "
              f"{fmt(s['e2e_p99_ms'], '{:.1f}'):>8} {fmt(s['errors'], '{}'):>4} {fmt(s['lost'], '{}'):>4} "
              f"{fmt(s['duplicates'], '{}'):>4} {fmt(s['server_cpu_pct']):>8}", file=out)
    for c in sorted({l["conns"] for l in lines if l.get("label") == "hello"}):
        h = find("hello", "raw", conns=c)
        if h:
            print(f"hello     raw   ceiling@{c:<5} {fmt(h['ops_per_s']):>9}  (p50 {h['latency_ms']['p50']:.2f} ms, "
                  f"p99 {h['latency_ms']['p99']:.2f} ms, server CPU {h.get('server_cpu_pct')}%)", file=out)
    live = sum(l.get("msgs", 0) for l in lines
               if l.get("label") == "ferry" and l.get("scenario") == "sqs-send" and "error" not in l)
    for l in lines:
        sc = l.get("scenario")
        if sc == "disk-after-load":
            per = f", {l['disk_bytes_apparent'] / live:.0f} B per message left (sqs-send's {live})" if live else ""
            print(f"ferry data dir after the load runs: {l['disk_bytes_apparent'] / 1e6:.1f} MB{per}", file=out)
        elif sc == "startup":
            print(f"ferry startup: healthy after {l['start_to_healthy_ms']['median']} ms (median of {l['runs']}), "
                  f"idle RSS {l['idle_rss_kib']['median'] / 1024:.1f} MiB", file=out)
        elif sc == "longpoll-idle":
            print(f"ferry {l['conns']} idle long polls: {l['server_cpu_pct']}% of one core over {l['seconds']} s, "
                  f"RSS {l['rss_kib'] / 1024:.1f} MiB, early answers {l['early_empty_answers']}, "
                  f"wake latency {l['wake_latency_ms']} ms", file=out)
        elif sc == "big-send-restart":
            print(f"ferry {l['sent']} msgs sent in {l['send_seconds']} s ({l['send_msgs_per_s']}/s); RSS "
                  f"{l['rss_kib_full'] / 1024:.0f} MiB; disk {l['disk_bytes_allocated'] / 1e6:.0f} MB "
                  f"({l['bytes_per_live_message']} B/msg); SIGTERM exit {l['sigterm_exit_s']} s; restart healthy "
                  f"{l['restart_to_healthy_ms']} ms, full count after {l['restart_to_full_count_s']} s", file=out)
        elif sc == "big-drain":
            print(f"ferry drained {l['deleted']} in {l['seconds']} s ({l['deleted_per_s']}/s); disk after delete "
                  f"{l['disk_bytes_allocated_after_stop'] / 1e6:.0f} MB ({l['disk_bytes_per_message_processed']} B per "
                  f"message processed); left {l['left_visible']}+{l['left_in_flight']}; RSS {l['rss_kib'] / 1024:.0f} MiB; "
                  f"restart on it: healthy {l.get('restart_to_healthy_ms')} ms, RSS "
                  f"{(l.get('rss_kib_after_restart') or 0) / 1024:.0f} MiB", file=out)
    summaries += [{**x, **tag} for x in fanout_events_table(lines, find, a.conns, out=out)]
    summaries += [{**x, **tag} for x in dead_target_table(lines, a.conns, out=out)]
    summaries += [{**x, **tag} for x in ceiling_pairs_table(lines, a.conns, out=out)]
    summaries += [{**x, **tag} for x in fifo_table(lines, out=out)]
    for s in summaries:
        if OUT:
            with open(OUT, "a") as fh:
                fh.write(json.dumps({"run": RUN_ID, **s}, separators=(",", ":")) + "\n")


def main():
    global OUT, RUN_ID
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="append JSON lines here too")
    p.add_argument("--run-id", help="tag every JSON line with this run id")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("startup")
    s.add_argument("--bin", required=True)
    s.add_argument("--runs", type=int, default=5)
    s = sub.add_parser("longpoll")
    s.add_argument("--bin", required=True)
    s.add_argument("--conns", type=int, default=200)
    s.add_argument("--seconds", type=float, default=10.0)
    s = sub.add_parser("big")
    s.add_argument("--bin", required=True)
    s.add_argument("--messages", type=int, default=1_000_000)
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--procs", type=int, default=2)
    s.add_argument("--threads", type=int, default=16)
    s.add_argument("--max-seconds", type=float, default=600.0, help="bound of each phase")
    s = sub.add_parser("fifo")
    s.add_argument("--bin", required=True)
    s.add_argument("--messages", type=int, default=20_000, help="sent to (and received from) each queue")
    s.add_argument("--groups", default="0,1,10,1000",
                   help="queues in order: 0 = a standard queue, N = a FIFO queue with N message groups")
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--procs", type=int, default=2)
    s.add_argument("--threads", type=int, default=16)
    s.add_argument("--send-seconds", type=float, default=8.0, help="bound of each send phase")
    s.add_argument("--receive-seconds", type=float, default=12.0, help="bound of each receive phase")
    s.add_argument("--warmup", type=int, default=2000, help="messages through a throw-away FIFO queue first")
    s = sub.add_parser("summarize")
    s.add_argument("--conns", type=int, default=32)
    s.add_argument("--run-id", dest="sum_run_id")
    s.add_argument("--rev", help="git revision, recorded in every line")
    s.add_argument("--seconds", type=float, help="seconds per ferry-load run, recorded")
    s.add_argument("--append-inputs", metavar="FILE",
                   help="append every input line (tagged) and the summary lines to FILE")
    s.add_argument("inputs", nargs="+")
    a = p.parse_args()
    OUT, RUN_ID = a.out, a.run_id
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        {"startup": cmd_startup, "longpoll": cmd_longpoll, "big": cmd_big, "fifo": cmd_fifo,
         "summarize": cmd_summarize}[a.cmd](a)
    finally:
        cleanup_children()


if __name__ == "__main__":
    main()
