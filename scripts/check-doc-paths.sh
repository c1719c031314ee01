#!/usr/bin/env bash
# Docs path check: every source path cited in docs/*.md, README.md and the module docs (//!)
# of executor/src, allocator/src, sched-bench/src and tests/ must exist. Needs only bash and
# python3 (standard library).
#
#   scripts/check-doc-paths.sh              check: one `file:line: path` per missing path, exit 1
#   scripts/check-doc-paths.sh --self-test  check the check: a fixture (URLs, absolute paths,
#                                           prose like p50/p99/, globs, allowed prefixes) must pass
#                                           clean and name every planted stale path; then a copy
#                                           of the docs and sources gets stale paths planted in
#                                           README.md, a docs/*.md page and a module doc, each of
#                                           which must be named
#
# The rule (what counts as a path, the directories it is resolved against) is in the header
# of scripts/check_doc_paths.py; external citations are allowed in scripts/doc-paths-allow.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/check_doc_paths.py "$@"
