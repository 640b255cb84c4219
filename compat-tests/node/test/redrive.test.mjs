import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import { queueArnFor, sqsClient, uniqueName, testClient } from "../lib/ferry.mjs";

const { sqs, created } = testClient();

test("RedrivePolicy maxReceiveCount=1 moves the message to the DLQ on its second receive", async () => {
  const dlqName = uniqueName("dlq");
  const { QueueUrl: dlq } = await sqs.send(new CreateQueueCommand({ QueueName: dlqName }));
  created.push(dlq);
  const { Attributes: dlqAttrs } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["QueueArn"] }),
  );
  assert.equal(dlqAttrs.QueueArn, queueArnFor(dlqName));

  const policy = JSON.stringify({ deadLetterTargetArn: dlqAttrs.QueueArn, maxReceiveCount: 1 });
  const { QueueUrl: src } = await sqs.send(
    new CreateQueueCommand({ QueueName: uniqueName("src"), Attributes: { RedrivePolicy: policy } }),
  );
  created.push(src);

  const { Attributes: srcAttrs } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: src, AttributeNames: ["RedrivePolicy"] }),
  );
  const stored = JSON.parse(srcAttrs.RedrivePolicy);
  assert.equal(stored.deadLetterTargetArn, dlqAttrs.QueueArn);
  assert.equal(Number(stored.maxReceiveCount), 1);

  const sources = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }));
  assert.deepEqual(sources.queueUrls, [src]);

  const sent = await sqs.send(new SendMessageCommand({
    QueueUrl: src,
    MessageBody: "poison",
    MessageAttributes: { Try: { DataType: "Number", StringValue: "1" } },
  }));

  // First receive: count 1 (allowed). Visibility 0 makes it visible again at once.
  const r1 = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: src, VisibilityTimeout: 0, MessageSystemAttributeNames: ["ApproximateReceiveCount"],
  }));
  assert.equal(r1.Messages?.length, 1);
  assert.equal(r1.Messages[0].Attributes.ApproximateReceiveCount, "1");

  // Second receive would exceed maxReceiveCount: the message goes to the DLQ instead.
  const r2 = await sqs.send(new ReceiveMessageCommand({ QueueUrl: src, WaitTimeSeconds: 1 }));
  assert.equal(r2.Messages, undefined, "the source queue no longer delivers the message");

  const r3 = await sqs.send(new ReceiveMessageCommand({
    QueueUrl: dlq, WaitTimeSeconds: 2, MessageAttributeNames: ["All"],
  }));
  assert.equal(r3.Messages?.length, 1);
  const m = r3.Messages[0];
  assert.equal(m.Body, "poison");
  assert.equal(m.MessageId, sent.MessageId, "the message keeps its id in the DLQ");
  assert.equal(m.MessageAttributes.Try.StringValue, "1");
  assert.equal(m.MD5OfMessageAttributes, sent.MD5OfMessageAttributes);

  const { Attributes: srcCounts } = await sqs.send(new GetQueueAttributesCommand({
    QueueUrl: src, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  }));
  assert.deepEqual(srcCounts, { ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0" });
});
