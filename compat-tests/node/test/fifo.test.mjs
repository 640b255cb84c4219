// FIFO queues through the AWS SDK for JavaScript v3: creation rules, group order and locking,
// deduplication, sequence numbers, and several SQSClient instances consuming one queue at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { expectServiceError, sleep, sqsClient, uniqueName, testClient } from "../lib/ferry.mjs";

const { sqs, created } = testClient();

async function fifoQueue(tag, extra = {}) {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${uniqueName(tag)}.fifo`, Attributes: { FifoQueue: "true", ...extra } }),
  );
  created.push(QueueUrl);
  return QueueUrl;
}

const send = (QueueUrl, MessageBody, MessageGroupId, MessageDeduplicationId, client = sqs) =>
  client.send(new SendMessageCommand({ QueueUrl, MessageBody, MessageGroupId, MessageDeduplicationId }));

async function receive(QueueUrl, max = 10, extra = {}, client = sqs) {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ["All"],
      WaitTimeSeconds: 0,
      ...extra,
    }),
  );
  return out.Messages ?? [];
}

const bodies = (msgs) => msgs.map((m) => m.Body);

async function remove(QueueUrl, msgs, client = sqs) {
  for (const m of msgs) await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
}

async function attributes(QueueUrl) {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
  return Attributes;
}

test("FIFO queues: creation rules and attributes", async () => {
  const url = await fifoQueue("create", { ContentBasedDeduplication: "true" });
  assert.ok(url.endsWith(".fifo"));
  const a = await attributes(url);
  assert.equal(a.FifoQueue, "true");
  assert.equal(a.ContentBasedDeduplication, "true");
  assert.equal(a.DeduplicationScope, "queue");
  assert.equal(a.FifoThroughputLimit, "perQueue");

  const name = uniqueName("bad");
  await expectServiceError(
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true" } })),
    "InvalidParameterValue",
  );
  await expectServiceError(sqs.send(new CreateQueueCommand({ QueueName: `${name}.fifo` })), "InvalidParameterValue");
  const err = await expectServiceError(
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { ContentBasedDeduplication: "true" } })),
    "InvalidAttributeName",
  );
  assert.equal(err.Code, "InvalidAttributeName");
  await expectServiceError(
    sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}.fifo`,
        Attributes: { FifoQueue: "true", FifoThroughputLimit: "perMessageGroupId" },
      }),
    ),
    "InvalidAttributeValue",
  );
  const high = await fifoQueue("high", { DeduplicationScope: "messageGroup", FifoThroughputLimit: "perMessageGroupId" });
  const h = await attributes(high);
  assert.equal(h.DeduplicationScope, "messageGroup");
  assert.equal(h.FifoThroughputLimit, "perMessageGroupId");
});

test("FIFO send validation", async () => {
  const url = await fifoQueue("validate");
  await expectServiceError(
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageDeduplicationId: "d" })),
    "MissingParameter",
  );
  await expectServiceError(
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "x", MessageGroupId: "g" })),
    "InvalidParameterValue",
  );
  await expectServiceError(
    sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: "x",
        MessageGroupId: "g",
        MessageDeduplicationId: "d",
        DelaySeconds: 5,
      }),
    ),
    "InvalidParameterValue",
  );
  await expectServiceError(send(url, "x", "bad group", "d"), "InvalidParameterValue");
});

test("FIFO order within a group and group locking", async () => {
  const url = await fifoQueue("order", { VisibilityTimeout: "30" });
  for (const [body, group] of [
    ["a1", "a"],
    ["b1", "b"],
    ["a2", "a"],
    ["b2", "b"],
    ["a3", "a"],
  ]) {
    await send(url, body, group, body);
  }
  const first = await receive(url, 1);
  assert.deepEqual(bodies(first), ["a1"]);
  const second = await receive(url);
  assert.deepEqual(bodies(second), ["b1", "b2"], "group a is locked while a1 is in flight; b flows");
  assert.deepEqual(await receive(url), [], "every group is locked");
  await remove(url, first);
  const third = await receive(url);
  assert.deepEqual(bodies(third), ["a2", "a3"], "a unlocked, in order");
  assert.equal(third[0].Attributes.MessageGroupId, "a");
  assert.ok(third[0].Attributes.SequenceNumber < third[1].Attributes.SequenceNumber);
});

test("FIFO deduplication and sequence numbers", async () => {
  const url = await fifoQueue("dedup");
  const a = await send(url, "one", "g", "same");
  const b = await send(url, "two", "g", "same");
  assert.equal(b.MessageId, a.MessageId, "duplicate within the window: same message id");
  assert.equal(b.SequenceNumber, a.SequenceNumber);
  const c = await send(url, "three", "g", "other");
  assert.notEqual(c.MessageId, a.MessageId);
  for (const s of [a.SequenceNumber, c.SequenceNumber]) assert.match(s, /^\d{20}$/);
  assert.ok(c.SequenceNumber > a.SequenceNumber, "increasing");
  assert.ok(BigInt(c.SequenceNumber) > BigInt(a.SequenceNumber));

  const msgs = await receive(url);
  assert.deepEqual(bodies(msgs), ["one", "three"]);
  assert.equal(msgs[0].Attributes.SequenceNumber, a.SequenceNumber);
  assert.equal(msgs[0].Attributes.MessageDeduplicationId, "same");
  assert.equal(msgs[0].Attributes.MessageGroupId, "g");
  await remove(url, msgs);
  // Still a duplicate after the delete: the window runs 5 minutes from the first send.
  const d = await send(url, "four", "g", "same");
  assert.equal(d.MessageId, a.MessageId);
  assert.deepEqual(await receive(url), []);

  // Content-based deduplication, and batches with per-entry sequence numbers.
  const cbd = await fifoQueue("cbd", { ContentBasedDeduplication: "true" });
  const x = await sqs.send(new SendMessageCommand({ QueueUrl: cbd, MessageBody: "body", MessageGroupId: "g" }));
  const y = await sqs.send(new SendMessageCommand({ QueueUrl: cbd, MessageBody: "body", MessageGroupId: "g" }));
  assert.equal(y.MessageId, x.MessageId);
  const batch = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: cbd,
      Entries: [
        { Id: "e1", MessageBody: "b1", MessageGroupId: "g" },
        { Id: "e2", MessageBody: "b2", MessageGroupId: "h" },
        { Id: "e3", MessageBody: "body", MessageGroupId: "g" },
      ],
    }),
  );
  assert.equal((batch.Failed ?? []).length, 0);
  const ok = Object.fromEntries(batch.Successful.map((e) => [e.Id, e]));
  assert.ok(ok.e1.SequenceNumber < ok.e2.SequenceNumber);
  assert.ok(ok.e1.SequenceNumber > x.SequenceNumber);
  assert.equal(ok.e3.MessageId, x.MessageId, "deduplicated by content");
  assert.deepEqual(bodies(await receive(cbd)).sort(), ["b1", "b2", "body"]);
});

test("FIFO: several clients consuming at once never share a group and keep order", async () => {
  const GROUPS = 20;
  const PER_GROUP = 10;
  const CONSUMERS = 6;
  const VISIBILITY_MS = 4000;
  const LEASE_MARGIN_MS = 2500;
  const url = await fifoQueue("busy", { VisibilityTimeout: String(VISIBILITY_MS / 1000) });
  for (let i = 0; i < PER_GROUP; i++) {
    for (let start = 0; start < GROUPS; start += 10) {
      const Entries = [];
      for (let g = start; g < Math.min(start + 10, GROUPS); g++) {
        Entries.push({ Id: `g${g}`, MessageBody: `g${g}:${i}`, MessageGroupId: `g${g}`, MessageDeduplicationId: `${g}-${i}` });
      }
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries }));
      assert.equal((out.Failed ?? []).length, 0);
    }
  }
  const total = GROUPS * PER_GROUP;
  const holders = new Map(); // group -> { consumer, start } (start: just before the receive)
  const processed = new Map(Array.from({ length: GROUPS }, (_, g) => [`g${g}`, []]));
  const violations = [];
  let abandoned = 0;
  const deadline = Date.now() + 45_000;
  const doneCount = () => [...processed.values()].reduce((n, v) => n + v.length, 0);

  const consumer = async (c) => {
    const client = sqsClient();
    let turn = 0;
    try {
      while (Date.now() < deadline && doneCount() < total) {
        const start = Date.now();
        const msgs = await receive(url, 3, { WaitTimeSeconds: 1 }, client);
        const now = Date.now();
        if (msgs.length === 0) continue;
        turn++;
        const groups = [...new Set(msgs.map((m) => m.Body.split(":")[0]))];
        for (const g of groups) {
          const held = holders.get(g);
          // The previous holder's lease surely had not run out: handed to two consumers at once.
          if (held && now < held.start + VISIBILITY_MS) violations.push({ g, from: held.consumer, to: c });
          holders.set(g, { consumer: c, start });
        }
        await sleep(5 * (c % 4));
        if (turn % 5 === c % 5 || Date.now() > start + VISIBILITY_MS - LEASE_MARGIN_MS) {
          abandoned++; // "crashed": the messages come back after the visibility timeout
          continue;
        }
        for (const g of groups) {
          const mine = msgs.filter((m) => m.Body.startsWith(`${g}:`));
          processed.get(g).push(...mine.map((m) => Number(m.Body.split(":")[1])));
          if (holders.get(g)?.consumer === c) holders.delete(g); // released before the last delete leaves
          await remove(url, mine, client);
        }
      }
    } finally {
      client.destroy();
    }
  };
  await Promise.all(Array.from({ length: CONSUMERS }, (_, c) => consumer(c)));

  assert.deepEqual(violations, [], "no group is held by two consumers at once");
  assert.ok(abandoned > 0, "some receives were abandoned and came back");
  for (const [g, seen] of processed) {
    assert.deepEqual(seen, Array.from({ length: PER_GROUP }, (_, i) => i), `group ${g} in order, exactly once`);
  }
  const a = await attributes(url);
  assert.equal(a.ApproximateNumberOfMessages, "0");
  assert.equal(a.ApproximateNumberOfMessagesNotVisible, "0");
});
