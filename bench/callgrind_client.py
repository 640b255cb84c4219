#!/usr/bin/env python3
"""A small, bounded SQS client for bench/callgrind.sh: fixed numbers of SigV4-signed awsJson1.0
requests over one keep-alive connection to 127.0.0.1, so that instructions counted in the server can
be divided by a known number of requests. Standard library only.

    callgrind_client.py PORT setup QUEUE            create the queue, print nothing
    callgrind_client.py PORT send QUEUE N [SIZE]    N SendMessage of SIZE-byte bodies (256)
    callgrind_client.py PORT roundtrip QUEUE R      R rounds of ReceiveMessage 10 + DeleteMessageBatch
"""

import datetime
import hashlib
import hmac
import http.client
import json
import sys
import time

KEY, SECRET, REGION = "test", "test", "us-east-1"
DEADLINE = time.monotonic() + 600  # every loop is bounded in time as well as in count


def sign(host, target, body):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.0",
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-target": target,
    }
    names = sorted(headers)
    canonical = "\n".join(
        ["POST", "/", "", *[f"{n}:{headers[n]}" for n in names], "", ";".join(names),
         hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{REGION}/sqs/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + SECRET).encode()
    for part in (day, REGION, "sqs", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={KEY}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={sig}")
    return headers


class Client:
    def __init__(self, port):
        self.host = f"127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def call(self, action, payload):
        if time.monotonic() > DEADLINE:
            sys.exit("callgrind_client: out of time")
        body = json.dumps(payload).encode()
        self.conn.request("POST", "/", body, sign(self.host, f"AmazonSQS.{action}", body))
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            sys.exit(f"callgrind_client: {action} answered {resp.status}: {data[:300]!r}")
        return json.loads(data)


def main():
    port, command, queue = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    c = Client(port)
    if command == "setup":
        c.call("CreateQueue", {"QueueName": queue})
        return
    # The queue URL as ferry forms it (Host header, default account), so no call is spent on it.
    url = f"http://{c.host}/000000000000/{queue}"
    if command == "send":
        n = int(sys.argv[4])
        size = int(sys.argv[5]) if len(sys.argv) > 5 else 256
        for i in range(n):
            c.call("SendMessage", {"QueueUrl": url, "MessageBody": f"{i:08d}".ljust(size, "x")})
    elif command == "roundtrip":
        got = 0
        for _ in range(int(sys.argv[4])):
            msgs = c.call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10,
                                             "WaitTimeSeconds": 1}).get("Messages", [])
            got += len(msgs)
            if msgs:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                           for i, m in enumerate(msgs)]
                out = c.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
                if out.get("Failed"):
                    sys.exit(f"callgrind_client: deletes failed: {out['Failed']}")
        print(f"received {got}", file=sys.stderr)
    else:
        sys.exit(f"callgrind_client: unknown command {command}")


if __name__ == "__main__":
    main()
