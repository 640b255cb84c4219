"""SNS fan-out through boto3: publish to ferry's queues (the envelope byte for byte, raw delivery,
filter policies on attributes and on the body, FIFO order and deduplication), publish validation,
and HTTP subscriptions against a real HTTP server on 127.0.0.1 (confirmation, notifications,
retries, dead-letter queue)."""

import base64
import http.server
import json
import re
import threading
import time
from urllib.parse import urlparse

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ENDPOINT, error_code, make_client, name_of, queue_arn_for


def subscribed_queue(sns, sqs, new_queue, topic_arn, suffix="", queue_attributes=None, **attributes):
    url = new_queue(suffix, **({"Attributes": queue_attributes} if queue_attributes else {}))
    sub = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn_for(name_of(url)),
        Attributes={k: v for k, v in attributes.items()}, ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return url, sub


def drain(sqs, url, want, timeout=5.0):
    got, deadline = [], time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"], AttributeNames=["All"])
        for m in r.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got.append(m)
    return got


def test_envelope_to_sqs_as_aws_writes_it(sns, sqs, new_topic, new_queue):
    arn = new_topic()
    url, sub = subscribed_queue(sns, sqs, new_queue, arn)
    text = 'ö§a1"_!?,. £$-'
    mid = sns.publish(TopicArn=arn, Message=text, Subject="subject",
                      MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "99.12"},
                                         "bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}})["MessageId"]
    [m] = drain(sqs, url, 1)
    assert m["MessageId"] != mid
    assert "MessageAttributes" not in m and "MD5OfMessageAttributes" not in m
    body = m["Body"]
    assert body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : "' + mid + '",\n')
    env = json.loads(body)
    assert list(env) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                         "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes"]
    assert env["Message"] == text and env["TopicArn"] == arn and env["Subject"] == "subject"
    assert env["UnsubscribeURL"].endswith(f"/?Action=Unsubscribe&SubscriptionArn={sub}")
    assert env["MessageAttributes"] == {
        "attr1": {"Type": "Number", "Value": "99.12"},
        "bin": {"Type": "Binary", "Value": base64.b64encode(b"\x00\xff").decode()},
    }
    assert env["Timestamp"].endswith("Z") and len(env["Timestamp"]) == 24


def test_raw_delivery_carries_attributes(sns, sqs, new_topic, new_queue):
    arn = new_topic()
    url, sub = subscribed_queue(sns, sqs, new_queue, arn, RawMessageDelivery="true")
    sns.publish(TopicArn=arn, Message="raw text", Subject="dropped",
                MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "99.12"},
                                   "bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}})
    [m] = drain(sqs, url, 1)
    assert m["Body"] == "raw text"
    assert m["MessageAttributes"]["attr1"] == {"DataType": "Number", "StringValue": "99.12"}
    assert m["MessageAttributes"]["bin"]["BinaryValue"] == b"\x01\x02"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="false")
    sns.publish(TopicArn=arn, Message="now wrapped")
    [m] = drain(sqs, url, 1)
    assert json.loads(m["Body"])["Message"] == "now wrapped"


def test_message_structure_json_per_protocol(sns, sqs, new_topic, new_queue):
    arn = new_topic()
    url, _ = subscribed_queue(sns, sqs, new_queue, arn, RawMessageDelivery="true")
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "d", "sqs": "test sqs"}))
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "fallback", "sqs": {"o": 1}}))
    assert sorted(m["Body"] for m in drain(sqs, url, 2)) == ["fallback", "test sqs"]
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"sqs": "x"}))
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Message Structure - No default entry in JSON message body"


FILTER_CASES = [
    # (scope, policy, matching attributes or bodies, non-matching ones)
    ("MessageAttributes", {"attr1": [{"numeric": [">", 0, "<=", 100]}]},
     [{"attr1": ("Number", "99")}, {"attr1": ("Number", "99.12")}], [{"attr1": ("Number", "111")}]),
    ("MessageAttributes", {"store": [{"exists": True}]}, [{"store": ("String", "s"), "def": ("String", "d")}], [{"attr1": ("String", "a")}]),
    ("MessageAttributes", {"store": [{"exists": False}]}, [{"def": ("String", "d")}], [{"store": ("String", "s")}]),
    ("MessageAttributes", {"e": [{"prefix": "ab"}, {"suffix": "yz"}]}, [{"e": ("String", "abc")}, {"e": ("String", "xyz")}], [{"e": ("String", "b")}]),
    ("MessageAttributes", {"e": [{"anything-but": ["x", "y"]}]}, [{"e": ("String", "z")}], [{"e": ("String", "x")}]),
    ("MessageAttributes", {"e": [{"equals-ignore-case": "AbC"}]}, [{"e": ("String", "abc")}], [{"e": ("String", "abd")}]),
    ("MessageAttributes", {"ip": [{"cidr": "10.0.0.0/24"}]}, [{"ip": ("String", "10.0.0.255")}], [{"ip": ("String", "10.0.1.1")}]),
    ("MessageAttributes", {"tags": ["red"]}, [{"tags": ("String.Array", '["blue","red"]')}], [{"tags": ("String.Array", '["blue"]')}]),
    ("MessageBody", {"object": {"key": [{"prefix": "auto-"}, "hardcodedvalue"], "nested_key": [{"exists": False}]}, "test": [{"exists": False}]},
     [{"object": {"key": "auto-test"}}, {"object": {"key": "hardcodedvalue"}}],
     [{"object": {"key": "test-auto"}}, {"object": {"key": "auto-test"}, "test": "just-exists"},
      {"object": {"key": "auto-test", "nested_key": "just-exists"}}, {"test": "auto-test"}]),
    ("MessageBody", {"object.nested": ["string.value"]},
     [{"object": {"nested": "string.value"}}, {"object.nested": "string.value"}], [{"object": {"nested": "test-auto"}}]),
    ("MessageBody", {"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]},
     [{"metricName": "CPUUtilization"}, {"namespace": "AWS/EC2"}], [{"metricName": "AWS/EC2"}]),
]


@pytest.mark.parametrize("scope,policy,yes,no", FILTER_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FILTER_CASES)])
def test_filter_policies(sns, sqs, new_topic, new_queue, scope, policy, yes, no):
    arn = new_topic()
    url, _ = subscribed_queue(sns, sqs, new_queue, arn, RawMessageDelivery="true",
                              FilterPolicy=json.dumps(policy), FilterPolicyScope=scope)
    expected = []
    for i, case in enumerate(yes + no):
        if scope == "MessageBody":
            body, attrs = json.dumps(case), {}
        else:
            body = f"m{i}"
            attrs = {k: {"DataType": t, "StringValue": v} for k, (t, v) in case.items()}
        sns.publish(TopicArn=arn, Message=body, MessageAttributes=attrs)
        if i < len(yes):
            expected.append(body)
    got = drain(sqs, url, len(expected) + 1, timeout=3)
    assert sorted(m["Body"] for m in got) == sorted(expected)


def test_publish_batch_results_and_errors(sns, sqs, new_topic, new_queue):
    arn = new_topic()
    url, _ = subscribed_queue(sns, sqs, new_queue, arn, RawMessageDelivery="true")
    out = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "valid-message_123", "Message": "2"}])
    assert [s["Id"] for s in out["Successful"]] == ["a", "valid-message_123"] and out["Failed"] == []
    assert sorted(m["Body"] for m in drain(sqs, url, 2)) == ["1", "2"]
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}])
    assert (error_code(e), e.value.response["Error"]["Message"]) == ("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.")
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "message.id", "Message": "1"}])
    assert e.value.response["Error"]["Message"] == "The Id of a batch entry in the batch request contains an impermissible character: message.id"
    with pytest.raises(ClientError) as e:
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": str(i), "Message": "m"} for i in range(11)])
    assert error_code(e) == "TooManyEntriesInBatchRequest"


def test_publish_validation(sns, new_topic):
    arn = new_topic()
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Empty message"
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="x" * 262_133, MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "1"}})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Message too long"
    sns.publish(TopicArn=arn, Message="x" * 262_132, MessageAttributes={"attr1": {"DataType": "Number", "StringValue": "1"}})
    large = new_topic(Attributes={"MaximumMessageSize": "1048576"})  # AWS's topic attribute, up to 1 MiB
    sns.publish(TopicArn=large, Message="x" * 300_000)
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="m", MessageAttributes={"attr1": {"DataType": "InvalidType", "StringValue": "v"}})
    assert error_code(e) == "ParameterValueInvalid"
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=arn, Message="m", MessageDeduplicationId="d")
    assert "not valid for this topic type" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        make_client("sns", region="eu-west-1").publish(TopicArn=arn, Message="m")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: TopicArn"


def test_fifo_topic_to_fifo_and_standard_queues(sns, sqs, new_topic, new_queue):
    arn = new_topic(".fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})
    fifo_url, _ = subscribed_queue(sns, sqs, new_queue, arn, ".fifo", {"FifoQueue": "true"}, RawMessageDelivery="true")
    std_url, _ = subscribed_queue(sns, sqs, new_queue, arn)
    seqs = []
    for i in range(10):
        seqs.append(sns.publish(TopicArn=arn, Message=f"m{i}", MessageGroupId="g")["SequenceNumber"])
    batch = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[{"Id": "d", "Message": "m0", "MessageGroupId": "g"}])
    assert batch["Successful"][0]["SequenceNumber"] == seqs[0], "a duplicate answers the original"
    got = drain(sqs, fifo_url, 10)
    assert [m["Body"] for m in got] == [f"m{i}" for i in range(10)]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    envelopes = [json.loads(m["Body"]) for m in drain(sqs, std_url, 11, timeout=3)]
    assert len(envelopes) == 10
    assert list(envelopes[0])[:3] == ["Type", "MessageId", "SequenceNumber"]
    assert "Signature" not in envelopes[0]
    with pytest.raises(ClientError) as e:
        sns.publish(TopicArn=new_topic(".fifo", Attributes={"FifoTopic": "true"}), Message="m", MessageGroupId="g")
    assert e.value.response["Error"]["Message"] == "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"


class Endpoint:
    """A real HTTP server on 127.0.0.1 that answers from a list of statuses and keeps each request."""

    def __init__(self, statuses=None):
        self.requests, self.statuses = [], list(statuses or [])
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                outer.requests.append((dict((k.lower(), v) for k, v in self.headers.items()), body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=10.0):
        deadline = time.time() + timeout
        while len(self.requests) < n and time.time() < deadline:
            time.sleep(0.05)
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    made = []

    def make(statuses=None):
        e = Endpoint(statuses)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def test_http_confirmation_and_notifications(sns, new_topic, endpoint):
    arn = new_topic()
    ep = endpoint()
    assert sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=ep.url)["SubscriptionArn"] == "pending confirmation"
    headers, body = ep.wait(1)[0]
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    msg = json.loads(body)
    assert list(msg)[:6] == ["Type", "MessageId", "Token", "TopicArn", "Message", "SubscribeURL"]
    # The SubscribeURL points at ferry; follow it as a plain GET.
    link = urlparse(msg["SubscribeURL"])
    r = requests.get(f"{ENDPOINT}/?{link.query}", timeout=5)
    assert r.status_code == 200 and "<ConfirmSubscriptionResponse" in r.text
    sub = [s for s in sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]][0]["SubscriptionArn"]
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["PendingConfirmation"] == "false"
    mid = sns.publish(TopicArn=arn, Message="hello", Subject="s")["MessageId"]
    headers, body = ep.wait(2)[1]
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == mid and headers["x-amz-sns-subscription-arn"] == sub
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert json.loads(body)["Message"] == "hello"


def test_http_retries_then_dead_letter_queue(sns, sqs, new_topic, endpoint, new_queue):
    arn = new_topic()
    dlq = new_queue()
    ep = endpoint([200, 500, 500])  # confirmation ok, then two failures, then success
    sns.subscribe(
        TopicArn=arn, Protocol="http", Endpoint=ep.url, ReturnSubscriptionArn=True,
        Attributes={
            "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}}),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn_for(name_of(dlq))}),
        },
    )
    token = json.loads(ep.wait(1)[0][1])["Token"]
    sns.confirm_subscription(TopicArn=arn, Token=token)
    sns.publish(TopicArn=arn, Message="third time lucky")
    assert [json.loads(b)["Message"] for _, b in ep.wait(4)[1:]] == ["third time lucky"] * 3
    ep.statuses = [503] * 10
    sns.publish(TopicArn=arn, Message="never")
    [m] = drain(sqs, dlq, 1, timeout=10)
    assert json.loads(m["Body"])["Message"] == "never"
    assert len(ep.requests) == 7, "1 + 2 retries for the last message"


def _der_children(der):
    """The (tag, content) children of one DER element's content."""
    out, i = [], 0
    while i < len(der):
        tag, n = der[i], der[i + 1]
        i += 2
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(der[i:i + k], "big")
            i += k
        out.append((tag, der[i:i + n]))
        i += n
    return out


def _certificate_key(pem):
    """The RSA public key in an X.509 certificate, read with a tiny DER walker."""
    rsa = pytest.importorskip("rsa")
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    [(_, cert)] = _der_children(der)
    tbs = _der_children(cert)[0][1]
    spki = _der_children(tbs)[6][1]
    bits = _der_children(spki)[1][1]
    return rsa, rsa.PublicKey.load_pkcs1(bits[1:], format="DER")


def _string_to_sign(msg):
    if msg["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{k}\n{msg[k]}\n" for k in names if k in msg).encode()


@pytest.mark.parametrize("version,digest", [("1", "SHA-1"), ("2", "SHA-256")])
def test_signatures_verify_against_the_served_certificate(sns, sqs, new_topic, new_queue, endpoint, version, digest):
    """Notification, SubscriptionConfirmation and UnsubscribeConfirmation verify with the
    certificate ferry serves, in SHA-1 (version 1) and SHA-256 (version 2)."""
    arn = new_topic(Attributes={"SignatureVersion": version})
    url, _ = subscribed_queue(sns, sqs, new_queue, arn)
    ep = endpoint()
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=ep.url)
    sns.publish(TopicArn=arn, Message="signed ö", Subject="s")
    [m] = drain(sqs, url, 1)
    notification = json.loads(m["Body"])
    confirmation = json.loads(ep.wait(1)[0][1])
    sub = sns.confirm_subscription(TopicArn=arn, Token=confirmation["Token"])["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=sub)
    unsubscribed = json.loads(ep.wait(2)[1][1])
    assert unsubscribed["Type"] == "UnsubscribeConfirmation"
    for msg in (notification, confirmation, unsubscribed):
        assert msg["SignatureVersion"] == version
        cert_url = urlparse(msg["SigningCertURL"])
        assert cert_url.path.startswith("/SimpleNotificationService-") and cert_url.path.endswith(".pem")
        pem = requests.get(f"{ENDPOINT}{cert_url.path}", timeout=5).text
        rsa, key = _certificate_key(pem)
        assert rsa.verify(_string_to_sign(msg), base64.b64decode(msg["Signature"]), key) == digest
        with pytest.raises(rsa.VerificationError):
            rsa.verify(_string_to_sign(msg) + b"x", base64.b64decode(msg["Signature"]), key)


def test_a_published_sns_validator_accepts_every_signed_message(sns, new_topic, endpoint):
    """PyPI's aws-sns-message-validator (pinned in requirements.txt) accepts ferry's
    SubscriptionConfirmation, Notification (with and without Subject) and UnsubscribeConfirmation
    when told, with its documented `cert_url_regex` option, to trust ferry's host; and refuses a
    message whose text was changed. It verifies SignatureVersion 1 only (it always hashes with
    SHA-1), so version 2 is checked with sns-validator in the node suite."""
    validator_module = pytest.importorskip("sns_message_validator")
    validator = validator_module.SNSMessageValidator(
        cert_url_regex=r"^" + re.escape(ENDPOINT) + r"/SimpleNotificationService-[0-9a-f]+\.pem$",
    )
    arn = new_topic(Attributes={"SignatureVersion": "1"})
    ep = endpoint()
    sns.subscribe(TopicArn=arn, Protocol="http", Endpoint=ep.url)
    confirmation = json.loads(ep.wait(1)[0][1])
    sub = sns.confirm_subscription(TopicArn=arn, Token=confirmation["Token"])["SubscriptionArn"]
    sns.publish(TopicArn=arn, Message="signed ö\nwith lines", Subject="a subject")
    sns.publish(TopicArn=arn, Message="no subject")
    ep.wait(3)
    sns.unsubscribe(SubscriptionArn=sub)
    messages = [json.loads(body) for _, body in ep.wait(4)]
    assert [m["Type"] for m in messages] == [
        "SubscriptionConfirmation", "Notification", "Notification", "UnsubscribeConfirmation"]
    for msg in messages:
        validator.validate_message(msg)
    forged = dict(messages[1], Message="changed")
    with pytest.raises(validator_module.exceptions.SignatureVerificationFailureException):
        validator.validate_message(forged)
    elsewhere = dict(messages[1], SigningCertURL="http://attacker.example/SimpleNotificationService-0.pem")
    with pytest.raises(validator_module.exceptions.InvalidCertURLException):
        validator.validate_message(elsewhere)
