// SNS signatures checked by AWS's own message validator from npm, `sns-validator` (pinned in
// package.json), for SignatureVersion 1 and 2. The validator fetches SigningCertURL only over
// https and only from hosts matching its documented `hostPattern` option, so ferry is reached here
// through a TLS-terminating proxy on 127.0.0.1 (a CA made by this test with openssl signs its
// certificate) that adds `X-Forwarded-Proto: https`, as an ingress would: ferry then writes https
// links, and the validator is told to trust 127.0.0.1.
//
// Not covered by this validator: UnsubscribeConfirmation. sns-validator 0.3.5 signs it with the
// Notification key list (without `Token`), while AWS (and ferry) sign it like a
// SubscriptionConfirmation; the Python suite checks it with aws-sns-message-validator.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http from "node:http";
import https from "node:https";
import MessageValidator from "sns-validator";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import {
  SNSClient,
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  DeleteTopicCommand,
  PublishCommand,
  SubscribeCommand,
} from "@aws-sdk/client-sns";
import { ENDPOINT, REGION, uniqueName } from "../lib/ferry.mjs";

/** A CA and a certificate for 127.0.0.1 that it signed, made with the openssl command. */
function pki() {
  const dir = mkdtempSync(join(tmpdir(), "ferry-pki-"));
  const run = (...args) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
    "-days", "1", "-subj", "/CN=ferry test CA");
  run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
    "-subj", "/CN=127.0.0.1");
  writeFileSync(join(dir, "ext.cnf"),
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf");
  const read = (f) => readFileSync(join(dir, f), "utf8");
  const out = { ca: read("ca.pem"), key: read("server.key"), cert: read("server.pem") };
  rmSync(dir, { recursive: true, force: true });
  return out;
}

const listen = (server) =>
  new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address().port)));

const { ca, key, cert } = pki();

// The proxy: https on 127.0.0.1 in front of ferry, passing Host through.
const proxy = https.createServer({ key, cert }, (req, res) => {
  const upstream = http.request(
    `${ENDPOINT}${req.url}`,
    { method: req.method, headers: { ...req.headers, "x-forwarded-proto": "https" } },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
const proxyPort = await listen(proxy);

// The subscriber: a plain HTTP endpoint that keeps every message and answers 200.
const received = [];
const endpoint = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    received.push(JSON.parse(body));
    res.writeHead(200);
    res.end();
  });
});
const endpointPort = await listen(endpoint);

// The validator fetches certificates with https.get, i.e. through the global agent: trust the
// test's CA there (Node's own option; nothing of the validator is changed).
https.globalAgent.options.ca = ca;
const validator = new MessageValidator(/^127\.0\.0\.1:\d+$/);
const validate = (message) =>
  new Promise((resolve, reject) => validator.validate(message, (err, m) => (err ? reject(err) : resolve(m))));

const sns = new SNSClient({
  endpoint: `https://127.0.0.1:${proxyPort}`,
  region: REGION,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca }) }),
});
const topics = [];
after(async () => {
  for (const TopicArn of topics) await sns.send(new DeleteTopicCommand({ TopicArn }));
  sns.destroy();
  proxy.close();
  endpoint.close();
  https.globalAgent.destroy();
});

async function arrived(pred, what) {
  for (let i = 0; i < 100; i++) {
    const m = received.find(pred);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what} arrived`);
}

for (const version of ["1", "2"]) {
  test(`sns-validator accepts ferry's SignatureVersion ${version} confirmation and notifications`, async () => {
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({ Name: uniqueName(`sig${version}`), Attributes: { SignatureVersion: version } }),
    );
    topics.push(TopicArn);
    await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: "http", Endpoint: `http://127.0.0.1:${endpointPort}/` }),
    );
    const confirmation = await arrived(
      (m) => m.Type === "SubscriptionConfirmation" && m.TopicArn === TopicArn, "confirmation");
    assert.equal(confirmation.SignatureVersion, version);
    assert.match(confirmation.SigningCertURL, new RegExp(`^https://127\\.0\\.0\\.1:${proxyPort}/`));
    await validate(confirmation);
    await sns.send(new ConfirmSubscriptionCommand({ TopicArn, Token: confirmation.Token }));

    await sns.send(new PublishCommand({ TopicArn, Message: "signed ö\nline two", Subject: "with subject" }));
    await sns.send(new PublishCommand({ TopicArn, Message: "no subject" }));
    const mine = (text) => (m) => m.Type === "Notification" && m.TopicArn === TopicArn && m.Message === text;
    for (const text of ["signed ö\nline two", "no subject"]) {
      const n = await arrived(mine(text), `notification ${text}`);
      assert.equal(n.SignatureVersion, version);
      await validate(n);
      // The validator can fail: a changed text or a certificate elsewhere is refused.
      await assert.rejects(validate({ ...n, Message: `${text}!` }), /signature is invalid/);
      await assert.rejects(
        validate({ ...n, SigningCertURL: n.SigningCertURL.replace("127.0.0.1", "127.0.0.2") }),
        /invalid domain/,
      );
    }
  });
}
