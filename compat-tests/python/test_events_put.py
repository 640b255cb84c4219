"""EventBridge PutEvents through boto3: events matched by rules reach SQS targets through the
delivery engine, with the envelope AWS builds and each input mode's output."""

import json
import uuid

import pytest

from conftest import ACCOUNT, REGION, make_client


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def sqs():
    return make_client("sqs")


def unique(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def queue(sqs, name, attributes=None):
    url = sqs.create_queue(QueueName=name, Attributes=attributes or {})["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def receive(sqs, url, n=1, wait=5):
    got = []
    for _ in range(10):
        r = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, AttributeNames=["All"]
        ).get("Messages", [])
        got.extend(r)
        if len(got) >= n:
            break
    return got


@pytest.fixture
def bus(events):
    name = unique("put-bus")
    events.create_event_bus(Name=name)
    yield name
    for rule in events.list_rules(EventBusName=name)["Rules"]:
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)["Targets"]]
        if ids:
            events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=ids)
        events.delete_rule(Name=rule["Name"], EventBusName=name)
    events.delete_event_bus(Name=name)


def rule_to(events, bus, name, pattern, target):
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    r = events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
    assert r["FailedEntryCount"] == 0


def test_a_matching_event_reaches_the_queue_in_aws_envelope(events, sqs, bus):
    url, arn = queue(sqs, unique("put-q"))
    rule_to(events, bus, "whole", {"source": ["app.orders"]}, {"Id": "q", "Arn": arn})
    r = events.put_events(
        Entries=[
            {
                "Source": "app.orders",
                "DetailType": "Order Placed",
                "Detail": json.dumps({"id": 7, "total": 12.5}),
                "Resources": ["arn:aws:s3:::bucket"],
                "EventBusName": bus,
            },
            {"Source": "app.other", "DetailType": "x", "Detail": "{}", "EventBusName": bus},
        ]
    )
    assert r["FailedEntryCount"] == 0
    ids = [e["EventId"] for e in r["Entries"]]
    msgs = receive(sqs, url)
    assert len(msgs) == 1
    ev = json.loads(msgs[0]["Body"])
    assert list(ev) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert ev["version"] == "0" and ev["id"] == ids[0]
    assert (ev["detail-type"], ev["source"], ev["account"], ev["region"]) == (
        "Order Placed",
        "app.orders",
        ACCOUNT,
        REGION,
    )
    assert ev["resources"] == ["arn:aws:s3:::bucket"] and ev["detail"] == {"id": 7, "total": 12.5}
    # The other event matched no rule: nothing more arrives.
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_input_path_constant_and_transformer(events, sqs, bus):
    url_p, arn_p = queue(sqs, unique("put-path"))
    url_c, arn_c = queue(sqs, unique("put-const"))
    url_t, arn_t = queue(sqs, unique("put-tpl"))
    pattern = {"source": ["app.shapes"]}
    rule_to(events, bus, "path", pattern, {"Id": "p", "Arn": arn_p, "InputPath": "$.detail.order"})
    rule_to(events, bus, "const", pattern, {"Id": "c", "Arn": arn_c, "Input": '{"fixed": true}'})
    rule_to(
        events,
        bus,
        "tpl",
        pattern,
        {
            "Id": "t",
            "Arn": arn_t,
            "InputTransformer": {
                "InputPathsMap": {"id": "$.detail.order.id", "src": "$.source"},
                "InputTemplate": '{"order": <id>, "from": "<src>", "rule": "<aws.events.rule-name>"}',
            },
        },
    )
    r = events.put_events(
        Entries=[{"Source": "app.shapes", "DetailType": "t", "Detail": json.dumps({"order": {"id": 42}}), "EventBusName": bus}]
    )
    assert r["FailedEntryCount"] == 0
    assert json.loads(receive(sqs, url_p)[0]["Body"]) == {"id": 42}
    assert receive(sqs, url_c)[0]["Body"] == '{"fixed": true}'
    assert json.loads(receive(sqs, url_t)[0]["Body"]) == {"order": 42, "from": "app.shapes", "rule": "tpl"}


def test_fifo_queue_target_gets_the_targets_group(events, sqs, bus):
    url, arn = queue(sqs, unique("put-fifo") + ".fifo", {"FifoQueue": "true"})
    rule_to(
        events,
        bus,
        "fifo",
        {"source": ["app.fifo"]},
        {"Id": "f", "Arn": arn, "SqsParameters": {"MessageGroupId": "g1"}},
    )
    for i in range(3):
        events.put_events(Entries=[{"Source": "app.fifo", "DetailType": "t", "Detail": json.dumps({"n": i}), "EventBusName": bus}])
    msgs = receive(sqs, url, n=3)
    assert [json.loads(m["Body"])["detail"]["n"] for m in msgs] == [0, 1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in msgs} == {"g1"}


def test_entries_fail_alone(events, sqs, bus):
    url, arn = queue(sqs, unique("put-mixed"))
    rule_to(events, bus, "mixed", {"source": ["app.mixed"]}, {"Id": "q", "Arn": arn})
    r = events.put_events(
        Entries=[
            {"Source": "app.mixed", "DetailType": "t", "Detail": "[1, 2]", "EventBusName": bus},
            {"Source": "app.mixed", "DetailType": "t", "Detail": '{"ok": 1}', "EventBusName": bus},
        ]
    )
    assert r["FailedEntryCount"] == 1
    assert r["Entries"][0] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    assert "EventId" in r["Entries"][1]
    msgs = receive(sqs, url)
    assert [json.loads(m["Body"])["detail"] for m in msgs] == [{"ok": 1}]


def test_default_bus_and_request_limits(events, sqs):
    name = unique("put-default")
    url, arn = queue(sqs, name)
    rule = unique("r")
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    try:
        r = events.put_events(Entries=[{"Source": name, "DetailType": "t", "Detail": "{}"}])
        assert r["FailedEntryCount"] == 0
        assert json.loads(receive(sqs, url)[0]["Body"])["source"] == name
        unvalidated = make_client("events", validate=False)
        with pytest.raises(Exception) as e:
            unvalidated.put_events(Entries=[{"Source": name, "DetailType": "t", "Detail": "{}"}] * 11)
        assert e.value.response["Error"]["Code"] == "ValidationException"
    finally:
        events.remove_targets(Rule=rule, Ids=["q"])
        events.delete_rule(Name=rule)


def _through_put_events(case):
    """A recorded case that PutEvents can replay as it was recorded: the pattern looks only at
    fields a PutEvents entry sets (source, detail-type, detail, resources), and the event has them."""
    if case["expect"] not in ("match", "no-match"):
        return False
    pattern = case["pattern"] if isinstance(case["pattern"], dict) else json.loads(case["pattern"])
    event = case["event"] if isinstance(case["event"], dict) else json.loads(case["event"])
    if not set(pattern) <= {"source", "detail-type", "detail", "resources"}:
        return False
    return (
        isinstance(event.get("source"), str)
        and event["source"] != ""
        and isinstance(event.get("detail-type"), str)
        and event["detail-type"] != ""
        and isinstance(event.get("detail"), dict)
        and all(isinstance(r, str) for r in event.get("resources", []))
    )


def test_recorded_pattern_cases_through_put_events_into_a_queue(events, sqs):
    """The AWS-recorded TestEventPattern cases (tests/data/event-patterns.json) that PutEvents can
    replay: each gets a bus with one rule, whose SQS target names the case; only the cases AWS
    recorded as matching may arrive, and all of them must."""
    from test_event_patterns import CASES

    cases = [c for c in CASES if _through_put_events(c)]
    assert len(cases) >= 30
    url, arn = queue(sqs, unique("put-cases"))
    buses = []
    try:
        for i, case in enumerate(cases):
            bus = unique(f"case{i}")
            buses.append(bus)
            events.create_event_bus(Name=bus)
            pattern = case["pattern"] if isinstance(case["pattern"], str) else json.dumps(case["pattern"])
            events.put_rule(Name="r", EventBusName=bus, EventPattern=pattern)
            events.put_targets(
                Rule="r", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn, "Input": json.dumps({"case": case["name"]})}]
            )
            event = case["event"] if isinstance(case["event"], dict) else json.loads(case["event"])
            r = events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                        "Resources": event.get("resources", []),
                        "EventBusName": bus,
                    }
                ]
            )
            assert r["FailedEntryCount"] == 0, (case["name"], r)
        want = sorted(c["name"] for c in cases if c["expect"] == "match")
        got = []
        empty = 0
        while empty < 2:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            empty = 0 if msgs else empty + 1
            for m in msgs:
                got.append(json.loads(m["Body"])["case"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert sorted(got) == want
    finally:
        for bus in buses:
            events.remove_targets(Rule="r", EventBusName=bus, Ids=["q"])
            events.delete_rule(Name="r", EventBusName=bus)
            events.delete_event_bus(Name=bus)
