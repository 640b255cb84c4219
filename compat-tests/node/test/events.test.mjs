// EventBridge through the AWS SDK for JavaScript v3 (awsJson1.1): buses, rules, targets, tags,
// connections, API destinations and archives, against the answers recorded from AWS.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateApiDestinationCommand,
  CreateArchiveCommand,
  CreateConnectionCommand,
  CreateEventBusCommand,
  DeleteApiDestinationCommand,
  DeleteArchiveCommand,
  DeleteConnectionCommand,
  DeleteEventBusCommand,
  DeleteRuleCommand,
  DescribeApiDestinationCommand,
  DescribeArchiveCommand,
  DescribeConnectionCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  ListEventBusesCommand,
  ListRuleNamesByTargetCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutPermissionCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TagResourceCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ACCOUNT, REGION, eventsClient, expectServiceError, queueArnFor, sqsClient, uniqueName } from "../lib/ferry.mjs";

const eb = eventsClient();
after(() => eb.destroy());

const busArn = (name) => `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${name}`;
const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:js-target`;

test("buses: create, describe, list, policy, tags, delete", async () => {
  const name = uniqueName("bus");
  const created = await eb.send(new CreateEventBusCommand({ Name: name, Description: "test bus" }));
  assert.equal(created.EventBusArn, busArn(name));
  assert.equal(created.Description, "test bus");
  const d = await eb.send(new DescribeEventBusCommand({ Name: name }));
  assert.equal(d.Name, name);
  assert.ok(d.CreationTime instanceof Date, "CreationTime is a timestamp");
  assert.equal(d.Policy, undefined);
  const listed = await eb.send(new ListEventBusesCommand({ NamePrefix: name }));
  assert.deepEqual(listed.EventBuses.map((b) => b.Name), [name]);
  await eb.send(new PutPermissionCommand({ EventBusName: name, Action: "events:PutEvents", Principal: "*", StatementId: "all" }));
  const policy = JSON.parse((await eb.send(new DescribeEventBusCommand({ Name: name }))).Policy);
  assert.equal(policy.Statement[0].Principal, "*");
  await eb.send(new TagResourceCommand({ ResourceARN: busArn(name), Tags: [{ Key: "team", Value: "js" }] }));
  const tags = await eb.send(new ListTagsForResourceCommand({ ResourceARN: busArn(name) }));
  assert.deepEqual(tags.Tags, [{ Key: "team", Value: "js" }]);
  await expectServiceError(eb.send(new CreateEventBusCommand({ Name: name })), "ResourceAlreadyExistsException");
  await eb.send(new DeleteEventBusCommand({ Name: name }));
  const err = await expectServiceError(eb.send(new DescribeEventBusCommand({ Name: name })), "ResourceNotFoundException");
  assert.equal(err.message, `Event bus ${name} does not exist.`);
  await expectServiceError(eb.send(new DeleteEventBusCommand({ Name: "default" })), "ValidationException");
});

test("rules and targets: arns, limits, listing, deletion guard", async () => {
  const bus = uniqueName("rules");
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const pattern = JSON.stringify({ source: ["js.test"] });
  const { RuleArn } = await eb.send(new PutRuleCommand({ Name: "r", EventBusName: bus, EventPattern: pattern }));
  assert.equal(RuleArn, `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}/r`);
  const rule = await eb.send(new DescribeRuleCommand({ Name: "r", EventBusName: bus }));
  assert.equal(rule.State, "ENABLED");
  assert.equal(rule.CreatedBy, ACCOUNT);
  const put = await eb.send(new PutTargetsCommand({ Rule: "r", EventBusName: bus, Targets: [{ Id: "q", Arn: queueArn, InputPath: "$.detail" }] }));
  assert.equal(put.FailedEntryCount, 0);
  assert.deepEqual(put.FailedEntries, []);
  const targets = await eb.send(new ListTargetsByRuleCommand({ Rule: "r", EventBusName: bus }));
  assert.deepEqual(targets.Targets, [{ Id: "q", Arn: queueArn, InputPath: "$.detail" }]);
  const names = await eb.send(new ListRuleNamesByTargetCommand({ TargetArn: queueArn, EventBusName: bus }));
  assert.deepEqual(names.RuleNames, ["r"]);
  const tooMany = Array.from({ length: 7 }, (_, i) => ({ Id: `x${i}`, Arn: queueArn }));
  await expectServiceError(eb.send(new PutTargetsCommand({ Rule: "r", EventBusName: bus, Targets: tooMany })), "LimitExceededException");
  const guard = await expectServiceError(eb.send(new DeleteRuleCommand({ Name: "r", EventBusName: bus })), "ValidationException");
  assert.equal(guard.message, "Rule can't be deleted since it has targets.");
  const bad = await expectServiceError(
    eb.send(new PutRuleCommand({ Name: "bad", ScheduleExpression: "rate(1 minutes)" })),
    "ValidationException",
  );
  assert.equal(bad.message, "Parameter ScheduleExpression is not valid.");
  await expectServiceError(
    eb.send(new PutRuleCommand({ Name: "bad", EventBusName: bus, EventPattern: '{"source":[]}' })),
    "InvalidEventPatternException",
  );
  await eb.send(new RemoveTargetsCommand({ Rule: "r", EventBusName: bus, Ids: ["q"] }));
  await eb.send(new DeleteRuleCommand({ Name: "r", EventBusName: bus }));
  await eb.send(new DeleteEventBusCommand({ Name: bus }));
});

test("connections, API destinations and archives", async () => {
  const cname = uniqueName("conn");
  const conn = await eb.send(
    new CreateConnectionCommand({
      Name: cname,
      AuthorizationType: "API_KEY",
      AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: "secret" } },
    }),
  );
  assert.equal(conn.ConnectionState, "AUTHORIZED");
  const dc = await eb.send(new DescribeConnectionCommand({ Name: cname }));
  assert.deepEqual(dc.AuthParameters, { ApiKeyAuthParameters: { ApiKeyName: "x-api-key" } });
  const dname = uniqueName("dest");
  await eb.send(
    new CreateApiDestinationCommand({ Name: dname, ConnectionArn: conn.ConnectionArn, HttpMethod: "PUT", InvocationEndpoint: "https://example.com/*" }),
  );
  const dd = await eb.send(new DescribeApiDestinationCommand({ Name: dname }));
  assert.equal(dd.InvocationRateLimitPerSecond, 300);
  assert.equal(dd.HttpMethod, "PUT");
  await eb.send(new DeleteApiDestinationCommand({ Name: dname }));
  await eb.send(new DeleteConnectionCommand({ Name: cname }));
  const aname = uniqueName("arch").slice(0, 40);
  const arch = await eb.send(new CreateArchiveCommand({ ArchiveName: aname, EventSourceArn: busArn("default"), RetentionDays: 1 }));
  assert.equal(arch.State, "ENABLED");
  const da = await eb.send(new DescribeArchiveCommand({ ArchiveName: aname }));
  assert.equal(da.EventCount, 0);
  await eb.send(new DeleteArchiveCommand({ ArchiveName: aname }));
});

test("PutEvents: a matching event reaches an SQS target through InputTransformer", async () => {
  const sqs = sqsClient();
  const bus = uniqueName("put-bus");
  const qname = uniqueName("put-q");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: qname }));
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  await eb.send(new PutRuleCommand({ Name: "r", EventBusName: bus, EventPattern: JSON.stringify({ source: ["js.app"] }) }));
  await eb.send(new PutTargetsCommand({
    Rule: "r",
    EventBusName: bus,
    Targets: [{
      Id: "q",
      Arn: queueArnFor(qname),
      InputTransformer: { InputPathsMap: { n: "$.detail.n" }, InputTemplate: '{"n": <n>, "rule": "<aws.events.rule-name>"}' },
    }],
  }));
  const put = await eb.send(new PutEventsCommand({
    Entries: [{ Source: "js.app", DetailType: "t", Detail: JSON.stringify({ n: 5 }), EventBusName: bus }],
  }));
  assert.equal(put.FailedEntryCount, 0);
  assert.equal(put.Entries.length, 1);
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
  assert.deepEqual(JSON.parse(got.Messages[0].Body), { n: 5, rule: "r" });
  await eb.send(new RemoveTargetsCommand({ Rule: "r", EventBusName: bus, Ids: ["q"] }));
  await eb.send(new DeleteRuleCommand({ Name: "r", EventBusName: bus }));
  await eb.send(new DeleteEventBusCommand({ Name: bus }));
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  sqs.destroy();
});
