"""SendMessageBatch / DeleteMessageBatch / ChangeMessageVisibilityBatch."""

import pytest
from botocore.exceptions import ClientError

from conftest import attributes_md5, counts, drain, error_code, md5_hex


def test_send_batch_success_and_per_entry_failure(sqs, queue):
    attr = {"k": {"DataType": "String", "StringValue": "v"}}
    resp = sqs.send_message_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "a", "MessageBody": "body-a"},
            {"Id": "b", "MessageBody": "body-b", "MessageAttributes": attr},
            {"Id": "bad", "MessageBody": "nul \x00"},
            {"Id": "late", "MessageBody": "body-late", "DelaySeconds": 60},
        ],
    )
    ok = {e["Id"]: e for e in resp.get("Successful", [])}
    assert set(ok) == {"a", "b", "late"}
    assert ok["a"]["MD5OfMessageBody"] == md5_hex("body-a")
    assert "MD5OfMessageAttributes" not in ok["a"]
    assert ok["b"]["MD5OfMessageAttributes"] == attributes_md5(attr)
    assert len({e["MessageId"] for e in ok.values()}) == 3
    failed = resp.get("Failed", [])
    assert len(failed) == 1
    assert failed[0]["Id"] == "bad"
    assert failed[0]["SenderFault"] is True
    assert failed[0]["Code"] == "InvalidMessageContents"
    assert counts(sqs, queue) == (2, 0, 1)


def test_send_batch_all_ok_has_no_failed(sqs, queue):
    resp = sqs.send_message_batch(
        QueueUrl=queue, Entries=[{"Id": f"id-{i}", "MessageBody": f"m{i}"} for i in range(10)]
    )
    assert len(resp["Successful"]) == 10
    assert not resp.get("Failed")
    assert sorted(m["Body"] for m in drain(sqs, queue)) == sorted(f"m{i}" for i in range(10))


def test_empty_batch(sqs, queue):
    # botocore sends "Entries": [] over JSON and a bare "Entries=" over awsQuery.
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=queue, Entries=[])
    assert error_code(e) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(QueueUrl=queue, Entries=[])
    assert error_code(e) == "AWS.SimpleQueueService.EmptyBatchRequest"
    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[])
    assert error_code(e) == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_batch_request_errors(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)])
    assert error_code(e) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"

    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(
            QueueUrl=queue, Entries=[{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}]
        )
    assert error_code(e) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"

    for bad_id in ("has space", "x" * 81, "dot.id"):
        with pytest.raises(ClientError) as e:
            sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": bad_id, "MessageBody": "x"}])
        assert error_code(e) == "AWS.SimpleQueueService.InvalidBatchEntryId", bad_id

    with pytest.raises(ClientError) as e:
        sqs.change_message_visibility_batch(
            QueueUrl=queue,
            Entries=[{"Id": f"i{i}", "ReceiptHandle": "h", "VisibilityTimeout": 0} for i in range(11)],
        )
    assert error_code(e) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"

    with pytest.raises(ClientError) as e:
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": "d", "ReceiptHandle": "h"}, {"Id": "d", "ReceiptHandle": "h"}]
        )
    assert error_code(e) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    # None of the failed requests sent anything.
    assert counts(sqs, queue) == (0, 0, 0)


def test_batch_request_too_long(sqs, queue):
    big = "x" * (110 * 1024)
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"i{i}", "MessageBody": big} for i in range(10)])
    assert error_code(e) == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert counts(sqs, queue) == (0, 0, 0)


def test_delete_batch(sqs, queue):
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    msgs = drain(sqs, queue)
    assert len(msgs) == 3
    resp = sqs.delete_message_batch(
        QueueUrl=queue,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs[:2])]
        + [{"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle"}],
    )
    assert {e["Id"] for e in resp["Successful"]} == {"d0", "d1"}
    assert len(resp["Failed"]) == 1
    assert resp["Failed"][0]["Id"] == "bogus"
    assert resp["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert resp["Failed"][0]["SenderFault"] is True
    assert counts(sqs, queue) == (0, 1, 0)


def test_change_visibility_batch(sqs, queue):
    for i in range(2):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    msgs = drain(sqs, queue)
    assert len(msgs) == 2
    by_body = {m["Body"]: m for m in msgs}
    resp = sqs.change_message_visibility_batch(
        QueueUrl=queue,
        Entries=[
            {"Id": "zero", "ReceiptHandle": by_body["m0"]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "long", "ReceiptHandle": by_body["m1"]["ReceiptHandle"], "VisibilityTimeout": 600},
            {"Id": "bogus", "ReceiptHandle": "not-a-receipt-handle", "VisibilityTimeout": 0},
        ],
    )
    assert {e["Id"] for e in resp["Successful"]} == {"zero", "long"}
    assert [f["Id"] for f in resp["Failed"]] == ["bogus"]
    assert resp["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    again = drain(sqs, queue)
    assert [m["Body"] for m in again] == ["m0"]
