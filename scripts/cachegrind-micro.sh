#!/usr/bin/env bash
# Instruction counts (cachegrind "I refs") of the four `sched-bench micro` rows under each
# kairos policy, kairos alone (`--peer none`), for comparing a build before and after a change.
#
#   scripts/cachegrind-micro.sh BINARY [OUT.tsv]          measure one sched-bench binary
#   scripts/cachegrind-micro.sh --compare BEFORE.tsv AFTER.tsv
#
# Measure: runs `valgrind --tool=cachegrind --cache-sim=no BINARY micro --peer none --policy P
# --only ROW --rounds 1 --workers 1` for P in fifo edf priority fair and ROW in spawn_many
# yield_many ping_pong chained_spawn, REPS times each (env REPS, default 3), and prints a TSV
# (also written to OUT.tsv if given): `#` lines (configuration, repetitions), a header, then one
# line per row: policy, row, median Ir, min Ir, max Ir (median: the middle value, the lower
# middle for an even REPS). The count covers the whole process: start-up, building and shutting
# down the runtime, one warm-up run and one measured run of the row. The part that is not the
# row's runs (2.1 to 2.8 million Ir) is about a tenth of chained_spawn's count and under 1% of
# the others', so a change to the per-task paths shows slightly diluted in chained_spawn.
#
# Why one worker: with --workers 2 an idle worker searches (spins) while the other works, and
# how long it spins depends on how valgrind interleaves the threads, so the counts of one
# configuration vary from run to run; with one worker they repeat to within a few hundredths of
# a percent (figures in docs/benchmarks.md). WORKERS overrides it, for such checks only: a
# comparison needs the same configuration on both sides (the `# config:` lines must match).
#
# Compare: reads two TSVs made by the measure mode and prints per row the median before and
# after, after/before, and "ABOVE" for a row more than THRESHOLD_PCT percent above (env,
# default 3). Exits 1 if a row is above, 2 on a usage error or files that do not match (other
# configuration, missing rows). The repetitions may differ.
set -euo pipefail

POLICIES=(fifo edf priority fair)
ROWS=(spawn_many yield_many ping_pong chained_spawn)
# The fixed work per row; the same for every binary compared.
FLAGS=(--peer none --rounds 1)

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

compare() {
  local before=$1 after=$2 threshold=${THRESHOLD_PCT:-3}
  [ -r "$before" ] && [ -r "$after" ] || { echo "cannot read $before or $after" >&2; exit 2; }
  if [ "$(grep '^# config:' "$before")" != "$(grep '^# config:' "$after")" ]; then
    echo "the two files were measured with different configurations:" >&2
    grep '^# config:' "$before" "$after" >&2
    exit 2
  fi
  awk -F'\t' -v threshold="$threshold" '
    /^#/ || $1 == "policy" { next }
    FNR == NR { before[$1 "\t" $2] = $3; order[++n] = $1 "\t" $2; next }
    { after[$1 "\t" $2] = $3 }
    END {
      printf "policy\trow\tbefore_ir\tafter_ir\tratio\tflag\n"
      bad = 0; above = 0
      for (i = 1; i <= n; i++) {
        k = order[i]
        if (!(k in after) || before[k] <= 0) { printf "%s\tmissing in the after file\n", k; bad = 1; continue }
        r = after[k] / before[k]
        flag = (r > 1 + threshold / 100) ? "ABOVE" : ""
        if (flag != "") above++
        printf "%s\t%d\t%d\t%.4f\t%s\n", k, before[k], after[k], r, flag
      }
      for (k in after) if (!(k in before)) { printf "%s\tmissing in the before file\n", k; bad = 1 }
      if (bad) exit 2
      printf "%d of %d rows more than %s%% above\n", above, n, threshold > "/dev/stderr"
      exit above > 0 ? 1 : 0
    }' "$before" "$after"
}

measure() {
  local bin=$1 out=${2:-} reps=${REPS:-3} workers=${WORKERS:-1}
  [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 2; }
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  [[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "REPS must be a positive integer" >&2; exit 2; }
  local log tsv
  log=$(mktemp)
  tsv=$(mktemp)
  # shellcheck disable=SC2064 # expanded now: the variables are local to this function
  trap "rm -f '$log' '$tsv'" EXIT
  {
    echo "# config: micro ${FLAGS[*]} --workers $workers under $(valgrind --version) cachegrind --cache-sim=no"
    echo "# repetitions: $reps"
    printf 'policy\trow\tmedian_ir\tmin_ir\tmax_ir\n'
  } >"$tsv"
  local policy row i ir
  for policy in "${POLICIES[@]}"; do
    for row in "${ROWS[@]}"; do
      local counts=()
      for ((i = 0; i < reps; i++)); do
        if ! valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
          --log-file="$log" "$bin" micro "${FLAGS[@]}" --workers "$workers" \
          --policy "$policy" --only "$row" >/dev/null 2>&1; then
          echo "$policy $row: the run failed; valgrind's log:" >&2
          cat "$log" >&2
          exit 1
        fi
        ir=$(sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$log" | tr -d ,)
        [ -n "$ir" ] || { echo "$policy $row: no I refs in valgrind's log" >&2; cat "$log" >&2; exit 1; }
        counts+=("$ir")
      done
      mapfile -t sorted < <(printf '%s\n' "${counts[@]}" | sort -n)
      printf '%s\t%s\t%s\t%s\t%s\n' "$policy" "$row" "${sorted[$(((reps - 1) / 2))]}" \
        "${sorted[0]}" "${sorted[$((reps - 1))]}" >>"$tsv"
      echo "$policy $row: ${counts[*]}" >&2
    done
  done
  if [ -n "$out" ]; then
    cp "$tsv" "$out"
  fi
  cat "$tsv"
}

case "${1:-}" in
  --compare)
    [ $# -eq 3 ] || usage
    compare "$2" "$3"
    ;;
  "" | -h | --help) usage ;;
  *)
    [ $# -le 2 ] || usage
    measure "$@"
    ;;
esac
