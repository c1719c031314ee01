#!/usr/bin/env bash
# The test command (README): what CI runs through .ci/run on a fresh clone.
#
#   scripts/test.sh
#
# Steps: formatting, clippy with warnings as errors, rustdoc with warnings as errors, the
# workspace tests (unit, integration, doctests), the loom models (own target dir, bounded
# preemptions and time), and the loom mutation check (scripts/loom-mutation.sh). Every step is bounded by `timeout`, so a hang fails
# the run instead of stalling CI.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  echo
  echo "==> $*"
}

start=$(date +%s)

# The toolchain components the steps need (a fresh machine may lack them).
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
timeout 1200 cargo clippy --workspace --all-targets -- -D warnings

step "cargo doc (warnings are errors: every public item documented, links resolve)"
RUSTDOCFLAGS="-D warnings" timeout 900 cargo doc --workspace --no-deps --document-private-items

step "cargo test --workspace"
timeout 1800 cargo test --workspace

step "loom models (LOOM_MAX_PREEMPTIONS=2, target/loom)"
export LOOM_MAX_PREEMPTIONS=2
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom timeout 600 \
  cargo clippy -p kairos -p kairos-alloc --lib --tests -- -D warnings
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom timeout 1200 \
  cargo test -p kairos -p kairos-alloc --lib --release loom_tests

step "loom mutation check"
bash scripts/loom-mutation.sh

echo
echo "scripts/test.sh: all steps passed in $(( $(date +%s) - start )) s"
