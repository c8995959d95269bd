#!/usr/bin/env bash
# The Lambda benchmark: builds the release binaries of the functions and a hello-world floor,
# runs each under a local Lambda Runtime API with DynamoDB and SES on moto, and prints a table
# (also written as JSON to target/lambda-bench.json).
#   ./infra/scripts/bench.sh [COLD_STARTS] [WARM_INVOCATIONS]     (defaults 50 and 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/lib.sh

ensure_venv
start_moto
cargo run --quiet -p delegates-bench --release --bin lambda-bench -- "$@"
