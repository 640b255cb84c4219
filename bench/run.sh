#!/usr/bin/env bash
# Wire-level benchmark of ferry against moto_server and the HTTP ceiling of this machine.
#
#   bench/run.sh [--big] [SECONDS]        (SECONDS of load per ferry-load run, default 10)
#
# Builds ferry (release) and the load generator bench/load (ferry-load, ferry-load-hello and
# ferry-load-null, into bench/load/target), installs the pinned moto_server into bench/.venv,
# starts ferry (durable sled, temp data dir), moto_server and ferry-load-hello on free 127.0.0.1
# ports, runs:
#   ferry  sqs-send + sqs-roundtrip at 32 conns, json and query protocol (durable, default --sync 1s),
#          and json again with --sync always ("ferry-sync": every answer waits for fdatasync) and
#          with --in-memory (the request path without the disk); then sns-fanout and events-put,
#          again with a target that never answers (--dead-target, label ferry-dead; three alternating
#          pairs, summarized as the median ratio of their p99s), and events-put
#          with 1,000 rules (label ferry-1000), each on a ferry of its own started for it, so that
#          no run inherits another's data or pending deliveries
#   moto   sqs-send + sqs-roundtrip + sns-fanout + events-put at 32 conns, json (moto's PutEvents
#          takes seconds per call: its run alone lasts about a minute)
#   hello  raw at 8 and 32 conns (ceiling: trivial hyper server, same client)
#   rounds PAIRS times a fresh hello's raw, then a fresh ferry-load-null's and a fresh ferry's
#          sqs-send + sqs-roundtrip at 32 conns (summary: the medians of ferry / ceiling, the figures
#          the bars are read from, of null / ceiling, what a server doing nothing reaches, and of
#          ferry / null)
#   ferrybench.py startup (start-to-healthy, idle RSS) and longpoll (200 idle waiters: CPU)
#   ferrybench.py fifo (single SendMessage and receive 10 + DeleteMessageBatch, 32 conns, on a
#     standard queue and FIFO queues with 1, 10, 1000 groups: rates, p50/p99, FIFO/standard
#     ratios, per-group order, lost/duplicated messages, client vs server CPU)
#   --big: ferrybench.py big (1,000,000 messages: RSS, disk, restart, drain, disk after delete)
# and appends every JSON line (tagged with a run id) plus summary lines to
# bench/results/<UTC date>.jsonl, then prints the tables. Default run: about 6-8 minutes.
set -euo pipefail

BIG=0
SECS=10
CONNS=32
for arg in "$@"; do
  case "$arg" in
    --big) BIG=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    ''|*[!0-9.]*) echo "usage: $0 [--big] [SECONDS]" >&2; exit 2 ;;
    *) SECS=$arg ;;
  esac
done

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
LOAD_MANIFEST=$BENCH/load/Cargo.toml
L=$BENCH/load/target/release/ferry-load
H=$BENCH/load/target/release/ferry-load-hello
NULL=$BENCH/load/target/release/ferry-load-null
FERRY=$REPO/target/release/ferry
VENV=$BENCH/.venv
PY=python3

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- build and install
log "building ferry (release)"
cargo build --release --manifest-path "$REPO/Cargo.toml" --bin ferry
log "building the load generator (bench/load)"
cargo build --release --locked --manifest-path "$LOAD_MANIFEST"

REQ_SUM=$(sha256sum "$BENCH/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$VENV/bin/moto_server" ] || [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$REQ_SUM" ]; then
  log "installing moto_server into bench/.venv"
  rm -rf "$VENV"
  $PY -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$BENCH/requirements.txt"
  echo "$REQ_SUM" > "$VENV/.requirements.sha256"
fi

# ---------------------------------------------------------------- servers
TMP=$(mktemp -d /tmp/ferry-bench.XXXXXX)
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -s "$TMP/ferry.log" ]; then
    echo "ferry.log (--log-level warn) has $(wc -l <"$TMP/ferry.log") lines; first ones:" >&2
    head -5 "$TMP/ferry.log" >&2
  fi
  if [ "$rc" -ne 0 ]; then
    echo "bench failed (exit $rc); server logs kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # URL NAME PID
  for _ in $(seq 300); do
    kill -0 "$3" 2>/dev/null || { echo "$2 exited during startup; log: $TMP/$2.log" >&2; tail -20 "$TMP/$2.log" >&2; exit 1; }
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "$2 not ready after 30 s; log: $TMP/$2.log" >&2; exit 1
}

FERRY_PORT=$(free_port); MEM_PORT=$(free_port); SYNC_PORT=$(free_port); MOTO_PORT=$(free_port); HELLO_PORT=$(free_port)
# Flags are given explicitly; FERRY_* from the caller's environment must not change the run.
env -u FERRY_LISTEN -u FERRY_DATA_DIR -u FERRY_IN_MEMORY -u FERRY_SYNC \
  "$FERRY" --listen "127.0.0.1:$FERRY_PORT" --data-dir "$TMP/ferry-data" --log-level warn \
  --max-rules-per-bus 2000 >"$TMP/ferry.log" 2>&1 &
FERRY_PID=$!; PIDS+=("$FERRY_PID")
# --sync always: every acknowledgement waits for fdatasync (group commit).
env -u FERRY_LISTEN -u FERRY_DATA_DIR -u FERRY_IN_MEMORY -u FERRY_SYNC \
  "$FERRY" --listen "127.0.0.1:$SYNC_PORT" --data-dir "$TMP/ferry-sync-data" --sync always \
  --log-level warn >"$TMP/ferry-sync.log" 2>&1 &
SYNC_PID=$!; PIDS+=("$SYNC_PID")
# The same binary with --in-memory: what the request path costs without the disk.
env -u FERRY_LISTEN -u FERRY_DATA_DIR -u FERRY_IN_MEMORY \
  "$FERRY" --listen "127.0.0.1:$MEM_PORT" --in-memory --log-level warn >"$TMP/ferry-mem.log" 2>&1 &
MEM_PID=$!; PIDS+=("$MEM_PID")
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$TMP/moto.log" 2>&1 &
MOTO_PID=$!; PIDS+=("$MOTO_PID")
"$H" --listen "127.0.0.1:$HELLO_PORT" >"$TMP/hello.log" 2>&1 &
HELLO_PID=$!; PIDS+=("$HELLO_PID")
wait_http "http://127.0.0.1:$FERRY_PORT/_ferry/health" ferry "$FERRY_PID"
wait_http "http://127.0.0.1:$MEM_PORT/_ferry/health" ferry-mem "$MEM_PID"
wait_http "http://127.0.0.1:$SYNC_PORT/_ferry/health" ferry-sync "$SYNC_PID"
wait_http "http://127.0.0.1:$MOTO_PORT/moto-api/" moto "$MOTO_PID"
wait_http "http://127.0.0.1:$HELLO_PORT/" hello "$HELLO_PID"
echo "ferry pid $FERRY_PID :$FERRY_PORT | moto pid $MOTO_PID :$MOTO_PORT | hello pid $HELLO_PID :$HELLO_PORT" >&2

# ---------------------------------------------------------------- load
RAW=$TMP/run.jsonl
: >"$RAW"
FAILED=0
load() {  # label port pid conns args...   (a scenario a server lacks gives a line with "error")
  local label=$1 port=$2 pid=$3 conns=$4; shift 4
  "$L" -e "$label=http://127.0.0.1:$port" --server-pid "$pid" -s "$SECS" -c "$conns" \
    --out "$RAW" "$@" >/dev/null || { echo "ferry-load $label $* failed" >&2; FAILED=1; }
}
log "ferry, json protocol, $CONNS conns, ${SECS}s per scenario"
load ferry "$FERRY_PORT" "$FERRY_PID" "$CONNS" sqs-send sqs-roundtrip
log "ferry --in-memory, json protocol"
load ferry-mem "$MEM_PORT" "$MEM_PID" "$CONNS" sqs-send sqs-roundtrip
log "ferry --sync always, json protocol"
load ferry-sync "$SYNC_PORT" "$SYNC_PID" "$CONNS" sqs-send sqs-roundtrip
log "ferry, query protocol"
load ferry "$FERRY_PORT" "$FERRY_PID" "$CONNS" --protocol query sqs-send sqs-roundtrip
fresh() {  # label args...: one load run on a ferry of its own (a new data directory), stopped after
  local label=$1 port pid dir; shift
  port=$(free_port); dir=$(mktemp -d "$TMP/fresh.XXXXXX")
  env -u FERRY_LISTEN -u FERRY_DATA_DIR -u FERRY_IN_MEMORY -u FERRY_SYNC \
    "$FERRY" --listen "127.0.0.1:$port" --data-dir "$dir/data" --log-level warn \
    --max-rules-per-bus 2000 >"$TMP/$label-fresh.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/_ferry/health" "$label-fresh" "$pid"
  load "$label" "$port" "$pid" "$CONNS" "$@"
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
# A dead target leaves its deliveries pending; on a shared server they would weigh on every later
# run, so each of these runs gets a fresh server, the runs with and without it alike.
# A p99 over one run swings by a third with the machine's other load, so the runs with and without
# the dead target alternate, PAIRS times, and the summary takes the median of the pairs' ratios.
PAIRS=3
log "ferry, SNS fan-out (3 raw SQS subscriptions), then the same with a fourth, HTTP subscription that never answers ($PAIRS pairs)"
for _ in $(seq $PAIRS); do
  fresh ferry sns-fanout
  fresh ferry-dead --dead-target sns-fanout
done
log "ferry, EventBridge PutEvents (5 rules, 1 matching), then the same with an API destination that never answers ($PAIRS pairs)"
for _ in $(seq $PAIRS); do
  fresh ferry events-put
  fresh ferry-dead --dead-target events-put
done
log "ferry, PutEvents with 1,000 rules on the bus (1 matching)"
fresh ferry-1000 --rules 1000 events-put
log "moto_server, json protocol"
load moto "$MOTO_PORT" "$MOTO_PID" "$CONNS" sqs-send sqs-roundtrip sns-fanout
# moto's PutEvents costs about 0.1 s of CPU per entry: calls wait long, so a longer call bound.
load moto "$MOTO_PORT" "$MOTO_PID" "$CONNS" --timeout 300 events-put
log "HTTP ceiling: ferry-load-hello, raw signed POST"
load hello "$HELLO_PORT" "$HELLO_PID" "8,$CONNS" raw
# The ceiling moves with the machine's other load within minutes, so the bars are read from rounds
# run one right after the other, each server fresh: ferry-load-hello's ceiling, then
# ferry-load-null (the least any SQS server can do for these scenarios: what this client and these
# cores allow), then ferry, both with sqs-send and sqs-roundtrip. PAIRS rounds.
log "ferry sqs-send and sqs-roundtrip against the ceiling and the null broker measured just before it, on fresh servers ($PAIRS rounds)"
beside() {  # BIN LABEL args...: one load run on a fresh reference server, stopped after
  local bin=$1 label=$2 port pid; shift 2
  port=$(free_port)
  "$bin" --listen "127.0.0.1:$port" >"$TMP/$label.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$port/" "$label" "$pid"
  load "$label" "$port" "$pid" "$CONNS" "$@"
  kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}
for _ in $(seq $PAIRS); do
  beside "$H" hello-pair raw
  beside "$NULL" null-pair sqs-send sqs-roundtrip
  fresh ferry-pair sqs-send sqs-roundtrip
done

# The load servers are done: stop them so the measurements below have the cores.
for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${PIDS[@]}"; do
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
done
FERRY_DU=$(du -sb "$TMP/ferry-data" | cut -f1)
echo "ferry data dir after the load runs: $FERRY_DU bytes" >&2
printf '{"label":"ferry","scenario":"disk-after-load","disk_bytes_apparent":%s}\n' "$FERRY_DU" >>"$RAW"

log "ferry start-to-healthy and idle RSS (5 runs)"
$PY "$BENCH/ferrybench.py" --out "$RAW" startup --bin "$FERRY" --runs 5 >/dev/null || FAILED=1
log "ferry with 200 idle long polls (10 s)"
$PY "$BENCH/ferrybench.py" --out "$RAW" longpoll --bin "$FERRY" --conns 200 --seconds 10 >/dev/null || FAILED=1
log "ferry FIFO vs standard queue: 1, 10, 1000 message groups (20,000 msgs each, at most ~90 s)"
$PY "$BENCH/ferrybench.py" --out "$RAW" fifo --bin "$FERRY" --messages 20000 --groups 0,1,10,1000 \
  >/dev/null || FAILED=1
if [ "$BIG" = 1 ]; then
  log "ferry with 1,000,000 messages (send, restart, drain)"
  $PY "$BENCH/ferrybench.py" --out "$RAW" big --bin "$FERRY" --messages 1000000 >/dev/null || FAILED=1
fi

# ---------------------------------------------------------------- results
mkdir -p "$BENCH/results"
RESULTS=$BENCH/results/$(date -u +%F).jsonl
RUN_ID=$(date -u +%Y-%m-%dT%H:%M:%SZ)
REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo none)
$PY "$BENCH/ferrybench.py" summarize --conns "$CONNS" --run-id "$RUN_ID" --rev "$REV" \
  --seconds "$SECS" --append-inputs "$RESULTS" "$RAW"
echo "results appended to ${RESULTS#$REPO/} (run $RUN_ID)" >&2
exit "$FAILED"
