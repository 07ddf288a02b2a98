#!/usr/bin/env bash
# Mutation testing (issue 12) of the agents, the replay, the video importer, video I/O,
# pixel augmentation and reward shaping, with mutmut 3.
#
# A BENCHMARK, not a test: `make test` does not run it, and mutmut is not a dependency of
# the package (this script installs it into .venv). What is mutated, and which tests judge
# each mutant, is set in pyproject.toml [tool.mutmut]. The script copies the project into
# benchmarks/runs/mutation/ (git-ignored) and runs mutmut there; mutmut copies it once more
# into mutants/ and runs, for each mutant, only the selected tests that call the mutated
# function.
#
# Expected run time on the 2-core CPU machine: about 70 min. Measured: 67 min for the
# 2,357 mutants (2 workers at nice 19, while another benchmark kept both cores busy at a
# higher priority), plus about 1 min per group to generate mutants and run the clean tests.
# AGENT_STRIDE=2 (half the agents' mutants) took 54 min.
#
# Usage:
#   benchmarks/mutation.sh           install mutmut, run all mutants from scratch, write results
#   benchmarks/mutation.sh continue  run the selected mutants the last run left unchecked
#   benchmarks/mutation.sh report    only rewrite the result files from the last run
# Environment: MAX_CHILDREN (default 2) parallel test processes; NICE (default 19);
# AGENT_STRIDE (default 1: every mutant; 2: every 2nd mutant of sac.py and rlv.py);
# MUTATION_WORKDIR (default benchmarks/runs/mutation).
#
# Results:
#   benchmarks/results/mutation_score.json    per-module killed/survived/... and score
#   benchmarks/results/mutation_survivors.md  every surviving mutant with its diff; a triage
#                                             section between <!-- triage --> markers is kept
#   benchmarks/runs/mutation/mutation.log     mutmut's own output
# One mutant: cd benchmarks/runs/mutation && ../../../.venv/bin/mutmut show NAME  (or run NAME)
set -euo pipefail -f  # -f: the mutant name patterns below are not file globs
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

PY=$ROOT/.venv/bin/python
MUTMUT=$ROOT/.venv/bin/mutmut
MUTMUT_VERSION=3.8.1
MAX_CHILDREN=${MAX_CHILDREN:-2}
NICE=${NICE:-19}
# mutmut runs in a snapshot of the project, so that edits to src/ or tests/ during the
# hour-long run neither change nor break it; mutants/ is created inside the snapshot.
WORK=${MUTATION_WORKDIR:-$ROOT/benchmarks/runs/mutation}
mkdir -p benchmarks/results benchmarks/runs

"$PY" -m pip install --quiet "mutmut==$MUTMUT_VERSION"

# Mutants are run module group by module group (cheap modules first), so that a run
# stopped early leaves whole modules scored (mutmut itself would order all mutants by
# estimated test time across modules). Each group is "STRIDE|PATTERNS": every STRIDE-th
# mutant (in name order) of the modules matching the patterns. The agents' mutants cost the
# most (their tests train tiny agents); AGENT_STRIDE=2 runs every 2nd one when time is short.
AGENT_STRIDE=${AGENT_STRIDE:-1}
MUTANT_GROUPS=(
    "1|videorl.agents.common.* videorl.data.augment.* videorl.data.video_io.* videorl.data.importer.* videorl.rewards.shaping.* videorl.replay.*"
    "$AGENT_STRIDE|videorl.agents.sac.*"
    "$AGENT_STRIDE|videorl.agents.rlv.*"
)

# The mutants of one group still to run, or the group's patterns before mutmut has
# generated any mutant (the first group of a fresh run, which must have stride 1).
select_mutants() {
    "$PY" - "$1" "$2" <<'PYEOF'
import fnmatch, json, sys
from pathlib import Path
stride, patterns = int(sys.argv[1]), sys.argv[2].split()
metas = sorted(Path("mutants").glob("**/*.py.meta"))
if not metas:
    print(" ".join(patterns))
    raise SystemExit
codes = {}
for meta in metas:
    codes.update(json.loads(meta.read_text())["exit_code_by_key"])
def order(name):
    func, _, number = name.rpartition("__mutmut_")
    return func, int(number)
names = sorted((n for n in codes if any(fnmatch.fnmatch(n, p) for p in patterns)), key=order)
print(" ".join(n for i, n in enumerate(names) if i % stride == 0 and codes[n] is None))
PYEOF
}

MODE=${1:-run}
if [ "$MODE" = "run" ]; then
    rm -rf "$WORK"
    mkdir -p "$WORK"
    cp -r pyproject.toml src tests configs "$WORK"/
    find "$WORK" -name __pycache__ -prune -exec rm -rf {} +
    : > "$WORK/mutation.log"
    : > "$WORK/run_seconds"
fi
if [ "$MODE" = "run" ] || [ "$MODE" = "continue" ]; then  # continue: after an interruption
    cd "$WORK"
    for group in "${MUTANT_GROUPS[@]}"; do
        names=$(select_mutants "${group%%|*}" "${group#*|}")
        [ -n "$names" ] || continue
        start=$(date +%s)
        # mutmut draws a progress spinner with carriage returns; keep one line per update.
        # shellcheck disable=SC2086  # several names
        nice -n "$NICE" "$MUTMUT" run --max-children "$MAX_CHILDREN" $names 2>&1 \
            | tr '\r' '\n' | awk 'NF && !seen[$0]++' >> mutation.log || true
        end=$(date +%s)
        echo "${group#*|}: $((end - start)) s" | tee -a run_seconds
    done
fi

cd "$WORK"
RESULTS=$ROOT/benchmarks/results \
MUTMUT_COMMAND="nice -n $NICE mutmut run --max-children $MAX_CHILDREN NAMES... (3 groups, see MUTANT_GROUPS)" \
AGENT_STRIDE="$AGENT_STRIDE" \
MUTMUT_VERSION="$MUTMUT_VERSION" "$PY" - <<'EOF'
"""Write mutation_score.json and mutation_survivors.md from the snapshot's mutants/."""

import ast
import collections
import json
import os
import re
import tomllib
from pathlib import Path

from mutmut.mutation.data import SourceFileMutationData  # noqa: F401  (import order)
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

cfg = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]
modules = cfg["only_mutate"]
selection = cfg["pytest_add_cli_args_test_selection"]
results = Path(os.environ["RESULTS"])

STATUSES = ["killed", "survived", "timeout", "suspicious", "skipped", "no tests",
            "not checked", "segfault", "caught by type check",
            "check was interrupted by user"]  # fmt: skip


def load_meta(path):
    meta = Path("mutants") / (path + ".meta")
    return json.loads(meta.read_text())


def function_of(name):
    """'videorl.a.b.xǁCǁm__mutmut_3' -> ('C', 'm'); 'videorl.a.x_f__mutmut_3' -> (None, 'f')."""
    tail = name.rpartition(".")[2].rsplit("__mutmut_", 1)[0]
    if tail.startswith("xǁ"):
        _, cls, meth = tail.split("ǁ")
        return cls, meth
    return None, tail[2:]


def source_line(path, name, diff):
    """Line number, in the source as mutated, of the first line the mutant removes."""
    text = Path(path).read_text()  # the snapshot's copy: the source as mutated
    lines = text.splitlines()
    cls, fn = function_of(name)
    span = (1, len(lines))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef) and cls and node.name == cls:
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and sub.name == fn:
                    span = (sub.lineno, sub.end_lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not cls:
            if node.name == fn and node.col_offset == 0:
                span = (node.lineno, node.end_lineno)
    removed = [d[1:].strip() for d in diff.splitlines()
               if d.startswith("-") and not d.startswith("---")]  # fmt: skip
    if removed:
        for i in range(span[0], span[1] + 1):
            if lines[i - 1].strip() == removed[0]:
                return i
    return span[0]


STRING = re.compile(r"""(?:[rbfu]{0,2})("([^"\\]|\\.)*"|'([^'\\]|\\.)*')""", re.I)


def kind(diff):
    """A first guess at what a surviving mutant changes (the triage is by hand)."""
    minus = [d[1:] for d in diff.splitlines() if d.startswith("-") and not d.startswith("---")]
    plus = [d[1:] for d in diff.splitlines() if d.startswith("+") and not d.startswith("+++")]
    if len(minus) == len(plus) and all(
        STRING.sub('""', a) == STRING.sub('""', b) for a, b in zip(minus, plus)
    ):
        return "string text"
    return "code"


score = {
    "mutmut_version": os.environ["MUTMUT_VERSION"],
    "command": "benchmarks/mutation.sh  (" + os.environ["MUTMUT_COMMAND"] + ")",
    "config": "pyproject.toml [tool.mutmut]",
    "test_selection": selection,
    "not_mutated": cfg.get("do_not_mutate_patterns", []),
    "score_definition": "killed / (run - skipped), over the mutants run; timeouts and "
    "suspicious count as not killed",
    "modules": {},
}
run_seconds = Path("run_seconds")
if run_seconds.exists():
    seconds = collections.Counter()  # summed over `continue` runs of a group
    for line in run_seconds.read_text().splitlines():
        group, _, took = line.rpartition(": ")
        seconds[group] += int(took.split()[0])
    score["run_seconds"] = dict(seconds) | {"total": sum(seconds.values())}
survivors = {}
totals = collections.Counter()
stride = int(os.environ["AGENT_STRIDE"])


def row_of(counts):
    """Counts by status; the score is over the mutants that were run (a sample of the
    agents' mutants when AGENT_STRIDE > 1; the others are "not checked")."""
    generated = sum(counts.values())
    ran = generated - counts.get("not checked", 0)
    row = {"mutants": generated, "run": ran}
    row.update({s.replace(" ", "_"): counts.get(s, 0) for s in STATUSES if counts.get(s, 0) or
                s in ("killed", "survived", "timeout", "suspicious", "skipped", "no tests")})  # fmt: skip
    denom = ran - counts.get("skipped", 0)
    row["score"] = round(counts.get("killed", 0) / denom, 4) if denom else None
    return row


for path in modules:
    meta = load_meta(path)
    counts = collections.Counter(status_by_exit_code[c] for c in meta["exit_code_by_key"].values())
    row = row_of(counts)
    if "/agents/sac.py" in path or "/agents/rlv.py" in path:
        row["sample"] = "all" if stride == 1 else f"1 in {stride} (every {stride}-th in name order)"
    score["modules"][path] = row
    totals.update(counts)
    survivors[path] = sorted(
        (k for k, c in meta["exit_code_by_key"].items() if status_by_exit_code[c] == "survived"),
        key=lambda k: (k.rsplit("__mutmut_", 1)[0], int(k.rsplit("__mutmut_", 1)[1])),
    )
score["total"] = row_of(totals)
(results / "mutation_score.json").write_text(json.dumps(score, indent=2) + "\n")

md_path = results / "mutation_survivors.md"
triage = ""
if md_path.exists():
    m = re.search(r"<!-- triage -->.*?<!-- /triage -->", md_path.read_text(), re.S)
    triage = m.group(0) if m else ""
out = ["# Surviving mutants", "",
       "Written by `benchmarks/mutation.sh` from `mutants/` (mutmut "
       f"{score['mutmut_version']}). Score per module: `mutation_score.json`. A survivor is a "
       "change to the code that no selected test noticed. Line numbers are in the source as "
       "it was mutated; `kind` is a first automatic guess (`string text`: only a string "
       "literal changed).", ""]  # fmt: skip
out += [triage or "<!-- triage -->\n(no triage yet)\n<!-- /triage -->", ""]
out += ["## Survivors by module", ""]
for path in modules:
    row = score["modules"][path]
    out += [f"### {path}: {row['survived']} survived of {row['run']} run "
            f"({row['mutants']} generated; score {row['score']})", ""]  # fmt: skip
    for name in survivors[path]:
        diff = get_diff_for_mutant(name, path=path)
        line = source_line(path, name, diff)
        body = "\n".join(diff.splitlines()[2:])  # drop the ---/+++ header
        out += [f"- `{name}` line {line}, kind: {kind(diff)}", "", "  ```diff"]
        out += ["  " + d for d in body.splitlines()]
        out += ["  ```", ""]
md_path.write_text("\n".join(out) + "\n")
print(json.dumps(score["total"]))
for p, r in score["modules"].items():
    print(f"{p}: {r}")
EOF
