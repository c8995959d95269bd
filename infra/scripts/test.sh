#!/usr/bin/env bash
# The project's test command. Does all set-up itself on a machine with Rust, Python 3 and pip:
#   1. a project venv (.venv, git-ignored) with the pinned moto server and cfn-lint;
#   2. cfn-lint on template.yaml;
#   3. moto on a free port of 127.0.0.1, for the DynamoDB and SES v2 tests through the AWS SDK;
#   4. the function binaries (the Runtime API tests run them), then every Rust test;
#   5. schemathesis (>= 1,000 generated requests) against the local server and infra/openapi.yaml;
#   6. moto is stopped on exit, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/lib.sh

ensure_venv

echo "== cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml

start_moto
# The AWS suites fail instead of skipping when moto is missing: it is part of this run.
export DELEGATES_REQUIRE_MOTO=1

echo "== cargo build (the binaries the Runtime API and log tests run)"
cargo build --workspace --bins

echo "== cargo test"
results=$(mktemp)
cargo test --workspace --all-targets "$@" 2>&1 | tee "$results"

echo "== schemathesis against the local server (infra/openapi.yaml)"
ST_SEED="${ST_SEED:-20261203}" ./infra/scripts/schemathesis.sh

# One closing line for the whole run (the Rust suites; Schemathesis fails the script itself).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$results"
rm -f "$results"
