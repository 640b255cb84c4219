"""Durability: restart after SIGTERM and after kill -9 on the same data dir.

Each test starts its own ferry (FERRY_BIN) on a free port with a temporary data dir. Nothing
acknowledged may be lost, nothing deleted may come back, in-flight messages come back after their
visibility timeout, and queue attributes and tags survive.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import attributes_md5, make_client

FERRY_BIN = os.environ.get("FERRY_BIN")
pytestmark = [
    pytest.mark.durability,
    pytest.mark.skipif(not FERRY_BIN, reason="FERRY_BIN not set"),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ferry:
    def __init__(self, data_dir, log_dir):
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.proc = None
        self.port = None
        self.starts = 0

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, port=None):
        self.port = port or free_port()
        self.starts += 1
        log = open(os.path.join(self.log_dir, f"ferry-{self.starts}.log"), "wb")
        self.proc = subprocess.Popen(
            [FERRY_BIN, "--listen", f"127.0.0.1:{self.port}", "--data-dir", self.data_dir],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"ferry exited with {self.proc.returncode} on start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_ferry/health", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"ferry not healthy within 15 s:\n{self.log_tail()}")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"ferry did not stop within {timeout}s after {sig!r}")

    def log_tail(self, n=40):
        path = os.path.join(self.log_dir, f"ferry-{self.starts}.log")
        try:
            with open(path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""

    def client(self, service="sqs"):
        return make_client(service, endpoint=self.endpoint)


@pytest.fixture
def ferry():
    data = tempfile.mkdtemp(prefix="ferry-data-")
    logs = tempfile.mkdtemp(prefix="ferry-logs-")
    f = Ferry(data, logs)
    yield f
    try:
        f.stop(signal.SIGKILL, timeout=5)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)


def drain_all(sqs, url, visibility=300, max_empty=3):
    """Receive everything visible (keeping it in flight); returns {body: message}; asserts no duplicates."""
    got = {}
    empty = 0
    deadline = time.monotonic() + 120
    while empty < max_empty and time.monotonic() < deadline:
        msgs = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            WaitTimeSeconds=0 if empty == 0 else 1,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not msgs:
            empty += 1
            continue
        empty = 0
        for m in msgs:
            assert m["Body"] not in got, f"duplicate delivery of {m['Body']} while in flight"
            got[m["Body"]] = m
    return got


def stable_attributes(sqs, url):
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {k: v for k, v in a.items() if not k.startswith("Approximate")}


ATTR = {
    "kind": {"DataType": "String", "StringValue": "durable"},
    "n": {"DataType": "Number", "StringValue": "3"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe"},
}


def test_restart_after_sigterm_keeps_everything(ferry):
    ferry.start()
    sqs = ferry.client()
    dlq = sqs.create_queue(QueueName="durable-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    main = sqs.create_queue(
        QueueName="durable-main",
        Attributes={
            "VisibilityTimeout": "2",
            "MessageRetentionPeriod": "86400",
            "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":50}}',
        },
        tags={"team": "ferry", "purpose": "restart"},
    )["QueueUrl"]
    gone = sqs.create_queue(QueueName="durable-gone")["QueueUrl"]
    sqs.delete_queue(QueueUrl=gone)

    total = 2000
    for start in range(0, total, 10):
        entries = []
        for i in range(start, start + 10):
            e = {"Id": f"m{i}", "MessageBody": f"msg-{i}"}
            if i % 7 == 0:
                e["MessageAttributes"] = ATTR
            entries.append(e)
        resp = sqs.send_message_batch(QueueUrl=main, Entries=entries)
        assert len(resp["Successful"]) == 10, resp.get("Failed")

    # Receive ~300 messages, delete the even ones; the odd ones stay in flight (5 s visibility).
    # receives[body] counts our receives, since a slow loop may see an odd one twice.
    deleted, receives = set(), {}
    last_receive = time.monotonic()
    for _ in range(100):
        if len(receives) >= 300:
            break
        msgs = sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10, VisibilityTimeout=5).get("Messages", [])
        last_receive = time.monotonic()
        for m in msgs:
            receives[m["Body"]] = receives.get(m["Body"], 0) + 1
            if int(m["Body"].split("-")[1]) % 2 == 0:
                sqs.delete_message(QueueUrl=main, ReceiptHandle=m["ReceiptHandle"])
                deleted.add(m["Body"])
    assert len(deleted) > 100
    in_flight = set(receives) - deleted

    before_attrs = stable_attributes(sqs, main)
    before_tags = sqs.list_queue_tags(QueueUrl=main)["Tags"]
    before_dlq_attrs = stable_attributes(sqs, dlq)

    assert ferry.stop(signal.SIGTERM) == 0, f"non-zero exit on SIGTERM:\n{ferry.log_tail()}"
    ferry.start(port=ferry.port)
    sqs = ferry.client()

    urls = sqs.list_queues(QueueNamePrefix="durable-").get("QueueUrls", [])
    assert sorted(urls) == sorted([main, dlq]), "queues survive, the deleted one stays deleted"
    assert stable_attributes(sqs, main) == before_attrs
    assert stable_attributes(sqs, dlq) == before_dlq_attrs
    assert sqs.list_queue_tags(QueueUrl=main)["Tags"] == before_tags

    # Let the in-flight messages become visible again.
    time.sleep(max(0.0, 5.3 - (time.monotonic() - last_receive)))
    a = sqs.get_queue_attributes(QueueUrl=main, AttributeNames=["All"])["Attributes"]
    assert int(a["ApproximateNumberOfMessages"]) == total - len(deleted)

    got = drain_all(sqs, main)
    expected = {f"msg-{i}" for i in range(total)} - deleted
    assert not (set(got) & deleted), "deleted messages came back"
    missing = expected - set(got)
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {sorted(missing)[:5]}"
    assert in_flight <= set(got), "messages in flight at shutdown come back"
    for body, m in got.items():
        i = int(body.split("-")[1])
        if i % 7 == 0:
            assert m["MessageAttributes"]["kind"]["StringValue"] == "durable"
            assert m["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\xfe"
            assert m["MD5OfMessageAttributes"] == attributes_md5(ATTR)
        else:
            assert "MessageAttributes" not in m
        expected_count = receives.get(body, 0) + 1
        assert m["Attributes"]["ApproximateReceiveCount"] == str(expected_count), (body, m["Attributes"])
    # A clean stop once more, and the second restart still has them (all now in flight).
    assert ferry.stop(signal.SIGTERM) == 0


def test_in_flight_messages_return_after_restart(ferry):
    ferry.start()
    sqs = ferry.client()
    url = sqs.create_queue(QueueName="inflight", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"f{i}")
    got = drain_all(sqs, url, visibility=3, max_empty=1)
    assert set(got) == {f"f{i}" for i in range(5)}
    received_at = time.monotonic()
    assert ferry.stop(signal.SIGTERM) == 0
    ferry.start()
    sqs = ferry.client()
    a = sqs.get_queue_attributes(QueueUrl=f"{ferry.endpoint}/000000000000/inflight", AttributeNames=["All"])[
        "Attributes"
    ]
    assert int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"]) == 5
    url = sqs.get_queue_url(QueueName="inflight")["QueueUrl"]
    # Wait out the visibility timeout (deadlines are persisted; they may also come back early).
    time.sleep(max(0.0, 3.3 - (time.monotonic() - received_at)))
    again = drain_all(sqs, url, max_empty=1)
    assert set(again) == {f"f{i}" for i in range(5)}
    for m in again.values():
        assert m["Attributes"]["ApproximateReceiveCount"] == "2", "receive counts are persisted"
    # Old receipt handles from before the restart still delete.
    for m in got.values():
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")


def send_and_record(c, url, body, batch, acked, lock):
    """Sends `body` (or, as a batch, ten bodies `body-b0`..`body-b9`) and records what was acknowledged."""
    if batch:
        entries = [{"Id": f"e{j}", "MessageBody": f"{body}-b{j}"} for j in range(10)]
        r = c.send_message_batch(QueueUrl=url, Entries=entries)
        with lock:
            acked.update(f"{body}-b{e['Id'][1:]}" for e in r.get("Successful", []))
    else:
        c.send_message(QueueUrl=url, MessageBody=body)
        with lock:
            acked.add(body)


def test_kill_9_loses_nothing_acknowledged(ferry):
    """kill -9 while 4 senders and a deleter are busy: every acknowledged send is there after the
    restart, no acknowledged delete comes back. Requests cut off by the kill may go either way."""
    ferry.start()
    sqs = ferry.client()
    url = sqs.create_queue(QueueName="crash", Attributes={"VisibilityTimeout": "600"}, tags={"t": "1"})[
        "QueueUrl"
    ]
    attrs_before = stable_attributes(sqs, url)

    acked, deleted, delete_tried = set(), set(), set()
    lock = threading.Lock()
    killed = threading.Event()
    errors = []
    deadline = time.monotonic() + 60

    def guarded(fn):
        def run(*args):
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 - errors after the kill are expected
                if not killed.is_set():
                    errors.append(repr(e))

        return run

    @guarded
    def sender(tid):
        c = ferry.client()
        for i in range(1000):
            if killed.is_set() or time.monotonic() > deadline:
                return
            send_and_record(c, url, f"t{tid}-{i}", i % 5 == 0, acked, lock)

    @guarded
    def deleter():
        c = ferry.client()
        while not killed.is_set() and time.monotonic() < deadline:
            msgs = c.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=2
            ).get("Messages", [])
            for m in msgs:
                with lock:
                    delete_tried.add(m["Body"])
                c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                with lock:
                    deleted.add(m["Body"])

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(4)]
    threads.append(threading.Thread(target=deleter))
    for t in threads:
        t.start()
    # Kill -9 in the middle of the traffic, once enough has been acknowledged.
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 1500 and len(deleted) >= 100:
                break
        if not any(t.is_alive() for t in threads[:4]):
            break
        time.sleep(0.005)
    with lock:
        killed.set()
        ferry.proc.send_signal(signal.SIGKILL)
        acked_at_kill, deleted_at_kill = set(acked), set(deleted)
    killed_at = time.monotonic()
    ferry.proc.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(acked_at_kill) >= 1000, f"only {len(acked_at_kill)} sends acknowledged before the kill"

    ferry.start()
    sqs = ferry.client()
    url = sqs.get_queue_url(QueueName="crash")["QueueUrl"]
    assert stable_attributes(sqs, url) == attrs_before
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"t": "1"}
    # Messages the deleter held (2 s visibility) but had not deleted yet become visible again.
    time.sleep(max(0.0, 2.5 - (time.monotonic() - killed_at)))
    got = drain_all(sqs, url)
    resurrected = set(got) & deleted_at_kill
    assert not resurrected, f"{len(resurrected)} deleted messages came back, e.g. {sorted(resurrected)[:5]}"
    # A delete cut off by the kill may or may not have happened: only those messages may be absent.
    missing = (acked_at_kill - delete_tried) - set(got)
    assert not missing, f"{len(missing)} acknowledged messages lost after kill -9, e.g. {sorted(missing)[:5]}"
    # The server still works after recovery.
    sqs.send_message(QueueUrl=url, MessageBody="after-crash")
    assert "after-crash" in drain_all(sqs, url, max_empty=1)


def test_kill_9_twenty_cycles_of_mixed_load(ferry):
    """20 cycles of: start, send / receive / delete under load for about a second, kill -9.
    Afterwards every acknowledged message that no delete was tried on is there, and no message
    whose delete was acknowledged came back, in any cycle. (Receive counts and visibility are not
    waited for, so a received message may come back early: at-least-once allows that.)"""
    acked, deleted, delete_tried = set(), set(), set()
    lock = threading.Lock()
    for cycle in range(20):
        ferry.start()
        sqs = ferry.client()
        url = sqs.create_queue(QueueName="cycles", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
        killed = threading.Event()
        errors = []
        stop_at = time.monotonic() + 1.0

        def sender(tid, cycle=cycle, killed=killed, errors=errors, stop_at=stop_at, url=url):
            c = ferry.client()
            i = 0
            try:
                while not killed.is_set() and time.monotonic() < stop_at + 5:
                    i += 1
                    send_and_record(c, url, f"c{cycle}-t{tid}-{i}", i % 3 == 0, acked, lock)
            except Exception as e:  # noqa: BLE001 - requests cut off by the kill
                if not killed.is_set():
                    errors.append(repr(e))

        def deleter(killed=killed, errors=errors, stop_at=stop_at, url=url):
            c = ferry.client()
            try:
                while not killed.is_set() and time.monotonic() < stop_at + 5:
                    msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1).get(
                        "Messages", []
                    )
                    for m in msgs:
                        with lock:
                            delete_tried.add(m["Body"])
                        c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                        with lock:
                            deleted.add(m["Body"])
            except Exception as e:  # noqa: BLE001
                if not killed.is_set():
                    errors.append(repr(e))

        threads = [threading.Thread(target=sender, args=(t,)) for t in range(3)]
        threads.append(threading.Thread(target=deleter))
        for t in threads:
            t.start()
        time.sleep(max(0.0, stop_at - time.monotonic()))
        with lock:
            killed.set()
            ferry.proc.send_signal(signal.SIGKILL)
        ferry.proc.wait(timeout=10)
        for t in threads:
            t.join(timeout=30)
        assert not errors, f"cycle {cycle}: {errors}"
    with lock:
        acked_all, deleted_all, tried_all = set(acked), set(deleted), set(delete_tried)
    assert len(acked_all) >= 20 * 50, f"only {len(acked_all)} sends acknowledged in 20 cycles"
    assert len(deleted_all) >= 20 * 5, f"only {len(deleted_all)} deletes acknowledged in 20 cycles"
    ferry.start()
    sqs = ferry.client()
    url = sqs.get_queue_url(QueueName="cycles")["QueueUrl"]
    time.sleep(1.5)  # messages held by the last deleter (1 s visibility) are visible again
    got = drain_all(sqs, url)
    resurrected = set(got) & deleted_all
    assert not resurrected, f"{len(resurrected)} deleted messages came back, e.g. {sorted(resurrected)[:5]}"
    missing = (acked_all - tried_all) - set(got)
    assert not missing, f"{len(missing)} acknowledged messages lost over 20 kill -9 cycles, e.g. {sorted(missing)[:5]}"


def test_redrive_delay_purge_and_reset_survive_restart(ferry):
    ferry.start()
    sqs = ferry.client()
    dlq = sqs.create_queue(QueueName="r-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="r-src", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    # A configuration change after creation is durable too.
    sqs.set_queue_attributes(
        QueueUrl=src, Attributes={"RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}'}
    )
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=src).get("Messages", [])) == 1  # receive count 1 = max
    delayed = sqs.create_queue(QueueName="r-delayed")["QueueUrl"]
    sqs.send_message(QueueUrl=delayed, MessageBody="later", DelaySeconds=4)
    sent_at = time.monotonic()
    purged = sqs.create_queue(QueueName="r-purged")["QueueUrl"]
    for i in range(20):
        sqs.send_message(QueueUrl=purged, MessageBody=f"p{i}")
    sqs.purge_queue(QueueUrl=purged)

    assert ferry.stop(signal.SIGTERM) == 0
    ferry.start()
    sqs = ferry.client()
    src, dlq, delayed, purged = (
        sqs.get_queue_url(QueueName=n)["QueueUrl"] for n in ("r-src", "r-dlq", "r-delayed", "r-purged")
    )

    # Still delayed right after the restart, visible once the delay is over.
    if time.monotonic() - sent_at < 3:
        assert "Messages" not in sqs.receive_message(QueueUrl=delayed, WaitTimeSeconds=0)
    time.sleep(max(0.0, 4.3 - (time.monotonic() - sent_at)))
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=delayed).get("Messages", [])] == ["later"]

    # The persisted receive count sends the message to the DLQ on its next receive.
    assert "Messages" not in sqs.receive_message(QueueUrl=src, WaitTimeSeconds=0)
    moved = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in moved] == ["poison"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]

    # Purged messages stay purged.
    assert "Messages" not in sqs.receive_message(QueueUrl=purged, WaitTimeSeconds=0)

    # /_ferry/reset wipes everything, durably.
    req = urllib.request.Request(f"{ferry.endpoint}/_ferry/reset", method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert "QueueUrls" not in sqs.list_queues()
    assert ferry.stop(signal.SIGTERM) == 0
    ferry.start()
    sqs = ferry.client()
    assert "QueueUrls" not in sqs.list_queues()
