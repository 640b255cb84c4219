"""Durability of SNS deliveries: a kill -9 while HTTP deliveries are being retried, and while
queue deliveries are in flight; after the restart every acknowledged publish still arrives
(at least once)."""

import http.server
import json
import signal
import threading
import time

from test_restart import Ferry, ferry  # noqa: F401  (the fixture)


class Endpoint:
    """An HTTP endpoint on 127.0.0.1 that accepts confirmations and fails notifications until told."""

    def __init__(self):
        self.failing = True
        self.attempts = {}  # MessageId -> attempts seen
        self.delivered = set()
        self.confirmations = []
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status = 200
                with lock:
                    if body["Type"] == "SubscriptionConfirmation":
                        outer.confirmations.append(body)
                    elif body["Type"] == "Notification":
                        outer.attempts[body["Message"]] = outer.attempts.get(body["Message"], 0) + 1
                        if outer.failing:
                            status = 500
                        else:
                            outer.delivered.add(body["Message"])
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_kill_9_during_retries_loses_no_delivery(ferry):  # noqa: F811
    ep = Endpoint()
    try:
        ferry.start()
        port = ferry.port
        sns, sqs = ferry.client("sns"), ferry.client("sqs")
        topic = sns.create_topic(Name="durable-fanout")["TopicArn"]
        url = sqs.create_queue(QueueName="fanout-q")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:fanout-q",
                      Attributes={"RawMessageDelivery": "true"})
        policy = {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 1, "maxDelayTarget": 1}}
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url, Attributes={"DeliveryPolicy": json.dumps(policy)})
        assert wait_until(lambda: ep.confirmations, 10)
        sns.confirm_subscription(TopicArn=topic, Token=ep.confirmations[0]["Token"])

        sent = [f"m{i}" for i in range(30)]
        for body in sent:
            sns.publish(TopicArn=topic, Message=body)
        # Every message has failed at least once: all are in retry when ferry dies.
        assert wait_until(lambda: set(ep.attempts) == set(sent), 20)
        assert ferry.stop(signal.SIGKILL) is not None

        ep.failing = False
        ferry.start(port=port)
        assert wait_until(lambda: ep.delivered == set(sent), 30), sorted(set(sent) - ep.delivered)

        sqs = ferry.client("sqs")
        got = set()
        deadline = time.monotonic() + 20
        while got != set(sent) and time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                got.add(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert got == set(sent)
    finally:
        ep.server.shutdown()
        ep.server.server_close()


def test_fifo_topic_deduplication_survives_kill_9(ferry):  # noqa: F811
    ferry.start()
    port = ferry.port
    sns, sqs = ferry.client("sns"), ferry.client("sqs")
    topic = sns.create_topic(Name="dedup.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url = sqs.create_queue(QueueName="dedup-q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:dedup-q.fifo",
                  Attributes={"RawMessageDelivery": "true"})
    first = sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d1")
    assert ferry.stop(signal.SIGKILL) is not None

    ferry.start(port=port)
    sns, sqs = ferry.client("sns"), ferry.client("sqs")
    again = sns.publish(TopicArn=topic, Message="once", MessageGroupId="g", MessageDeduplicationId="d1")
    assert (again["MessageId"], again["SequenceNumber"]) == (first["MessageId"], first["SequenceNumber"])
    other = sns.publish(TopicArn=topic, Message="twice", MessageGroupId="g", MessageDeduplicationId="d2")
    assert int(other["SequenceNumber"]) > int(first["SequenceNumber"])

    bodies = []
    deadline = time.monotonic() + 10
    while len(bodies) < 2 and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert bodies == ["once", "twice"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
