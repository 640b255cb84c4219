// Shared setup for the ferry compatibility tests (AWS SDK for JavaScript v3).
// Not a test file: node --test only runs test/*.test.mjs here.
import { createHash, randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { after } from "node:test";
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";

const raw = process.env.FERRY_ENDPOINT;
if (!raw) {
  throw new Error(
    "FERRY_ENDPOINT is not set: start ferry and run e.g. FERRY_ENDPOINT=http://127.0.0.1:4566 npm test",
  );
}
/** Endpoint without a trailing slash, e.g. http://127.0.0.1:4566 */
export const ENDPOINT = raw.replace(/\/+$/, "");
export const ACCOUNT = "000000000000";
export const REGION = "us-east-1";

const clientConfig = () => ({
  endpoint: ENDPOINT,
  region: REGION,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1, // surface errors as they are, no silent retries
});

export const sqsClient = () => new SQSClient(clientConfig());
export const stsClient = () => new STSClient(clientConfig());
export const eventsClient = () => new EventBridgeClient(clientConfig());

/** A queue name unique to this run, so suites can share one server. */
export function uniqueName(tag) {
  return `js-${tag}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

export const queueUrlFor = (name) => `${ENDPOINT}/${ACCOUNT}/${name}`;
export const queueArnFor = (name) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

export const md5Hex = (data) => createHash("md5").update(data).digest("hex");

/**
 * MD5 of message attributes as SQS documents it: attributes sorted by name; for each,
 * name, data type (each as 4-byte big-endian length + UTF-8 bytes), a transport byte
 * (1 = string/number, 2 = binary) and the value (length + bytes).
 * The JS SDK itself only checks body MD5s, so attribute MD5s are checked here.
 */
export function md5OfAttributes(attrs) {
  const parts = [];
  const lenPrefixed = (buf) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    parts.push(len, buf);
  };
  for (const name of Object.keys(attrs).sort()) {
    const a = attrs[name];
    lenPrefixed(Buffer.from(name, "utf8"));
    lenPrefixed(Buffer.from(a.DataType, "utf8"));
    if (a.StringValue !== undefined) {
      parts.push(Buffer.from([1]));
      lenPrefixed(Buffer.from(a.StringValue, "utf8"));
    } else {
      parts.push(Buffer.from([2]));
      lenPrefixed(Buffer.from(a.BinaryValue));
    }
  }
  return md5Hex(Buffer.concat(parts));
}

/** Await a promise expected to reject with an AWS service error; return the error. */
export async function expectServiceError(promise, name, { status = 400, code } = {}) {
  let err;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${name}, but the call succeeded`);
  assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
  assert.equal(err.$metadata?.httpStatusCode, status, `HTTP status of ${name}`);
  assert.ok(err.$metadata?.requestId, `${name} carries a request id`);
  if (code !== undefined) {
    // awsJson1.0 with awsQueryCompatible: the SDK copies x-amzn-query-error into Code/Type.
    assert.equal(err.Code, code, `x-amzn-query-error code of ${name}`);
  }
  return err;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One SQS client per test file, and the queues the file created: deleted after the file. */
export function testClient() {
  const sqs = sqsClient();
  const created = [];
  after(async () => {
    for (const QueueUrl of created) {
      await sqs.send(new DeleteQueueCommand({ QueueUrl })).catch(() => {});
    }
    sqs.destroy();
  });
  return { sqs, created };
}
