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
