"""Durability of EventBridge deliveries: a kill -9 while an API destination's deliveries are being
retried; after the restart every accepted event still reaches the endpoint (at least once)."""

import json
import signal
import time

from http_endpoint import Endpoint
from test_restart import Ferry, ferry  # noqa: F401  (the fixture)


def wait_until(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_kill_9_during_api_destination_retries_loses_no_event(ferry):  # noqa: F811
    state = {"failing": True}

    def answer(n, method, path, headers, body):
        return (500, "") if state["failing"] else (200, "{}")

    ep = Endpoint(answer)
    try:
        ferry.start()
        port = ferry.port
        events = ferry.client("events")
        conn = events.create_connection(
            Name="durable",
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}},
        )
        dest = events.create_api_destination(
            Name="durable",
            ConnectionArn=conn["ConnectionArn"],
            InvocationEndpoint=f"{ep.url}/events",
            HttpMethod="POST",
        )
        events.put_rule(Name="to-api", EventPattern=json.dumps({"source": ["durable"]}))
        events.put_targets(
            Rule="to-api",
            Targets=[
                {
                    "Id": "api",
                    "Arn": dest["ApiDestinationArn"],
                    "InputPath": "$.detail",
                    "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 3600},
                }
            ],
        )
        sent = [f"e{i}" for i in range(30)]
        for i in range(0, len(sent), 10):
            r = events.put_events(
                Entries=[
                    {"Source": "durable", "DetailType": "t", "Detail": json.dumps({"n": n})}
                    for n in sent[i : i + 10]
                ]
            )
            assert r["FailedEntryCount"] == 0

        def seen():
            return {json.loads(body)["n"] for _, _, _, body in list(ep.seen)}

        # Every event has failed at least once: all are being retried when ferry dies.
        assert wait_until(lambda: seen() == set(sent), 20), sorted(set(sent) - seen())
        assert ferry.stop(signal.SIGKILL) is not None

        state["failing"] = False
        before = len(ep.seen)
        ferry.start(port=port)

        def delivered():
            return {json.loads(body)["n"] for _, _, _, body in list(ep.seen)[before:]}

        assert wait_until(lambda: delivered() == set(sent), 60), sorted(set(sent) - delivered())
    finally:
        ep.close()
