# Shared by the project's scripts: the project venv with pinned Python tools, and a moto server
# on a free port of 127.0.0.1 that is stopped when the calling script exits. Source it from the
# repository root.

MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.53.3"
VENV=".venv"

# Creates .venv (git-ignored) if needed and installs the pinned moto server and cfn-lint.
ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      # A Debian python3 without python3-venv: make the venv with virtualenv from pip instead.
      rm -rf "$VENV"
      python3 -m pip install --quiet --user virtualenv 2>/dev/null \
        || python3 -m pip install --quiet --user --break-system-packages virtualenv
      python3 -m virtualenv --quiet "$VENV"
    fi
  fi
  local stamp="$VENV/.installed-moto-$MOTO_VERSION-cfn-lint-$CFN_LINT_VERSION"
  if [ ! -f "$stamp" ]; then
    echo "== installing moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
    touch "$stamp"
  fi
}

# Starts moto on a free port of 127.0.0.1, waits until it listens (failing loudly if it cannot
# start), stops it on exit, and exports the standard AWS variables pointing the SDK at it.
start_moto() {
  local port log
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log=$(mktemp)
  # moto's application behind one lock: conditional writes are atomic, as on DynamoDB.
  MOTO_PORT="$port" "$VENV/bin/python" infra/scripts/moto_server.py 127.0.0.1 "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  MOTO_LOG=$log
  trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; rm -f "$MOTO_LOG"' EXIT
  local ready=""
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      ready=1
      break
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto server exited during start-up:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then
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
}
