"""Keep a sweep's runs in git, so that its evidence can be recomputed and the sweep continued
from another checkout: copies each run folder's config.yaml and metrics.csv into
benchmarks/results/runs/SWEEP/, with the final policy snapshot of a finished run (which is
what `videorl sweep` reads as "finished"), or latest.pt and best.pt of an unfinished one (what
it resumes from). TensorBoard logs and the other snapshots stay behind.

    .venv/bin/python benchmarks/archive_runs.py runs/sweeps/rlv_fig5a_state_pusher
    # in a fresh checkout, before re-running the same `videorl sweep` command:
    mkdir -p runs/sweeps && cp -r benchmarks/results/runs/rlv_fig5a_state_pusher runs/sweeps/

Safe while the sweep runs: a checkpoint is copied before the metrics, and a resume drops
metrics rows written after its checkpoint.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from videorl.rundir import RunDir, read_metrics
from videorl.sweep_jobs import run_state

HERE = Path(__file__).parent


def archive_run(run: Path, dest: Path) -> str:
    """Replace ``dest`` with the kept files of ``run``; returns the run's state."""
    rd = RunDir(run)
    state = run_state(run, rd.read_config().run.steps)
    if state == "start":
        return state  # nothing to resume from yet
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "checkpoints").mkdir(parents=True)
    shutil.copy2(rd.config, tmp / "config.yaml")
    if state == "finished":
        kept = [rd.snapshot(int(read_metrics(run)[-1]["step"]))]
    else:
        kept = [rd.latest, rd.best]
    for path in kept:
        if path.is_file():
            shutil.copy2(path, tmp / "checkpoints" / path.name)
    shutil.copy2(rd.metrics, tmp / "metrics.csv")  # after the checkpoint it must not outrun
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return state


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sweep_dir", type=Path)
    ap.add_argument("--out", type=Path, help="default benchmarks/results/runs/SWEEP_NAME")
    args = ap.parse_args()
    out = args.out or HERE / "results" / "runs" / args.sweep_dir.name
    for run in sorted(args.sweep_dir.glob("*/seed*")):
        dest = out / run.relative_to(args.sweep_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        print(f"{archive_run(run, dest):<9} {run}")
    print(f"archive: {out}")


if __name__ == "__main__":
    main()
