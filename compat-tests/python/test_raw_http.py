"""Requests no SDK sends: malformed bodies, unknown actions, missing parameters, oversize bodies.
Each must get a 4xx in the protocol's own error format, never a 5xx."""

import json
import re
import uuid

import requests

from conftest import ENDPOINT


def _xml_code(text):
    m = re.search(r"<Code>([^<]*)</Code>", text)
    return m.group(1) if m else None


def test_health():
    r = requests.get(f"{ENDPOINT}/_ferry/health", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["version"]
    assert body["services"]["sqs"] == "running"
    assert body["services"]["sts"] == "running"


def test_json_malformed_body(raw):
    r = raw.json("ListQueues", b"{not json")
    assert r.status_code == 400
    assert r.json()["__type"]
    assert r.headers.get("x-amzn-RequestId")


def test_json_wrong_member_type(raw):
    r = raw.json("ListQueues", {"MaxResults": "ten"})
    assert r.status_code == 400
    assert r.json()["__type"]


def test_json_unknown_operation(raw):
    r = raw.json("NoSuchAction", {})
    assert r.status_code == 400
    assert r.json()["__type"].endswith("UnknownOperationException")


def test_query_unknown_action(raw):
    r = raw.query({"Action": "NoSuchAction"})
    assert r.status_code == 400
    assert _xml_code(r.text) == "InvalidAction"
    assert "<ErrorResponse" in r.text
    assert "<RequestId>" in r.text


def test_json_missing_queue_url(raw):
    r = raw.json("SendMessage", {"MessageBody": "x"})
    assert r.status_code == 400
    body = r.json()
    assert body["__type"]
    assert r.headers.get("x-amzn-query-error", "").endswith(";Sender")


def test_query_missing_queue_url(raw):
    r = raw.query({"Action": "SendMessage", "MessageBody": "x"})
    assert r.status_code == 400
    assert _xml_code(r.text)
    assert "<Type>Sender</Type>" in r.text


def test_json_error_shape_and_query_error_header(raw):
    r = raw.json("GetQueueUrl", {"QueueName": f"missing-{uuid.uuid4().hex}"})
    assert r.status_code == 400
    body = r.json()
    assert body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert body.get("message") or body.get("Message")
    assert r.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert r.headers.get("x-amzn-RequestId")


def test_query_error_shape(raw):
    r = raw.query({"Action": "GetQueueUrl", "QueueName": f"missing-{uuid.uuid4().hex}"})
    assert r.status_code == 400
    assert r.headers["Content-Type"].startswith("text/xml")
    assert _xml_code(r.text) == "AWS.SimpleQueueService.NonExistentQueue"
    assert "<Type>Sender</Type>" in r.text
    assert "<Message>" in r.text


def test_query_success_shape(raw):
    r = raw.query({"Action": "ListQueues", "QueueNamePrefix": f"none-{uuid.uuid4().hex}"})
    assert r.status_code == 200
    assert "<ListQueuesResponse" in r.text
    assert "<RequestId>" in r.text


def test_oversize_json_body(raw, queue):
    body = json.dumps({"QueueUrl": queue, "MessageBody": "a" * (3 * 1024 * 1024)})
    r = raw.json("SendMessage", body)
    assert 400 <= r.status_code < 500
    assert r.status_code == 400, f"AWS answers 400 to an oversize message, got {r.status_code}"


def test_oversize_query_body(raw, queue):
    r = raw.query({"Action": "SendMessage", "QueueUrl": queue, "MessageBody": "a" * (3 * 1024 * 1024)})
    assert r.status_code == 400, f"AWS answers 400 to an oversize message, got {r.status_code}"
    assert _xml_code(r.text)


def test_json_unsigned_request_is_still_an_sqs_request():
    # Unsigned requests are accepted (any credentials); the region defaults to us-east-1.
    r = requests.post(
        ENDPOINT + "/",
        data=json.dumps({"QueueNamePrefix": f"none-{uuid.uuid4().hex}"}),
        headers={"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"},
        timeout=10,
    )
    assert r.status_code < 500


def test_query_batch_without_entries(raw, queue):
    # No entry parameters at all (what a hand-written client sends for an empty batch).
    r = raw.query({"Action": "SendMessageBatch", "QueueUrl": queue})
    assert r.status_code == 400
    assert _xml_code(r.text) == "AWS.SimpleQueueService.EmptyBatchRequest"
    r = raw.query({"Action": "DeleteMessageBatch", "QueueUrl": queue})
    assert r.status_code == 400
    assert _xml_code(r.text) == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_json_batch_without_entries(raw, queue):
    r = raw.json("SendMessageBatch", {"QueueUrl": queue, "Entries": []})
    assert r.status_code == 400
    assert r.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.EmptyBatchRequest;Sender"
    assert r.json()["__type"] == "com.amazonaws.sqs#EmptyBatchRequest"


def test_query_get_request(queue):
    # Old clients may send awsQuery as a GET with the parameters in the query string.
    r = requests.get(
        ENDPOINT + "/",
        params={"Action": "GetQueueAttributes", "QueueUrl": queue, "AttributeName.1": "VisibilityTimeout",
                "Version": "2012-11-05"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert "<Name>VisibilityTimeout</Name>" in r.text and "<Value>30</Value>" in r.text


# ------------------------------------------------------------- awsQuery details (issue 9, 13-16)

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _post(url, body, **headers):
    return requests.post(url, data=body, headers={**FORM, **headers}, timeout=30)


def test_queue_url_without_action(queue):
    r = _post(queue, "Version=2012-11-05", Accept="application/json")
    assert r.status_code == 404
    assert r.text == "<UnknownOperationException/>"


def test_queue_less_action_at_a_queue_url(queue):
    for action in ("CreateQueue", "ListQueues"):
        r = _post(queue, f"Action={action}&QueueName=x&Version=2012-11-05")
        assert r.status_code == 400
        assert _xml_code(r.text) == "InvalidAction"
        assert f"The action {action} is not valid for this endpoint." in r.text
    # awsJson requests to a queue URL keep working.
    r = requests.post(
        queue,
        data=json.dumps({"QueueUrl": queue, "AttributeNames": ["VisibilityTimeout"]}),
        headers={"X-Amz-Target": "AmazonSQS.GetQueueAttributes", "Content-Type": "application/x-amz-json-1.0"},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["Attributes"]["VisibilityTimeout"] == "30"


def test_empty_receive_result_element(queue):
    r = _post(ENDPOINT + "/", {"Action": "ReceiveMessage", "QueueUrl": queue, "Version": "2012-11-05"})
    assert r.status_code == 200
    assert "<ReceiveMessageResult/>" in r.text


def test_query_answers_in_json_when_asked(queue):
    body = 'line\r\nwith "quotes" and &quot; kept'
    r = _post(ENDPOINT + "/", {"Action": "SendMessage", "QueueUrl": queue, "MessageBody": body}, Accept="application/json")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json()["SendMessageResponse"]["SendMessageResult"]["MessageId"]
    r = _post(ENDPOINT + "/", {"Action": "ListQueues", "QueueNamePrefix": queue.rsplit("/", 1)[1]}, Accept="application/json")
    listed = r.json()["ListQueuesResponse"]
    assert listed["ListQueuesResult"]["queueUrls"] == [queue]
    assert listed["ResponseMetadata"]["RequestId"]
    r = _post(ENDPOINT + "/", {"Action": "ReceiveMessage", "QueueUrl": queue}, Accept="application/json")
    (msg,) = r.json()["ReceiveMessageResponse"]["ReceiveMessageResult"]["messages"]
    assert msg["Body"] == body


def test_huge_body_gets_a_readable_413():
    # 20 MB: the answer must be read by the client, not a connection reset mid-upload.
    r = requests.post(
        ENDPOINT + "/",
        data=b"a" * (20 * 1024 * 1024),
        headers={"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"},
        timeout=60,
    )
    assert r.status_code == 413
