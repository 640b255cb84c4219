"""EventBridge connections, API destinations and archives through boto3."""

import uuid

import botocore.exceptions
import pytest

from conftest import ACCOUNT, REGION, error_code, make_client


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def events_unvalidated():
    return make_client("events", validate=False)


def unique(tag):
    return f"py-{tag}-{uuid.uuid4().hex[:10]}"


def test_connections(events):
    name = unique("conn")
    out = events.create_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "user", "Password": "secret"}},
    )
    assert out["ConnectionState"] == "AUTHORIZED"
    assert out["ConnectionArn"].startswith(f"arn:aws:events:{REGION}:{ACCOUNT}:connection/{name}/")
    d = events.describe_connection(Name=name)
    assert d["AuthParameters"] == {"BasicAuthParameters": {"Username": "user"}}
    assert d["SecretArn"].startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:events!connection/{name}/")
    assert "Description" not in d
    listed = events.list_connections(NamePrefix=name)["Connections"]
    assert [c["Name"] for c in listed] == [name]
    assert "AuthParameters" not in listed[0]
    up = events.update_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "user2", "Password": "secret2"}},
    )
    assert up["ConnectionState"] == "AUTHORIZED"
    assert events.describe_connection(Name=name)["AuthParameters"]["BasicAuthParameters"]["Username"] == "user2"
    oauth = events.create_connection(
        Name=name + "-o",
        AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters={
            "OAuthParameters": {
                "ClientParameters": {"ClientID": "id", "ClientSecret": "s"},
                "AuthorizationEndpoint": "https://example.com/oauth",
                "HttpMethod": "POST",
            }
        },
    )
    assert oauth["ConnectionState"] == "AUTHORIZING"
    assert events.delete_connection(Name=name + "-o")["ConnectionState"] == "DELETING"
    events.delete_connection(Name=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_connection(Name=name)
    assert error_code(e) == "ResourceNotFoundException"


def test_connection_validation(events_unvalidated):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events_unvalidated.create_connection(Name=unique("c"), AuthorizationType="INVALID_AUTH_TYPE", AuthParameters={})
    assert e.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'INVALID_AUTH_TYPE' at 'authorizationType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
    )
    long = "This should fail with two errors 123467890123412341234123412341234"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events_unvalidated.create_connection(Name=long, AuthorizationType="INVALID", AuthParameters={})
    assert e.value.response["Error"]["Message"].startswith("3 validation errors detected: ")


def test_api_destinations(events, events_unvalidated):
    conn = events.create_connection(
        Name=unique("dconn"),
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    name = unique("dest")
    out = events.create_api_destination(
        Name=name,
        ConnectionArn=conn,
        HttpMethod="POST",
        InvocationEndpoint="https://example.com/api",
        Description="d",
    )
    assert out["ApiDestinationState"] == "ACTIVE"
    d = events.describe_api_destination(Name=name)
    assert d["InvocationRateLimitPerSecond"] == 300
    assert d["HttpMethod"] == "POST" and d["Description"] == "d"
    listed = events.list_api_destinations(NamePrefix=name)["ApiDestinations"]
    assert [x["Name"] for x in listed] == [name] and "Description" not in listed[0]
    events.update_api_destination(Name=name, InvocationRateLimitPerSecond=10)
    assert events.describe_api_destination(Name=name)["InvocationRateLimitPerSecond"] == 10
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events_unvalidated.create_api_destination(
            Name=unique("bad"),
            ConnectionArn="invalid-connection-arn",
            HttpMethod="INVALID_METHOD",
            InvocationEndpoint="invalid-endpoint",
        )
    assert e.value.response["Error"]["Message"].startswith("2 validation errors detected: ")
    assert "at 'connectionArn'" in e.value.response["Error"]["Message"]
    assert "at 'httpMethod'" in e.value.response["Error"]["Message"]
    events.delete_api_destination(Name=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_api_destination(Name=name)
    assert error_code(e) == "ResourceNotFoundException"


def test_archives(events):
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    name = unique("arch")[:40]
    out = events.create_archive(
        ArchiveName=name, EventSourceArn=bus, Description="d", EventPattern='{"source":["x"]}', RetentionDays=1
    )
    assert out["ArchiveArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:archive/{name}"
    assert out["State"] == "ENABLED"
    d = events.describe_archive(ArchiveName=name)
    assert (d["EventCount"], d["SizeBytes"], d["RetentionDays"]) == (0, 0, 1)
    assert [a["ArchiveName"] for a in events.list_archives(NamePrefix=name)["Archives"]] == [name]
    assert events.list_archives(NamePrefix=name, EventSourceArn=bus, State="ENABLED")["Archives"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.update_archive(ArchiveName=unique("none"))
    assert e.value.response["Error"]["Message"] == (
        "At least one of EventPattern, RetentionDays or Description must be provided."
    )
    events.update_archive(ArchiveName=name, RetentionDays=7)
    assert events.describe_archive(ArchiveName=name)["RetentionDays"] == 7
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.create_archive(
            ArchiveName=unique("a2")[:40], EventSourceArn=f"arn:aws:events:{REGION}:123456789012:event-bus/nobus"
        )
    assert e.value.response["Error"]["Message"] == "Event bus nobus does not exist."
    events.delete_archive(ArchiveName=name)
    assert events.list_archives(NamePrefix=name)["Archives"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_replay(ReplayName=unique("replay"))
    assert error_code(e) == "ResourceNotFoundException"
