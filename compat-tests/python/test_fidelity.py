"""Behaviours recorded from AWS that an AWS-validated suite checks (issue 9): validation and error
shapes, FIFO batches and group serving order, visibility, attribute selection, trace headers.

Runs on both protocols (awsJson1.0 with current boto3, awsQuery with botocore 1.31); also STS
AssumeRole (item 15), whose credentials act in the role's account.
"""

import base64
import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import (
    ENDPOINT,
    REGION,
    _record,
    attrs,
    counts,
    error_code,
    http_status,
    make_client,
    name_of,
    queue_arn_for,
)


def message_of(excinfo):
    return excinfo.value.response["Error"]["Message"]


def fifo_queue(new_queue, **attributes):
    return new_queue(".fifo", Attributes={"FifoQueue": "true", **attributes})


# ------------------------------------------------------------------------ 1. awsJson error types


def test_validation_errors_keep_their_query_code_and_json_type(sqs_unvalidated, queue, protocol):
    sqs = sqs_unvalidated
    with pytest.raises(ClientError) as e:
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=11)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400
    with pytest.raises(ClientError) as missing:
        sqs.send_message(QueueUrl=queue, MessageBody="")
    assert error_code(missing) == "MissingParameter"
    if protocol == "json":
        # botocore keeps the JSON __type beside the x-amzn-query-error code.
        assert e.value.response["Error"]["QueryErrorCode"] == "InvalidParameterValueException"
        assert missing.value.response["Error"]["QueryErrorCode"] == "MissingRequiredParameterException"


def test_batch_entry_failures_use_the_query_code(sqs, new_queue):
    url = new_queue(Attributes={"MaximumMessageSize": "1024"})
    out = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "big", "MessageBody": "x" * 1100}])
    assert out["Failed"][0]["Code"] == "InvalidParameterValue"


# ------------------------------------------------------------------- 2. empty strings are values


def test_empty_group_id_on_standard_queue(sqs_unvalidated, queue):
    with pytest.raises(ClientError) as e:
        sqs_unvalidated.send_message(QueueUrl=queue, MessageBody="m", MessageGroupId="")
    assert error_code(e) == "InvalidParameterValue"
    assert message_of(e) == (
        "Value  for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include "
        "alphanumeric and punctuation characters. 1 to 128 in length."
    )
    assert counts(sqs_unvalidated, queue) == (0, 0, 0)


def test_empty_deduplication_id_on_fifo_queue(sqs_unvalidated, new_queue):
    url = fifo_queue(new_queue)
    with pytest.raises(ClientError) as e:
        sqs_unvalidated.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="")
    assert error_code(e) == "InvalidParameterValue"
    assert message_of(e).startswith("Value  for parameter MessageDeduplicationId is invalid.")


def test_empty_batch_entry_id(sqs_unvalidated, queue):
    with pytest.raises(ClientError) as e:
        sqs_unvalidated.send_message_batch(QueueUrl=queue, Entries=[{"Id": "", "MessageBody": "m"}])
    assert error_code(e) == "AWS.SimpleQueueService.InvalidBatchEntryId"
    assert message_of(e) == (
        "A batch entry id can only contain alphanumeric characters, hyphens and underscores. "
        "It can be at most 80 letters long."
    )


def test_empty_entry_list_is_still_an_empty_batch(sqs_unvalidated, queue):
    # awsQuery writes the empty list as `Entries=`; it must read as a list, not as a value.
    with pytest.raises(ClientError) as e:
        sqs_unvalidated.send_message_batch(QueueUrl=queue, Entries=[])
    assert error_code(e) == "AWS.SimpleQueueService.EmptyBatchRequest"


# ------------------------------------------------------------------------ 3. FIFO batch entries


def test_fifo_batch_without_group_fails_whole(sqs_unvalidated, new_queue):
    url = fifo_queue(new_queue, ContentBasedDeduplication="true")
    entries = [
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g"},
        {"Id": "b", "MessageBody": "b"},
    ]
    with pytest.raises(ClientError) as e:
        sqs_unvalidated.send_message_batch(QueueUrl=url, Entries=entries)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400
    assert counts(sqs_unvalidated, url) == (0, 0, 0), "nothing enqueued"


def test_fifo_batch_without_deduplication_id_fails_whole(sqs, new_queue):
    url = fifo_queue(new_queue)
    entries = [
        {"Id": "a", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "a"},
        {"Id": "b", "MessageBody": "b", "MessageGroupId": "g"},
    ]
    with pytest.raises(ClientError) as e:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert error_code(e) == "InvalidParameterValue"
    assert counts(sqs, url) == (0, 0, 0)


# ------------------------------------------------------------------------------- 4. batch sizes


def test_batch_limited_by_service_and_entries_by_queue(sqs, new_queue):
    url = new_queue(Attributes={"MaximumMessageSize": "1024"})
    # Three entries of 600 bytes: more than the queue's maximum together, each within it.
    out = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "x" * 600} for i in range(3)]
    )
    assert len(out["Successful"]) == 3 and not out.get("Failed")
    out = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "small", "MessageBody": "ok"}, {"Id": "big", "MessageBody": "x" * 1025}],
    )
    assert [s["Id"] for s in out["Successful"]] == ["small"]
    (failed,) = out["Failed"]
    assert failed["Id"] == "big" and failed["SenderFault"] is True
    assert failed["Message"] == (
        "One or more parameters cannot be validated. Reason: Message must be shorter than 1024 bytes."
    )
    assert counts(sqs, url)[0] == 4


# --------------------------------------------------------------------------------- 5. attributes


def test_attribute_names_may_be_non_ascii(sqs, queue):
    name = "attr.1øßä"
    sqs.send_message(
        QueueUrl=queue, MessageBody="m", MessageAttributes={name: {"DataType": "String", "StringValue": "v"}}
    )
    msg = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert msg["MessageAttributes"][name]["StringValue"] == "v"


def test_control_character_in_attribute_value(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.send_message(
            QueueUrl=queue,
            MessageBody="m",
            MessageAttributes={"a": {"DataType": "String", "StringValue": "bad\u0001value"}},
        )
    assert error_code(e) == "InvalidParameterValue"


def test_too_many_tags_in_one_call(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.tag_queue(QueueUrl=queue, Tags={f"k{i}": "v" for i in range(51)})
    assert error_code(e) == "InvalidParameterValue"
    assert message_of(e) == f"Too many tags added for queue {name_of(queue)}."


# ----------------------------------------------------------------------- 6. queue type attributes


def test_standard_queue_refuses_fifo_attributes(sqs, queue, queue_name):
    for value in ("true", "false"):
        with pytest.raises(ClientError) as e:
            sqs.set_queue_attributes(QueueUrl=queue, Attributes={"FifoQueue": value})
        assert error_code(e) == "InvalidAttributeName"
        assert message_of(e) == "Unknown Attribute FifoQueue."
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "false"})
    assert error_code(e) == "InvalidAttributeName"
    assert message_of(e) == "Unknown Attribute FifoQueue."
    for name, value in (("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")):
        with pytest.raises(ClientError) as e:
            sqs.create_queue(QueueName=queue_name, Attributes={name: value})
        assert error_code(e) == "InvalidAttributeName"
        assert message_of(e) == f"You can specify the {name} only when FifoQueue is set to true."


def test_fifo_queue_type_cannot_change(sqs, new_queue):
    url = fifo_queue(new_queue)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert error_code(e) == "InvalidAttributeValue"
    assert message_of(e) == (
        "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
    )


def test_empty_kms_key_turns_encryption_off(sqs, queue):
    sqs.set_queue_attributes(
        QueueUrl=queue, Attributes={"KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600"}
    )
    a = attrs(sqs, queue)
    assert a["KmsMasterKeyId"] == "alias/aws/sqs" and a["KmsDataKeyReusePeriodSeconds"] == "600"
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"KmsMasterKeyId": ""})
    a = attrs(sqs, queue)
    assert "KmsMasterKeyId" not in a
    assert "KmsDataKeyReusePeriodSeconds" not in a


# -------------------------------------------------------------------------------- 7. permissions


def test_permission_limits_and_unknown_labels(sqs, queue):
    with pytest.raises(ClientError) as e:
        sqs.remove_permission(QueueUrl=queue, Label="nope")
    assert error_code(e) == "InvalidParameterValue"
    assert message_of(e) == "Value nope for parameter Label is invalid. Reason: can't find label."
    actions = [
        "SendMessage",
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
        "GetQueueUrl",
        "PurgeQueue",
        "ListQueueTags",
    ]
    with pytest.raises(ClientError) as e:
        sqs.add_permission(QueueUrl=queue, Label="many", AWSAccountIds=["111122223333"], Actions=actions)
    assert error_code(e) == "OverLimit"
    assert http_status(e) == 403
    assert message_of(e) == "8 Actions were found, maximum allowed is 7."
    sqs.add_permission(QueueUrl=queue, Label="seven", AWSAccountIds=["111122223333"], Actions=actions[:7])
    assert json.loads(attrs(sqs, queue, "Policy")["Policy"])["Version"] == "2008-10-17"


# -------------------------------------------------------------------------------- 8. move tasks


def test_cancel_task_of_a_missing_source_queue(sqs, new_queue):
    dlq = new_queue("-dlq")
    policy = json.dumps({"deadLetterTargetArn": queue_arn_for(name_of(dlq)), "maxReceiveCount": 1})
    new_queue("-src", Attributes={"RedrivePolicy": policy})
    dest = new_queue("-dest")
    for i in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody=f"m{i}")
    handle = sqs.start_message_move_task(
        SourceArn=queue_arn_for(name_of(dlq)),
        DestinationArn=queue_arn_for(name_of(dest)),
        MaxNumberOfMessagesPerSecond=1,
    )["TaskHandle"]
    sqs.delete_queue(QueueUrl=dlq)
    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert error_code(e) == "ResourceNotFoundException"
    assert http_status(e) == 404
    assert message_of(e) == "The resource that you specified for the SourceArn parameter doesn't exist."
    garbage = base64.b64encode(b"not a handle").decode()
    with pytest.raises(ClientError) as e:
        sqs.cancel_message_move_task(TaskHandle=garbage)
    assert error_code(e) == "InvalidParameterValue"
    assert message_of(e) == "Value for parameter TaskHandle is invalid."


# ------------------------------------------------------------------------- 9. FIFO serving order


def test_fifo_groups_served_in_the_order_they_became_available(sqs, new_queue):
    """AWS's recorded example."""
    url = fifo_queue(new_queue)
    for body, group in (("A1", "A"), ("B1", "B"), ("B2", "B"), ("C1", "C"), ("A2", "A")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)

    def take(n):
        out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=n, VisibilityTimeout=0)
        return [m["Body"] for m in out.get("Messages", [])]

    assert take(3) == ["A1", "A2", "B1"]
    assert take(10) == ["C1", "A1", "A2", "B1", "B2"]


def test_fifo_message_ahead_of_an_in_flight_one_is_receivable(sqs, new_queue):
    url = fifo_queue(new_queue)
    for body in ("a1", "a2", "a3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a", MessageDeduplicationId=body)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in got] == ["a1", "a2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in again] == ["a1"], "a3 waits behind a2, in flight"


# ------------------------------------------------------------------------ 10. visibility, purge


def test_purge_clears_fifo_deduplication(sqs, new_queue):
    url = fifo_queue(new_queue)
    first = sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.purge_queue(QueueUrl=url)
    second = sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d")
    assert second["MessageId"] != first["MessageId"]
    msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["MessageId"] for m in msgs] == [second["MessageId"]]


# --------------------------------------------------------------- 11. message attribute selection


def test_message_attribute_name_selection(sqs, queue):
    names = ["Hello", "Help.Me", "Other"]
    sqs.send_message(
        QueueUrl=queue,
        MessageBody="m",
        MessageAttributes={n: {"DataType": "String", "StringValue": n} for n in names},
    )
    msg = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["Hel.*"], VisibilityTimeout=0)["Messages"][0]
    assert sorted(msg["MessageAttributes"]) == ["Hello", "Help.Me"]
    msg = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["*"], VisibilityTimeout=0)["Messages"][0]
    assert sorted(msg["MessageAttributes"]) == names


# ------------------------------------------------------------------------------ 12. trace header


def test_trace_header_becomes_aws_trace_header(sqs, queue):
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

    def add_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    sqs.meta.events.register("before-sign.sqs.SendMessage", add_header)
    try:
        sqs.send_message(QueueUrl=queue, MessageBody="traced")
    finally:
        sqs.meta.events.unregister("before-sign.sqs.SendMessage", add_header)
    msg = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert msg["Attributes"]["AWSTraceHeader"] == trace


# ------------------------------------------------------------------- 14. the missing-queue text


def test_missing_queue_message_per_protocol(sqs, protocol, queue_name):
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=queue_name)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    if protocol == "query":
        assert message_of(e) == "The specified queue does not exist for this wsdl version."
    else:
        assert message_of(e) == "The specified queue does not exist."


# ------------------------------------------------------------------------------ 15. AssumeRole


def test_assume_role_credentials_act_in_the_role_account(sqs, queue_name):
    role_account = "111111111111"
    sts = make_client("sts")
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{role_account}:role/cross-account", RoleSessionName="fidelity")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{role_account}:assumed-role/cross-account/fidelity"

    def client(service):
        c = boto3.session.Session().client(
            service,
            endpoint_url=ENDPOINT,
            region_name=REGION,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            config=Config(retries={"total_max_attempts": 1}),
        )
        c.meta.events.register("after-call", _record)
        return c

    assert client("sts").get_caller_identity()["Account"] == role_account
    assumed = client("sqs")
    url = assumed.create_queue(QueueName=queue_name)["QueueUrl"]
    try:
        assert f"/{role_account}/" in url
        assert queue_arn_for(queue_name, account=role_account) == attrs(assumed, url, "QueueArn")["QueueArn"]
        with pytest.raises(ClientError):
            sqs.get_queue_url(QueueName=queue_name)
        assert sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=role_account)["QueueUrl"] == url
    finally:
        assumed.delete_queue(QueueUrl=url)
