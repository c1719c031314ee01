#!/usr/bin/env bash
# Shows that the loom suites can fail: each mutation weakens one synchronisation rule on purpose
# (`--cfg kairos_loom_weaken`) and requires the model that guards it to catch the bug.
#
# 1. kairos: the task state word's RUNNING -> COMPLETE transition (task/state.rs,
#    COMPLETE_ORDERING) becomes Relaxed instead of AcqRel. The JoinHandle can then see COMPLETE
#    without the output written before it: `loom_tests::task::complete_vs_join_read` must fail
#    with loom's "Causality violation" on the task's stage.
# 2. kairos-alloc: the ABA tag of the chunk pool's index stack (index_stack.rs, TAG_STEP) stops
#    moving. `loom_tests::chunk_pool_aba` must then see a chunk on the pool twice.
# 3. kairos: the worker's `SeqCst` fence between publishing its running urgency and rechecking
#    the queues (worker/preempt.rs, after_publish) is dropped. `loom_tests::preempt::pick_vs_push`
#    must then find a pick that misses an urgent push with no preemption request.
# 4. kairos: a oneshot send that finds the receiver waiting lets go of the shared block at its
#    publication instead of after its wake-up (sync/oneshot.rs, HELD_TO_WAKE).
#    `loom_tests::oneshot::send_to_waiting_receiver_vs_its_drop` must then see the receiver's
#    drop free the block while the sender still takes the waker out of it.
# 5. kairos: the spin lock's release store (spin_lock.rs, RELEASE) becomes Relaxed.
#    `loom_tests::spin_lock::sections_exclude_each_other` must then see the second section reach
#    the counter without the first section's write ordered before it.
#
# The script passes only if every model fails, each with its expected message.
set -uo pipefail
cd "$(dirname "$0")/.."

target_dir="${KAIROS_LOOM_MUTATION_TARGET:-target/loom-weaken}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=0

# mutation CRATE TEST EXPECTED-MESSAGE
mutation() {
  local crate=$1 test=$2 expected=$3
  echo "loom-mutation: $crate $test with its rule weakened (the first one builds the crates, ~1 min)..."
  RUSTFLAGS="--cfg loom --cfg kairos_loom_weaken" LOOM_MAX_PREEMPTIONS=2 \
    CARGO_TARGET_DIR="$target_dir" timeout 900 \
    cargo test -p "$crate" --lib --release -- --exact "$test" >"$log" 2>&1
  local status=$?
  if [ "$status" -eq 0 ]; then
    echo "loom-mutation: FAIL: $crate $test passed with its rule weakened: it no longer checks it."
    tail -20 "$log"
    failed=1
  elif ! grep -q "$expected" "$log"; then
    echo "loom-mutation: FAIL: $crate $test failed, but not with \"$expected\" (build error or"
    echo "timeout?); last lines:"
    tail -30 "$log"
    failed=1
  else
    echo "loom-mutation: ok: $crate $test catches the weakened rule: $(grep -m1 "$expected" "$log" | head -c 200)"
  fi
}

mutation kairos loom_tests::task::complete_vs_join_read "Causality violation"
mutation kairos-alloc loom_tests::chunk_pool_aba "chunk on the pool twice"
mutation kairos loom_tests::preempt::pick_vs_push "lost preemption"
mutation kairos loom_tests::oneshot::send_to_waiting_receiver_vs_its_drop "Causality violation"
mutation kairos loom_tests::spin_lock::sections_exclude_each_other "Causality violation"
exit "$failed"
