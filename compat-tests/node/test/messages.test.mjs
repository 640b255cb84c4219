import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import {
  expectServiceError,
  md5Hex,
  md5OfAttributes,
  sleep,
  sqsClient,
  uniqueName,
  testClient,
} from "../lib/ferry.mjs";

const { sqs, created } = testClient();

async function newQueue(tag, Attributes) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName(tag), Attributes }));
  created.push(QueueUrl);
  return QueueUrl;
}

const receive = (QueueUrl, extra = {}) =>
  sqs.send(
    new ReceiveMessageCommand({
      QueueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
      WaitTimeSeconds: 0,
      ...extra,
    }),
  );

async function counts(QueueUrl) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return [Number(Attributes.ApproximateNumberOfMessages), Number(Attributes.ApproximateNumberOfMessagesNotVisible)];
}

test("the SDK's MD5 check is on and catches a wrong MD5OfBody", async () => {
  assert.equal(typeof sqs.config.md5, "function", "md5 validation is enabled (config.md5 is a hash constructor)");
  const url = await newQueue("md5check");
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "tamper me" }));
  const cmd = new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 });
  // Corrupt the parsed response below the SDK's receiveMessage MD5 middleware.
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const res = await next(args);
      for (const m of res.output.Messages ?? []) m.MD5OfBody = "00000000000000000000000000000000";
      return res;
    },
    { step: "build", name: "ferryTamperMd5" },
  );
  await assert.rejects(sqs.send(cmd), /Invalid MD5 checksum on messages/);
});

test("send, receive, delete with String, Number and Binary attributes; MD5s match", async () => {
  const url = await newQueue("attrs");
  const body = "héllo ferry ✓ \u{1F680} <xml> & \"json\"";
  const attrs = {
    Str: { DataType: "String", StringValue: "välue" },
    Num: { DataType: "Number", StringValue: "-12.50" },
    Bin: { DataType: "Binary", BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
    Custom: { DataType: "String.custom", StringValue: "c" },
  };
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attrs }));
  assert.match(sent.MessageId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(sent.MD5OfMessageBody, md5Hex(body));
  assert.equal(sent.MD5OfMessageAttributes, md5OfAttributes(attrs));

  const before = Date.now();
  const { Messages } = await receive(url);
  assert.equal(Messages?.length, 1);
  const [m] = Messages;
  assert.equal(m.MessageId, sent.MessageId);
  assert.equal(m.Body, body);
  assert.equal(m.MD5OfBody, md5Hex(body));
  assert.ok(m.ReceiptHandle && m.ReceiptHandle.length > 0);
  assert.equal(m.MessageAttributes.Str.StringValue, "välue");
  assert.equal(m.MessageAttributes.Str.DataType, "String");
  assert.equal(m.MessageAttributes.Num.StringValue, "-12.50");
  assert.equal(m.MessageAttributes.Num.DataType, "Number");
  assert.equal(m.MessageAttributes.Bin.DataType, "Binary");
  assert.deepEqual([...m.MessageAttributes.Bin.BinaryValue], [0, 1, 2, 254, 255]);
  assert.equal(m.MessageAttributes.Custom.DataType, "String.custom");
  assert.equal(m.MD5OfMessageAttributes, md5OfAttributes(attrs));
  assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);
  assert.equal(m.Attributes.ApproximateReceiveCount, "1");
  assert.equal(m.Attributes.SenderId !== undefined, true, "SenderId is reported");
  const sentTs = Number(m.Attributes.SentTimestamp);
  assert.ok(Math.abs(sentTs - before) < 60_000, "SentTimestamp is epoch milliseconds, about now");
  assert.ok(Number(m.Attributes.ApproximateFirstReceiveTimestamp) >= sentTs);

  assert.deepEqual(await counts(url), [0, 1]);
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
  assert.deepEqual(await counts(url), [0, 0]);

  // A message without attributes has no MD5OfMessageAttributes at all.
  const plain = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "plain" }));
  assert.equal(plain.MD5OfMessageAttributes, undefined);
  const r2 = await receive(url);
  assert.equal(r2.Messages?.length, 1);
  assert.equal(r2.Messages[0].MD5OfMessageAttributes, undefined);
  assert.equal(r2.Messages[0].MessageAttributes, undefined);

  // Asking for one attribute by name returns only that one.
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "some", MessageAttributes: attrs }));
  const r3 = await receive(url, { MessageAttributeNames: ["Num"], MessageSystemAttributeNames: [] });
  assert.deepEqual(Object.keys(r3.Messages[0].MessageAttributes), ["Num"]);
});

test("a malformed receipt handle is ReceiptHandleIsInvalid", async () => {
  const url = await newQueue("invalid");
  await expectServiceError(
    sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: "not-a-receipt-handle" })),
    "ReceiptHandleIsInvalid",
  );
});

test("batch send and batch delete with a per-entry failure", async () => {
  const url = await newQueue("batch");
  const attrs = { Kind: { DataType: "String", StringValue: "batch" } };
  const entries = [
    { Id: "a", MessageBody: "body-a" },
    { Id: "b", MessageBody: "body-b", MessageAttributes: attrs },
    { Id: "c", MessageBody: "body-c" },
  ];
  const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  assert.deepEqual(sent.Failed ?? [], []);
  assert.deepEqual(sent.Successful.map((e) => e.Id).sort(), ["a", "b", "c"]);
  for (const e of sent.Successful) {
    assert.equal(e.MD5OfMessageBody, md5Hex(`body-${e.Id}`));
    assert.equal(e.MD5OfMessageAttributes, e.Id === "b" ? md5OfAttributes(attrs) : undefined);
  }

  await expectServiceError(
    sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "x", MessageBody: "1" }, { Id: "x", MessageBody: "2" }] })),
    "BatchEntryIdsNotDistinct",
    { code: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" },
  );
  await expectServiceError(
    sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] })),
    "EmptyBatchRequest",
    { code: "AWS.SimpleQueueService.EmptyBatchRequest" },
  );
  await expectServiceError(
    sqs.send(new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: "x" })),
    })),
    "TooManyEntriesInBatchRequest",
    { code: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest" },
  );
  await expectServiceError(
    sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: "bad id!", MessageBody: "1" }] })),
    "InvalidBatchEntryId",
    { code: "AWS.SimpleQueueService.InvalidBatchEntryId" },
  );

  const got = [];
  for (let i = 0; i < 5 && got.length < 3; i++) {
    const { Messages } = await receive(url, { WaitTimeSeconds: 1 });
    got.push(...(Messages ?? []));
  }
  assert.deepEqual(got.map((m) => m.Body).sort(), ["body-a", "body-b", "body-c"]);

  const del = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        ...got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
        { Id: "bogus", ReceiptHandle: "not-a-receipt-handle" },
      ],
    }),
  );
  assert.deepEqual(del.Successful.map((e) => e.Id).sort(), ["d0", "d1", "d2"]);
  assert.equal(del.Failed.length, 1);
  assert.equal(del.Failed[0].Id, "bogus");
  assert.equal(del.Failed[0].Code, "ReceiptHandleIsInvalid");
  assert.equal(del.Failed[0].SenderFault, true);
  assert.deepEqual(await counts(url), [0, 0]);
});

test("visibility timeout: hidden while in flight, ChangeMessageVisibility(Batch) makes it visible", async () => {
  const url = await newQueue("visibility", { VisibilityTimeout: "30" });
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "v1" }));
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "v2" }));

  const first = await receive(url, { MaxNumberOfMessages: 1 });
  assert.equal(first.Messages.length, 1);
  const m = first.Messages[0];
  assert.deepEqual(await counts(url), [1, 1]);

  // Drain the other one; then nothing is visible.
  const second = await receive(url);
  assert.equal(second.Messages.length, 1);
  assert.notEqual(second.Messages[0].MessageId, m.MessageId);
  const empty = await receive(url);
  assert.equal(empty.Messages, undefined, "in-flight messages are not delivered");

  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }));
  const again = await receive(url);
  assert.equal(again.Messages?.length, 1);
  assert.equal(again.Messages[0].MessageId, m.MessageId);
  assert.equal(again.Messages[0].Attributes.ApproximateReceiveCount, "2");
  assert.notEqual(again.Messages[0].ReceiptHandle, m.ReceiptHandle, "each receive gets a new receipt handle");

  const batch = await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: "ok", ReceiptHandle: second.Messages[0].ReceiptHandle, VisibilityTimeout: 0 },
        { Id: "bad", ReceiptHandle: "not-a-receipt-handle", VisibilityTimeout: 0 },
      ],
    }),
  );
  assert.deepEqual(batch.Successful.map((e) => e.Id), ["ok"]);
  assert.equal(batch.Failed.length, 1);
  assert.equal(batch.Failed[0].Id, "bad");
  assert.equal(batch.Failed[0].Code, "ReceiptHandleIsInvalid");
  assert.equal(batch.Failed[0].SenderFault, true);
  const back = await receive(url);
  assert.deepEqual(back.Messages.map((x) => x.Body), ["v2"]);

  // Visibility is at most 12 h; the exact error name differs between AWS protocols, the status does not.
  await assert.rejects(
    sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: back.Messages[0].ReceiptHandle, VisibilityTimeout: 43201 })),
    (e) => e.$metadata?.httpStatusCode === 400,
  );
});

test("long poll waits, and wakes when another client sends", async () => {
  const url = await newQueue("longpoll");
  // An empty long poll returns empty after WaitTimeSeconds.
  let t0 = Date.now();
  const idle = await receive(url, { WaitTimeSeconds: 1 });
  const idleMs = Date.now() - t0;
  assert.equal(idle.Messages, undefined);
  assert.ok(idleMs >= 900 && idleMs < 5000, `empty 1 s long poll took ${idleMs} ms`);

  const other = sqsClient();
  try {
    t0 = Date.now();
    const waiting = receive(url, { WaitTimeSeconds: 10 });
    await sleep(500);
    await other.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "wake up" }));
    const got = await waiting;
    const ms = Date.now() - t0;
    assert.equal(got.Messages?.length, 1);
    assert.equal(got.Messages[0].Body, "wake up");
    assert.ok(ms >= 400, `the poll waited for the send (${ms} ms)`);
    assert.ok(ms < 4000, `the poll woke on the send, not at its 10 s timeout (${ms} ms)`);
  } finally {
    other.destroy();
  }
});

test("delayed messages stay invisible until their delay ends", async () => {
  const url = await newQueue("delay");
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "later", DelaySeconds: 1 }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }),
  );
  assert.equal(Attributes.ApproximateNumberOfMessagesDelayed, "1");
  const now = await receive(url);
  assert.equal(now.Messages, undefined);
  const t0 = Date.now();
  const later = await receive(url, { WaitTimeSeconds: 5 });
  assert.equal(later.Messages?.[0]?.Body, "later");
  assert.ok(Date.now() - t0 < 4000, "a long poll wakes when the delay ends");
});

test("purge empties the queue", async () => {
  const url = await newQueue("purge");
  await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [1, 2, 3].map((i) => ({ Id: `p${i}`, MessageBody: `m${i}` })),
    }),
  );
  assert.deepEqual(await counts(url), [3, 0]);
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  assert.deepEqual(await counts(url), [0, 0]);
  const r = await receive(url);
  assert.equal(r.Messages, undefined);
  // The queue works normally after a purge.
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "after purge" }));
  const r2 = await receive(url);
  assert.equal(r2.Messages?.[0]?.Body, "after purge");
});

test("a second purge within 60 s is PurgeQueueInProgress (HTTP 403)", async () => {
  const url = await newQueue("purge2");
  await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
  await expectServiceError(
    sqs.send(new PurgeQueueCommand({ QueueUrl: url })),
    "PurgeQueueInProgress",
    { status: 403, code: "AWS.SimpleQueueService.PurgeQueueInProgress" },
  );
});

test("AWSTraceHeader system attribute round-trips with MD5OfMessageSystemAttributes", async () => {
  const url = await newQueue("trace");
  const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  const sys = { AWSTraceHeader: { DataType: "String", StringValue: trace } };
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "traced", MessageSystemAttributes: sys }));
  assert.equal(sent.MD5OfMessageSystemAttributes, md5OfAttributes(sys));
  assert.equal(sent.MD5OfMessageAttributes, undefined);
  const { Messages } = await receive(url);
  assert.equal(Messages[0].Attributes.AWSTraceHeader, trace);
});

test("MessageAttributeNames with a prefix wildcard returns the matching attributes and their MD5", async () => {
  const url = await newQueue("prefix");
  const attrs = {
    "Att.a": { DataType: "String", StringValue: "1" },
    "Att.b": { DataType: "Number", StringValue: "2" },
    Other: { DataType: "String", StringValue: "3" },
  };
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "p", MessageAttributes: attrs }));
  const { Messages } = await receive(url, { MessageAttributeNames: ["Att.*"] });
  const m = Messages[0];
  assert.deepEqual(Object.keys(m.MessageAttributes).sort(), ["Att.a", "Att.b"]);
  // The MD5 covers the attributes returned (what SDKs that verify it, like Java's, compute).
  assert.equal(m.MD5OfMessageAttributes, md5OfAttributes({ "Att.a": attrs["Att.a"], "Att.b": attrs["Att.b"] }));
});

test("message size: 1 MiB accepted by default, one byte more rejected", async () => {
  const url = await newQueue("size");
  const big = "a".repeat(1024 * 1024);
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: big }));
  assert.equal(sent.MD5OfMessageBody, md5Hex(big));
  await expectServiceError(
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: `${big}b` })),
    "InvalidParameterValue",
  );
  const { Messages } = await receive(url);
  assert.equal(Messages[0].Body.length, big.length);
});

test("parameter validation: MaxNumberOfMessages, WaitTimeSeconds, DelaySeconds, Number attributes", async () => {
  const url = await newQueue("validate");
  await expectServiceError(receive(url, { MaxNumberOfMessages: 11 }), "InvalidParameterValue");
  await expectServiceError(receive(url, { WaitTimeSeconds: 21 }), "InvalidParameterValue");
  await expectServiceError(
    sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "d", DelaySeconds: 901 })),
    "InvalidParameterValue",
  );
  await expectServiceError(
    sqs.send(new SendMessageCommand({
      QueueUrl: url, MessageBody: "n", MessageAttributes: { N: { DataType: "Number", StringValue: "abc" } },
    })),
    "InvalidParameterValue",
  );
  await expectServiceError(
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["Bogus"] })),
    "InvalidAttributeName",
  );
  assert.deepEqual(await counts(url), [0, 0], "nothing was enqueued by the rejected sends");
});

test("deleting with the same receipt handle twice succeeds", async () => {
  const url = await newQueue("twice");
  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "once" }));
  const { Messages } = await receive(url);
  const ReceiptHandle = Messages[0].ReceiptHandle;
  const first = await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle }));
  assert.equal(first.$metadata.httpStatusCode, 200);
  assert.ok(first.$metadata.requestId, "successful responses carry a request id");
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle }));
  assert.deepEqual(await counts(url), [0, 0]);
});

test("queue defaults apply: ReceiveMessageWaitTimeSeconds and DelaySeconds", async () => {
  const url = await newQueue("defaults", { ReceiveMessageWaitTimeSeconds: "1", DelaySeconds: "1" });
  let t0 = Date.now();
  const idle = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }));
  assert.equal(idle.Messages, undefined);
  assert.ok(Date.now() - t0 >= 900, "the queue's ReceiveMessageWaitTimeSeconds makes it a long poll");

  await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "queue-delayed" }));
  const now = await receive(url);
  assert.equal(now.Messages, undefined, "the queue's DelaySeconds hides new messages");
  t0 = Date.now();
  const later = await receive(url, { WaitTimeSeconds: 5 });
  assert.equal(later.Messages?.[0]?.Body, "queue-delayed");
  assert.ok(Date.now() - t0 < 4000);
});
