"""Shared fixtures for the boto3 compatibility suites.

The same test files run twice: with current boto3 (SQS over awsJson1.0) and with boto3 1.28 /
botocore 1.31 (SQS over awsQuery). FERRY_EXPECT_PROTOCOL says which one this run must be using.

Every response a client sees is recorded; a test fails if ferry answered any request with a 5xx
or without an x-amzn-RequestId header.
"""

import hashlib
import json
import os
import re
import struct
import threading
import uuid

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.config import Config

ENDPOINT = os.environ.get("FERRY_ENDPOINT", "http://127.0.0.1:4566").rstrip("/")
EXPECT_PROTOCOL = os.environ.get("FERRY_EXPECT_PROTOCOL", "")
REGION = "us-east-1"
ACCOUNT = "000000000000"

_seen = []  # (status, operation, has_request_id)
_seen_lock = threading.Lock()


def _record(http_response, model, **_kwargs):
    headers = {k.lower() for k in http_response.headers.keys()}
    with _seen_lock:
        _seen.append((http_response.status_code, model.name, "x-amzn-requestid" in headers))


def make_client(service="sqs", *, access_key="test", region=REGION, validate=True, endpoint=None):
    """A client with no retries (a 5xx must surface, not be retried away) and our response hook."""
    cfg = Config(
        region_name=region,
        retries={"total_max_attempts": 1, "mode": "standard"},
        parameter_validation=validate,
        connect_timeout=5,
        read_timeout=40,
    )
    session = boto3.session.Session()
    client = session.client(
        service,
        endpoint_url=endpoint or ENDPOINT,
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
        region_name=region,
        config=cfg,
    )
    client.meta.events.register("after-call", _record)
    return client


@pytest.fixture(autouse=True)
def no_server_errors():
    """No request made by a test may get a 5xx, and every response carries x-amzn-RequestId."""
    with _seen_lock:
        _seen.clear()
    yield
    with _seen_lock:
        seen = list(_seen)
    bad = [(s, op) for s, op, _ in seen if s >= 500]
    assert not bad, f"ferry answered with a server error: {bad}"
    missing = [(s, op) for s, op, rid in seen if not rid]
    assert not missing, f"responses without x-amzn-RequestId: {missing}"


@pytest.fixture(scope="session")
def sqs():
    return make_client("sqs")


@pytest.fixture(scope="session")
def sqs_unvalidated():
    """Skips botocore's client-side validation, so the server's own checks are exercised."""
    return make_client("sqs", validate=False)


@pytest.fixture(scope="session")
def sns():
    return make_client("sns")


@pytest.fixture
def new_topic(sns):
    """Makes topics (`new_topic(suffix, **create_topic_args)` returns the ARN), deleted afterwards."""
    created = []

    def make(suffix="", **kwargs):
        arn = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}{suffix}", **kwargs)["TopicArn"]
        created.append(arn)
        return arn

    yield make
    for arn in created:
        sns.delete_topic(TopicArn=arn)


@pytest.fixture(scope="session")
def protocol(sqs):
    return sqs.meta.service_model.protocol


def _slug(nodeid):
    name = nodeid.split("::")[-1]
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:40]


@pytest.fixture
def queue_name(request):
    return f"t-{_slug(request.node.name)}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def new_queue(sqs, request):
    """Factory: new_queue(suffix='', **create_kwargs) -> queue URL; deleted after the test."""
    created = []
    base = _slug(request.node.name)

    def make(suffix="", **kwargs):
        name = f"t-{base}-{uuid.uuid4().hex[:10]}{suffix}"
        url = sqs.create_queue(QueueName=name, **kwargs)["QueueUrl"]
        created.append(url)
        return url

    yield make
    for url in created:
        try:
            sqs.delete_queue(QueueUrl=url)
        except Exception:
            pass


@pytest.fixture
def queue(new_queue):
    return new_queue()


# ---------------------------------------------------------------- helpers used by several files


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def http_status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def queue_url_for(name, account=ACCOUNT):
    return f"{ENDPOINT}/{account}/{name}"


def queue_arn_for(name, account=ACCOUNT, region=REGION):
    return f"arn:aws:sqs:{region}:{account}:{name}"


def name_of(url):
    return url.rstrip("/").rsplit("/", 1)[1]


def attrs(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"])["Attributes"]


def counts(sqs, url):
    a = attrs(
        sqs,
        url,
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


def md5_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def attributes_md5(attributes):
    """MD5 of message attributes exactly as AWS documents it (sorted names; length-prefixed fields;
    transport byte 1 for String/Number types, 2 for Binary types)."""

    def field(b):
        return struct.pack(">I", len(b)) + b

    buf = b""
    for name in sorted(attributes):
        value = attributes[name]
        data_type = value["DataType"]
        buf += field(name.encode("utf-8"))
        buf += field(data_type.encode("utf-8"))
        if data_type.startswith("Binary"):
            buf += b"\x02" + field(bytes(value["BinaryValue"]))
        else:
            buf += b"\x01" + field(value["StringValue"].encode("utf-8"))
    return hashlib.md5(buf).hexdigest()


def receive_one(sqs, url, **kwargs):
    kwargs.setdefault("WaitTimeSeconds", 2)
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, **kwargs).get("Messages", [])
    assert len(msgs) == 1, f"expected one message, got {msgs}"
    return msgs[0]


def drain(sqs, url, **kwargs):
    """Receive until the queue returns nothing; messages stay in flight (not deleted)."""
    out = []
    for _ in range(1000):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, **kwargs).get(
            "Messages", []
        )
        if not msgs:
            break
        out.extend(msgs)
    return out


# ---------------------------------------------------------------- raw HTTP (signed, like an SDK)


class Raw:
    """Signed raw requests, for what an SDK will not send. Responses are recorded like SDK calls."""

    def __init__(self, endpoint=ENDPOINT, access_key="test", region=REGION):
        self.endpoint = endpoint
        self.creds = botocore.credentials.Credentials(access_key, "test")
        self.region = region

    def _send(self, headers, body, service="sqs", op="raw"):
        req = botocore.awsrequest.AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers=headers)
        botocore.auth.SigV4Auth(self.creds, service, self.region).add_auth(req)
        resp = requests.post(self.endpoint + "/", data=body, headers=dict(req.headers.items()), timeout=30)
        with _seen_lock:
            _seen.append((resp.status_code, op, "x-amzn-requestid" in {k.lower() for k in resp.headers}))
        return resp

    def json(self, action, body):
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        headers = {
            "X-Amz-Target": f"AmazonSQS.{action}",
            "Content-Type": "application/x-amz-json-1.0",
        }
        return self._send(headers, body, op=f"json:{action}")

    def query(self, params, service="sqs"):
        params = dict(params)
        params.setdefault("Version", "2012-11-05")
        body = "&".join(
            f"{requests.utils.quote(str(k), safe='')}={requests.utils.quote(str(v), safe='')}"
            for k, v in params.items()
        ).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self._send(headers, body, service=service, op=f"query:{params.get('Action')}")


@pytest.fixture(scope="session")
def raw():
    return Raw()
