#!/usr/bin/env bash
# Layer check of executor/src against scripts/layers.txt (design.md "Layers": a lower layer
# never reaches a higher one). Needs only bash and python3 (standard library).
#
#   scripts/check-layers.sh              check the tree: one line per violation, exit 1
#   scripts/check-layers.sh --self-test  check the check: a fixture with comments, strings,
#                                        grouped/multi-line uses, super::super, aliases and test
#                                        modules must pass clean and name every planted violation;
#                                        then a copy of executor/src gets three violations planted
#                                        (an inline crate::runtime:: call in a policy/ file, a
#                                        super::super:: reaching up, a grouped use crate::{...}
#                                        reaching up), each of which must be named
#
# Rules (what counts as a reference, how the table resolves, what is exempt) are in the
# header of scripts/check_layers.py. Exempt: loom_tests/, files named tests.rs and inline
# #[cfg(test)] modules, since tests legitimately build a runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 scripts/check_layers.py "$@"
