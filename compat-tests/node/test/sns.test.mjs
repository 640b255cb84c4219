// SNS through the AWS SDK for JavaScript v3: topics, fan-out to ferry's queues (envelope and raw),
// filter policies, FIFO order, and envelope signatures checked with node:crypto against the
// certificate ferry serves at SigningCertURL.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { verify, X509Certificate } from "node:crypto";
import {
  SNSClient,
  CreateTopicCommand,
  DeleteTopicCommand,
  GetTopicAttributesCommand,
  PublishBatchCommand,
  PublishCommand,
  SubscribeCommand,
} from "@aws-sdk/client-sns";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ACCOUNT, ENDPOINT, REGION, queueArnFor, sqsClient, uniqueName } from "../lib/ferry.mjs";

const sns = new SNSClient({
  endpoint: ENDPOINT,
  region: REGION,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
});
const sqs = sqsClient();
const topics = [];
after(async () => {
  for (const TopicArn of topics) await sns.send(new DeleteTopicCommand({ TopicArn }));
  sns.destroy();
  sqs.destroy();
});

async function topic(name, Attributes) {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name, Attributes }));
  topics.push(TopicArn);
  return TopicArn;
}

async function subscribedQueue(TopicArn, { fifo = false, Attributes } = {}) {
  const name = uniqueName("sns") + (fifo ? ".fifo" : "");
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: "true" } : undefined }),
  );
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: "sqs", Endpoint: queueArnFor(name), Attributes }));
  return QueueUrl;
}

/** Receives until `want` messages arrived, 10 polls passed, or (once something arrived) 2 polls
 * in a row came back empty. */
async function drain(QueueUrl, want) {
  const got = [];
  let empty = 0;
  for (let i = 0; i < 10 && got.length < want && !(got.length && empty >= 2); i++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }),
    );
    empty = out.Messages?.length ? 0 : empty + 1;
    for (const m of out.Messages ?? []) {
      got.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
  return got;
}

test("a topic has AWS's default attributes", async () => {
  const arn = await topic(uniqueName("attrs"));
  assert.equal(arn, `arn:aws:sns:${REGION}:${ACCOUNT}:${arn.split(":").pop()}`);
  const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }));
  assert.equal(Attributes.Owner, ACCOUNT);
  assert.equal(Attributes.SubscriptionsConfirmed, "0");
  assert.equal(JSON.parse(Attributes.Policy).Id, "__default_policy_ID");
});

test("the envelope is signed; the signature verifies against the served certificate", async () => {
  for (const [version, digest] of [["1", "sha1"], ["2", "sha256"]]) {
    const arn = await topic(uniqueName("sig"), { SignatureVersion: version });
    const url = await subscribedQueue(arn);
    const { MessageId } = await sns.send(
      new PublishCommand({
        TopicArn: arn,
        Message: "signed ö",
        Subject: "s",
        MessageAttributes: { k: { DataType: "String", StringValue: "v" } },
      }),
    );
    const [m] = await drain(url, 1);
    const env = JSON.parse(m.Body);
    assert.deepEqual(Object.keys(env), [
      "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
      "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL", "MessageAttributes",
    ]);
    assert.equal(env.MessageId, MessageId);
    assert.deepEqual(env.MessageAttributes, { k: { Type: "String", Value: "v" } });
    const pem = await (await fetch(env.SigningCertURL)).text();
    const cert = new X509Certificate(pem);
    const text = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
      .map((k) => `${k}\n${env[k]}\n`)
      .join("");
    assert.ok(verify(digest, Buffer.from(text), cert.publicKey, Buffer.from(env.Signature, "base64")));
    assert.ok(!verify(digest, Buffer.from(text + "x"), cert.publicKey, Buffer.from(env.Signature, "base64")));
  }
});

test("raw delivery with attributes, and filter policies on both scopes", async () => {
  const arn = await topic(uniqueName("filter"));
  const raw = await subscribedQueue(arn, {
    Attributes: { RawMessageDelivery: "true", FilterPolicy: JSON.stringify({ n: [{ numeric: [">", 0, "<=", 100] }] }) },
  });
  const body = await subscribedQueue(arn, {
    Attributes: {
      RawMessageDelivery: "true",
      FilterPolicyScope: "MessageBody",
      FilterPolicy: JSON.stringify({ detail: { kind: [{ prefix: "order-" }] } }),
    },
  });
  await sns.send(new PublishBatchCommand({
    TopicArn: arn,
    PublishBatchRequestEntries: [
      { Id: "a", Message: JSON.stringify({ detail: { kind: "order-1" } }), MessageAttributes: { n: { DataType: "Number", StringValue: "99.5" } } },
      { Id: "b", Message: JSON.stringify({ detail: { kind: "refund" } }), MessageAttributes: { n: { DataType: "Number", StringValue: "101" } } },
    ],
  }));
  const [r] = await drain(raw, 1);
  assert.equal(JSON.parse(r.Body).detail.kind, "order-1");
  assert.deepEqual(r.MessageAttributes.n, { DataType: "Number", StringValue: "99.5" });
  const got = await drain(body, 2);
  assert.deepEqual(got.map((m) => JSON.parse(m.Body).detail.kind), ["order-1"]);
});

test("a FIFO topic delivers in order to a FIFO queue, once", async () => {
  const arn = await topic(uniqueName("fifo") + ".fifo", { FifoTopic: "true", ContentBasedDeduplication: "true" });
  const url = await subscribedQueue(arn, { fifo: true, Attributes: { RawMessageDelivery: "true" } });
  const seqs = [];
  for (let i = 0; i < 5; i++) {
    const out = await sns.send(new PublishCommand({ TopicArn: arn, Message: `m${i}`, MessageGroupId: "g" }));
    seqs.push(out.SequenceNumber);
  }
  const again = await sns.send(new PublishCommand({ TopicArn: arn, Message: "m0", MessageGroupId: "g" }));
  assert.equal(again.SequenceNumber, seqs[0]);
  const got = await drain(url, 6);
  assert.deepEqual(got.map((m) => m.Body), ["m0", "m1", "m2", "m3", "m4"]);
});

test("errors are AWS's", async () => {
  await assert.rejects(
    sns.send(new GetTopicAttributesCommand({ TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:${uniqueName("none")}` })),
    (e) => e.name === "NotFoundException" && e.message === "Topic does not exist" && e.$metadata.httpStatusCode === 404,
  );
  const arn = await topic(uniqueName("err"));
  await assert.rejects(
    sns.send(new PublishCommand({ TopicArn: arn, Message: "" })),
    (e) => e.name === "InvalidParameterException" && e.message === "Invalid parameter: Empty message",
  );
});
