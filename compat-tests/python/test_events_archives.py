"""EventBridge archives and replays through boto3: events accepted on a bus are archived as they
are accepted (AWS takes up to minutes to show them, EB-105; ferry counts them at once), replays
send them back to the bus with `replay-name`, to the rules FilterArns names, and are not archived
again. Validation as AWS answers it (EB-106 – EB-118)."""

import json
import time
import uuid

import botocore.exceptions
import pytest

from conftest import ACCOUNT, REGION, error_code, http_status, make_client


@pytest.fixture(scope="module")
def events():
    return make_client("events")


@pytest.fixture(scope="module")
def sqs():
    return make_client("sqs")


def unique(tag):
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def bus_arn(name):
    return f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"


def rule_arn(bus, name):
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/{name}"


def archive_arn(name):
    return f"arn:aws:events:{REGION}:{ACCOUNT}:archive/{name}"


def drain(sqs, url, want, wait=2):
    got = []
    for _ in range(10):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get(
            "Messages", []
        )
        for m in msgs:
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) >= want and not msgs:
            break
    return got


def finished(events, name, limit_s=10):
    for _ in range(limit_s * 10):
        d = events.describe_replay(ReplayName=name)
        if d["State"] in ("COMPLETED", "CANCELLED", "FAILED"):
            return d
        time.sleep(0.1)
    raise AssertionError(f"replay {name} did not finish: {d}")


@pytest.fixture
def setup(events, sqs):
    """A bus with rules `first` and `second` (source `app`), each into a queue, and an archive of
    the `keep` events."""
    bus = unique("arch-bus")
    events.create_event_bus(Name=bus)
    urls = {}
    for rule in ("first", "second"):
        q = unique(f"arch-{rule}")
        urls[rule] = sqs.create_queue(QueueName=q)["QueueUrl"]
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["app"]}))
        events.put_targets(
            Rule=rule,
            EventBusName=bus,
            Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{q}"}],
        )
    archive = unique("arch")
    events.create_archive(
        ArchiveName=archive,
        EventSourceArn=bus_arn(bus),
        EventPattern=json.dumps({"detail-type": ["keep"]}),
    )
    yield bus, archive, urls
    events.delete_archive(ArchiveName=archive)
    for rule in ("first", "second"):
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["q"])
        events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
    for url in urls.values():
        sqs.delete_queue(QueueUrl=url)


def put(events, bus, *types):
    r = events.put_events(
        Entries=[
            {"Source": "app", "DetailType": t, "Detail": json.dumps({"n": i}), "EventBusName": bus}
            for i, t in enumerate(types)
        ]
    )
    assert r["FailedEntryCount"] == 0
    return [e["EventId"] for e in r["Entries"]]


def test_matching_events_are_archived_and_counted(events, sqs, setup):
    bus, archive, urls = setup
    put(events, bus, "keep", "skip", "keep")
    d = events.describe_archive(ArchiveName=archive)
    assert d["EventCount"] == 2
    assert d["SizeBytes"] > 0
    assert d["State"] == "ENABLED"
    listed = events.list_archives(NamePrefix=archive)["Archives"]
    assert [(a["ArchiveName"], a["EventCount"], a["SizeBytes"]) for a in listed] == [
        (archive, 2, d["SizeBytes"])
    ]
    assert len(drain(sqs, urls["first"], 3)) == 3


def test_a_replay_sends_archived_events_back_to_the_named_rules(events, sqs, setup):
    bus, archive, urls = setup
    start = time.time() - 60
    ids = put(events, bus, "keep", "skip", "keep")
    drain(sqs, urls["first"], 3)
    drain(sqs, urls["second"], 3)
    end = time.time()
    name = unique("rp")
    r = events.start_replay(
        ReplayName=name,
        Description="only first",
        EventSourceArn=archive_arn(archive),
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn(bus), "FilterArns": [rule_arn(bus, "first")]},
    )
    # EB-106
    assert r["ReplayArn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:replay/{name}"
    assert r["State"] == "STARTING"
    assert "ReplayStartTime" in r
    d = finished(events, name)
    # EB-108
    assert d["State"] == "COMPLETED"
    assert d["Destination"] == {"Arn": bus_arn(bus), "FilterArns": [rule_arn(bus, "first")]}
    assert d["Description"] == "only first"
    assert d["EventSourceArn"] == archive_arn(archive)
    for key in ("EventStartTime", "EventEndTime", "EventLastReplayedTime", "ReplayStartTime", "ReplayEndTime"):
        assert key in d, key
    got = drain(sqs, urls["first"], 2)
    assert sorted(e["id"] for e in got) == sorted([ids[0], ids[2]])
    assert all(e["replay-name"] == name and e["detail-type"] == "keep" for e in got)
    assert drain(sqs, urls["second"], 0, wait=1) == []
    # Replayed events are not archived again.
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 2
    # EB-110: a window with no events completes; without FilterArns every rule is a target.
    empty = unique("rp-empty")
    events.start_replay(
        ReplayName=empty,
        EventSourceArn=archive_arn(archive),
        EventStartTime=start - 3600,
        EventEndTime=start - 1800,
        Destination={"Arn": bus_arn(bus)},
    )
    d = finished(events, empty)
    assert d["State"] == "COMPLETED"
    assert "EventLastReplayedTime" not in d
    entry = events.list_replays(NamePrefix=empty)["Replays"][0]
    assert entry["State"] == "COMPLETED"
    assert "EventLastReplayedTime" not in entry
    # A finished replay cannot be cancelled.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.cancel_replay(ReplayName=name)
    assert error_code(e) == "IllegalStatusException"


def test_replays_are_listed_by_prefix_archive_and_page(events, setup):
    bus, archive, _ = setup
    prefix = unique("lst")
    now = time.time()
    for i in range(6):
        events.start_replay(
            ReplayName=f"{prefix}-{i}",
            EventSourceArn=archive_arn(archive),
            EventStartTime=now - 120,
            EventEndTime=now - 60,
            Destination={"Arn": bus_arn(bus)},
        )
        finished(events, f"{prefix}-{i}")
    # EB-111
    page = events.list_replays(NamePrefix=prefix, Limit=3)
    assert [r["ReplayName"] for r in page["Replays"]] == [f"{prefix}-{i}" for i in range(3)]
    page = events.list_replays(NamePrefix=prefix, Limit=5, NextToken=page["NextToken"])
    assert [r["ReplayName"] for r in page["Replays"]] == [f"{prefix}-{i}" for i in range(3, 6)]
    assert "NextToken" not in page
    by_archive = events.list_replays(EventSourceArn=archive_arn(archive))["Replays"]
    assert len(by_archive) == 6
    assert events.list_replays(NamePrefix=unique("none"))["Replays"] == []


def test_start_replay_refusals(events, setup):
    bus, archive, _ = setup
    other = unique("other-bus")
    events.create_event_bus(Name=other)
    now = time.time()

    def refused(code, message, **kwargs):
        args = dict(
            ReplayName=unique("bad"),
            EventSourceArn=archive_arn(archive),
            EventStartTime=now - 60,
            EventEndTime=now - 10,
            Destination={"Arn": bus_arn(bus)},
        )
        args.update(kwargs)
        with pytest.raises(botocore.exceptions.ClientError) as e:
            events.start_replay(**args)
        assert (error_code(e), e.value.response["Error"]["Message"]) == (code, message)
        assert http_status(e) == 400

    # EB-116
    why = "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime."
    refused("ValidationException", why, EventStartTime=now - 10, EventEndTime=now - 10)
    refused("ValidationException", why, EventStartTime=now - 10, EventEndTime=now - 20)
    refused(
        "ValidationException",
        "Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.",
        EventEndTime=now + 3600,
    )
    # EB-113
    refused(
        "ResourceNotFoundException",
        "Event bus nope-bus does not exist.",
        Destination={"Arn": bus_arn("nope-bus")},
    )
    refused(
        "ValidationException",
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
        Destination={"Arn": bus_arn(other)},
    )
    refused(
        "ResourceNotFoundException",
        "Archive nope does not exist.",
        EventSourceArn=archive_arn("nope"),
    )
    refused(
        "ResourceNotFoundException",
        f"Rule ghost does not exist on EventBus {bus}.",
        Destination={"Arn": bus_arn(bus), "FilterArns": [rule_arn(bus, "ghost")]},
    )
    # EB-115: names are unique per account and region.
    name = unique("dup")
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn(archive),
        EventStartTime=now - 60,
        EventEndTime=now - 10,
        Destination={"Arn": bus_arn(bus)},
    )
    refused("ResourceAlreadyExistsException", f"Replay {name} already exists.", ReplayName=name)
    finished(events, name)
    # EB-118
    missing = unique("missing")
    for call in (events.describe_replay, events.cancel_replay):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(ReplayName=missing)
        assert error_code(e) == "ResourceNotFoundException"
        assert e.value.response["Error"]["Message"] == f"Replay {missing} does not exist."
    events.delete_event_bus(Name=other)


def test_deleting_an_archive_deletes_its_events(events, setup):
    bus, archive, _ = setup
    put(events, bus, "keep")
    assert events.describe_archive(ArchiveName=archive)["EventCount"] == 1
    events.delete_archive(ArchiveName=archive)
    events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn(bus))
    d = events.describe_archive(ArchiveName=archive)
    assert (d["EventCount"], d["SizeBytes"]) == (0, 0)
