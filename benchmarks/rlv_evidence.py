"""Summarise a sweep of RLV and the methods it is compared with into benchmarks/results/: the
`videorl plot` table and figure (steps to each threshold, IQM of the final values with its
bootstrap interval), per-seed numbers, and the label diagnostics (RLV's inverse-model loss
and label error on the observation data; BCO's label accuracy; ILPO's remapping accuracy).

    videorl sweep configs/sweeps/rlv_fig3_acrobot_medium.yaml --seeds 5 --workers 2
    .venv/bin/python benchmarks/rlv_evidence.py runs/sweeps/rlv_fig3_acrobot_medium \
        --threshold -95 -90 -85 -80 --name rlv_fig3_acrobot_medium

``--methods`` takes some of the sweep's method folders only (a figure with fewer curves).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
from pathlib import Path

from videorl.plot import compare_runs, first_step_reaching, format_table, group_runs
from videorl.rundir import RunDir, read_metrics

HERE = Path(__file__).parent


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _seed_steps_to_thresholds(table: list[dict], thresholds: list[float]) -> dict:
    """Per method and threshold, from the table: the IQM [95% CI] over seeds of each seed's
    first step at or above it (a seed that never got there counts as the budget), and its
    ratio to the baseline's (SAC's) IQM."""
    out = {}
    for row in table:
        label, out[row["method"]] = row["method"], {}
        for t in thresholds:
            seeds, ratio = row["seed_reach"][t], row["seed_ratios"][t]
            out[label][str(t)] = {**seeds, "ci": [_clean(v) for v in seeds["ci"]], "x_sac": ratio}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sweep_dir")
    ap.add_argument("--threshold", type=float, nargs="+", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--metric", default="eval_return")
    ap.add_argument("--methods", nargs="+", help="the sweep's method folders to take (all)")
    args = ap.parse_args()

    found = sorted(Path(args.sweep_dir).glob("*/seed*"))
    missing = sorted(set(args.methods or []) - {run.parent.name for run in found})
    if missing:
        ap.error(
            f"no runs of {', '.join(missing)} in {args.sweep_dir}; --methods takes its folder names"
        )
    runs, unfinished = [], []
    for run in [r for r in found if args.methods is None or r.parent.name in args.methods]:
        budget = RunDir(run).read_config().run.steps
        rows = read_metrics(run) if (run / "metrics.csv").is_file() else []
        (runs if rows and int(rows[-1]["step"]) >= budget else unfinished).append(run)
    if unfinished:  # a sweep still running or stopped: summarise the finished runs only
        print("left out (unfinished): " + ", ".join(str(r) for r in unfinished))
    png = HERE / "results" / f"{args.name}.png"
    table = compare_runs(runs, png, args.metric, args.threshold, per_seed=True)
    print(format_table(table))
    per_seed = {}
    for label, group in group_runs(runs).items():
        per_seed[label] = []
        for run in sorted(group):
            rows = read_metrics(run)
            steps = [int(r["step"]) for r in rows]
            values = [r[args.metric] for r in rows]
            entry = {
                "run": str(run),
                "final": values[-1],
                "best": max(v for v in values if not math.isnan(v)),
                "steps_to_threshold": {
                    str(t): first_step_reaching(steps, values, t) for t in args.threshold
                },
                "curve": dict(zip(steps, values)),
            }
            keys = ("inverse_loss", "obs_label_error", "disc_acc", "obs_label_acc", "remap_acc")
            for key in keys:
                if key in rows[-1]:
                    entry[f"final_{key}"] = _clean(rows[-1][key])
            per_seed[label].append(entry)
            firsts = [entry["steps_to_threshold"][str(t)] for t in args.threshold]
            print(
                f"  {label:<16} {run.name}: final {values[-1]:.1f}, best {entry['best']:.1f}, "
                f"first >= {' / '.join(f'{t:g}' for t in args.threshold)} at "
                + " / ".join("never" if s is None else f"{s / 1000:g}k" for s in firsts)
                + (
                    f", label error {entry['final_obs_label_error']:.3f}"
                    if entry.get("final_obs_label_error") is not None
                    else ""
                )
            )
    seed_steps = _seed_steps_to_thresholds(table, args.threshold)
    out = {
        "command": f"benchmarks/rlv_evidence.py {args.sweep_dir} --threshold "
        + " ".join(f"{t:g}" for t in args.threshold)
        + f" --name {args.name}"
        + (f" --methods {' '.join(args.methods)}" if args.methods else ""),
        "finished_runs_per_method": {row["method"]: row["runs"] for row in table},
        "metric": args.metric,
        "threshold": args.threshold,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, Python "
        f"{platform.python_version()}",
        "table": [{k: _clean(v) for k, v in row.items()} for row in table],
        "seed_steps_to_threshold": seed_steps,
        "per_seed": per_seed,
        "unfinished_runs_left_out": [str(r) for r in unfinished],
    }
    path = HERE / "results" / f"{args.name}.json"
    path.write_text(json.dumps(out, indent=1))
    print(f"results: {path}\nfigure: {png}")


if __name__ == "__main__":
    main()
