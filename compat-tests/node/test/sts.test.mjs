import { test, after } from "node:test";
import assert from "node:assert/strict";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { ACCOUNT, stsClient } from "../lib/ferry.mjs";

const sts = stsClient();
after(() => sts.destroy());

test("STS GetCallerIdentity answers the default account", async () => {
  const out = await sts.send(new GetCallerIdentityCommand({}));
  assert.equal(out.Account, ACCOUNT);
  assert.equal(out.Arn, `arn:aws:iam::${ACCOUNT}:root`);
  assert.ok(out.UserId, "UserId is present");
  assert.equal(out.$metadata.httpStatusCode, 200);
  assert.ok(out.$metadata.requestId, "x-amzn-RequestId / RequestId is returned");
});
