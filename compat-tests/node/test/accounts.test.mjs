import { test, after } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
} from "@aws-sdk/client-sqs";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { ENDPOINT, expectServiceError, sqsClient, uniqueName } from "../lib/ferry.mjs";

// A 12-digit access key id is the account; the region comes from the SigV4 scope.
const ACCOUNT2 = "123456789012";
const cfg = (region, accessKeyId) => ({
  endpoint: ENDPOINT,
  region,
  credentials: { accessKeyId, secretAccessKey: "test" },
  maxAttempts: 1,
});
const other = new SQSClient(cfg("eu-west-1", ACCOUNT2));
const usEast = sqsClient();
const euDefault = new SQSClient(cfg("eu-west-1", "test"));
const created = [];
after(async () => {
  for (const QueueUrl of created) await other.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {});
  for (const c of [other, usEast, euDefault]) c.destroy();
});

test("a 12-digit access key id selects the account; resources are per account and region", async () => {
  const name = uniqueName("acct");
  const { QueueUrl } = await other.send(new CreateQueueCommand({ QueueName: name }));
  created.push(QueueUrl);
  assert.equal(QueueUrl, `${ENDPOINT}/${ACCOUNT2}/${name}`);
  const { Attributes } = await other.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  assert.equal(Attributes.QueueArn, `arn:aws:sqs:eu-west-1:${ACCOUNT2}:${name}`);

  // Invisible to the default account in the same region and to the same account in another region.
  const listed = await euDefault.send(new ListQueuesCommand({ QueueNamePrefix: name }));
  assert.deepEqual(listed.QueueUrls ?? [], []);
  await expectServiceError(euDefault.send(new GetQueueUrlCommand({ QueueName: name })), "QueueDoesNotExist");
  const otherRegion = new SQSClient(cfg("us-east-1", ACCOUNT2));
  try {
    await expectServiceError(otherRegion.send(new GetQueueUrlCommand({ QueueName: name })), "QueueDoesNotExist");
  } finally {
    otherRegion.destroy();
  }
  const mine = await other.send(new GetQueueUrlCommand({ QueueName: name }));
  assert.equal(mine.QueueUrl, QueueUrl);
});

test("STS GetCallerIdentity answers the account of a 12-digit access key id", async () => {
  const sts = new STSClient(cfg("eu-west-1", ACCOUNT2));
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(out.Account, ACCOUNT2);
    assert.equal(out.Arn, `arn:aws:iam::${ACCOUNT2}:root`);
  } finally {
    sts.destroy();
  }
});
