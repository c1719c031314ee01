#!/usr/bin/env bash
# Compares two sched-bench binaries on the `micro` rows, in alternating runs on one machine:
# per round and policy it runs OLD, NEW, then OLD again (the second OLD run shows how far two
# runs of the same binary drift apart on this machine), and reports for each policy and row the
# median and range of the same-run ratio tokio/kairos (higher: kairos faster) over the rounds.
#
#   scripts/micro-ab.sh OLD_BINARY NEW_BINARY [ROUNDS=10] [POLICIES="fifo edf priority fair"]
#
# Each run is `micro --rounds 5 --policy P --json FILE` (kairos and tokio side by side in one
# process). Prints a Markdown table; the raw JSON files stay in a temporary folder it names.
set -euo pipefail
old=$1
new=$2
rounds=${3:-10}
policies=${4:-"fifo edf priority fair"}
dir=$(mktemp -d /tmp/micro-ab.XXXXXX)
echo "micro-ab: $rounds rounds x policies ($policies) x (old, new, old); JSON in $dir" >&2
for r in $(seq 1 "$rounds"); do
  for p in $policies; do
    for which in old-a new old-b; do
      case $which in new) bin=$new ;; *) bin=$old ;; esac
      "$bin" micro --rounds 5 --policy "$p" --json "$dir/$p.$which.$r.json" >/dev/null 2>&1
    done
  done
  echo "micro-ab: round $r of $rounds done" >&2
done
python3 - "$dir" "$rounds" $policies <<'PY'
import json, statistics, sys
d, rounds, policies = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def ratios(p, which):
    out = {}
    for r in range(1, rounds + 1):
        for row in json.load(open(f"{d}/{p}.{which}.{r}.json"))["results"]:
            out.setdefault(row["benchmark"], []).append(row["ratio_tokio_over_kairos"])
    return out
def cell(v):
    return f"{statistics.median(v):.2f}x ({min(v):.2f}-{max(v):.2f})"
print("| policy | row | old run A: tokio/kairos | old run B | new | new / old A (medians) |")
print("|---|---|---|---|---|---|")
for p in policies:
    a, b, n = ratios(p, "old-a"), ratios(p, "old-b"), ratios(p, "new")
    for row in a:
        print(f"| {p} | {row} | {cell(a[row])} | {cell(b[row])} | {cell(n[row])} | "
              f"{statistics.median(n[row]) / statistics.median(a[row]):.3f} |")
PY
