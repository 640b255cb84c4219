import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import {
  expectServiceError,
  queueArnFor,
  queueUrlFor,
  sqsClient,
  uniqueName,
  testClient,
} from "../lib/ferry.mjs";

const { sqs, created } = testClient();

async function createQueue(name, Attributes, tags) {
  const out = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes, tags }));
  created.push(out.QueueUrl);
  return out.QueueUrl;
}

test("create, get url, list with prefix, delete, then QueueDoesNotExist", async () => {
  const prefix = uniqueName("lifecycle");
  const names = [`${prefix}-a`, `${prefix}-b`];
  const urls = [];
  for (const name of names) {
    const url = await createQueue(name);
    assert.equal(url, queueUrlFor(name), "queue URL is http://{Host}/{account}/{name}");
    urls.push(url);
  }
  // Creating again with the same (no) attributes is idempotent and returns the same URL.
  const again = await sqs.send(new CreateQueueCommand({ QueueName: names[0] }));
  assert.equal(again.QueueUrl, urls[0]);

  const got = await sqs.send(new GetQueueUrlCommand({ QueueName: names[1] }));
  assert.equal(got.QueueUrl, urls[1]);

  const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
  assert.deepEqual([...listed.QueueUrls].sort(), [...urls].sort());

  const none = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: `${prefix}-zzz` }));
  assert.deepEqual(none.QueueUrls ?? [], [], "empty prefix match lists nothing");

  await sqs.send(new DeleteQueueCommand({ QueueUrl: urls[0] }));
  await expectServiceError(
    sqs.send(new GetQueueUrlCommand({ QueueName: names[0] })),
    "QueueDoesNotExist",
    { code: "AWS.SimpleQueueService.NonExistentQueue" },
  );
  await expectServiceError(
    sqs.send(new SendMessageCommand({ QueueUrl: urls[0], MessageBody: "x" })),
    "QueueDoesNotExist",
    { code: "AWS.SimpleQueueService.NonExistentQueue" },
  );
  const after = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }));
  assert.deepEqual(after.QueueUrls ?? [], [urls[1]]);
});

test("ListQueues paginates with MaxResults and NextToken", async () => {
  const prefix = uniqueName("page");
  const urls = [];
  for (const s of ["1", "2", "3"]) urls.push(await createQueue(`${prefix}-${s}`));
  const seen = [];
  let NextToken;
  let pages = 0;
  do {
    const out = await sqs.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 2, NextToken }),
    );
    assert.ok((out.QueueUrls ?? []).length <= 2, "a page holds at most MaxResults");
    seen.push(...(out.QueueUrls ?? []));
    NextToken = out.NextToken;
    pages += 1;
  } while (NextToken && pages < 5);
  assert.equal(pages, 2);
  assert.deepEqual(seen.sort(), urls.sort());
});

test("CreateQueue with different attributes for an existing name fails with QueueNameExists", async () => {
  const name = uniqueName("exists");
  await createQueue(name, { VisibilityTimeout: "30" });
  await expectServiceError(
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: "31" } })),
    "QueueNameExists",
  );
});

test("get and set queue attributes; invalid value is InvalidAttributeValue", async () => {
  const name = uniqueName("attrs");
  const url = await createQueue(name, { VisibilityTimeout: "45", DelaySeconds: "2" });
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }),
  );
  assert.equal(a.QueueArn, queueArnFor(name));
  assert.equal(a.VisibilityTimeout, "45");
  assert.equal(a.DelaySeconds, "2");
  assert.equal(a.MessageRetentionPeriod, "345600");
  assert.equal(a.ReceiveMessageWaitTimeSeconds, "0");
  assert.equal(a.MaximumMessageSize, "1048576");
  assert.equal(a.ApproximateNumberOfMessages, "0");
  assert.equal(a.ApproximateNumberOfMessagesNotVisible, "0");
  assert.equal(a.ApproximateNumberOfMessagesDelayed, "0");
  for (const k of ["CreatedTimestamp", "LastModifiedTimestamp"]) {
    assert.match(a[k], /^\d{10}$/, `${k} is epoch seconds`);
    assert.ok(Math.abs(Number(a[k]) - Date.now() / 1000) < 300, `${k} is about now`);
  }
  assert.equal(a.RedrivePolicy, undefined);
  assert.equal(a.FifoQueue, undefined, "standard queues do not report FifoQueue");

  // Only the requested names come back.
  const only = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["VisibilityTimeout", "QueueArn"] }),
  );
  assert.deepEqual(only.Attributes, { VisibilityTimeout: "45", QueueArn: queueArnFor(name) });

  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: { VisibilityTimeout: "60", MessageRetentionPeriod: "86400", ReceiveMessageWaitTimeSeconds: "5" },
    }),
  );
  const { Attributes: b } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["VisibilityTimeout", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds"],
    }),
  );
  assert.deepEqual(b, { VisibilityTimeout: "60", MessageRetentionPeriod: "86400", ReceiveMessageWaitTimeSeconds: "5" });

  // VisibilityTimeout is at most 12 hours (43200 s).
  await expectServiceError(
    sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { VisibilityTimeout: "43201" } })),
    "InvalidAttributeValue",
  );
  await expectServiceError(
    sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { DelaySeconds: "901" } })),
    "InvalidAttributeValue",
  );
  // The failed calls changed nothing.
  const c = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["VisibilityTimeout", "DelaySeconds"] }),
  );
  assert.deepEqual(c.Attributes, { VisibilityTimeout: "60", DelaySeconds: "2" });
});

test("tags: create with tags, tag, list, untag", async () => {
  const url = await createQueue(uniqueName("tags"), undefined, { team: "core", env: "dev" });
  let out = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
  assert.deepEqual(out.Tags, { team: "core", env: "dev" });

  await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { env: "prod", cost: "42" } }));
  out = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
  assert.deepEqual(out.Tags, { team: "core", env: "prod", cost: "42" });

  await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ["team", "cost"] }));
  out = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
  assert.deepEqual(out.Tags, { env: "prod" });

  await sqs.send(new UntagQueueCommand({ QueueUrl: url, TagKeys: ["env"] }));
  out = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }));
  assert.deepEqual(out.Tags ?? {}, {});
});
