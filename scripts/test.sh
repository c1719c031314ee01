#!/usr/bin/env bash
# The test command (README): what CI runs through .ci/run on a fresh clone.
#
#   scripts/test.sh
#
# Steps: formatting, clippy with warnings as errors, rustdoc with warnings as errors, the
# layer check of executor/src (scripts/check-layers.sh) and the docs path check
# (scripts/check-doc-paths.sh), each after its self-test, the workspace tests (unit,
# integration, doctests), the `tokio-io` and `tracing` features' tests, a seed sweep of the
# simulator scenario and the cross-process determinism check (docs/determinism.md), the loom
# models (own target dir, bounded preemptions and time), and the loom mutation check
# (scripts/loom-mutation.sh). Every step is bounded by `timeout`, so a hang fails the run
# instead of stalling CI.
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

step "layer check self-test (scripts/check-layers.sh --self-test)"
timeout 120 bash scripts/check-layers.sh --self-test

step "layer check: executor/src against scripts/layers.txt (design.md \"Layers\")"
timeout 120 bash scripts/check-layers.sh

step "docs path check self-test (scripts/check-doc-paths.sh --self-test)"
timeout 120 bash scripts/check-doc-paths.sh --self-test

step "docs path check: cited source paths exist"
timeout 120 bash scripts/check-doc-paths.sh

step "cargo test --workspace"
timeout 1800 cargo test --workspace

step "sched-bench soak --duration 60s (waves of random tasks on every policy, each checked exactly)"
cargo build -q -p sched-bench
timeout 300 target/debug/sched-bench soak --duration 60s --seed "${KAIROS_SOAK_SEED:-1}"

step "cargo test -p kairos --features tokio-io --test tokio_io (kairos::net under tokio's io traits)"
timeout 600 cargo test -p kairos --features tokio-io --test tokio_io

step "cargo test -p kairos --features tracing --lib tracing_tests (a span per poll, an event per miss)"
timeout 600 cargo test -p kairos --features tracing --lib tracing_tests

step "simulation: seed sweep (KAIROS_SEEDS=100 through tests/tests/sim.rs::seed_sweep)"
KAIROS_SEEDS=100 timeout 900 cargo test -p kairos-tests --test sim -- --exact seed_sweep

step "simulation: cross-process determinism (examples/sim_replay, two processes per seed)"
cargo build -q -p kairos --example sim_replay
replay=target/debug/examples/sim_replay
digests=()
for seed in 7 8; do
  a=$(timeout 300 "$replay" --seed "$seed")
  b=$(timeout 300 "$replay" --seed "$seed")
  echo "process 1: $a"
  echo "process 2: $b"
  if [ "$a" != "$b" ]; then
    echo "FAIL: seed $seed gave different runs in two processes" >&2
    exit 1
  fi
  digests+=("$(echo "$a" | sed -E 's/.*digest ([0-9a-f]+).*/\1/')")
done
if [ "${digests[0]}" = "${digests[1]}" ]; then
  echo "FAIL: seeds 7 and 8 gave the same digest ${digests[0]}" >&2
  exit 1
fi

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
