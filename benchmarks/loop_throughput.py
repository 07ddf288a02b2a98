"""Training-loop throughput of two source trees, interleaved: did a change slow the loop?

Runs the same `videorl train` command lines against each tree (PYTHONPATH=TREE/src) in turn,
``--repeats`` times, and reports the median learning-phase steps/s (evaluation excluded;
``steps_per_second`` of the metrics.csv rows after the random warm-up):
  state: state-pusher, MLP [256, 256], batch 256, 1000 random + 2000 learning steps;
  pixel: visual-pusher, `fast` encoder, batch 256, 256 random + 100 learning steps.

    git worktree add /tmp/before <REV>
    .venv/bin/python benchmarks/loop_throughput.py /tmp/before . --out results/NAME.json
Time only on an idle machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CASES = {
    "state-pusher": (["--env", "state-pusher", "--steps", "3000", "--set", "initial_steps=1000",
                      "eval_every=1000"], 1000),
    "visual-pusher-fast": (["--env", "visual-pusher", "--steps", "356", "--set",
                            "initial_steps=256", "eval_every=256", "encoder=fast"], 256),
}  # fmt: skip
COMMON = ["eval_episodes=1", "eval_at_start=false", "batch_size=256"]


def steps_per_second(tree: Path, args: list[str], warm: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree.resolve() / "src"), "TQDM_DISABLE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "videorl.cli", "train", *args, *COMMON, "--out", str(out)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        with (out / "metrics.csv").open() as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) > warm]
    steps = time = 0.0
    prev = warm
    for r in rows:
        n = int(r["step"]) - prev
        steps, time, prev = steps + n, time + n / float(r["steps_per_second"]), int(r["step"])
    return steps / time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="source tree before the change")
    parser.add_argument("after", type=Path, help="source tree after the change")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args()
    res: dict = {"command": " ".join(sys.argv), "repeats": args.repeats, "cases": {}}
    for name, (cmd, warm) in CASES.items():
        runs: dict[str, list[float]] = {"before": [], "after": []}
        for _ in range(args.repeats):
            for label in ("before", "after"):
                runs[label].append(steps_per_second(getattr(args, label), cmd, warm))
        med = {k: statistics.median(v) for k, v in runs.items()}
        res["cases"][name] = {**{f"{k}_runs": v for k, v in runs.items()}, **med,
                              "after_over_before": med["after"] / med["before"]}  # fmt: skip
        print(f"{name}: before {med['before']:.2f}  after {med['after']:.2f} steps/s "
              f"(ratio {med['after'] / med['before']:.3f}; runs {runs})", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
