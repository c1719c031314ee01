#!/usr/bin/env python3
"""Docs path check: every source path the docs cite must exist.

    python3 scripts/check_doc_paths.py [--root DIR] [--self-test]   (usually via check-doc-paths.sh)

Where citations are read: `docs/*.md`, `README.md`, and the module docs (`//!` lines) of the
.rs files under executor/src, allocator/src, sched-bench/src and tests/.

What is a cited path: a maximal run of `A-Z a-z 0-9 _ . - /` that contains a `/` and either
  - ends in `.rs`, `.sh`, `.md` or `.py` (a file), or
  - ends in `/` (a directory) and its first segment exists in one of its bases (below); so
    prose such as `p50/p99/` or `lock/wait/` is not taken for a path, while a stale
    `policy/admission/` is.
Trailing dots of a sentence are dropped. Not paths: URLs (`scheme://...` and `<...>` links
are removed first), absolute paths (`/proc/...`, `/work/...`), `~/...`, and runs glued to a
glob or pattern character (`*`, `{`, `}`, `<`, `>`, `$`), e.g. `src/*.rs`.

Bases a path is resolved against (it must exist under at least one):
  - every citation: the repository root, executor/src/, and the citing file's directory;
  - module docs: also the citing crate's root and src/ (the crate whose directory holds the
    file: executor, allocator, sched-bench, tests);
  - docs/*.md and README.md: also every crate's root and src/ (docs/sched-bench.md cites
    `rt_compare/run.rs` for sched-bench/src/rt_compare/run.rs).

Allowed without existing: the prefixes listed in scripts/doc-paths-allow.txt (one a line,
`#` comments; a cited path equal to an entry or starting with an entry that ends in `/`).

Output: `file:line: path` per missing path and exit 1; else one summary line and exit 0.
"""

import argparse
import glob
import os
import re
import sys

CRATES = ["executor", "allocator", "sched-bench", "tests"]
FILE_EXT = (".rs", ".sh", ".md", ".py")
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s)>\]`'\"]*|<[^<>\s]*[./][^<>\s]*>")
RUN = re.compile(r"[A-Za-z0-9_./-]+")
GLUE = set("*{}<>$")


def load_allow(path):
    allow = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.split("#", 1)[0].strip()
                if line:
                    allow.append(line)
    return allow


def sources(root):
    """(relative file, kind) pairs: kind 'doc' for markdown, else the crate name."""
    out = [("README.md", "doc")] if os.path.exists(os.path.join(root, "README.md")) else []
    out += [(os.path.relpath(p, root), "doc") for p in sorted(glob.glob(os.path.join(root, "docs", "*.md")))]
    for crate, sub in (("executor", "src"), ("allocator", "src"), ("sched-bench", "src"), ("tests", "")):
        top = os.path.join(root, crate, sub)
        for dirpath, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "target")
            for name in sorted(names):
                if name.endswith(".rs"):
                    out.append((os.path.relpath(os.path.join(dirpath, name), root), crate))
    return [(rel.replace(os.sep, "/"), kind) for rel, kind in out]


def citations(text):
    """Yield (line number, path) for every cited path in text."""
    for n, line in enumerate(text.splitlines(), 1):
        line = URL.sub(lambda m: " " * len(m.group(0)), line)
        for m in RUN.finditer(line):
            tok, start, end = m.group(0), m.start(), m.end()
            if "/" not in tok:
                continue
            before = line[start - 1] if start else " "
            after = line[end] if end < len(line) else " "
            if before in GLUE or after in GLUE or before == "~" or tok.startswith("/"):
                continue
            tok = tok.rstrip(".")
            if tok.endswith(FILE_EXT) and "/" in tok:
                yield n, tok, "file"
            elif tok.endswith("/") and tok.strip("/"):
                yield n, tok, "dir"


def bases(root, rel, kind):
    b = [root, os.path.join(root, "executor", "src"), os.path.join(root, os.path.dirname(rel))]
    crates = CRATES if kind == "doc" else [kind]
    for c in crates:
        b += [os.path.join(root, c), os.path.join(root, c, "src")]
    return b


def check(root, out=sys.stdout):
    allow = load_allow(os.path.join(root, "scripts", "doc-paths-allow.txt"))
    missing = []
    nfiles = ncites = 0
    for rel, kind in sources(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            text = f.read()
        if kind != "doc":
            # module docs only: keep line numbers, blank every other line
            text = "\n".join(l.strip()[3:] if l.strip().startswith("//!") else "" for l in text.splitlines())
        nfiles += 1
        bs = bases(root, rel, kind)
        for line, path, what in citations(text):
            if any(path == a or (a.endswith("/") and path.startswith(a)) for a in allow):
                continue
            first = path.lstrip("./").split("/", 1)[0]
            if what == "dir" and not any(os.path.exists(os.path.join(b, first)) for b in bs):
                continue  # prose like p50/p99/, not a path
            ncites += 1
            if not any(os.path.exists(os.path.join(b, path)) for b in bs):
                missing.append(f"{rel}:{line}: {path}")
    for m in missing:
        print(m, file=out)
    if missing:
        print(f"check-doc-paths: {len(missing)} missing path(s) ({ncites} citations in {nfiles} files)", file=out)
        return 1
    print(f"check-doc-paths: ok, {ncites} cited paths exist ({nfiles} files read)", file=out)
    return 0


# ---------------------------------------------------------------- self-test

FIXTURE = {
    "README.md": "Run `scripts/test.sh`; see docs/a.md and [x](https://ex.org/no/such.rs).\n",
    "scripts/test.sh": "",
    "scripts/doc-paths-allow.txt": "# build output\ntarget/\n",
    "docs/a.md": (
        "The worker is `executor/src/worker/mod.rs` (`worker/mod.rs`), policies in `policy/`.\n"
        "Percentiles p50/p99/ and I/O, `/proc/thread-self/status`, `src/*.rs`, <http://a.b/c.md>.\n"
        "Built into `target/release/` and sched-bench's `rt_compare/run.rs`. See results/x.md.\n"
    ),
    "docs/results/x.md": "",
    "executor/src/lib.rs": "//! See `worker/mod.rs` and `../../docs/a.md`.\n",
    "executor/src/worker/mod.rs": "//! Relative to its crate: `worker/mod.rs`.\n// worker/nothere.rs is no module doc\n",
    "executor/src/policy/mod.rs": "",
    "allocator/src/lib.rs": "//! The pool: `src/pool.rs` (`pool.rs` has no slash: not a path); `./scripts/test.sh`.\n",
    "allocator/src/pool.rs": "",
    "sched-bench/src/rt_compare/run.rs": "//! `rt_compare/run.rs`, `tests/tests/sim.rs`.\n",
    "tests/tests/sim.rs": "//! `tests/sim.rs` and `tests/src/lib.rs`.\n",
    "tests/src/lib.rs": "",
}

# file -> (appended text, [(line offset, path)] that must be reported)
PLANTS = {
    "README.md": ("Stale: `executor/src/policy/admission.rs`.\n", [(1, "executor/src/policy/admission.rs")]),
    "docs/a.md": (
        "The pick is in `worker/pick.rs`, admission in `policy/admission/`.\n",
        [(1, "worker/pick.rs"), (1, "policy/admission/")],
    ),
    "executor/src/worker/mod.rs": ("//! Gone: `worker/steal.rs`, `scripts/nope.sh`.\n", [(1, "worker/steal.rs"), (1, "scripts/nope.sh")]),
    "allocator/src/pool.rs": ("//! `src/loom_tests.rs`\n", [(1, "src/loom_tests.rs")]),
}


def run_check(root):
    import io

    buf = io.StringIO()
    rc = check(root, out=buf)
    return rc, [l for l in buf.getvalue().splitlines() if not l.startswith("check-doc-paths:")]


def plant(root, rel, text):
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        body = f.read()
    if body and not body.endswith("\n"):
        body += "\n"
    first = body.count("\n") + 1
    with open(path, "w", encoding="utf-8") as f:
        f.write(body + text)
    return first


def planted(root, plants, fails, baseline, label):
    want = set()
    for rel, (text, marks) in plants.items():
        first = plant(root, rel, text)
        want |= {f"{rel}:{first + off - 1}: {p}" for off, p in marks}
    rc, out = run_check(root)
    for w in sorted(want - set(out)):
        fails.append(f"{label}: planted missing path not named: {w}")
    for x in sorted(set(out) - want - baseline):
        fails.append(f"{label}: unexpected report: {x}")
    for g in sorted(baseline - set(out)):
        fails.append(f"{label}: planting hid a report: {g}")
    if rc != 1:
        fails.append(f"{label}: planted copy must exit 1, got {rc}")
    return sorted(want & set(out))


def self_test(root):
    import shutil
    import tempfile

    fails = []
    with tempfile.TemporaryDirectory(prefix="check-doc-paths.") as tmp:
        fx = os.path.join(tmp, "fixture")
        for rel, text in FIXTURE.items():
            p = os.path.join(fx, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
        rc, out = run_check(fx)
        if rc != 0:
            fails.append("fixture: clean copy must pass, got:\n    " + "\n    ".join(out))
        planted(fx, PLANTS, fails, set(), "fixture")

        # A copy of the repository's docs and sources, with stale paths planted.
        real = os.path.join(tmp, "real")
        for rel in ["README.md", "docs", "scripts", "executor/src", "allocator/src", "sched-bench/src", "tests"]:
            src = os.path.join(root, rel)
            dst = os.path.join(real, rel)
            if os.path.isdir(src):
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("target"))
            elif os.path.exists(src):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(src, dst)
        for rel in ["executor", "allocator", "sched-bench"]:
            for extra in ["tests", "examples", "benches"]:
                if os.path.isdir(os.path.join(root, rel, extra)):
                    shutil.copytree(os.path.join(root, rel, extra), os.path.join(real, rel, extra))
        rc0, baseline = run_check(real)
        _, tree = run_check(root)
        if baseline != tree:
            fails.append("real copy: the copy does not report what the tree reports")
        docs = sorted(glob.glob(os.path.join(real, "docs", "*.md")))
        plants = {
            "README.md": ("See `executor/src/worker/pick.rs`.\n", [(1, "executor/src/worker/pick.rs")]),
            "executor/src/lib.rs": ("//! Planted: `policy/no_such_policy.rs`.\n", [(1, "policy/no_such_policy.rs")]),
        }
        if docs:
            rel = os.path.relpath(docs[0], real).replace(os.sep, "/")
            plants[rel] = ("Planted: `scripts/no-such-step.sh` and `queue/nowhere/`.\n", [(1, "scripts/no-such-step.sh"), (1, "queue/nowhere/")])
        for l in planted(real, plants, fails, set(baseline), "real copy"):
            print(f"self-test: named {l}")
    for f in fails:
        print(f"self-test FAIL: {f}")
    if fails:
        return 1
    note = f"; the clean copy reports {len(baseline)} missing path(s) of today's tree" if baseline else ""
    print(f"check-doc-paths self-test: ok (fixture clean/planted, stale paths planted in a copy){note}")
    return 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="repository root")
    ap.add_argument("--self-test", action="store_true", help="check the check (fixture and planted copy)")
    a = ap.parse_args()
    sys.exit(self_test(a.root) if a.self_test else check(a.root))


if __name__ == "__main__":
    main()
