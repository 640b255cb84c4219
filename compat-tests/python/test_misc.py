"""Tags, permissions, STS, accounts and regions."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ENDPOINT, attrs, error_code, make_client, name_of, queue_arn_for


def test_tags(sqs, new_queue):
    url = new_queue(tags={"team": "core", "env": "dev"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "dev"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "cost": "42"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "core", "env": "prod", "cost": "42"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "missing-key"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "prod", "cost": "42"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env", "cost"])
    assert not sqs.list_queue_tags(QueueUrl=url).get("Tags")


def test_tags_on_missing_queue(sqs, queue):
    sqs.delete_queue(QueueUrl=queue)
    with pytest.raises(ClientError) as e:
        sqs.list_queue_tags(QueueUrl=queue)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_permissions_in_policy(sqs, queue):
    arn = queue_arn_for(name_of(queue))
    sqs.add_permission(
        QueueUrl=queue, Label="p1", AWSAccountIds=["111122223333"], Actions=["SendMessage", "ReceiveMessage"]
    )
    policy = json.loads(attrs(sqs, queue, "Policy")["Policy"])
    assert policy["Version"] == "2008-10-17"
    statements = policy["Statement"]
    assert len(statements) == 1
    st = statements[0]
    assert st["Sid"] == "p1"
    assert st["Effect"] == "Allow"
    assert st["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    assert sorted(actions) == ["SQS:ReceiveMessage", "SQS:SendMessage"]
    assert st["Resource"] == arn

    sqs.add_permission(QueueUrl=queue, Label="p2", AWSAccountIds=["444455556666"], Actions=["*"])
    assert {s["Sid"] for s in json.loads(attrs(sqs, queue, "Policy")["Policy"])["Statement"]} == {"p1", "p2"}

    with pytest.raises(ClientError) as e:
        sqs.add_permission(QueueUrl=queue, Label="p1", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert error_code(e) == "InvalidParameterValue"

    sqs.remove_permission(QueueUrl=queue, Label="p1")
    assert [s["Sid"] for s in json.loads(attrs(sqs, queue, "Policy")["Policy"])["Statement"]] == ["p2"]
    sqs.remove_permission(QueueUrl=queue, Label="p2")
    policy = attrs(sqs, queue).get("Policy")
    assert policy is None or json.loads(policy).get("Statement") in (None, [])

    with pytest.raises(ClientError) as e:
        sqs.remove_permission(QueueUrl=queue, Label="never-added")
    assert error_code(e) == "InvalidParameterValue"


def test_sts_default_account():
    sts = make_client("sts")
    ident = sts.get_caller_identity()
    assert ident["Account"] == ACCOUNT
    assert ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert ident["UserId"]


def test_twelve_digit_access_key_is_the_account(sqs):
    account = "123456789012"
    sts = make_client("sts", access_key=account)
    assert sts.get_caller_identity()["Account"] == account

    other = make_client("sqs", access_key=account)
    name = f"acct-{uuid.uuid4().hex[:10]}"
    url = other.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert url == f"{ENDPOINT}/{account}/{name}"
        assert attrs(other, url, "QueueArn")["QueueArn"] == queue_arn_for(name, account=account)
        # The default account does not see it.
        with pytest.raises(ClientError) as e:
            sqs.get_queue_url(QueueName=name)
        assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
        assert url not in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    finally:
        other.delete_queue(QueueUrl=url)


def test_regions_are_isolated(sqs):
    eu = make_client("sqs", region="eu-west-1")
    name = f"region-{uuid.uuid4().hex[:10]}"
    url = eu.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert attrs(eu, url, "QueueArn")["QueueArn"] == queue_arn_for(name, region="eu-west-1")
        with pytest.raises(ClientError) as e:
            sqs.get_queue_url(QueueName=name)
        assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    finally:
        eu.delete_queue(QueueUrl=url)
