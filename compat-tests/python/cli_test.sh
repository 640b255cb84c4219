#!/usr/bin/env bash
# aws CLI v1 (from compat-tests/.venv) against ferry. Needs FERRY_ENDPOINT and `aws` + `python` on PATH.
# Parses --output json with python; no jq.
set -euo pipefail

: "${FERRY_ENDPOINT:?FERRY_ENDPOINT must be set}"
PY=${PYTHON:-python}
AWS=(aws --endpoint-url "$FERRY_ENDPOINT" --region us-east-1 --output json)
name="cli-$(date +%s)-$RANDOM"
passed=0

check() { # check DESCRIPTION JSON PYTHON_EXPR -- the expression sees the parsed output as `d`
  local desc=$1 json=$2 expr=$3
  if ! printf '%s' "$json" | "$PY" -c "import json,sys; d=json.load(sys.stdin); assert ($expr), d" ; then
    echo "FAIL: $desc" >&2
    echo "  output: $json" >&2
    exit 1
  fi
  passed=$((passed + 1))
  echo "ok - $desc"
}

out=$("${AWS[@]}" sts get-caller-identity)
check "sts get-caller-identity is account 000000000000" "$out" "d['Account'] == '000000000000' and d['Arn'] == 'arn:aws:iam::000000000000:root'"

out=$("${AWS[@]}" sqs create-queue --queue-name "$name" --attributes VisibilityTimeout=40)
check "create-queue returns the queue URL" "$out" "d['QueueUrl'] == '$FERRY_ENDPOINT/000000000000/$name'"
url=$(printf '%s' "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['QueueUrl'])")
trap '"${AWS[@]}" sqs delete-queue --queue-url "$url" >/dev/null 2>&1 || true' EXIT

out=$("${AWS[@]}" sqs list-queues --queue-name-prefix "$name")
check "list-queues finds it" "$out" "d['QueueUrls'] == ['$url']"

out=$("${AWS[@]}" sqs get-queue-url --queue-name "$name")
check "get-queue-url" "$out" "d['QueueUrl'] == '$url'"

out=$("${AWS[@]}" sqs send-message --queue-url "$url" --message-body "hello from the cli" \
  --message-attributes '{"color":{"DataType":"String","StringValue":"blue"}}')
check "send-message returns MessageId and MD5s" "$out" \
  "len(d['MessageId']) == 36 and d['MD5OfMessageBody'] == __import__('hashlib').md5(b'hello from the cli').hexdigest() and len(d['MD5OfMessageAttributes']) == 32"
mid=$(printf '%s' "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['MessageId'])")

out=$("${AWS[@]}" sqs get-queue-attributes --queue-url "$url" --attribute-names All)
check "get-queue-attributes shows one message and the visibility timeout" "$out" \
  "d['Attributes']['ApproximateNumberOfMessages'] == '1' and d['Attributes']['VisibilityTimeout'] == '40' and d['Attributes']['QueueArn'] == 'arn:aws:sqs:us-east-1:000000000000:$name'"

out=$("${AWS[@]}" sqs receive-message --queue-url "$url" --wait-time-seconds 2 --message-attribute-names All --attribute-names All)
check "receive-message returns the message" "$out" \
  "len(d['Messages']) == 1 and d['Messages'][0]['MessageId'] == '$mid' and d['Messages'][0]['Body'] == 'hello from the cli' and d['Messages'][0]['MessageAttributes']['color']['StringValue'] == 'blue' and d['Messages'][0]['Attributes']['ApproximateReceiveCount'] == '1'"
rh=$(printf '%s' "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['Messages'][0]['ReceiptHandle'])")

"${AWS[@]}" sqs delete-message --queue-url "$url" --receipt-handle "$rh"
out=$("${AWS[@]}" sqs get-queue-attributes --queue-url "$url" --attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible)
check "delete-message empties the queue" "$out" \
  "d['Attributes'] == {'ApproximateNumberOfMessages': '0', 'ApproximateNumberOfMessagesNotVisible': '0'}"

out=$("${AWS[@]}" sqs receive-message --queue-url "$url" --wait-time-seconds 0)
check "receive on empty queue prints nothing" "{\"raw\": $(printf '%s' "$out" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}" \
  "d['raw'].strip() in ('', '{}') or 'Messages' not in json.loads(d['raw'])"

"${AWS[@]}" sqs delete-queue --queue-url "$url"
if err=$("${AWS[@]}" sqs get-queue-url --queue-name "$name" 2>&1); then
  echo "FAIL: get-queue-url after delete-queue succeeded: $err" >&2
  exit 1
fi
case "$err" in
  *AWS.SimpleQueueService.NonExistentQueue*) passed=$((passed + 1)); echo "ok - deleted queue is gone (NonExistentQueue)" ;;
  *) echo "FAIL: unexpected error after delete-queue: $err" >&2; exit 1 ;;
esac
trap - EXIT

# EventBridge (awsJson1.1)
bus="cli-bus-$RANDOM$RANDOM"
out=$("${AWS[@]}" events create-event-bus --name "$bus")
check "events create-event-bus returns the bus ARN" "$out" \
  "d['EventBusArn'] == 'arn:aws:events:us-east-1:000000000000:event-bus/$bus'"
trap '"${AWS[@]}" events remove-targets --rule r --event-bus-name "$bus" --ids q >/dev/null 2>&1 || true
  "${AWS[@]}" events delete-rule --name r --event-bus-name "$bus" >/dev/null 2>&1 || true
  "${AWS[@]}" events delete-event-bus --name "$bus" >/dev/null 2>&1 || true' EXIT

out=$("${AWS[@]}" events put-rule --name r --event-bus-name "$bus" --event-pattern '{"source":["cli"]}')
check "events put-rule returns the rule ARN with the bus" "$out" \
  "d['RuleArn'] == 'arn:aws:events:us-east-1:000000000000:rule/$bus/r'"

out=$("${AWS[@]}" events put-targets --rule r --event-bus-name "$bus" \
  --targets 'Id=q,Arn=arn:aws:sqs:us-east-1:000000000000:q,InputPath=$.detail')
check "events put-targets accepts the target" "$out" "d['FailedEntryCount'] == 0 and d['FailedEntries'] == []"

out=$("${AWS[@]}" events list-targets-by-rule --rule r --event-bus-name "$bus")
check "events list-targets-by-rule lists it as put" "$out" \
  "d['Targets'] == [{'Id': 'q', 'Arn': 'arn:aws:sqs:us-east-1:000000000000:q', 'InputPath': '\$.detail'}]"

if err=$("${AWS[@]}" events delete-rule --name r --event-bus-name "$bus" 2>&1); then
  echo "FAIL: delete-rule with targets succeeded: $err" >&2
  exit 1
fi
case "$err" in
  *"Rule can't be deleted since it has targets."*) passed=$((passed + 1)); echo "ok - a rule with targets cannot be deleted" ;;
  *) echo "FAIL: unexpected error from delete-rule: $err" >&2; exit 1 ;;
esac

if err=$("${AWS[@]}" events put-rule --name s --schedule-expression 'rate(1 minutes)' 2>&1); then
  echo "FAIL: put-rule with rate(1 minutes) succeeded: $err" >&2
  exit 1
fi
case "$err" in
  *"Parameter ScheduleExpression is not valid."*) passed=$((passed + 1)); echo "ok - rate(1 minutes) is refused as AWS refuses it" ;;
  *) echo "FAIL: unexpected error from put-rule: $err" >&2; exit 1 ;;
esac

# Archives record accepted events; a replay sends them back (events whose time is before now).
out=$("${AWS[@]}" events create-archive --archive-name "$bus-arch" \
  --event-source-arn "arn:aws:events:us-east-1:000000000000:event-bus/$bus" --event-pattern '{"source":["cli"]}')
check "events create-archive returns the archive ARN" "$out" \
  "d['ArchiveArn'] == 'arn:aws:events:us-east-1:000000000000:archive/$bus-arch' and d['State'] == 'ENABLED'"
since=$(date -u -d '-1 minute' +%Y-%m-%dT%H:%M:%SZ)
out=$("${AWS[@]}" events put-events --entries \
  "[{\"Source\":\"cli\",\"DetailType\":\"t\",\"Detail\":\"{}\",\"EventBusName\":\"$bus\"},{\"Source\":\"other\",\"DetailType\":\"t\",\"Detail\":\"{}\",\"EventBusName\":\"$bus\"}]")
check "events put-events accepts both entries" "$out" "d['FailedEntryCount'] == 0"
out=$("${AWS[@]}" events describe-archive --archive-name "$bus-arch")
check "events describe-archive counts the matching event" "$out" "d['EventCount'] == 1 and d['SizeBytes'] > 0"
sleep 1
out=$("${AWS[@]}" events start-replay --replay-name "$bus-rp" \
  --event-source-arn "arn:aws:events:us-east-1:000000000000:archive/$bus-arch" \
  --event-start-time "$since" --event-end-time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --destination "Arn=arn:aws:events:us-east-1:000000000000:event-bus/$bus")
check "events start-replay starts" "$out" "d['State'] == 'STARTING'"
for _ in $(seq 1 50); do
  out=$("${AWS[@]}" events describe-replay --replay-name "$bus-rp")
  case "$out" in *COMPLETED*) break ;; esac
  sleep 0.2
done
check "events describe-replay reaches COMPLETED" "$out" "d['State'] == 'COMPLETED' and 'EventLastReplayedTime' in d"
"${AWS[@]}" events delete-archive --archive-name "$bus-arch"

"${AWS[@]}" events remove-targets --rule r --event-bus-name "$bus" --ids q >/dev/null
"${AWS[@]}" events delete-rule --name r --event-bus-name "$bus"
"${AWS[@]}" events delete-event-bus --name "$bus"
out=$("${AWS[@]}" events list-event-buses --name-prefix "$bus")
check "events delete-event-bus removes it" "$out" "d['EventBuses'] == []"
trap - EXIT

# SNS: a topic fanning out to a queue, raw and as the envelope.
out=$("${AWS[@]}" sns create-topic --name "$name-topic")
check "sns create-topic returns the ARN" "$out" "d['TopicArn'] == 'arn:aws:sns:us-east-1:000000000000:$name-topic'"
topic="arn:aws:sns:us-east-1:000000000000:$name-topic"
out=$("${AWS[@]}" sqs create-queue --queue-name "$name-fan")
fan=$(printf '%s' "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['QueueUrl'])")
trap '"${AWS[@]}" sqs delete-queue --queue-url "$fan" >/dev/null 2>&1 || true; "${AWS[@]}" sns delete-topic --topic-arn "$topic" >/dev/null 2>&1 || true' EXIT
out=$("${AWS[@]}" sns subscribe --topic-arn "$topic" --protocol sqs \
  --notification-endpoint "arn:aws:sqs:us-east-1:000000000000:$name-fan" --attributes RawMessageDelivery=true)
check "sns subscribe returns the subscription ARN" "$out" "d['SubscriptionArn'].startswith('$topic:')"
out=$("${AWS[@]}" sns publish --topic-arn "$topic" --message "fanned out" \
  --message-attributes '{"color":{"DataType":"String","StringValue":"blue"}}')
check "sns publish returns a MessageId" "$out" "len(d['MessageId']) == 36"
out=$("${AWS[@]}" sqs receive-message --queue-url "$fan" --wait-time-seconds 5 --message-attribute-names All)
check "the raw message reaches the queue with its attributes" "$out" \
  "d['Messages'][0]['Body'] == 'fanned out' and d['Messages'][0]['MessageAttributes']['color']['StringValue'] == 'blue'"
out=$("${AWS[@]}" sns list-subscriptions-by-topic --topic-arn "$topic")
check "sns list-subscriptions-by-topic lists it" "$out" "len(d['Subscriptions']) == 1 and d['Subscriptions'][0]['Protocol'] == 'sqs'"
"${AWS[@]}" sns delete-topic --topic-arn "$topic"
"${AWS[@]}" sqs delete-queue --queue-url "$fan"
trap - EXIT

# EventBridge targets: an event on one bus goes to another bus, whose rule publishes it to a topic
# (transformed by an InputTransformer), whose queue subscription gets it.
src="$name-src"; dst="$name-dst"; ebt="arn:aws:sns:us-east-1:000000000000:$name-ebt"
"${AWS[@]}" events create-event-bus --name "$src" >/dev/null
"${AWS[@]}" events create-event-bus --name "$dst" >/dev/null
"${AWS[@]}" sns create-topic --name "$name-ebt" >/dev/null
out=$("${AWS[@]}" sqs create-queue --queue-name "$name-eb")
ebq=$(printf '%s' "$out" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['QueueUrl'])")
trap '"${AWS[@]}" events remove-targets --rule fwd --event-bus-name "$src" --ids bus >/dev/null 2>&1 || true
  "${AWS[@]}" events remove-targets --rule pub --event-bus-name "$dst" --ids t >/dev/null 2>&1 || true
  for r in "fwd $src" "pub $dst"; do set -- $r; "${AWS[@]}" events delete-rule --name "$1" --event-bus-name "$2" >/dev/null 2>&1 || true; done
  "${AWS[@]}" events delete-event-bus --name "$src" >/dev/null 2>&1 || true
  "${AWS[@]}" events delete-event-bus --name "$dst" >/dev/null 2>&1 || true
  "${AWS[@]}" sns delete-topic --topic-arn "$ebt" >/dev/null 2>&1 || true
  "${AWS[@]}" sqs delete-queue --queue-url "$ebq" >/dev/null 2>&1 || true' EXIT
"${AWS[@]}" sns subscribe --topic-arn "$ebt" --protocol sqs \
  --notification-endpoint "arn:aws:sqs:us-east-1:000000000000:$name-eb" --attributes RawMessageDelivery=true >/dev/null
"${AWS[@]}" events put-rule --name fwd --event-bus-name "$src" --event-pattern '{"source":["cli.targets"]}' >/dev/null
out=$("${AWS[@]}" events put-targets --rule fwd --event-bus-name "$src" \
  --targets "Id=bus,Arn=arn:aws:events:us-east-1:000000000000:event-bus/$dst,RoleArn=arn:aws:iam::000000000000:role/fwd")
check "events put-targets accepts an event bus target" "$out" "d['FailedEntryCount'] == 0"
"${AWS[@]}" events put-rule --name pub --event-bus-name "$dst" --event-pattern '{"source":["cli.targets"]}' >/dev/null
out=$("${AWS[@]}" events put-targets --rule pub --event-bus-name "$dst" --targets \
  '[{"Id":"t","Arn":"'"$ebt"'","InputTransformer":{"InputPathsMap":{"n":"$.detail.n"},"InputTemplate":"\"n is <n>\""}}]')
check "events put-targets accepts a topic target with an input transformer" "$out" "d['FailedEntryCount'] == 0"
out=$("${AWS[@]}" events put-events --entries \
  '[{"EventBusName":"'"$src"'","Source":"cli.targets","DetailType":"t","Detail":"{\"n\":7}"}]')
check "events put-events accepts the event" "$out" "d['FailedEntryCount'] == 0"
out=$("${AWS[@]}" sqs receive-message --queue-url "$ebq" --wait-time-seconds 10)
check "the event reaches the queue through the other bus and the topic, transformed" "$out" \
  "d['Messages'][0]['Body'] == '\"n is 7\"'"
"${AWS[@]}" events remove-targets --rule fwd --event-bus-name "$src" --ids bus >/dev/null
"${AWS[@]}" events remove-targets --rule pub --event-bus-name "$dst" --ids t >/dev/null
"${AWS[@]}" events delete-rule --name fwd --event-bus-name "$src"
"${AWS[@]}" events delete-rule --name pub --event-bus-name "$dst"
"${AWS[@]}" events delete-event-bus --name "$src"
"${AWS[@]}" events delete-event-bus --name "$dst"
"${AWS[@]}" sns delete-topic --topic-arn "$ebt"
"${AWS[@]}" sqs delete-queue --queue-url "$ebq"
trap - EXIT

echo "cli: $passed checks passed"
