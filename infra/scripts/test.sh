#!/usr/bin/env bash
# The project's test command. Does all set-up itself on a machine with Rust, Python 3 and pip:
#   1. a project venv (.venv, git-ignored) with the pinned moto server and cfn-lint;
#   2. moto on a free port of 127.0.0.1, for the DynamoDB and SES v2 tests through the AWS SDK;
#   3. cfn-lint on template.yaml, then every Rust test in the workspace;
#   4. moto is stopped on exit, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/../.."

MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.53.3"
VENV=".venv"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-moto-$MOTO_VERSION-cfn-lint-$CFN_LINT_VERSION"
if [ ! -f "$stamp" ]; then
  echo "== installing moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  touch "$stamp"
fi

echo "== cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml

port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
stop_moto() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"; }
trap stop_moto EXIT

for _ in $(seq 1 100); do
  if "$VENV/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto server exited during start-up:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
if ! "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.5)" 2>/dev/null; then
  echo "moto server did not listen on 127.0.0.1:$port within 10 s:" >&2
  cat "$log" >&2
  exit 1
fi
echo "== moto server on 127.0.0.1:$port"

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_REGION="eu-west-1"
export AWS_ACCESS_KEY_ID="test"
export AWS_SECRET_ACCESS_KEY="test"
export AWS_EC2_METADATA_DISABLED="true"
# The AWS test suites refuse to skip when this is set: moto is part of the test run.
export DELEGATES_REQUIRE_MOTO=1

echo "== cargo build (the function binaries the Runtime API tests run)"
cargo build --workspace --bins

echo "== cargo test"
cargo test --workspace --all-targets "$@"
