#!/usr/bin/env bash
# Shows that the loom suite can fail: it weakens one ordering on the task state word and expects
# the model that checks it to catch the bug.
#
# `--cfg kairos_loom_weaken` turns the RUNNING -> COMPLETE transition (task/state.rs,
# COMPLETE_ORDERING) from AcqRel into Relaxed. The JoinHandle can then see COMPLETE without the
# output written before it, and `loom_tests::task::complete_vs_join_read` must fail with a
# causality violation on the task's stage. This script passes only if it does.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir="${KAIROS_LOOM_MUTATION_TARGET:-target/loom-weaken}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

RUSTFLAGS="--cfg loom --cfg kairos_loom_weaken" LOOM_MAX_PREEMPTIONS=2 \
  CARGO_TARGET_DIR="$target_dir" timeout 900 \
  cargo test -p kairos --lib --release -- --exact loom_tests::task::complete_vs_join_read \
  >"$log" 2>&1
status=$?

if [ "$status" -eq 0 ]; then
  echo "loom-mutation: FAIL: the model passed with the completion ordering weakened to Relaxed;"
  echo "it no longer checks that ordering."
  tail -20 "$log"
  exit 1
fi
if ! grep -q "Causality violation" "$log"; then
  echo "loom-mutation: FAIL: the weakened build failed, but not with loom's causality violation"
  echo "(a build error or timeout?); last lines:"
  tail -30 "$log"
  exit 1
fi
echo "loom-mutation: ok: with COMPLETE_ORDERING = Relaxed, complete_vs_join_read reports:"
grep -m1 "Causality violation" "$log"
