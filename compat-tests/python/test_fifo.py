"""FIFO queues through boto3: creation rules, send validation, group order and locking,
deduplication, sequence numbers, receive attempts, batches, redrive, and many consumers at once.

Runs on both protocols (awsJson1.0 with current boto3, awsQuery with botocore 1.31), so only
parameters both models have are used (AttributeNames, not MessageSystemAttributeNames)."""

import hashlib
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import attrs, counts, error_code, make_client, queue_arn_for, name_of


def fifo(new_queue, **attributes):
    """A new FIFO queue; `attributes` are extra queue attributes (strings)."""
    return new_queue(".fifo", Attributes={"FifoQueue": "true", **attributes})


def send(sqs, url, body, group, dedup=None, **kwargs):
    if dedup is not None:
        kwargs["MessageDeduplicationId"] = dedup
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **kwargs)


def receive(sqs, url, max_messages=10, **kwargs):
    kwargs.setdefault("WaitTimeSeconds", 0)
    return sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], **kwargs
    ).get("Messages", [])


def bodies(msgs):
    return [m["Body"] for m in msgs]


def delete(sqs, url, msgs):
    for m in msgs:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


# ------------------------------------------------------------------------------------ creation


def test_create_fifo_queue_and_default_attributes(sqs, new_queue):
    url = fifo(new_queue)
    assert name_of(url).endswith(".fifo")
    a = attrs(sqs, url)
    assert a["FifoQueue"] == "true"
    assert a["ContentBasedDeduplication"] == "false"
    assert a["DeduplicationScope"] == "queue"
    assert a["FifoThroughputLimit"] == "perQueue"
    assert a["QueueArn"] == queue_arn_for(name_of(url))
    # Same name and attributes again: the same queue.
    again = sqs.create_queue(QueueName=name_of(url), Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert again == url
    assert sqs.get_queue_url(QueueName=name_of(url))["QueueUrl"] == url


def test_standard_queue_has_no_fifo_attributes(sqs, queue):
    a = attrs(sqs, queue)
    for name in ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"):
        assert name not in a, name


def test_name_and_fifo_attribute_must_agree(sqs, queue_name):
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=queue_name, Attributes={"FifoQueue": "true"})
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=queue_name + ".fifo")
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName=queue_name + ".fifo", Attributes={"FifoQueue": "false"})
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(QueueName="x" * 76 + ".fifo", Attributes={"FifoQueue": "true"})
    assert error_code(e) == "InvalidParameterValue"
    assert not sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls")


def test_fifo_only_attributes_on_standard_queue(sqs, queue_name, queue):
    for name, value in (
        ("ContentBasedDeduplication", "true"),
        ("DeduplicationScope", "messageGroup"),
        ("FifoThroughputLimit", "perMessageGroupId"),
    ):
        with pytest.raises(ClientError) as e:
            sqs.create_queue(QueueName=queue_name, Attributes={name: value})
        assert error_code(e) == "InvalidAttributeName", name
        with pytest.raises(ClientError) as e:
            sqs.set_queue_attributes(QueueUrl=queue, Attributes={name: value})
        assert error_code(e) == "InvalidAttributeName", name


def test_fifo_attribute_values_and_combinations(sqs, new_queue, queue_name):
    name = queue_name + ".fifo"
    with pytest.raises(ClientError) as e:
        sqs.create_queue(
            QueueName=name, Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"}
        )
    assert error_code(e) == "InvalidAttributeValue"
    for attr, bad in (
        ("DeduplicationScope", "everything"),
        ("FifoThroughputLimit", "fast"),
        ("ContentBasedDeduplication", "yes"),
    ):
        with pytest.raises(ClientError) as e:
            sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", attr: bad})
        assert error_code(e) == "InvalidAttributeValue", attr
    assert not sqs.list_queues(QueueNamePrefix=queue_name).get("QueueUrls")

    url = fifo(
        new_queue,
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
        ContentBasedDeduplication="true",
    )
    a = attrs(sqs, url)
    assert (a["DeduplicationScope"], a["FifoThroughputLimit"], a["ContentBasedDeduplication"]) == (
        "messageGroup",
        "perMessageGroupId",
        "true",
    )
    # Back to queue scope while throughput is per group: refused, nothing changes.
    with pytest.raises(ClientError) as e:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "queue"})
    assert error_code(e) == "InvalidAttributeValue"
    assert attrs(sqs, url, "DeduplicationScope")["DeduplicationScope"] == "messageGroup"
    # Both together is fine.
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"DeduplicationScope": "queue", "FifoThroughputLimit": "perQueue", "ContentBasedDeduplication": "false"},
    )
    a = attrs(sqs, url)
    assert (a["DeduplicationScope"], a["FifoThroughputLimit"], a["ContentBasedDeduplication"]) == (
        "queue",
        "perQueue",
        "false",
    )
    # The queue type cannot change.
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert attrs(sqs, url, "FifoQueue")["FifoQueue"] == "true"


# ------------------------------------------------------------------------------------ sending


def test_send_validation(sqs_unvalidated, new_queue, queue):
    sqs = sqs_unvalidated
    url = fifo(new_queue)
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert error_code(e) == "MissingParameter"
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert error_code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        send(sqs, url, "x", "g", "d", DelaySeconds=5)
    assert error_code(e) == "InvalidParameterValue"
    for group, dedup in (
        ("bad group", "d"),
        ("g", "bad dedup"),
        ("x" * 129, "d"),
        ("g", "y" * 129),
        ("gé", "d"),
    ):
        with pytest.raises(ClientError) as e:
            send(sqs, url, "x", group, dedup)
        assert error_code(e) == "InvalidParameterValue", (group, dedup)
    assert counts(sqs, url) == (0, 0, 0), "nothing was stored"
    # Every punctuation character and 128 characters are allowed; DelaySeconds=0 is fine.
    ok = send(sqs, url, "x", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + "g" * 10, "d" * 128, DelaySeconds=0)
    assert len(ok["SequenceNumber"]) == 20
    # A deduplication id on a standard queue is refused.
    with pytest.raises(ClientError) as e:
        sqs.send_message(QueueUrl=queue, MessageBody="x", MessageDeduplicationId="d")
    assert error_code(e) == "InvalidParameterValue"


def test_queue_delay_applies_to_fifo(sqs, new_queue):
    url = fifo(new_queue, DelaySeconds="1")
    send(sqs, url, "late", "g", "d1")
    assert counts(sqs, url) == (0, 0, 1)
    assert receive(sqs, url) == []
    msgs = receive(sqs, url, WaitTimeSeconds=3)
    assert bodies(msgs) == ["late"]


def test_sequence_numbers_and_system_attributes(sqs, new_queue):
    url = fifo(new_queue)
    sent = [send(sqs, url, f"m{i}", "g1" if i % 2 else "g0", f"dedup-{i}") for i in range(6)]
    seqs = [s["SequenceNumber"] for s in sent]
    for s in seqs:
        assert len(s) == 20 and s.isdigit(), s
    assert seqs == sorted(seqs) and len(set(seqs)) == 6, "increasing as strings"
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    assert all("MD5OfMessageBody" in s for s in sent)

    got = []
    for _ in range(10):
        msgs = receive(sqs, url)
        if not msgs:
            break
        got.extend(msgs)
        delete(sqs, url, msgs)
    assert sorted(bodies(got)) == [f"m{i}" for i in range(6)]
    by_body = {m["Body"]: m for m in got}
    for i, s in enumerate(sent):
        a = by_body[f"m{i}"]["Attributes"]
        assert by_body[f"m{i}"]["MessageId"] == s["MessageId"]
        assert a["SequenceNumber"] == s["SequenceNumber"]
        assert a["MessageGroupId"] == ("g1" if i % 2 else "g0")
        assert a["MessageDeduplicationId"] == f"dedup-{i}"
        assert a["ApproximateReceiveCount"] == "1"
    # Only the requested system attributes come back.
    send(sqs, url, "one", "g", "dd")
    m = sqs.receive_message(QueueUrl=url, AttributeNames=["MessageGroupId"])["Messages"][0]
    assert m["Attributes"] == {"MessageGroupId": "g"}


# ------------------------------------------------------------------------------------ order and locking


def test_order_within_group_and_group_locking(sqs, new_queue):
    url = fifo(new_queue, VisibilityTimeout="2")
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")):
        send(sqs, url, body, group, body)
    first = receive(sqs, url, 1)
    assert bodies(first) == ["a1"]
    second = receive(sqs, url)
    assert bodies(second) == ["b1", "b2"], "group a is locked while a1 is in flight; b flows"
    assert receive(sqs, url) == [], "every group is locked"
    assert counts(sqs, url) == (2, 3, 0)
    # Deleting b's messages one by one: b stays locked until its last in-flight message goes.
    delete(sqs, url, second[:1])
    assert receive(sqs, url) == []
    delete(sqs, url, first)
    third = receive(sqs, url)
    assert bodies(third) == ["a2", "a3"], "a unlocked, in order"
    # Time out: a2 and a3 come back first and in order, b2 is still locked by the old receive.
    time.sleep(2.3)
    again = receive(sqs, url)
    assert bodies(again) == ["b2", "a2", "a3"] or bodies(again) == ["a2", "a3", "b2"], bodies(again)
    by_body = {m["Body"]: m["Attributes"] for m in again}
    assert by_body["a2"]["ApproximateReceiveCount"] == "2"
    assert by_body["a2"]["SequenceNumber"] < by_body["a3"]["SequenceNumber"]
    delete(sqs, url, again)
    assert counts(sqs, url) == (0, 0, 0)


def test_change_visibility_zero_unlocks_group_in_order(sqs, new_queue):
    url = fifo(new_queue)
    for i in range(3):
        send(sqs, url, f"m{i}", "g", f"d{i}")
    msgs = receive(sqs, url, 2)
    assert bodies(msgs) == ["m0", "m1"]
    assert receive(sqs, url) == []
    # Returning only the later message keeps the group locked by the earlier one.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msgs[1]["ReceiptHandle"], VisibilityTimeout=0)
    assert receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(receive(sqs, url)) == ["m0", "m1", "m2"]


def test_long_poll_wakes_when_group_unlocks(sqs, new_queue):
    url = fifo(new_queue)
    send(sqs, url, "m0", "g", "d0")
    send(sqs, url, "m1", "g", "d1")
    first = receive(sqs, url, 1)
    assert bodies(first) == ["m0"]
    result = {}

    def poll():
        client = make_client("sqs")
        t0 = time.monotonic()
        result["msgs"] = receive(client, url, WaitTimeSeconds=5)
        result["took"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    delete(sqs, url, first)
    t.join(10)
    assert not t.is_alive()
    assert bodies(result["msgs"]) == ["m1"]
    assert result["took"] < 4, "the delete that unlocked the group woke the long poll"


# ------------------------------------------------------------------------------------ deduplication


def test_deduplication_by_id(sqs, new_queue):
    url = fifo(new_queue)
    a = send(sqs, url, "one", "g", "same")
    b = send(sqs, url, "two", "g", "same")
    assert b["MessageId"] == a["MessageId"]
    assert b["SequenceNumber"] == a["SequenceNumber"]
    # Queue scope: another group with the same id is a duplicate as well.
    c = send(sqs, url, "three", "other", "same")
    assert c["MessageId"] == a["MessageId"]
    msgs = receive(sqs, url)
    assert bodies(msgs) == ["one"]
    delete(sqs, url, msgs)
    # Still deduplicated after the delete (the window is 5 minutes from the first send).
    d = send(sqs, url, "four", "g", "same")
    assert d["MessageId"] == a["MessageId"]
    assert receive(sqs, url) == []
    assert counts(sqs, url) == (0, 0, 0)
    # A new id is a new message.
    e = send(sqs, url, "five", "g", "new")
    assert e["MessageId"] != a["MessageId"]
    assert int(e["SequenceNumber"]) > int(a["SequenceNumber"])
    assert bodies(receive(sqs, url)) == ["five"]


def test_content_based_deduplication(sqs, new_queue):
    url = fifo(new_queue, ContentBasedDeduplication="true")
    a = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    c = sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    assert c["MessageId"] != a["MessageId"]
    # An explicit id wins over the body hash.
    d = send(sqs, url, "same body", "g", "explicit")
    assert d["MessageId"] != a["MessageId"]
    e = send(sqs, url, "different body", "g", "explicit")
    assert e["MessageId"] == d["MessageId"]
    msgs = receive(sqs, url)
    assert bodies(msgs) == ["same body", "other body", "same body"]
    assert msgs[0]["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(b"same body").hexdigest()
    assert msgs[2]["Attributes"]["MessageDeduplicationId"] == "explicit"


def test_deduplication_scope_message_group(sqs, new_queue):
    url = fifo(new_queue, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = send(sqs, url, "x", "g1", "same")
    assert send(sqs, url, "y", "g1", "same")["MessageId"] == a["MessageId"]
    b = send(sqs, url, "z", "g2", "same")
    assert b["MessageId"] != a["MessageId"], "the scope is the group"
    assert counts(sqs, url) == (2, 0, 0)
    assert sorted(bodies(receive(sqs, url))) == ["x", "z"]


# ------------------------------------------------------------------------------------ receive attempts


def test_receive_request_attempt_id_retry(sqs, new_queue):
    url = fifo(new_queue)
    for i in range(4):
        send(sqs, url, f"m{i}", "g", f"d{i}")
    first = receive(sqs, url, 2, ReceiveRequestAttemptId="attempt-1")
    retry = receive(sqs, url, 2, ReceiveRequestAttemptId="attempt-1")
    assert bodies(first) == ["m0", "m1"]
    assert [m["ReceiptHandle"] for m in retry] == [m["ReceiptHandle"] for m in first]
    assert [m["MessageId"] for m in retry] == [m["MessageId"] for m in first]
    # A new attempt sees the group locked.
    assert receive(sqs, url, 2, ReceiveRequestAttemptId="attempt-2") == []
    delete(sqs, url, first)
    assert bodies(receive(sqs, url, 2, ReceiveRequestAttemptId="attempt-3")) == ["m2", "m3"]
    with pytest.raises(ClientError) as e:
        receive(sqs, url, 1, ReceiveRequestAttemptId="bad attempt id")
    assert error_code(e) == "InvalidParameterValue"


# ------------------------------------------------------------------------------------ batches


def test_send_message_batch_fifo(sqs_unvalidated, new_queue):
    sqs = sqs_unvalidated
    url = fifo(new_queue)
    resp = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a1", "MessageBody": "a1", "MessageGroupId": "a", "MessageDeduplicationId": "a1"},
            {"Id": "b1", "MessageBody": "b1", "MessageGroupId": "b", "MessageDeduplicationId": "b1"},
            {"Id": "delay", "MessageBody": "z", "MessageGroupId": "a", "MessageDeduplicationId": "z", "DelaySeconds": 3},
            {"Id": "a2", "MessageBody": "a2", "MessageGroupId": "a", "MessageDeduplicationId": "a2"},
            {"Id": "dup", "MessageBody": "again", "MessageGroupId": "a", "MessageDeduplicationId": "a1"},
        ],
    )
    ok = {e["Id"]: e for e in resp["Successful"]}
    failed = {e["Id"]: e for e in resp.get("Failed", [])}
    assert set(ok) == {"a1", "b1", "a2", "dup"}
    # An entry without its group or deduplication id fails the whole batch (test_fidelity.py).
    assert set(failed) == {"delay"}
    assert failed["delay"]["Code"] == "InvalidParameterValue"
    assert all(f["SenderFault"] for f in failed.values())
    assert ok["dup"]["MessageId"] == ok["a1"]["MessageId"], "deduplicated within the batch"
    assert ok["dup"]["SequenceNumber"] == ok["a1"]["SequenceNumber"]
    seqs = [ok[i]["SequenceNumber"] for i in ("a1", "b1", "a2")]
    assert all(len(s) == 20 for s in seqs)
    assert seqs == sorted(seqs) and len(set(seqs)) == 3, "entries are sequenced in entry order"
    assert ok["a1"]["MD5OfMessageBody"] == hashlib.md5(b"a1").hexdigest()
    msgs = receive(sqs, url)
    assert [b for b in bodies(msgs) if b.startswith("a")] == ["a1", "a2"]
    assert sorted(bodies(msgs)) == ["a1", "a2", "b1"]


# ------------------------------------------------------------------------------------ redrive


def test_fifo_redrive_to_fifo_dlq_keeps_order(sqs, new_queue, queue_name):
    plain = new_queue()
    with pytest.raises(ClientError) as e:
        sqs.create_queue(
            QueueName=queue_name + "x.fifo",
            Attributes={
                "FifoQueue": "true",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn_for(name_of(plain)), "maxReceiveCount": 1}),
            },
        )
    assert error_code(e) == "InvalidParameterValue", "a FIFO queue needs a FIFO dead-letter queue"

    dlq = fifo(new_queue)
    policy = json.dumps({"deadLetterTargetArn": queue_arn_for(name_of(dlq)), "maxReceiveCount": 1})
    src = fifo(new_queue, VisibilityTimeout="1", RedrivePolicy=policy)
    for i in range(4):
        send(sqs, src, f"p{i}", "g", f"p{i}")
    send(sqs, src, "q0", "h", "q0")
    assert bodies(receive(sqs, src, 2)) == ["p0", "p1"]
    time.sleep(1.3)
    # p0 and p1 exceeded maxReceiveCount: moved in order; the group continues with p2.
    rest = receive(sqs, src)
    assert [b for b in bodies(rest) if b.startswith("p")] == ["p2", "p3"]
    assert "q0" in bodies(rest)
    moved = receive(sqs, dlq, WaitTimeSeconds=2)
    assert bodies(moved) == ["p0", "p1"]
    assert all(m["Attributes"]["MessageGroupId"] == "g" for m in moved)
    assert moved[0]["Attributes"]["SequenceNumber"] < moved[1]["Attributes"]["SequenceNumber"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]


# ------------------------------------------------------------------------------------ concurrency


GROUPS = 20
PER_GROUP = 10
CONSUMERS = 8
VISIBILITY = 4.0
LEASE_MARGIN = 2.5  # a consumer only deletes while at least this much of its lease is left


def test_many_consumers_never_share_a_group_and_keep_order(sqs, new_queue):
    url = fifo(new_queue, VisibilityTimeout=str(int(VISIBILITY)))
    for i in range(PER_GROUP):
        entries = [
            {"Id": f"g{g}", "MessageBody": f"g{g}:{i}", "MessageGroupId": f"g{g}", "MessageDeduplicationId": f"{g}-{i}"}
            for g in range(GROUPS)
        ]
        for chunk in (entries[:10], entries[10:]):
            resp = sqs.send_message_batch(QueueUrl=url, Entries=chunk)
            assert not resp.get("Failed"), resp.get("Failed")
    total = GROUPS * PER_GROUP

    lock = threading.Lock()
    holders = {}  # group -> (consumer, monotonic time just before the receive that handed it out)
    processed = {f"g{g}": [] for g in range(GROUPS)}
    violations = []
    errors = []
    stats = {"abandoned": 0, "receives": 0}
    done = threading.Event()
    deadline = time.monotonic() + 45

    def done_count():
        return sum(len(v) for v in processed.values())

    def consumer(c):
        client = make_client("sqs")
        turn = 0
        try:
            while not done.is_set() and time.monotonic() < deadline:
                t_before = time.monotonic()
                msgs = client.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1).get(
                    "Messages", []
                )
                t_after = time.monotonic()
                if not msgs:
                    with lock:
                        if done_count() >= total:
                            done.set()
                    continue
                turn += 1
                groups = []
                with lock:
                    stats["receives"] += 1
                    for m in msgs:
                        g = m["Body"].split(":")[0]
                        if g in groups:
                            continue
                        groups.append(g)
                        held = holders.get(g)
                        # The previous holder's lease surely had not run out yet: a double hand-out.
                        if held is not None and t_after < held[1] + VISIBILITY:
                            violations.append((g, held[0], c, t_after - held[1]))
                        holders[g] = (c, t_before)
                time.sleep(0.005 * (c % 4))
                if turn % 5 == c % 5 or time.monotonic() > t_before + VISIBILITY - LEASE_MARGIN:
                    # A consumer that crashed (or ran out of lease): the messages come back after
                    # the visibility timeout. The holder entry stays until its lease has surely ended.
                    with lock:
                        stats["abandoned"] += 1
                    continue
                for g in groups:
                    mine = [m for m in msgs if m["Body"].split(":")[0] == g]
                    with lock:
                        processed[g].extend(int(m["Body"].split(":")[1]) for m in mine)
                        # Released before the last delete leaves: from then on the group may go to others.
                        if holders.get(g, (None,))[0] == c:
                            del holders[g]
                    for m in mine:
                        client.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        except Exception as e:  # surfaced in the main thread
            errors.append((c, repr(e)))
            done.set()

    threads = [threading.Thread(target=consumer, args=(c,), daemon=True) for c in range(CONSUMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "consumers did not stop"
    assert not errors, errors
    assert not violations, f"groups handed to two consumers at once: {violations[:5]}"
    assert stats["abandoned"] > 0, "some receives were abandoned and came back"
    for g, seen in processed.items():
        assert seen == list(range(PER_GROUP)), f"group {g} processed out of order or not exactly once: {seen}"
    assert counts(sqs, url) == (0, 0, 0)
