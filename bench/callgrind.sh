#!/usr/bin/env bash
# Instructions per SQS request, counted by callgrind: unlike wall-clock figures they do not change
# with the machine's load. Builds ferry with `--profile profiling` (release + line tables), runs it
# under `valgrind --tool=callgrind` on 127.0.0.1 with a fresh data directory (default `--sync`), and
# drives it with bench/callgrind_client.py:
#   0. the data directory is first prepared by ferry running natively until it is idle, so that the SNS
#      signing key (an RSA key made in a background thread on a fresh directory: billions of
#      instructions) is already stored and not counted,
#   1. CreateQueue (not counted: callgrind's counters are zeroed after it),
#   2. SENDS SendMessage of 256-byte bodies (awsJson1.0, SigV4-signed), dumped as phase `send`,
#   3. ROUNDS rounds of ReceiveMessage (10, WaitTimeSeconds 1) + DeleteMessageBatch, phase `roundtrip`.
# Prints instructions per SendMessage and per receive+delete round, and leaves the profiles in OUT
# for `callgrind_annotate --inclusive=yes OUT/callgrind.out.<pid>.<n>`.
#
#   bench/callgrind.sh [SENDS (2000)] [ROUNDS (200)]
#
# Bounded: the client stops after its counts or 600 s; ferry is stopped by its pid with SIGTERM.
# Background threads (log fdatasync, compaction, housekeeping) run about once a second and are
# counted too; under valgrind a phase lasts some seconds, which adds well under 1% per request.
set -euo pipefail
cd "$(dirname "$0")/.."
SENDS=${1:-2000}
ROUNDS=${2:-200}
OUT=${OUT:-$(mktemp -d /tmp/ferry-callgrind.XXXXXX)}
mkdir -p "$OUT"
cargo build --profile profiling --bin ferry --locked >&2
BIN=target/profiling/ferry
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
DATA="$OUT/data"
wait_healthy() { # pid
    for _ in $(seq 1 600); do
        curl -fs "http://127.0.0.1:$PORT/_ferry/health" >/dev/null 2>&1 && return 0
        kill -0 "$1" 2>/dev/null || { cat "$OUT/ferry.log" >&2; exit 1; }
        sleep 0.5
    done
    echo "ferry did not become healthy" >&2
    exit 1
}
"$BIN" --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$OUT/ferry.log" 2>&1 &
NATIVE=$!
wait_healthy "$NATIVE"
# The key is made in a background thread: wait until ferry is idle (at most 2 clock ticks of CPU
# in half a second), at most 60 s, rather than a fixed time a loaded machine may not keep to.
# SIGTERM then flushes the stored key.
for _ in $(seq 1 120); do
    before=$(awk '{print $14 + $15}' "/proc/$NATIVE/stat")
    sleep 0.5
    after=$(awk '{print $14 + $15}' "/proc/$NATIVE/stat")
    if [ $((after - before)) -le 2 ]; then break; fi
done
kill -TERM "$NATIVE"
wait "$NATIVE" || true
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
    "$BIN" --listen "127.0.0.1:$PORT" --data-dir "$DATA" >"$OUT/ferry.log" 2>&1 &
VG=$!
trap 'kill -TERM $VG 2>/dev/null || true' EXIT
wait_healthy "$VG"
CLIENT=(python3 bench/callgrind_client.py "$PORT")
"${CLIENT[@]}" setup cg
callgrind_control -z "$VG" >/dev/null
"${CLIENT[@]}" send cg "$SENDS"
callgrind_control -d send "$VG" >/dev/null
"${CLIENT[@]}" roundtrip cg "$ROUNDS"
callgrind_control -d roundtrip "$VG" >/dev/null
kill -TERM "$VG"
wait "$VG" || true
trap - EXIT
total() { grep -m1 '^summary:\|^totals:' "$1" | awk '{print $2}'; }
for f in "$OUT"/callgrind.out.*.*; do
    if grep -q 'Signer::generate' "$f"; then echo "warning: $f counts SNS key generation" >&2; fi
    part=$(grep -m1 '^desc: Trigger:' "$f" | sed 's/.*Trigger: //; s/^dump //; s/^Client Request: //')
    ir=$(total "$f")
    case "$part" in
        send) echo "send: $ir instructions / $SENDS = $((ir / SENDS)) per SendMessage ($f)" ;;
        roundtrip) echo "roundtrip: $ir instructions / $ROUNDS = $((ir / ROUNDS)) per receive+delete round ($f)" ;;
    esac
done
