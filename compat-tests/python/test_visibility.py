"""Visibility timeouts, receipt handles, long polling, delays, dead-letter queues."""

import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import attrs, counts, error_code, make_client, receive_one


def test_visibility_timeout_expiry_and_receipt_handles(sqs, new_queue):
    url = new_queue(Attributes={"VisibilityTimeout": "1"})
    sent = sqs.send_message(QueueUrl=url, MessageBody="vis")
    first = receive_one(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0), "hidden while in flight"
    assert counts(sqs, url) == (0, 1, 0)
    time.sleep(1.3)
    second = receive_one(sqs, url, AttributeNames=["ApproximateReceiveCount"])
    assert second["MessageId"] == sent["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"], "a new receipt handle per receive"
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    # The older receipt handle still deletes the message.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    # Deleting again with either handle is not an error (AWS accepts repeated deletes).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])


def test_receive_visibility_timeout_parameter(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    receive_one(sqs, queue, VisibilityTimeout=1)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    time.sleep(1.3)
    receive_one(sqs, queue, WaitTimeSeconds=0)


def test_change_visibility_to_zero(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    msg = receive_one(sqs, queue)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    again = receive_one(sqs, queue, WaitTimeSeconds=0)
    assert again["MessageId"] == msg["MessageId"]


def test_change_visibility_extends(sqs, new_queue):
    url = new_queue(Attributes={"VisibilityTimeout": "1"})
    sqs.send_message(QueueUrl=url, MessageBody="x")
    msg = receive_one(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=60)
    time.sleep(1.3)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_change_visibility_errors(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    msg = receive_one(sqs, queue)
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=43201)
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle="garbage", VisibilityTimeout=10)
    assert error_code(e) == "ReceiptHandleIsInvalid"


def test_change_visibility_of_visible_message(sqs, queue):
    """AWS answers the handle of a message no longer in flight with success and changes nothing."""
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    msg = receive_one(sqs, queue)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=30)
    assert counts(sqs, queue) == (1, 0, 0)


def test_change_visibility_after_expiry_succeeds(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="x")
    msg = receive_one(sqs, queue, VisibilityTimeout=1)
    time.sleep(1.5)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=30)
    assert receive_one(sqs, queue)["Body"] == "x", "the message stayed visible"
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=queue, VisibilityTimeout=43201)
    assert error_code(e) == "InvalidParameterValue"


def test_receipt_handle_of_another_queue(sqs, new_queue):
    a, b = new_queue("-a"), new_queue("-b")
    sqs.send_message(QueueUrl=a, MessageBody="x")
    msg = receive_one(sqs, a)
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=b, ReceiptHandle=msg["ReceiptHandle"])
    assert error_code(e) == "ReceiptHandleIsInvalid"
    assert counts(sqs, a) == (0, 1, 0)


def test_invalid_receipt_handle(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="definitely-not-a-receipt-handle")
    assert error_code(e) == "ReceiptHandleIsInvalid"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_long_poll_wakes_on_send(sqs, queue):
    sender = make_client("sqs")

    def send_later():
        time.sleep(0.5)
        sender.send_message(QueueUrl=queue, MessageBody="wake up")

    t = threading.Thread(target=send_later)
    start = time.monotonic()
    t.start()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    t.join()
    assert [m["Body"] for m in resp.get("Messages", [])] == ["wake up"]
    assert 0.4 <= elapsed < 2.5, f"long poll returned after {elapsed:.2f}s"


def test_concurrent_long_pollers_share_messages(sqs, new_queue):
    url = new_queue()
    other = new_queue("-other")
    results, lock = [], threading.Lock()

    def poll():
        c = make_client("sqs")
        msgs = c.receive_message(QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=1).get("Messages", [])
        with lock:
            results.append([m["Body"] for m in msgs])

    threads = [threading.Thread(target=poll) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.5)
    sqs.send_message(QueueUrl=other, MessageBody="not for them")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"m{i}"} for i in range(8)])
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    bodies = [b for r in results for b in r]
    assert len(bodies) == len(set(bodies)), "a message was delivered to two waiters"
    assert "not for them" not in bodies
    assert len(bodies) == 8, f"8 waiters, 8 messages, got {results}"
    assert elapsed < 4, f"waiters were not woken promptly ({elapsed:.2f}s)"


def test_long_poll_times_out_empty(sqs, queue):
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    elapsed = time.monotonic() - start
    assert "Messages" not in resp
    assert 0.9 <= elapsed < 2.5, f"returned after {elapsed:.2f}s"


def test_queue_receive_wait_time_attribute(sqs, new_queue):
    url = new_queue(Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    start = time.monotonic()
    resp = sqs.receive_message(QueueUrl=url)
    elapsed = time.monotonic() - start
    assert "Messages" not in resp
    assert 0.9 <= elapsed < 2.5, f"queue default wait not applied: {elapsed:.2f}s"
    start = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - start < 0.8, "WaitTimeSeconds=0 overrides the queue default"


def test_wait_time_out_of_range(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=21)
    assert error_code(e) == "InvalidParameterValue"


def test_queue_delay_seconds(sqs, new_queue):
    url = new_queue(Attributes={"DelaySeconds": "1"})
    sqs.send_message(QueueUrl=url, MessageBody="delayed")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert counts(sqs, url) == (0, 0, 1)
    time.sleep(1.3)
    assert counts(sqs, url) == (1, 0, 0)
    assert receive_one(sqs, url, WaitTimeSeconds=0)["Body"] == "delayed"


def test_message_delay_wakes_long_poll(sqs, queue):
    start = time.monotonic()
    sqs.send_message(QueueUrl=queue, MessageBody="in two", DelaySeconds=2)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    resp = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)
    elapsed = time.monotonic() - start
    assert [m["Body"] for m in resp.get("Messages", [])] == ["in two"]
    assert 1.8 <= elapsed < 3.5, f"delayed message arrived after {elapsed:.2f}s"


def test_dead_letter_queue(sqs, new_queue):
    dlq = new_queue("-dlq")
    dlq_arn = attrs(sqs, dlq, "QueueArn")["QueueArn"]
    src = new_queue(
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
        }
    )
    sent = sqs.send_message(
        QueueUrl=src, MessageBody="poison", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    first = receive_one(sqs, src, WaitTimeSeconds=0)
    assert first["MessageId"] == sent["MessageId"]
    time.sleep(1.3)
    # maxReceiveCount reached: the next receive moves it instead of returning it.
    assert "Messages" not in sqs.receive_message(QueueUrl=src, WaitTimeSeconds=0)
    moved = receive_one(sqs, dlq, WaitTimeSeconds=1, MessageAttributeNames=["All"], AttributeNames=["All"])
    assert moved["Body"] == "poison"
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["MessageAttributes"]["k"]["StringValue"] == "v"
    assert counts(sqs, src) == (0, 0, 0)

    sources = sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]
    assert sources == [src]
    assert "queueUrls" not in sqs.list_dead_letter_source_queues(QueueUrl=src) or not sqs.list_dead_letter_source_queues(
        QueueUrl=src
    )["queueUrls"]


def test_purge_queue(sqs, queue):
    for i in range(5):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    receive_one(sqs, queue)
    sqs.send_message(QueueUrl=queue, MessageBody="delayed", DelaySeconds=30)
    sqs.purge_queue(QueueUrl=queue)
    assert counts(sqs, queue) == (0, 0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)
    # The queue still works after a purge.
    sqs.send_message(QueueUrl=queue, MessageBody="after")
    assert receive_one(sqs, queue)["Body"] == "after"
