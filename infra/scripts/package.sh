#!/usr/bin/env bash
# The project's packaging command. Builds every Lambda function crate in functions/ as a
# deployment zip for arm64 (aarch64-unknown-linux-gnu, provided.al2023), the way `sam build`
# does with BuildMethod rust-cargolambda, and prints the sizes. Does all set-up itself on a
# machine with Rust (rustup), Python 3 and pip:
#   1. a project venv (.venv-package, git-ignored) with the pinned cargo-lambda and zig (the
#      ziglang wheel), which cargo-lambda uses as the cross linker;
#   2. the Rust target aarch64-unknown-linux-gnu (rustup);
#   3. `cargo lambda build --release --arm64 --output-format zip` with one --bin per function;
#      the zips land in $CARGO_TARGET_DIR/lambda/<binary>/bootstrap.zip (target/ by default).
# Extra arguments are passed to `cargo lambda build`.
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.14.1"
TARGET="aarch64-unknown-linux-gnu"
VENV=".venv-package"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  python3 -m venv "$VENV"
fi
stamp="$VENV/.installed-cargo-lambda-$CARGO_LAMBDA_VERSION-ziglang-$ZIGLANG_VERSION"
if [ ! -f "$stamp" ]; then
  echo "== installing cargo-lambda==$CARGO_LAMBDA_VERSION and ziglang==$ZIGLANG_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
  touch "$stamp"
fi

# cargo-lambda (through cargo-zigbuild) looks for `zig` on PATH and otherwise runs
# `python3 -m ziglang`; the ziglang wheel installs no `zig` executable, so the venv's python3
# must come first on PATH. CARGO_ZIGBUILD_PYTHON_PATH names it explicitly as well.
venv_bin="$(cd "$VENV/bin" && pwd)"
export PATH="$venv_bin:$PATH"
export CARGO_ZIGBUILD_PYTHON_PATH="$venv_bin/python3"

echo "== rustup target add $TARGET"
rustup target add "$TARGET"

# Every function crate under functions/ and its binaries, from cargo's own view of the workspace.
metadata=$(cargo metadata --no-deps --format-version 1)
bins=()
while IFS= read -r bin; do
  bins+=("$bin")
done < <(printf '%s' "$metadata" | "$VENV/bin/python" -c '
import json, os, sys
root = os.path.realpath("functions")
for pkg in sorted(json.load(sys.stdin)["packages"], key=lambda p: p["name"]):
    if os.path.dirname(os.path.dirname(os.path.realpath(pkg["manifest_path"]))) != root:
        continue
    for target in pkg["targets"]:
        if "bin" in target["kind"]:
            print(target["name"])
')
if [ "${#bins[@]}" -eq 0 ]; then
  echo "no function binaries found under functions/" >&2
  exit 1
fi
echo "== functions: ${bins[*]}"

bin_args=()
for bin in "${bins[@]}"; do
  bin_args+=(--bin "$bin")
done

echo "== cargo lambda build --release --arm64 --output-format zip"
cargo lambda build --release --arm64 --output-format zip "${bin_args[@]}" "$@"

target_dir="${CARGO_TARGET_DIR:-target}"
echo
echo "== deployment packages ($target_dir/lambda/<binary>/bootstrap.zip, $TARGET; 1 MB = 10^6 bytes)"
"$VENV/bin/python" - "$target_dir/lambda" "${bins[@]}" <<'EOF'
import os, sys, zipfile

lambda_dir, bins = sys.argv[1], sys.argv[2:]
rows, missing = [], []
for name in bins:
    path = os.path.join(lambda_dir, name, "bootstrap.zip")
    if not os.path.isfile(path):
        missing.append(path)
        continue
    with zipfile.ZipFile(path) as z:
        bootstrap = z.getinfo("bootstrap").file_size
    rows.append((name, os.path.getsize(path), bootstrap))

header = ("function", "zip bytes", "zip MB", "bootstrap bytes", "bootstrap MB")
lines = [header] + [
    (n, str(z), f"{z / 1e6:.2f}", str(b), f"{b / 1e6:.2f}") for n, z, b in rows
]
widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
for i, line in enumerate(lines):
    print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(line, widths))))
    if i == 0:
        print("  ".join("-" * w for w in widths))
for path in missing:
    print(f"missing: {path}", file=sys.stderr)
sys.exit(1 if missing else 0)
EOF
