"""Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask.

Runs on both protocols (awsJson1.0 with current boto3, awsQuery with botocore 1.31). Waits are
real but short: tasks move a handful of messages, or run slowly only to be listed and cancelled.
"""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, name_of, queue_arn_for


def arn_of(url):
    return queue_arn_for(name_of(url))


def dlq_pair(sqs, new_queue, max_receive=1):
    """A dead-letter queue and a source queue that sends to it after `max_receive` receives."""
    dlq = new_queue("-dlq")
    policy = json.dumps({"deadLetterTargetArn": arn_of(dlq), "maxReceiveCount": max_receive})
    src = new_queue("-src", Attributes={"RedrivePolicy": policy})
    return dlq, src


def fail_once(sqs, src, bodies):
    """Sends `bodies` to `src` and receives each once without deleting, so the next receive
    dead-letters them."""
    for b in bodies:
        sqs.send_message(QueueUrl=src, MessageBody=b, MessageAttributes={"k": {"DataType": "String", "StringValue": b}})
    seen = set()
    for _ in range(20):
        for m in sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10, VisibilityTimeout=1).get("Messages", []):
            seen.add(m["Body"])
        if seen == set(bodies):
            break
    assert seen == set(bodies)
    time.sleep(1.2)
    assert not sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10).get("Messages")


def wait_status(sqs, dlq, want, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        task = sqs.list_message_move_tasks(SourceArn=arn_of(dlq))["Results"][0]
        if task["Status"] in want or time.time() > deadline:
            return task
        time.sleep(0.1)


def bodies(sqs, url):
    out = []
    for _ in range(10):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not msgs:
            break
        out.extend(msgs)
    return out


def test_redrive_returns_messages_to_their_source(sqs, new_queue):
    dlq, src = dlq_pair(sqs, new_queue)
    fail_once(sqs, src, ["one", "two", "three"])
    handle = sqs.start_message_move_task(SourceArn=arn_of(dlq))["TaskHandle"]
    assert handle
    task = wait_status(sqs, dlq, {"COMPLETED"})
    assert task["Status"] == "COMPLETED"
    assert task["SourceArn"] == arn_of(dlq)
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    assert task["ApproximateNumberOfMessagesToMove"] == 3
    assert isinstance(task["StartedTimestamp"], int) and task["StartedTimestamp"] > 1_600_000_000_000
    for absent in ("TaskHandle", "DestinationArn", "MaxNumberOfMessagesPerSecond", "FailureReason"):
        assert absent not in task
    got = bodies(sqs, src)
    assert sorted(m["Body"] for m in got) == ["one", "three", "two"]
    again = sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    assert again == []


def test_redrive_to_explicit_destination_keeps_body_and_attributes(sqs, new_queue):
    dlq, src = dlq_pair(sqs, new_queue)
    dest = new_queue("-dest")
    fail_once(sqs, src, ["a", "b"])
    sqs.start_message_move_task(SourceArn=arn_of(dlq), DestinationArn=arn_of(dest))
    task = wait_status(sqs, dlq, {"COMPLETED"})
    assert task["Status"] == "COMPLETED"
    assert task["DestinationArn"] == arn_of(dest)
    msgs = sqs.receive_message(
        QueueUrl=dest,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=1,
    )["Messages"]
    assert sorted(m["Body"] for m in msgs) == ["a", "b"]
    for m in msgs:
        assert m["MessageAttributes"]["k"]["StringValue"] == m["Body"]
        assert m["Attributes"]["ApproximateReceiveCount"] == "1"
        assert "DeadLetterQueueSourceArn" not in m["Attributes"]
    assert not bodies(sqs, src)


def test_running_task_lists_handle_and_can_be_cancelled(sqs, new_queue):
    dlq, _src = dlq_pair(sqs, new_queue)
    dest = new_queue("-dest")
    for i in range(20):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{i}")
    handle = sqs.start_message_move_task(
        SourceArn=arn_of(dlq), DestinationArn=arn_of(dest), MaxNumberOfMessagesPerSecond=2
    )["TaskHandle"]
    time.sleep(1.2)
    task = sqs.list_message_move_tasks(SourceArn=arn_of(dlq), MaxResults=10)["Results"][0]
    assert task["Status"] == "RUNNING"
    assert task["TaskHandle"] == handle
    assert task["MaxNumberOfMessagesPerSecond"] == 2
    assert task["ApproximateNumberOfMessagesToMove"] == 20
    assert 1 <= task["ApproximateNumberOfMessagesMoved"] < 20

    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=arn_of(dlq), DestinationArn=arn_of(dest))
    assert error_code(e) == "InvalidParameterValue"

    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 1 <= moved < 20
    task = wait_status(sqs, dlq, {"CANCELLED"})
    assert task["Status"] == "CANCELLED"
    assert "TaskHandle" not in task
    final = task["ApproximateNumberOfMessagesMoved"]
    assert moved <= final <= moved + 1
    time.sleep(0.7)
    assert len(bodies(sqs, dest)) == final
    assert len(bodies(sqs, dlq)) == 20 - final

    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert error_code(e) == "ResourceNotFoundException"


def test_errors(sqs, new_queue):
    dlq, _src = dlq_pair(sqs, new_queue)
    plain = new_queue("-plain")
    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=arn_of(plain))
    assert error_code(e) == "InvalidParameterValue"
    assert "Dead Letter Queue" in e.value.response["Error"]["Message"]

    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=queue_arn_for("no-such-queue-for-move-tasks"))
    assert error_code(e) == "ResourceNotFoundException"

    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(
            SourceArn=arn_of(dlq), DestinationArn=queue_arn_for("no-such-queue-for-move-tasks")
        )
    assert error_code(e) == "ResourceNotFoundException"

    with pytest.raises(ClientError) as e:
        sqs.start_message_move_task(SourceArn=arn_of(dlq), MaxNumberOfMessagesPerSecond=501)
    assert error_code(e) == "InvalidParameterValue"

    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle="not-a-task-handle")
    assert error_code(e) == "InvalidParameterValue"
    assert e.value.response["Error"]["Message"] == "Value for parameter TaskHandle is invalid."

    with pytest.raises(ClientError) as e:
        sqs.list_message_move_tasks(SourceArn=queue_arn_for("no-such-queue-for-move-tasks"))
    assert error_code(e) == "ResourceNotFoundException"

    assert sqs.list_message_move_tasks(SourceArn=arn_of(dlq)).get("Results", []) == []
