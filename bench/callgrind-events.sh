#!/bin/bash
# usage: cg.sh SCENARIO SECONDS CONNS [ferry bin] — callgrind instructions per op (load only)
SC=$1; S=$2; C=$3; BIN=${4:-/work/main/target/release/ferry}
D=$(mktemp -d /tmp/cg.XXXX); PORT=${CG_PORT:-45171}
$BIN --listen 127.0.0.1:$PORT --data-dir $D/data --log-level warn > $D/log0 2>&1 & P=$!
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$PORT/_ferry/health && break; sleep 0.1; done
sleep 3; kill $P; wait $P
valgrind --tool=callgrind --instr-atstart=yes --callgrind-out-file=$D/cg.out $BIN --listen 127.0.0.1:$PORT --data-dir $D/data --log-level warn > $D/log 2>&1 &
P=$!
for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:$PORT/_ferry/health && break; sleep 0.2; done
callgrind_control -z $P >/dev/null
OUT=$(/work/main/bench/load/target/release/ferry-load -e f=http://127.0.0.1:$PORT -s $S -c $C --timeout 120 $SC 2>/dev/null | head -1)
kill -INT $P; wait $P
OPS=$(echo "$OUT" | python3 -c 'import sys,json; l=sys.stdin.read(); d=json.loads(l[:l.rindex("}")+1]); print(d["ops"], d.get("lost"), d.get("errors"))')
echo "ops lost errors: $OPS"
N=$(echo $OPS | cut -d' ' -f1)
TOT=$(callgrind_annotate $D/cg.out 2>/dev/null | grep "PROGRAM TOTALS" | awk "{gsub(\",\",\"\",\$1); print \$1}")
echo "total Ir $TOT  per op $((TOT / N))"
cp $D/cg.out ${CG_OUT:-/tmp/cg-$SC-evperf.out}
rm -rf $D
