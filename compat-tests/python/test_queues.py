"""Queue lifecycle: create, get URL, list, delete, names."""

import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT,
    EXPECT_PROTOCOL,
    ENDPOINT,
    error_code,
    http_status,
    make_client,
    queue_url_for,
)


def test_client_speaks_expected_protocol(sqs):
    if not EXPECT_PROTOCOL:
        pytest.skip("FERRY_EXPECT_PROTOCOL not set")
    assert sqs.meta.service_model.protocol == EXPECT_PROTOCOL


def test_create_queue_url_and_idempotence(sqs, queue_name):
    try:
        url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        assert url == queue_url_for(queue_name)
        # Same name and same attributes: same URL, no error.
        again = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "45"})["QueueUrl"]
        assert again == url
        # Same name, different attribute value: QueueAlreadyExists (QueueNameExists in the JSON model).
        with pytest.raises(ClientError) as e:
            sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "46"})
        assert error_code(e) == "QueueAlreadyExists"
        assert http_status(e) == 400
        # The failed create changed nothing.
        vt = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
        assert vt == {"VisibilityTimeout": "45"}
    finally:
        sqs.delete_queue(QueueUrl=queue_url_for(queue_name))


def test_get_queue_url(sqs, queue):
    name = queue.rsplit("/", 1)[1]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == queue
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"] == queue
    # Another account owns no such queue.
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="111122223333")
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"


def test_get_queue_url_nonexistent(sqs):
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=f"nope-{uuid.uuid4().hex}")
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    assert http_status(e) == 400


def test_list_queues_prefix_and_pagination(sqs, new_queue):
    prefix = f"lq{uuid.uuid4().hex[:8]}"
    urls = set()
    try:
        for i in range(3):
            name = f"{prefix}-{i}"
            urls.add(sqs.create_queue(QueueName=name)["QueueUrl"])
        other = sqs.create_queue(QueueName=f"x{prefix}-other")["QueueUrl"]

        listed = sqs.list_queues(QueueNamePrefix=prefix)
        assert set(listed["QueueUrls"]) == urls
        assert "NextToken" not in listed

        page1 = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
        assert len(page1["QueueUrls"]) == 2
        assert page1.get("NextToken")
        page2 = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=page1["NextToken"])
        assert len(page2["QueueUrls"]) == 1
        assert "NextToken" not in page2
        assert set(page1["QueueUrls"]) | set(page2["QueueUrls"]) == urls

        # Without a prefix our queues are all there too (paging through everything).
        everything, token = set(), None
        for _ in range(100):
            kw = {"MaxResults": 1000}
            if token:
                kw["NextToken"] = token
            page = sqs.list_queues(**kw)
            everything |= set(page.get("QueueUrls", []))
            token = page.get("NextToken")
            if not token:
                break
        assert urls | {other} <= everything

        # A prefix that matches nothing: no QueueUrls at all.
        assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=f"none{uuid.uuid4().hex}")
    finally:
        for u in list(urls) + [queue_url_for(f"x{prefix}-other")]:
            try:
                sqs.delete_queue(QueueUrl=u)
            except ClientError:
                pass


def test_list_queues_max_results_out_of_range(sqs):
    with pytest.raises(ClientError) as e:
        sqs.list_queues(MaxResults=1001)
    assert error_code(e) == "InvalidParameterValue"


def test_delete_queue(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as e:
        sqs.get_queue_url(QueueName=queue_name)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ClientError) as e:
        sqs.delete_queue(QueueUrl=url)
    assert error_code(e) == "AWS.SimpleQueueService.NonExistentQueue"
    assert url not in sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls", [])


@pytest.mark.parametrize(
    "bad",
    ["has space", "bang!", "x" * 81, "dot.in.name", "slash/name"],
)
def test_invalid_queue_names(sqs, bad):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=bad)
    assert error_code(e) == "InvalidParameterValue"
    assert http_status(e) == 400


def test_longest_valid_name(sqs):
    name = ("a-_" + uuid.uuid4().hex + "z" * 80)[:80]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert url == queue_url_for(name)
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_queue_url_uses_host_header(sqs, queue):
    # The URL is built from the Host header: 127.0.0.1:<port> here, "localhost:<port>" for another client.
    host_client = make_client("sqs", endpoint=ENDPOINT.replace("127.0.0.1", "localhost"))
    name = queue.rsplit("/", 1)[1]
    url = host_client.get_queue_url(QueueName=name)["QueueUrl"]
    assert url == f"{ENDPOINT.replace('127.0.0.1', 'localhost')}/{ACCOUNT}/{name}"


def test_queue_url_host_is_not_significant(sqs, queue):
    # Behind a docker port mapping, clients use URLs whose host is not the one they connect to.
    name = queue.rsplit("/", 1)[1]
    foreign = f"http://localhost:1/{ACCOUNT}/{name}"  # loopback, nothing listens there
    sqs.send_message(QueueUrl=foreign, MessageBody="via another host")
    msgs = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in msgs] == ["via another host"]
