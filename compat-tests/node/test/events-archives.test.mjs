// EventBridge archives, replays and scheduled rules through the AWS SDK for JavaScript v3:
// events are archived as they are accepted, a replay sends them back with "replay-name" to the
// rules FilterArns names, and AWS's refusals (EB-106 – EB-118). Schedules firing is proven in
// process on the paused clock (tests/events_time.rs); here only what needs no waiting.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  CancelReplayCommand,
  CreateArchiveCommand,
  CreateEventBusCommand,
  DeleteArchiveCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeArchiveCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  ListReplaysCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  StartReplayCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteMessageCommand, DeleteQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ACCOUNT, REGION, eventsClient, expectServiceError, queueArnFor, sqsClient, uniqueName } from "../lib/ferry.mjs";

const eb = eventsClient();
const sqs = sqsClient();
after(() => {
  eb.destroy();
  sqs.destroy();
});

const busArn = (name) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
const archiveArn = (name) => `arn:aws:events:${REGION}:${ACCOUNT}:archive/${name}`;
const ruleArn = (bus, name) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}/${name}`;

async function drain(url, want) {
  const got = [];
  for (let i = 0; i < 10; i++) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const msgs = r.Messages ?? [];
    for (const m of msgs) {
      got.push(JSON.parse(m.Body));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
    if (got.length >= want && msgs.length === 0) break;
  }
  return got;
}

async function finished(name) {
  for (let i = 0; i < 100; i++) {
    const d = await eb.send(new DescribeReplayCommand({ ReplayName: name }));
    if (["COMPLETED", "CANCELLED", "FAILED"].includes(d.State)) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`replay ${name} did not finish`);
}

test("archives record events; a replay sends them back to the rules named", async () => {
  const bus = uniqueName("arch-bus");
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const urls = {};
  for (const rule of ["first", "second"]) {
    const q = uniqueName(`arch-${rule}`);
    urls[rule] = (await sqs.send(new CreateQueueCommand({ QueueName: q }))).QueueUrl;
    await eb.send(new PutRuleCommand({ Name: rule, EventBusName: bus, EventPattern: JSON.stringify({ source: ["app"] }) }));
    await eb.send(new PutTargetsCommand({ Rule: rule, EventBusName: bus, Targets: [{ Id: "q", Arn: queueArnFor(q) }] }));
  }
  const archive = uniqueName("arch");
  await eb.send(
    new CreateArchiveCommand({ ArchiveName: archive, EventSourceArn: busArn(bus), EventPattern: JSON.stringify({ "detail-type": ["keep"] }) }),
  );
  const start = new Date(Date.now() - 60_000);
  const put = await eb.send(
    new PutEventsCommand({
      Entries: ["keep", "skip", "keep"].map((t, n) => ({ Source: "app", DetailType: t, Detail: JSON.stringify({ n }), EventBusName: bus })),
    }),
  );
  assert.equal(put.FailedEntryCount, 0);
  const a = await eb.send(new DescribeArchiveCommand({ ArchiveName: archive }));
  assert.equal(a.EventCount, 2);
  assert.ok(a.SizeBytes > 0);
  assert.equal((await drain(urls.first, 3)).length, 3);
  assert.equal((await drain(urls.second, 3)).length, 3);

  const name = uniqueName("rp");
  const r = await eb.send(
    new StartReplayCommand({
      ReplayName: name,
      EventSourceArn: archiveArn(archive),
      EventStartTime: start,
      EventEndTime: new Date(),
      Destination: { Arn: busArn(bus), FilterArns: [ruleArn(bus, "first")] },
    }),
  );
  assert.equal(r.State, "STARTING");
  assert.equal(r.ReplayArn, `arn:aws:events:${REGION}:${ACCOUNT}:replay/${name}`);
  assert.ok(r.ReplayStartTime instanceof Date);
  const d = await finished(name);
  assert.equal(d.State, "COMPLETED");
  assert.ok(d.EventLastReplayedTime instanceof Date);
  assert.ok(d.ReplayEndTime instanceof Date);
  assert.deepEqual(d.Destination, { Arn: busArn(bus), FilterArns: [ruleArn(bus, "first")] });
  const replayed = await drain(urls.first, 2);
  assert.equal(replayed.length, 2);
  for (const e of replayed) {
    assert.equal(e["replay-name"], name);
    assert.equal(e["detail-type"], "keep");
  }
  assert.deepEqual(await drain(urls.second, 0), []);
  assert.equal((await eb.send(new DescribeArchiveCommand({ ArchiveName: archive }))).EventCount, 2, "not archived again");
  const listed = await eb.send(new ListReplaysCommand({ EventSourceArn: archiveArn(archive) }));
  assert.deepEqual(listed.Replays.map((x) => [x.ReplayName, x.State]), [[name, "COMPLETED"]]);
  await expectServiceError(eb.send(new CancelReplayCommand({ ReplayName: name })), "IllegalStatusException");

  // Refusals as AWS answers them.
  const base = { ReplayName: uniqueName("bad"), EventSourceArn: archiveArn(archive), Destination: { Arn: busArn(bus) } };
  let err = await expectServiceError(
    eb.send(new StartReplayCommand({ ...base, EventStartTime: new Date(Date.now() - 10_000), EventEndTime: new Date(Date.now() - 10_000) })),
    "ValidationException",
  );
  assert.equal(err.message, "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.");
  err = await expectServiceError(
    eb.send(new StartReplayCommand({ ...base, EventStartTime: start, EventEndTime: new Date(), Destination: { Arn: busArn("nope-bus") } })),
    "ResourceNotFoundException",
  );
  assert.equal(err.message, "Event bus nope-bus does not exist.");
  err = await expectServiceError(eb.send(new StartReplayCommand({ ...base, ReplayName: name, EventStartTime: start, EventEndTime: new Date() })), "ResourceAlreadyExistsException");
  assert.equal(err.message, `Replay ${name} already exists.`);
  err = await expectServiceError(eb.send(new DescribeReplayCommand({ ReplayName: uniqueName("zz") })), "ResourceNotFoundException");

  await eb.send(new DeleteArchiveCommand({ ArchiveName: archive }));
  for (const rule of ["first", "second"]) {
    await eb.send(new RemoveTargetsCommand({ Rule: rule, EventBusName: bus, Ids: ["q"] }));
    await eb.send(new DeleteRuleCommand({ Name: rule, EventBusName: bus }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: urls[rule] }));
  }
  await eb.send(new DeleteEventBusCommand({ Name: bus }));
});

test("a scheduled rule is stored and does not fire when created", async () => {
  const name = uniqueName("sched");
  const q = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl;
  const r = await eb.send(new PutRuleCommand({ Name: name, ScheduleExpression: "rate(1 minute)" }));
  assert.equal(r.RuleArn, `arn:aws:events:${REGION}:${ACCOUNT}:rule/${name}`);
  await eb.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: "q", Arn: queueArnFor(name) }] }));
  const d = await eb.send(new DescribeRuleCommand({ Name: name }));
  assert.equal(d.ScheduleExpression, "rate(1 minute)");
  assert.deepEqual(await drain(q, 0), []);
  await eb.send(new RemoveTargetsCommand({ Rule: name, Ids: ["q"] }));
  await eb.send(new DeleteRuleCommand({ Name: name }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl: q }));
});
