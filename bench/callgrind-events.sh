#!/bin/bash
# usage: callgrind-events.sh SCENARIO SECONDS CONNS [ferry bin [ferry-load options...]]
# Callgrind instructions per op (load only), e.g. `... events-put 5 4 target/release/ferry --rules 1000`.
# CG_PORT (default 45171) and CG_OUT (default /tmp/cg-SCENARIO-evperf.out) keep it apart from other runs.
HERE=$(cd "$(dirname "$0")" && pwd)
SC=$1; S=$2; C=$3; BIN=${4:-$HERE/../target/release/ferry}
# The load generator: bench/load built with `cargo build --release`, or FERRY_LOAD.
LOAD=${FERRY_LOAD:-$HERE/load/target/release/ferry-load}
D=$(mktemp -d /tmp/cg.XXXX); PORT=${CG_PORT:-45171}
$BIN --listen 127.0.0.1:$PORT --data-dir $D/data --log-level warn > $D/log0 2>&1 & P=$!
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/_ferry/health && break; sleep 0.1; done
sleep 3; kill $P; wait $P
valgrind --tool=callgrind --instr-atstart=yes --callgrind-out-file=$D/cg.out $BIN --listen 127.0.0.1:$PORT --data-dir $D/data --log-level warn > $D/log 2>&1 &
P=$!
for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:$PORT/_ferry/health && break; sleep 0.2; done
callgrind_control -z $P >/dev/null
OUT=$($LOAD -e f=http://127.0.0.1:$PORT -s $S -c $C --timeout 120 "${@:5}" $SC 2>$D/load.err | head -1)
[ -n "$OUT" ] || { echo "no result from the load generator:"; tail -5 $D/load.err; }
kill -INT $P; wait $P
OPS=$(echo "$OUT" | python3 -c 'import sys,json; l=sys.stdin.read(); d=json.loads(l[:l.rindex("}")+1]); print(d.get("ops", 0), d.get("lost"), d.get("errors"))')
[ "${OPS%% *}" != 0 ] || { echo "the load generator reported no ops: $OUT"; exit 1; }
echo "ops lost errors: $OPS"
N=$(echo $OPS | cut -d' ' -f1)
TOT=$(callgrind_annotate $D/cg.out 2>/dev/null | grep "PROGRAM TOTALS" | awk "{gsub(\",\",\"\",\$1); print \$1}")
echo "total Ir $TOT  per op $((TOT / N))"
cp $D/cg.out ${CG_OUT:-/tmp/cg-$SC-evperf.out}
rm -rf $D
