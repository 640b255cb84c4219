"""EventBridge TestEventPattern through boto3: every case recorded against AWS in
tests/data/event-patterns.json must agree, plus a few of our own."""

import json
import os
import pathlib

import botocore.exceptions
import pytest

from conftest import make_client

CASES_FILE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "event-patterns.json"
CASES = json.loads(CASES_FILE.read_text())["cases"]


@pytest.fixture(scope="module")
def events():
    return make_client("events")


def test_the_conformance_file_is_there():
    assert len(CASES) >= 50, f"expected the recorded AWS cases in {CASES_FILE}"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_recorded_case(events, case):
    pattern = case["pattern"] if isinstance(case["pattern"], str) else json.dumps(case["pattern"])
    event = case["event"] if isinstance(case["event"], str) else json.dumps(case["event"])
    if case["expect"] == "error":
        with pytest.raises(botocore.exceptions.ClientError) as e:
            events.test_event_pattern(EventPattern=pattern, Event=event)
        assert e.value.response["Error"]["Code"] == case["error_code"]
        first_line = case.get("error_message", "").split("\n")[0]
        assert e.value.response["Error"]["Message"].split("\n")[0] == first_line
    else:
        got = events.test_event_pattern(EventPattern=pattern, Event=event)["Result"]
        assert got == (case["expect"] == "match")


def test_event_envelope_is_validated(events):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.test_event_pattern(EventPattern='{"source":["a"]}', Event='{"source":"a"}')
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_unimplemented_eventbridge_action_is_a_clear_error(events):
    # Replays wait for archives that record events.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.start_replay(
            ReplayName="r",
            EventSourceArn="arn:aws:events:us-east-1:000000000000:archive/a",
            EventStartTime=0,
            EventEndTime=1,
            Destination={"Arn": "arn:aws:events:us-east-1:000000000000:event-bus/default"},
        )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"
