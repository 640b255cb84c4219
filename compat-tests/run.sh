#!/usr/bin/env bash
# The test command of ferry: unit and in-process tests, then the release binary against real clients.
#
#   ./compat-tests/run.sh            (from any directory)
#
# Needs Rust, Python 3.11 and Node 20. Python clients live in git-ignored venvs under compat-tests/
# (rebuilt only when their requirements file changes). Every suite runs even if an earlier one
# failed; the last line is "N passed, N failed" counting suites, and the exit code is non-zero if
# any suite failed.
#
# Environment knobs (for quick local iterations; CI sets none of them):
#   FERRY_SKIP_CARGO_TEST=1   skip `cargo test`
#   FERRY_BIN=/path/to/ferry  test that binary instead of building target/release/ferry
#   FERRY_SUITES="json query cli node rust durability"   run only the named client suites
#   FERRY_SUITE_TIMEOUT=900   seconds allowed per client suite (FERRY_CARGO_TIMEOUT=2400 for cargo ones)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CT="$ROOT/compat-tests"
WORK="$CT/.work"
mkdir -p "$WORK"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
SUITE_TIMEOUT="${FERRY_SUITE_TIMEOUT:-900}"
CARGO_TIMEOUT="${FERRY_CARGO_TIMEOUT:-2400}" # cold builds on 2 cores are slow; this only guards hangs
WANT="${FERRY_SUITES:-json query cli node rust durability}"

# No machine-wide AWS configuration may leak into the clients.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL \
  AWS_ENDPOINT_URL_SQS AWS_ENDPOINT_URL_STS AWS_REGION AWS_CA_BUNDLE AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI || true
export AWS_CONFIG_FILE="$WORK/aws-config"
export AWS_SHARED_CREDENTIALS_FILE="$WORK/aws-credentials"
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

NAMES=()
RESULTS=()
record() { # record NAME STATUS(0=pass)
  NAMES+=("$1")
  if [ "$2" -eq 0 ]; then RESULTS+=(pass); else RESULTS+=(FAIL); fi
}
banner() { printf '\n===== %s =====\n' "$*"; }
wanted() { case " $WANT " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
run_suite() { # run_suite NAME CMD... : bounded in time; never aborts the script
  local name=$1 rc=0 start=$SECONDS limit=$SUITE_TIMEOUT
  shift
  [ "$1" = cargo ] && limit=$CARGO_TIMEOUT
  banner "$name"
  timeout --kill-after=15 "$limit" "$@" || rc=$?
  if [ "$rc" -eq 124 ]; then echo "suite $name timed out after ${limit}s"; fi
  echo "--- $name: exit $rc in $((SECONDS - start))s"
  record "$name" "$rc"
  return 0
}

# ---------------------------------------------------------------------------- server lifecycle
FERRY_PID=""
DATA_DIR=""
cleanup() {
  if [ -n "$FERRY_PID" ] && kill -0 "$FERRY_PID" 2>/dev/null; then
    kill -TERM "$FERRY_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$FERRY_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$FERRY_PID" 2>/dev/null || true
    wait "$FERRY_PID" 2>/dev/null || true
  fi
  FERRY_PID=""
  if [ -n "$DATA_DIR" ]; then rm -rf "$DATA_DIR"; DATA_DIR=""; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_ferry() {
  PORT=$(free_port)
  DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ferry-compat.XXXXXX")
  "$FERRY_BIN" --listen "127.0.0.1:$PORT" --data-dir "$DATA_DIR" >"$WORK/ferry.log" 2>&1 &
  FERRY_PID=$!
  export FERRY_ENDPOINT="http://127.0.0.1:$PORT"
  if "$PYTHON" - "$FERRY_ENDPOINT" "$FERRY_PID" <<'PY'; then
import os, sys, time, urllib.request
url, pid = sys.argv[1] + "/_ferry/health", int(sys.argv[2])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("ferry exited during startup")
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("ferry not healthy within 10 s")
PY
    echo "ferry $FERRY_PID serving $FERRY_ENDPOINT (data dir $DATA_DIR, log $WORK/ferry.log)"
    return 0
  fi
  echo "ferry did not start; log:"
  tail -n 50 "$WORK/ferry.log" || true
  return 1
}

ferry_alive_or_restart() { # after each suite: a crashed server is reported, then replaced
  [ -n "$FERRY_PID" ] || return 0
  kill -0 "$FERRY_PID" 2>/dev/null && return 0
  echo "ferry (pid $FERRY_PID) is no longer running; last log lines:"
  tail -n 50 "$WORK/ferry.log" || true
  cp "$WORK/ferry.log" "$WORK/ferry-crashed-$(date +%s).log" 2>/dev/null || true
  wait "$FERRY_PID" 2>/dev/null || true
  FERRY_PID=""
  cleanup
  banner "restart ferry for the remaining suites"
  start_ferry || SERVER_OK=0
}

# ---------------------------------------------------------------------------- python venvs
ensure_venv() { # ensure_venv DIR REQUIREMENTS
  local dir=$1 req=$2 want have=""
  want="$(sha256sum "$req" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  [ -f "$dir/.requirements-hash" ] && have=$(cat "$dir/.requirements-hash")
  if [ "$want" = "$have" ] && [ -x "$dir/bin/python" ]; then
    echo "reusing $dir"
    return 0
  fi
  echo "creating $dir from $req"
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir" &&
    "$dir/bin/python" -m pip install --quiet --no-input -r "$req" &&
    echo "$want" >"$dir/.requirements-hash"
}

# ============================================================================ 1. cargo tests
if [ "${FERRY_SKIP_CARGO_TEST:-0}" != 1 ]; then
  run_suite "cargo test" cargo test
fi

BUILD_OK=0
if [ -n "${FERRY_BIN:-}" ]; then
  banner "using prebuilt FERRY_BIN=$FERRY_BIN (no release build)"
  FERRY_BIN=$(cd "$(dirname "$FERRY_BIN")" && pwd)/$(basename "$FERRY_BIN")
  [ -x "$FERRY_BIN" ] && BUILD_OK=1
else
  banner "cargo build --release"
  if cargo build --release; then BUILD_OK=1; fi
  record "cargo build --release" $((1 - BUILD_OK))
  FERRY_BIN="$ROOT/target/release/ferry"
fi
export FERRY_BIN

# ============================================================================ 2. clients
VENV="$CT/.venv"
VENV_LEGACY="$CT/.venv-legacy"
VENV_OK=0
LEGACY_OK=0
if wanted json || wanted cli || wanted durability; then
  banner "python venv (current boto3)"
  if ensure_venv "$VENV" "$CT/python/requirements.txt"; then VENV_OK=1; fi
fi
if wanted query; then
  banner "python venv (legacy boto3, awsQuery)"
  if ensure_venv "$VENV_LEGACY" "$CT/python/requirements-legacy.txt"; then LEGACY_OK=1; fi
fi

SERVER_OK=0
if [ "$BUILD_OK" = 1 ]; then
  banner "start ferry"
  if start_ferry; then SERVER_OK=1; fi
fi

# A suite that cannot run (no binary, no server, no venv) counts as failed.
client_suite() { # client_suite NAME PRECONDITION CMD...
  local name=$1 ok=$2
  shift 2
  if [ "$ok" != 1 ]; then
    banner "$name"
    echo "not run: build, server or environment setup failed"
    record "$name" 1
    return 0
  fi
  local before=${#RESULTS[@]}
  run_suite "$name" "$@"
  if [ "${RESULTS[$before]}" != pass ] && [ -n "$FERRY_PID" ] && grep -qiE 'error|panic' "$WORK/ferry.log"; then
    echo "--- server errors logged during the run (last 20):"
    grep -iE 'error|panic' "$WORK/ferry.log" | tail -n 20 || true
  fi
  ferry_alive_or_restart
}

PYTEST_ARGS=(-p no:cacheprovider -q --ignore="$CT/python/durability" -c "$CT/python/pytest.ini" --rootdir "$CT/python" "$CT/python")

if wanted json; then
  client_suite "python boto3 (awsJson)" $((SERVER_OK & VENV_OK)) \
    env FERRY_EXPECT_PROTOCOL=json "$VENV/bin/python" -m pytest "${PYTEST_ARGS[@]}"
fi
if wanted query; then
  client_suite "python legacy boto3 (awsQuery)" $((SERVER_OK & LEGACY_OK)) \
    env FERRY_EXPECT_PROTOCOL=query "$VENV_LEGACY/bin/python" -m pytest "${PYTEST_ARGS[@]}"
fi
if wanted cli; then
  client_suite "aws cli" $((SERVER_OK & VENV_OK)) \
    env PATH="$VENV/bin:$PATH" PYTHON="$VENV/bin/python" bash "$CT/python/cli_test.sh"
fi

if wanted node && [ -f "$CT/node/package.json" ]; then
  # npm ci only when package.json / package-lock.json changed since the last install.
  client_suite "node (AWS SDK for JavaScript v3)" "$SERVER_OK" bash -c '
    set -euo pipefail
    cd "$1"
    want=$(cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d" " -f1)
    have=$(cat node_modules/.ferry-lock-hash 2>/dev/null || true)
    if [ "$want" != "$have" ]; then
      npm ci --no-audit --no-fund
      echo "$want" >node_modules/.ferry-lock-hash
    fi
    npm test' node-suite "$CT/node"
fi

if wanted rust && [ -f "$CT/rust/Cargo.toml" ]; then
  client_suite "rust (AWS SDK for Rust)" "$SERVER_OK" \
    cargo test --release --manifest-path "$CT/rust/Cargo.toml"
fi

# The shared server is no longer needed; the durability tests start their own.
cleanup

if wanted durability; then
  client_suite "durability (restart, kill -9)" $((BUILD_OK & VENV_OK)) \
    "$VENV/bin/python" -m pytest -p no:cacheprovider -q -c "$CT/python/pytest.ini" --rootdir "$CT/python" \
    "$CT/python/durability"
fi

# ============================================================================ summary
banner "summary"
passed=0
failed=0
for i in "${!NAMES[@]}"; do
  printf '  %-4s  %s\n' "${RESULTS[$i]}" "${NAMES[$i]}"
  if [ "${RESULTS[$i]}" = pass ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
