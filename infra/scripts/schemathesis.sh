#!/usr/bin/env bash
# Contract test of the HTTP API against infra/openapi.yaml with Schemathesis:
#   1. the project venv (.venv, git-ignored) with the pinned Schemathesis;
#   2. target/debug/delegates-local (built if missing) on a free port of 127.0.0.1, with a
#      temporary data folder and INVITATIONS_PER_DAY=10000 (the largest value the configuration
#      accepts) so that adds are not cut off at 50;
#   3. Schemathesis with the admin token the server prints, every phase (examples, coverage,
#      fuzzing, stateful), enough examples for well over 1,000 requests (checked from the HAR
#      report), and the checks below; the server is stopped on exit, whatever happened.
# Exits non-zero if Schemathesis found a failure. Reports (HAR, JUnit) go to target/schemathesis/.
# Options: ST_MAX_EXAMPLES (default 400), ST_SEED (default random); extra arguments are passed to
# `st run`, e.g. `./infra/scripts/schemathesis.sh --mode negative`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

SCHEMATHESIS_VERSION="4.32.5"
VENV=".venv"
BIN="${CARGO_TARGET_DIR:-$root/target}/debug/delegates-local"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-400}"
MIN_REQUESTS=1000
REPORT_DIR="$root/target/schemathesis"
# Every check except positive_data_acceptance: the cursor, the invitation token and the notice
# version are values only the server can issue, so schema-valid random ones are rightly refused.
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance,ignored_auth,use_after_free,ensure_resource_availability"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-schemathesis-$SCHEMATHESIS_VERSION"
if [ ! -f "$stamp" ]; then
  echo "== installing schemathesis==$SCHEMATHESIS_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  touch "$stamp"
fi

if [ ! -x "$BIN" ]; then
  echo "== cargo build -p delegates-local"
  cargo build -p delegates-local
fi

work=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
INVITATIONS_PER_DAY=10000 RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" --addr "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!

token=""
for _ in $(seq 1 100); do
  token=$(sed -n 's/^ *export TOKEN=//p' "$work/server.out")
  [ -n "$token" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "delegates-local exited during start-up:" >&2
    cat "$work/server.out" "$work/server.log" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$token" ]; then
  echo "delegates-local printed no token within 10 s:" >&2
  cat "$work/server.out" "$work/server.log" >&2
  exit 1
fi
echo "== delegates-local on 127.0.0.1:$port (data in $work/data)"

# 413 is how this API rejects an oversized body (the hooks send some); it is not in
# Schemathesis' default list of rejection statuses.
cat >"$work/schemathesis.toml" <<'EOF'
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
EOF

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
seed_args=()
if [ -n "${ST_SEED:-}" ]; then
  seed_args=(--seed "$ST_SEED")
fi

echo "== schemathesis $SCHEMATHESIS_VERSION, --max-examples $MAX_EXAMPLES"
status=0
# Run from the temporary folder so that Hypothesis' example database and Schemathesis' cache do
# not land in the repository.
(
  cd "$work"
  SCHEMATHESIS_HOOKS="$root/infra/scripts/schemathesis_hooks.py" \
  ST_OUTBOX="$work/data/outbox" \
  ST_NOTICE_VERSION="${NOTICE_VERSION:-2026-01}" \
    "$root/$VENV/bin/st" --config-file "$work/schemathesis.toml" run "$root/infra/openapi.yaml" \
      --url "http://127.0.0.1:$port" \
      -H "Authorization: Bearer $token" \
      --checks "$CHECKS" \
      --max-examples "$MAX_EXAMPLES" \
      "${seed_args[@]}" \
      --no-color \
      --report har,junit \
      --report-har-path "$REPORT_DIR/requests.har" \
      --report-junit-path "$REPORT_DIR/junit.xml" \
      "$@"
) || status=$?

requests=$("$VENV/bin/python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["log"]["entries"]))' \
  "$REPORT_DIR/requests.har" 2>/dev/null || echo 0)
echo "== $requests requests sent (report: $REPORT_DIR)"
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures (exit status $status)" >&2
  exit "$status"
fi
if [ "$requests" -lt "$MIN_REQUESTS" ]; then
  echo "only $requests requests were sent, fewer than $MIN_REQUESTS: raise ST_MAX_EXAMPLES" >&2
  exit 1
fi
