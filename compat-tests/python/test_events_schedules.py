"""EventBridge scheduled rules through boto3: what needs no waiting. Firing itself (rate and cron,
disable, change, delete, restarts without double firing) is proven in process on tokio's paused
clock (tests/events_time.rs): ferry has no hook to move its clock from outside, and a real
`rate(1 minute)` run would take minutes."""

import json
import uuid

import botocore.exceptions
import pytest

from conftest import ACCOUNT, REGION, error_code, make_client


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def sqs():
    return make_client("sqs")


def unique(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def test_a_scheduled_rule_with_a_target_does_not_fire_when_created(events, sqs):
    name = unique("sched")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    r = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")
    assert r["RuleArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
    assert events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])["FailedEntryCount"] == 0
    d = events.describe_rule(Name=name)
    assert d["ScheduleExpression"] == "rate(1 minute)"
    assert d["State"] == "ENABLED"
    assert "EventPattern" not in d
    # A rate counts its first period from creation: nothing is delivered at once.
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", [])
    assert got == []
    # Changing, disabling and deleting a scheduled rule are ordinary rule changes.
    events.put_rule(Name=name, ScheduleExpression="cron(0 12 * * ? *)", State="DISABLED")
    d = events.describe_rule(Name=name)
    assert (d["ScheduleExpression"], d["State"]) == ("cron(0 12 * * ? *)", "DISABLED")
    events.enable_rule(Name=name)
    events.remove_targets(Rule=name, Ids=["q"])
    events.delete_rule(Name=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_rule(Name=name)
    assert error_code(e) == "ResourceNotFoundException"
    sqs.delete_queue(QueueUrl=url)


def test_a_rule_may_hold_a_pattern_and_a_schedule(events):
    name = unique("both")
    events.put_rule(
        Name=name, ScheduleExpression="rate(2 hours)", EventPattern=json.dumps({"source": ["a"]})
    )
    d = events.describe_rule(Name=name)
    assert d["ScheduleExpression"] == "rate(2 hours)"
    assert json.loads(d["EventPattern"]) == {"source": ["a"]}
    listed = events.list_rules(NamePrefix=name)["Rules"]
    assert [r["ScheduleExpression"] for r in listed] == ["rate(2 hours)"]
    events.delete_rule(Name=name)


def test_schedules_only_on_the_default_bus(events):
    bus = unique("sched-bus")
    events.create_event_bus(Name=bus)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_rule(Name="r", EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert error_code(e) == "ValidationException"
    # EB-036
    assert e.value.response["Error"]["Message"] == (
        "ScheduleExpression is supported only on the default event bus."
    )
    events.delete_event_bus(Name=bus)
