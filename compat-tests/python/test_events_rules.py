"""EventBridge rules and targets through boto3, against AWS's recorded answers."""

import json
import uuid

import botocore.exceptions
import pytest

from conftest import ACCOUNT, REGION, error_code, make_client

PATTERN = '{"source":["py.test"]}'
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:some-queue"


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def events_unvalidated():
    return make_client("events", validate=False)


@pytest.fixture
def bus(events):
    name = f"py-rules-{uuid.uuid4().hex[:10]}"
    events.create_event_bus(Name=name)
    yield name
    for r in events.list_rules(EventBusName=name)["Rules"]:
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=r["Name"], EventBusName=name)["Targets"]]
        if ids:
            events.remove_targets(Rule=r["Name"], EventBusName=name, Ids=ids)
        events.delete_rule(Name=r["Name"], EventBusName=name)
    events.delete_event_bus(Name=name)


def test_put_describe_list_rules(events, bus):
    arn = events.put_rule(Name="r1", EventBusName=bus, EventPattern=PATTERN)["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/r1"
    assert events.put_rule(Name="r1", EventBusName=bus, EventPattern=PATTERN)["RuleArn"] == arn
    d = events.describe_rule(Name="r1", EventBusName=bus)
    assert d["State"] == "ENABLED"
    assert d["EventBusName"] == bus
    assert d["CreatedBy"] == ACCOUNT
    assert json.loads(d["EventPattern"]) == json.loads(PATTERN)
    assert "ScheduleExpression" not in d and "Description" not in d
    for i in range(4):
        events.put_rule(Name=f"p{i}", EventBusName=bus, EventPattern=PATTERN, State="DISABLED")
    page = events.list_rules(EventBusName=bus, NamePrefix="p", Limit=3)
    assert [r["Name"] for r in page["Rules"]] == ["p0", "p1", "p2"]
    rest = events.list_rules(EventBusName=bus, NamePrefix="p", NextToken=page["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["p3"]
    paginator = events.get_paginator("list_rules")
    pages = paginator.paginate(EventBusName=bus, NamePrefix="p", PaginationConfig={"PageSize": 1})
    assert [r["Name"] for p in pages for r in p["Rules"]] == ["p0", "p1", "p2", "p3"]
    events.enable_rule(Name="p0", EventBusName=bus)
    assert events.describe_rule(Name="p0", EventBusName=bus)["State"] == "ENABLED"
    events.disable_rule(Name="p0", EventBusName=bus)
    assert events.describe_rule(Name="p0", EventBusName=bus)["State"] == "DISABLED"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_rule(Name="nope", EventBusName=bus)
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == f"Rule nope does not exist on EventBus {bus}."


def test_default_bus_rule_arn_and_schedules(events):
    name = f"py-sched-{uuid.uuid4().hex[:8]}"
    arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "rate(1 minute)"
    events.delete_rule(Name=name)


@pytest.mark.parametrize(
    "expr",
    [
        "rate(10 seconds)",
        "rate(1 minutes)",
        "rate(10 minute)",
        "rate()",
        "rate(0 minutes)",
        "rate(10 MINUTES)",
        "rate( 10 minutes )",
        "cron(0 1 * * * *)",
        "cron(INVALID)",
        "cron(71 8 1 * ? *)",
    ],
)
def test_schedule_expressions_aws_refuses(events, expr):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_rule(Name="bad-schedule", ScheduleExpression=expr)
    assert error_code(e) == "ValidationException"
    assert e.value.response["Error"]["Message"] == "Parameter ScheduleExpression is not valid."


def test_schedules_only_on_the_default_bus(events, bus):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_rule(Name="s", EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert e.value.response["Error"]["Message"] == "ScheduleExpression is supported only on the default event bus."


def test_patterns_are_validated_like_test_event_pattern(events, bus):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_rule(Name="bad", EventBusName=bus, EventPattern='{"source":[]}')
    assert error_code(e) == "InvalidEventPatternException"
    assert e.value.response["Error"]["Message"] == "Event pattern is not valid. Reason: Empty arrays are not allowed"
    complex_pattern = json.dumps({"detail": {"path": [{"wildcard": "*" + "a" * 120}]}})
    for call in (
        lambda: events.put_rule(Name="bad", EventBusName=bus, EventPattern=complex_pattern),
        lambda: events.test_event_pattern(
            EventPattern=complex_pattern,
            Event=json.dumps(
                {
                    "id": "1",
                    "source": "s",
                    "detail-type": "d",
                    "account": ACCOUNT,
                    "region": REGION,
                    "time": "2022-01-01T00:00:00Z",
                    "detail": {},
                }
            ),
        ),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_code(e) == "InvalidEventPatternException"
        assert "Rule is too complex" in e.value.response["Error"]["Message"]


def test_targets_per_rule(events, bus):
    events.put_rule(Name="t", EventBusName=bus, EventPattern=PATTERN)
    out = events.put_targets(Rule="t", EventBusName=bus, Targets=[{"Id": "a", "Arn": QUEUE}])
    assert out["FailedEntryCount"] == 0 and out["FailedEntries"] == []
    # Re-putting the rule keeps its targets (EB-031).
    events.put_rule(Name="t", EventBusName=bus, EventPattern=PATTERN)
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="t", EventBusName=bus)["Targets"]] == ["a"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.delete_rule(Name="t", EventBusName=bus)
    assert e.value.response["Error"]["Message"] == "Rule can't be deleted since it has targets."
    seven = [{"Id": f"x{i}", "Arn": QUEUE} for i in range(7)]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_targets(Rule="t", EventBusName=bus, Targets=seven)
    assert error_code(e) == "LimitExceededException"
    four = [{"Id": f"x{i}", "Arn": QUEUE} for i in range(4)]
    events.put_targets(Rule="t", EventBusName=bus, Targets=four)
    first = events.list_targets_by_rule(Rule="t", EventBusName=bus, Limit=3)
    assert [t["Id"] for t in first["Targets"]] == ["a", "x0", "x1"]
    rest = events.list_targets_by_rule(Rule="t", EventBusName=bus, NextToken=first["NextToken"])
    assert [t["Id"] for t in rest["Targets"]] == ["x2", "x3"]
    assert "NextToken" not in rest
    assert events.list_rule_names_by_target(TargetArn=QUEUE, EventBusName=bus)["RuleNames"] == ["t"]
    events.remove_targets(Rule="t", EventBusName=bus, Ids=["a", "x0", "x1", "x2", "x3"])
    events.delete_rule(Name="t", EventBusName=bus)


def test_target_validation(events, events_unvalidated, bus):
    events.put_rule(Name="v", EventBusName=bus, EventPattern=PATTERN)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events_unvalidated.put_targets(Rule="v", EventBusName=bus, Targets=[{"Id": "!@#$@!#$", "Arn": QUEUE}])
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '!@#$@!#$' at 'targets.1.member.id' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
    )
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_targets(
            Rule="v",
            EventBusName=bus,
            Targets=[
                {
                    "Id": "tr",
                    "Arn": QUEUE,
                    "InputTransformer": {
                        "InputPathsMap": {"a": "$.detail"},
                        "InputTemplate": '{"x": <notdefinedkey>}',
                    },
                }
            ],
        )
    assert e.value.response["Error"]["Message"] == "InputTemplate for target tr contains invalid placeholder notdefinedkey."
    target = {
        "Id": "full",
        "Arn": QUEUE,
        "InputTransformer": {"InputPathsMap": {"id": "$.detail.id"}, "InputTemplate": '{"id": <id>}'},
        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"},
    }
    assert events.put_targets(Rule="v", EventBusName=bus, Targets=[target])["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule="v", EventBusName=bus)["Targets"] == [target]
    bad = events.put_targets(
        Rule="v",
        EventBusName=bus,
        Targets=[{"Id": "fifo", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q.fifo"}],
    )
    assert bad["FailedEntryCount"] == 1
    assert bad["FailedEntries"][0]["TargetId"] == "fifo"
