// EventBridge target kinds through the AWS SDK for JavaScript v3: an SNS topic, an API destination
// with OAuth client credentials against real HTTP servers on 127.0.0.1 (a token endpoint and an
// endpoint that fails twice, then recovers), and the dead letter of a target ferry does not
// deliver to, with the attributes AWS adds.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  CreateEventBusCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ACCOUNT, ENDPOINT, REGION, eventsClient, queueArnFor, sleep, sqsClient, uniqueName } from "../lib/ferry.mjs";

const eb = eventsClient();
const sqs = sqsClient();
const sns = new SNSClient({
  endpoint: ENDPOINT,
  region: REGION,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const servers = [];
after(() => {
  eb.destroy();
  sqs.destroy();
  sns.destroy();
  for (const s of servers) s.close();
});

/** A real HTTP server on 127.0.0.1 answering answer(n) = [status, body]; keeps what it saw. */
async function endpoint(answer) {
  const seen = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const [status, out] = answer(seen.length);
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.writeHead(status, { "content-type": "application/json" });
      res.end(out);
    });
  });
  servers.push(server);
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${server.address().port}`, seen };
}

async function waitFor(cond, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

async function drain(url, n, ms = 20000) {
  const got = [];
  const until = Date.now() + ms;
  while (got.length < n && Date.now() < until) {
    const r = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }),
    );
    for (const m of r.Messages ?? []) {
      got.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return got;
}

async function ruleOn(bus, name, targets) {
  await eb.send(new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify({ source: ["js.app"] }) }));
  const r = await eb.send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: targets }));
  assert.equal(r.FailedEntryCount, 0);
}

async function put(bus, detail) {
  const r = await eb.send(
    new PutEventsCommand({ Entries: [{ Source: "js.app", DetailType: "t", Detail: JSON.stringify(detail), EventBusName: bus }] }),
  );
  assert.equal(r.FailedEntryCount, 0);
  return r.Entries[0].EventId;
}

test("a topic target publishes the event to the topic's subscribers", async () => {
  const bus = uniqueName("tbus");
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const qName = uniqueName("tq");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: qName }));
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName("topic") }));
  await sns.send(
    new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queueArnFor(qName), Attributes: { RawMessageDelivery: "true" } }),
  );
  await ruleOn(bus, "to-topic", [{ Id: "t", Arn: TopicArn }]);
  const id = await put(bus, { n: 1 });
  const [m] = await drain(QueueUrl, 1);
  const event = JSON.parse(m.Body);
  assert.equal(event.id, id);
  assert.deepEqual(event.detail, { n: 1 });
});

test("an API destination with OAuth gets a token, and its retries reach the recovered endpoint", async () => {
  const tokens = await endpoint((n) => [200, JSON.stringify({ access_token: `js-${n}`, expires_in: 600 })]);
  const api = await endpoint((n) => (n < 2 ? [502, ""] : [200, "{}"]));
  const name = uniqueName("oauth");
  const conn = await eb.send(
    new CreateConnectionCommand({
      Name: name,
      AuthorizationType: "OAUTH_CLIENT_CREDENTIALS",
      AuthParameters: {
        OAuthParameters: {
          ClientParameters: { ClientID: "js", ClientSecret: "shh" },
          AuthorizationEndpoint: `${tokens.url}/token`,
          HttpMethod: "POST",
          OAuthHttpParameters: { BodyParameters: [{ Key: "grant_type", Value: "client_credentials" }] },
        },
      },
    }),
  );
  const dest = await eb.send(
    new CreateApiDestinationCommand({
      Name: name,
      ConnectionArn: conn.ConnectionArn,
      InvocationEndpoint: `${api.url}/v1/*`,
      HttpMethod: "PATCH",
    }),
  );
  const bus = uniqueName("abus");
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  await ruleOn(bus, "to-api", [
    {
      Id: "api",
      Arn: dest.ApiDestinationArn,
      InputPath: "$.detail",
      HttpParameters: { PathParameterValues: ["things"], QueryStringParameters: { q: "1" } },
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 120 },
    },
  ]);
  await put(bus, { n: 2 });
  assert.ok(await waitFor(() => api.seen.length >= 3, 20000), `seen ${api.seen.length}`);
  for (const r of api.seen) {
    assert.equal(r.method, "PATCH");
    assert.equal(r.url, "/v1/things?q=1");
    assert.equal(r.headers.authorization, "Bearer js-0");
    assert.deepEqual(JSON.parse(r.body), { n: 2 });
  }
  assert.equal(tokens.seen.length, 1);
  assert.equal(tokens.seen[0].headers.authorization, `Basic ${Buffer.from("js:shh").toString("base64")}`);
  assert.equal(tokens.seen[0].body, "grant_type=client_credentials");
});

test("a Step Functions target fails into its DLQ with RULE_ARN, TARGET_ARN and ERROR_CODE", async () => {
  const bus = uniqueName("dbus");
  await eb.send(new CreateEventBusCommand({ Name: bus }));
  const dlq = uniqueName("dlq");
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: dlq }));
  const machine = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:flow`;
  await ruleOn(bus, "to-sfn", [
    { Id: "sfn", Arn: machine, RoleArn: `arn:aws:iam::${ACCOUNT}:role/r`, DeadLetterConfig: { Arn: queueArnFor(dlq) } },
  ]);
  const id = await put(bus, { n: 3 });
  const [m] = await drain(QueueUrl, 1);
  const a = (k) => m.MessageAttributes?.[k]?.StringValue;
  assert.equal(a("RULE_ARN"), `arn:aws:events:${REGION}:${ACCOUNT}:rule/${bus}/to-sfn`);
  assert.equal(a("TARGET_ARN"), machine);
  assert.equal(a("ERROR_CODE"), "NO_RESOURCE");
  assert.equal(a("RETRY_ATTEMPTS"), "0");
  assert.ok(a("ERROR_MESSAGE"));
  assert.equal(JSON.parse(m.Body).id, id);
});
