"""EventBridge target kinds through boto3: SNS topics, other event buses (one hop), API
destinations against real HTTP servers on 127.0.0.1 (API key, Basic, OAuth client credentials with
a real token endpoint; an endpoint that fails then recovers), targets ferry does not deliver to,
and the dead letters with the attributes AWS adds (RULE_ARN, TARGET_ARN, ERROR_CODE, ...)."""

import base64
import json
import time
import uuid

import pytest

from conftest import ACCOUNT, REGION, make_client
from http_endpoint import Endpoint


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def sqs():
    return make_client("sqs")


@pytest.fixture(scope="module")
def sns():
    return make_client("sns")


def unique(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def drain(sqs, url, n=1, limit=20):
    got = []
    deadline = time.monotonic() + limit
    while len(got) < n and time.monotonic() < deadline:
        for m in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        ).get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def attr(m, name):
    return m.get("MessageAttributes", {}).get(name, {}).get("StringValue")


def rule(events, bus, name, source, targets):
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [source]}))
    r = events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    assert r["FailedEntryCount"] == 0, r


def put(events, bus, source, detail):
    r = events.put_events(
        Entries=[{"Source": source, "DetailType": "t", "Detail": json.dumps(detail), "EventBusName": bus}]
    )
    assert r["FailedEntryCount"] == 0
    return r["Entries"][0]["EventId"]


def wait_until(cond, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_a_topic_target_publishes_the_event_to_its_subscribers(events, sqs, sns):
    bus = unique("tb")
    events.create_event_bus(Name=bus)
    url, arn = queue(sqs, unique("tq"))
    topic = sns.create_topic(Name=unique("tt"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    rule(events, bus, "to-topic", "app", [{"Id": "t", "Arn": topic}])
    event_id = put(events, bus, "app", {"k": 1})
    got = drain(sqs, url)
    assert len(got) == 1
    envelope = json.loads(got[0]["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    event = json.loads(envelope["Message"])
    assert event["id"] == event_id and event["detail"] == {"k": 1}


def test_a_bus_target_puts_the_event_on_the_other_bus_once(events, sqs):
    first, second = unique("b1"), unique("b2")
    for b in (first, second):
        events.create_event_bus(Name=b)
    second_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{second}"
    first_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{first}"
    url, arn = queue(sqs, unique("bq"))
    dlq_url, dlq_arn = queue(sqs, unique("bdlq"))
    rule(events, first, "fwd", "app", [{"Id": "b", "Arn": second_arn}])
    rule(
        events,
        second,
        "recv",
        "app",
        [{"Id": "q", "Arn": arn}, {"Id": "back", "Arn": first_arn, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )
    event_id = put(events, first, "app", {"k": 2})
    got = drain(sqs, url)
    assert len(got) == 1
    event = json.loads(got[0]["Body"])
    # Same account and region: the envelope is unchanged, id included (EB-071, EB-140).
    assert event["id"] == event_id
    assert (event["source"], event["account"], event["region"]) == ("app", ACCOUNT, REGION)
    dead = drain(sqs, dlq_url)
    assert len(dead) == 1
    assert attr(dead[0], "ERROR_CODE") == "THIRD_ACCOUNT_HOP_DETECTED"
    assert attr(dead[0], "TARGET_ARN") == first_arn
    assert attr(dead[0], "RULE_ARN") == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{second}/recv"
    assert drain(sqs, url, limit=1.5) == [], "the event went no further than one hop"


def test_an_api_destination_with_oauth_retries_until_the_endpoint_recovers(events):
    tokens = Endpoint(lambda n, *_: (200, json.dumps({"access_token": f"tok{n}", "expires_in": 3600})))
    api = Endpoint(lambda n, *_: (500, "") if n < 2 else (200, "{}"))
    try:
        name = unique("oauth")
        conn = events.create_connection(
            Name=name,
            AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
            AuthParameters={
                "OAuthParameters": {
                    "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
                    "AuthorizationEndpoint": f"{tokens.url}/oauth2/token",
                    "HttpMethod": "POST",
                    "OAuthHttpParameters": {
                        "BodyParameters": [{"Key": "grant_type", "Value": "client_credentials"}]
                    },
                }
            },
        )
        dest = events.create_api_destination(
            Name=name,
            ConnectionArn=conn["ConnectionArn"],
            InvocationEndpoint=f"{api.url}/hooks/*",
            HttpMethod="POST",
            InvocationRateLimitPerSecond=10,
        )
        bus = unique("ab")
        events.create_event_bus(Name=bus)
        rule(
            events,
            bus,
            "api",
            "app",
            [
                {
                    "Id": "d",
                    "Arn": dest["ApiDestinationArn"],
                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/eb",
                    "HttpParameters": {
                        "PathParameterValues": ["orders"],
                        "HeaderParameters": {"X-Tenant": "acme"},
                        "QueryStringParameters": {"v": "2"},
                    },
                    "InputTransformer": {
                        "InputPathsMap": {"k": "$.detail.k"},
                        "InputTemplate": '{"value": <k>}',
                    },
                    "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 300},
                }
            ],
        )
        put(events, bus, "app", {"k": 3})
        assert wait_until(lambda: len(api.seen) >= 3, 20), api.seen
        for method, path, headers, body in api.seen[:3]:
            assert (method, path) == ("POST", "/hooks/orders?v=2")
            assert headers["authorization"] == "Bearer tok0"
            assert headers["x-tenant"] == "acme"
            assert json.loads(body) == {"value": 3}
        assert len(tokens.seen) == 1, "the token is cached until it expires"
        method, path, headers, body = tokens.seen[0]
        assert (method, path, body) == ("POST", "/oauth2/token", "grant_type=client_credentials")
        assert headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    finally:
        tokens.close()
        api.close()


def test_failed_deliveries_land_in_the_dlq_with_awss_attributes(events, sqs):
    api = Endpoint(lambda n, *_: (403, "{}"))
    try:
        dlq_url, dlq_arn = queue(sqs, unique("dlq"))
        name = unique("key")
        conn = events.create_connection(
            Name=name,
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "secret-1"}},
        )
        dest = events.create_api_destination(
            Name=name, ConnectionArn=conn["ConnectionArn"], InvocationEndpoint=f"{api.url}/in", HttpMethod="PUT"
        )["ApiDestinationArn"]
        bus = unique("db")
        events.create_event_bus(Name=bus)
        fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:handler"
        missing_q = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('nope')}"
        rule(
            events,
            bus,
            "fails",
            "app",
            [
                {"Id": "api", "Arn": dest, "DeadLetterConfig": {"Arn": dlq_arn}, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/eb"},
                {"Id": "fn", "Arn": fn, "DeadLetterConfig": {"Arn": dlq_arn}, "InputPath": "$.detail"},
                {"Id": "q", "Arn": missing_q, "DeadLetterConfig": {"Arn": dlq_arn}},
            ],
        )
        event_id = put(events, bus, "app", {"k": 4})
        dead = {attr(m, "TARGET_ARN"): m for m in drain(sqs, dlq_url, n=3)}
        assert set(dead) == {dest, fn, missing_q}
        rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/fails"
        for m in dead.values():
            assert attr(m, "RULE_ARN") == rule_arn
            assert attr(m, "RETRY_ATTEMPTS") == "0", "final failures are not retried"
            assert attr(m, "EXHAUSTED_RETRY_CONDITION") is None
            assert attr(m, "ERROR_MESSAGE")
        assert attr(dead[dest], "ERROR_CODE") == "SDK_CLIENT_ERROR"
        assert json.loads(dead[dest]["Body"])["id"] == event_id
        assert attr(dead[fn], "ERROR_CODE") == "NO_RESOURCE"
        assert json.loads(dead[fn]["Body"]) == {"k": 4}, "the body as it would have been delivered"
        assert attr(dead[missing_q], "ERROR_CODE") == "NO_RESOURCE"
        assert len(api.seen) == 1 and api.seen[0][0] == "PUT"
        assert api.seen[0][2]["x-api-key"] == "secret-1"
        # The other kinds stay stored and listed.
        listed = events.list_targets_by_rule(Rule="fails", EventBusName=bus)["Targets"]
        assert [t["Arn"] for t in listed] == [dest, fn, missing_q]
    finally:
        api.close()


def test_retries_that_run_out_say_which_limit_ended_them(events, sqs):
    api = Endpoint(lambda n, *_: (503, ""))
    try:
        dlq_url, dlq_arn = queue(sqs, unique("dlq"))
        name = unique("basic")
        conn = events.create_connection(
            Name=name,
            AuthorizationType="BASIC",
            AuthParameters={"BasicAuthParameters": {"Username": "user", "Password": "pw"}},
        )
        dest = events.create_api_destination(
            Name=name, ConnectionArn=conn["ConnectionArn"], InvocationEndpoint=f"{api.url}/x", HttpMethod="POST"
        )["ApiDestinationArn"]
        bus = unique("rb")
        events.create_event_bus(Name=bus)
        rule(
            events,
            bus,
            "retries",
            "app",
            [
                {
                    "Id": "api",
                    "Arn": dest,
                    "DeadLetterConfig": {"Arn": dlq_arn},
                    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600},
                }
            ],
        )
        put(events, bus, "app", {"k": 5})
        dead = drain(sqs, dlq_url)
        assert len(dead) == 1
        m = dead[0]
        assert attr(m, "EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts"
        assert attr(m, "RETRY_ATTEMPTS") == "2"
        assert attr(m, "ERROR_CODE") == "SDK_CLIENT_ERROR"
        assert len(api.seen) == 3
        assert api.seen[0][2]["authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    finally:
        api.close()
