"""SendMessage / ReceiveMessage / DeleteMessage, attributes and their MD5s."""

import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import attributes_md5, counts, error_code, md5_hex, receive_one

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

ATTRS = {
    "s": {"DataType": "String", "StringValue": "hello wörld"},
    "n": {"DataType": "Number", "StringValue": "12.5"},
    "b": {"DataType": "Binary", "BinaryValue": bytes([0, 1, 2, 255, 10])},
    "label": {"DataType": "String.label", "StringValue": "custom"},
    "nlabel": {"DataType": "Number.int", "StringValue": "-7"},
    "blabel": {"DataType": "Binary.gif", "BinaryValue": b"GIF89a"},
}
TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def test_send_receive_delete(sqs, queue):
    body = "hello ferry ✓ \u00e9\u4e2d \U0001f600"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body)
    assert UUID_RE.match(sent["MessageId"])
    assert sent["MD5OfMessageBody"] == md5_hex(body)
    assert "MD5OfMessageAttributes" not in sent
    assert "MD5OfMessageSystemAttributes" not in sent

    msg = receive_one(sqs, queue)
    assert msg["Body"] == body
    assert msg["MessageId"] == sent["MessageId"]
    assert msg["MD5OfBody"] == md5_hex(body)
    assert msg["ReceiptHandle"]
    assert "MessageAttributes" not in msg
    assert "Attributes" not in msg

    sqs.delete_message(QueueUrl=queue, ReceiptHandle=msg["ReceiptHandle"])
    assert counts(sqs, queue) == (0, 0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0)


def test_receive_several(sqs, queue):
    bodies = {f"body-{i}" for i in range(15)}
    for b in bodies:
        sqs.send_message(QueueUrl=queue, MessageBody=b)
    first = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert 1 <= len(first) <= 10
    got = [m["Body"] for m in first]
    for _ in range(10):
        more = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        got += [m["Body"] for m in more]
        if len(got) >= 15:
            break
    assert sorted(got) == sorted(bodies), "each message exactly once while in flight"


def test_message_attributes_and_md5(sqs, queue):
    sent = sqs.send_message(QueueUrl=queue, MessageBody="with attributes", MessageAttributes=ATTRS)
    expected_md5 = attributes_md5(ATTRS)
    assert sent["MD5OfMessageAttributes"] == expected_md5
    assert sent["MD5OfMessageBody"] == md5_hex("with attributes")

    msg = receive_one(sqs, queue, MessageAttributeNames=["All"])
    assert msg["MD5OfMessageAttributes"] == expected_md5
    got = msg["MessageAttributes"]
    assert set(got) == set(ATTRS)
    for name, value in ATTRS.items():
        assert got[name]["DataType"] == value["DataType"], name
        if "BinaryValue" in value:
            assert got[name]["BinaryValue"] == value["BinaryValue"], name
            assert "StringValue" not in got[name]
        else:
            assert got[name]["StringValue"] == value["StringValue"], name
            assert "BinaryValue" not in got[name]


def test_md5_of_single_attribute_known_value(sqs, queue):
    # Independent check of the algorithm on a fixed input.
    one = {"a": {"DataType": "String", "StringValue": "b"}}
    assert attributes_md5(one) == md5_hex(
        b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x06String" + b"\x01" + b"\x00\x00\x00\x01b"
    )
    sent = sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=one)
    assert sent["MD5OfMessageAttributes"] == attributes_md5(one)


def test_message_attribute_name_filtering(sqs, queue):
    attributes = {
        "app.one": {"DataType": "String", "StringValue": "1"},
        "app.two": {"DataType": "Number", "StringValue": "2"},
        "other": {"DataType": "String", "StringValue": "3"},
    }
    sqs.send_message(QueueUrl=queue, MessageBody="filter", MessageAttributes=attributes)
    msg = receive_one(sqs, queue, MessageAttributeNames=["app.*"], VisibilityTimeout=0)
    assert set(msg["MessageAttributes"]) == {"app.one", "app.two"}
    # The MD5 covers the attributes returned (SDKs such as Java's verify it that way).
    assert msg["MD5OfMessageAttributes"] == attributes_md5(msg["MessageAttributes"])
    msg = receive_one(sqs, queue, MessageAttributeNames=["other"], VisibilityTimeout=0)
    assert set(msg["MessageAttributes"]) == {"other"}
    msg = receive_one(sqs, queue, MessageAttributeNames=[".*"], VisibilityTimeout=0)
    assert set(msg["MessageAttributes"]) == set(attributes)
    msg = receive_one(sqs, queue, VisibilityTimeout=0)
    assert "MessageAttributes" not in msg


def test_system_attributes(sqs, queue):
    before_ms = int(time.time() * 1000)
    sqs.send_message(QueueUrl=queue, MessageBody="sys")
    msg = receive_one(sqs, queue, AttributeNames=["All"], VisibilityTimeout=0)
    a = msg["Attributes"]
    assert abs(int(a["SentTimestamp"]) - before_ms) < 60_000, "SentTimestamp is epoch milliseconds"
    assert a["ApproximateReceiveCount"] == "1"
    first = int(a["ApproximateFirstReceiveTimestamp"])
    assert first >= int(a["SentTimestamp"])
    assert a["SenderId"]

    msg2 = receive_one(sqs, queue, AttributeNames=["All"])
    a2 = msg2["Attributes"]
    assert a2["ApproximateReceiveCount"] == "2"
    assert a2["ApproximateFirstReceiveTimestamp"] == a["ApproximateFirstReceiveTimestamp"]
    assert a2["SentTimestamp"] == a["SentTimestamp"]

    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=msg2["ReceiptHandle"], VisibilityTimeout=0)
    msg3 = receive_one(sqs, queue, AttributeNames=["ApproximateReceiveCount", "SentTimestamp"])
    assert msg3["Attributes"] == {"ApproximateReceiveCount": "3", "SentTimestamp": a["SentTimestamp"]}


def test_message_system_attribute_names(sqs, queue):
    op = sqs.meta.service_model.operation_model("ReceiveMessage")
    if "MessageSystemAttributeNames" not in op.input_shape.members:
        pytest.skip("this botocore has no MessageSystemAttributeNames (awsQuery era)")
    sqs.send_message(QueueUrl=queue, MessageBody="sys")
    msg = receive_one(sqs, queue, MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"])
    assert set(msg["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}
    assert msg["Attributes"]["ApproximateReceiveCount"] == "1"


def test_aws_trace_header(sqs, queue):
    system = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="traced", MessageSystemAttributes=system)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(system)
    assert "MD5OfMessageAttributes" not in sent
    msg = receive_one(sqs, queue, AttributeNames=["All"])
    assert msg["Attributes"]["AWSTraceHeader"] == TRACE


def test_max_message_size(sqs, new_queue):
    url = new_queue(Attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="a" * 1025)
    assert error_code(e) == "InvalidParameterValue"
    # Attributes count towards the size: name + type + value.
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="a" * 1000,
            MessageAttributes={"attr": {"DataType": "String", "StringValue": "v" * 30}},
        )
    assert error_code(e) == "InvalidParameterValue"
    assert counts(sqs, url) == (1, 0, 0)


def test_default_max_message_size_is_1_mib(sqs, queue):
    sqs.send_message(QueueUrl=queue, MessageBody="a" * 1048576)
    msg = receive_one(sqs, queue)
    assert len(msg["Body"]) == 1048576
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="a" * 1048577)
    assert error_code(e) == "InvalidParameterValue"


def test_invalid_message_contents(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="nul \x00 inside")
    assert error_code(e) == "InvalidMessageContents"
    assert counts(sqs, queue) == (0, 0, 0)


def test_too_many_message_attributes(sqs, queue):
    many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=many)
    assert error_code(e) == "InvalidParameterValue"
    ten = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(10)}
    sent = sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=ten)
    assert sent["MD5OfMessageAttributes"] == attributes_md5(ten)


def test_invalid_attribute_data_type(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=queue, MessageBody="x", MessageAttributes={"a": {"DataType": "Integer", "StringValue": "1"}}
        )
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=queue, MessageBody="x", MessageAttributes={"a": {"DataType": "Number", "StringValue": "abc"}}
        )
    assert error_code(e) == "InvalidParameterValue"


def test_max_number_of_messages_out_of_range(sqs, queue):
    for bad in (0, 11):
        with pytest.raises(ClientError) as e:
            sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=bad)
        assert error_code(e) == "InvalidParameterValue", bad


def test_delay_seconds_out_of_range(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="x", DelaySeconds=901)
    assert error_code(e) == "InvalidParameterValue"


def test_receive_from_missing_queue(sqs, queue):
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=queue)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_message_size_counts_bytes_not_characters(sqs, new_queue):
    url = new_queue(Attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=url, MessageBody="\u00e9" * 512)  # 1024 bytes
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="\u00e9" * 513)  # 1026 bytes, 513 characters
    assert error_code(e) == "InvalidParameterValue"


def test_invalid_characters_outside_allowed_ranges(sqs, queue):
    for body in ("a\ufffe", "bell\x07"):
        with pytest.raises(ClientError) as e:
            sqs.send_message(QueueUrl=queue, MessageBody=body)
        assert error_code(e) == "InvalidMessageContents", repr(body)
    # Tab, newline, carriage return and astral characters are allowed.
    ok = "tab\tnl\ncr\r \U0001f680"
    sqs.send_message(QueueUrl=queue, MessageBody=ok)
    assert receive_one(sqs, queue)["Body"] == ok


@pytest.mark.parametrize(
    "attributes",
    [
        {"AWS.reserved": {"DataType": "String", "StringValue": "v"}},
        {"Amazon.reserved": {"DataType": "String", "StringValue": "v"}},
        {"a..b": {"DataType": "String", "StringValue": "v"}},
        {".start": {"DataType": "String", "StringValue": "v"}},
        {"empty": {"DataType": "String", "StringValue": ""}},
    ],
    ids=["aws-prefix", "amazon-prefix", "double-dot", "leading-dot", "empty-value"],
)
def test_invalid_message_attributes(sqs, queue, attributes):
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=attributes)
    assert error_code(e) == "InvalidParameterValue"
