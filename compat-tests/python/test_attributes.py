"""GetQueueAttributes / SetQueueAttributes."""

import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import attrs, counts, error_code, name_of, queue_arn_for


def test_default_attributes(sqs, queue):
    a = attrs(sqs, queue)
    assert a["QueueArn"] == queue_arn_for(name_of(queue))
    assert a["VisibilityTimeout"] == "30"
    assert a["MaximumMessageSize"] == "1048576"
    assert a["MessageRetentionPeriod"] == "345600"
    assert a["DelaySeconds"] == "0"
    assert a["ReceiveMessageWaitTimeSeconds"] == "0"
    assert a["ApproximateNumberOfMessages"] == "0"
    assert a["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert a["ApproximateNumberOfMessagesDelayed"] == "0"
    created = int(a["CreatedTimestamp"])
    assert abs(created - time.time()) < 120, "CreatedTimestamp is epoch seconds"
    assert int(a["LastModifiedTimestamp"]) >= created
    assert "RedrivePolicy" not in a
    assert "Policy" not in a
    assert "FifoQueue" not in a


def test_individual_attribute_names(sqs, queue):
    a = attrs(sqs, queue, "VisibilityTimeout", "QueueArn")
    assert a == {"VisibilityTimeout": "30", "QueueArn": queue_arn_for(name_of(queue))}


def test_no_attribute_names_returns_none(sqs, queue):
    assert sqs.get_queue_attributes(QueueUrl=queue).get("Attributes", {}) == {}


def test_create_with_attributes(sqs, new_queue):
    url = new_queue(
        Attributes={
            "VisibilityTimeout": "60",
            "DelaySeconds": "2",
            "MaximumMessageSize": "2048",
            "MessageRetentionPeriod": "120",
            "ReceiveMessageWaitTimeSeconds": "3",
        }
    )
    a = attrs(sqs, url)
    assert a["VisibilityTimeout"] == "60"
    assert a["DelaySeconds"] == "2"
    assert a["MaximumMessageSize"] == "2048"
    assert a["MessageRetentionPeriod"] == "120"
    assert a["ReceiveMessageWaitTimeSeconds"] == "3"


def test_approximate_counts_follow_messages(sqs, queue):
    assert counts(sqs, queue) == (0, 0, 0)
    for i in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"m{i}")
    assert counts(sqs, queue) == (3, 0, 0)
    msg = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"][0]
    assert counts(sqs, queue) == (2, 1, 0)
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"])
    assert counts(sqs, queue) == (2, 0, 0)
    sqs.send_message(QueueUrl=queue, MessageBody="later", DelaySeconds=30)
    assert counts(sqs, queue) == (2, 0, 1)


def test_set_queue_attributes(sqs, queue):
    before = attrs(sqs, queue)
    time.sleep(1.05)  # LastModifiedTimestamp has one-second resolution
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"VisibilityTimeout": "90", "DelaySeconds": "5", "MaximumMessageSize": "1024"}
    )
    a = attrs(sqs, queue)
    assert a["VisibilityTimeout"] == "90"
    assert a["DelaySeconds"] == "5"
    assert a["MaximumMessageSize"] == "1024"
    assert a["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert int(a["LastModifiedTimestamp"]) > int(before["LastModifiedTimestamp"])


@pytest.mark.parametrize(
    "name,value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
    ],
)
def test_invalid_attribute_values(sqs, queue, name, value):
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={name: value})
    assert error_code(e) == "InvalidAttributeValue"
    assert attrs(sqs, queue, name)[name] != value


def test_invalid_attribute_value_on_create(sqs, queue_name):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "1000"})
    assert error_code(e) == "InvalidAttributeValue"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=queue_name)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_invalid_attribute_names(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"NoSuchAttribute": "1"})
    assert error_code(e) == "InvalidAttributeName"
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["NoSuchAttribute"])
    assert error_code(e) == "InvalidAttributeName"
    # Read-only attributes cannot be set.
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=queue, Attributes={"QueueArn": "arn:aws:sqs:us-east-1:1:x"})
    assert error_code(e) == "InvalidAttributeName"


def test_redrive_policy_round_trip(sqs, new_queue):
    dlq = new_queue("-dlq")
    dlq_arn = attrs(sqs, dlq, "QueueArn")["QueueArn"]
    src = new_queue()
    sqs.set_queue_attributes(
        QueueUrl=src,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
    )
    policy = json.loads(attrs(sqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert "RedrivePolicy" in attrs(sqs, src)
    # Removing it with an empty string.
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in attrs(sqs, src)


def test_redrive_policy_invalid(sqs, new_queue):
    dlq = new_queue("-dlq")
    dlq_arn = attrs(sqs, dlq, "QueueArn")["QueueArn"]
    src = new_queue()
    for bad in [
        json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 0}),
        json.dumps({"deadLetterTargetArn": dlq_arn}),
        "{not json",
    ]:
        with pytest.raises(ClientError) as e:
            sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": bad})
        assert error_code(e) in ("InvalidParameterValue", "InvalidAttributeValue"), bad
    assert "RedrivePolicy" not in attrs(sqs, src)


def test_attributes_of_missing_queue(sqs, queue):
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_policy_and_redrive_allow_policy_round_trip(sqs, queue):
    arn = attrs(sqs, queue, "QueueArn")["QueueArn"]
    policy = {
        "Version": "2012-10-17",
        "Id": "custom",
        "Statement": [
            {"Sid": "s1", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SQS:SendMessage", "Resource": arn}
        ],
    }
    allow = {"redrivePermission": "denyAll"}
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"Policy": json.dumps(policy), "RedriveAllowPolicy": json.dumps(allow)}
    )
    a = attrs(sqs, queue, "Policy", "RedriveAllowPolicy")
    assert json.loads(a["Policy"]) == policy
    assert json.loads(a["RedriveAllowPolicy"]) == allow
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": ""})
    assert "Policy" not in attrs(sqs, queue)
