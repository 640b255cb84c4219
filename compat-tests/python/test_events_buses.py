"""EventBridge buses, bus policy and tags through boto3 (awsJson1.1 under both python suites).
Expected answers are the ones recorded from AWS (EB-nnn: compat-tests/events-aws-facts.md)."""

import json
import uuid

import botocore.exceptions
import pytest

from conftest import ACCOUNT, REGION, error_code, http_status, make_client


@pytest.fixture(scope="module")
def events():
    return make_client("events")


def unique(tag):
    return f"py-{tag}-{uuid.uuid4().hex[:10]}"


def bus_arn(name):
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


def test_create_describe_delete_bus(events):
    name = unique("bus")
    # Bus descriptions arrived in botocore after the legacy suite's 1.31.
    members = events.meta.service_model.operation_model("CreateEventBus").input_shape.members
    described = {"Description": "test bus"} if "Description" in members else {}
    out = events.create_event_bus(Name=name, **described)
    assert out["EventBusArn"] == bus_arn(name)
    assert out.get("Description") == described.get("Description")
    d = events.describe_event_bus(Name=name)
    assert d["Name"] == name and d["Arn"] == bus_arn(name)
    assert d.get("Description") == described.get("Description")
    assert "Policy" not in d
    out_members = events.meta.service_model.operation_model("DescribeEventBus").output_shape.members
    if "CreationTime" in out_members:
        assert d["CreationTime"] and d["LastModifiedTime"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.create_event_bus(Name=name)
    assert error_code(e) == "ResourceAlreadyExistsException"
    assert e.value.response["Error"]["Message"] == f"Event bus {name} already exists."
    assert http_status(e) == 400
    events.delete_event_bus(Name=name)
    assert events.list_event_buses(NamePrefix=name)["EventBuses"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_event_bus(Name=name)
    assert error_code(e) == "ResourceNotFoundException"
    assert http_status(e) == 400
    assert e.value.response["Error"]["Message"] == f"Event bus {name} does not exist."


def test_default_bus_exists_and_cannot_be_deleted(events):
    assert events.describe_event_bus()["Name"] == "default"
    assert events.describe_event_bus(Name="default")["Arn"] == bus_arn("default")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.delete_event_bus(Name="default")
    assert error_code(e) == "ValidationException"
    assert e.value.response["Error"]["Message"] == "Cannot delete event bus default."
    # Deleting an unknown bus succeeds (EB-015).
    events.delete_event_bus(Name=unique("never"))


def test_list_buses_pages_in_name_order(events):
    prefix = unique("page")
    for i in range(6):
        events.create_event_bus(Name=f"{prefix}-{i}")
    first = events.list_event_buses(NamePrefix=prefix, Limit=3)
    assert [b["Name"] for b in first["EventBuses"]] == [f"{prefix}-{i}" for i in range(3)]
    second = events.list_event_buses(NamePrefix=prefix, Limit=5, NextToken=first["NextToken"])
    assert [b["Name"] for b in second["EventBuses"]] == [f"{prefix}-{i}" for i in range(3, 6)]
    assert "NextToken" not in second
    names, token = [], None
    for _ in range(10):
        page = events.list_event_buses(NamePrefix=prefix, Limit=2, **({"NextToken": token} if token else {}))
        names += [b["Name"] for b in page["EventBuses"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"{prefix}-{i}" for i in range(6)]
    for i in range(6):
        events.delete_event_bus(Name=f"{prefix}-{i}")


def test_bus_policy_statements_and_documents(events):
    name = unique("policy")
    events.create_event_bus(Name=name)
    events.put_permission(EventBusName=name, Action="events:PutEvents", Principal="111111111111", StatementId="one")
    events.put_permission(EventBusName=name, Action="events:PutEvents", Principal="*", StatementId="all")
    policy = json.loads(events.describe_event_bus(Name=name)["Policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["all"]["Principal"] == "*"
    assert by_sid["one"]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert by_sid["one"]["Resource"] == bus_arn(name)
    events.remove_permission(EventBusName=name, StatementId="one", RemoveAllPermissions=False)
    policy = json.loads(events.describe_event_bus(Name=name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["all"]
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "svc",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "events:ListRules",
                "Resource": "*",
            }
        ],
    }
    events.put_permission(EventBusName=name, Policy=json.dumps(doc))
    assert json.loads(events.describe_event_bus(Name=name)["Policy"]) == doc
    events.remove_permission(EventBusName=name, RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus(Name=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.put_permission(EventBusName=unique("gone"), Action="events:PutEvents", Principal="*", StatementId="s")
    assert error_code(e) == "ResourceNotFoundException"
    events.delete_event_bus(Name=name)


def test_tags_on_buses_and_rules(events):
    name = unique("tags")
    events.create_event_bus(Name=name, Tags=[{"Key": "tag1", "Value": "value1"}])
    events.tag_resource(ResourceARN=bus_arn(name), Tags=[{"Key": "tag2", "Value": "value2"}])
    assert events.list_tags_for_resource(ResourceARN=bus_arn(name))["Tags"] == [
        {"Key": "tag1", "Value": "value1"},
        {"Key": "tag2", "Value": "value2"},
    ]
    events.untag_resource(ResourceARN=bus_arn(name), TagKeys=["tag1"])
    assert events.list_tags_for_resource(ResourceARN=bus_arn(name))["Tags"] == [{"Key": "tag2", "Value": "value2"}]
    rule_arn = events.put_rule(
        Name="r", EventBusName=name, EventPattern='{"source":["a"]}', Tags=[{"Key": "k", "Value": "v"}]
    )["RuleArn"]
    assert rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}/r"
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    events.delete_rule(Name="r", EventBusName=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.list_tags_for_resource(ResourceARN=rule_arn)
    assert e.value.response["Error"]["Message"] == f"Rule r does not exist on EventBus {name}."
    events.delete_event_bus(Name=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.tag_resource(ResourceARN=bus_arn(name), Tags=[{"Key": "a", "Value": "b"}])
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == f"Event bus {name} does not exist."


def test_out_of_scope_actions_and_replays_of_unknown_archives_are_clear_errors(events):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.list_partner_event_sources(NamePrefix="aws.partner")
    assert error_code(e) == "OperationDisabledException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.start_replay(
            ReplayName="r",
            EventSourceArn="arn:aws:events:us-east-1:000000000000:archive/a",
            EventStartTime=0,
            EventEndTime=1,
            Destination={"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/default"},
        )
    assert error_code(e) == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == "Archive a does not exist."
    assert http_status(e) == 400
