"""One run of a sweep, wherever it runs (the local pool or a Ray worker): the job, the decision
to start, resume or skip it from its folder at the moment it runs, and the summary row."""

from __future__ import annotations

import csv
import functools
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from videorl.config import TrainConfig
from videorl.errors import UserError
from videorl.rundir import RunDir, read_metrics


def run_state(run: Path, steps: int) -> str:
    """'finished', 'resume' (has a checkpoint), or 'start'. A run is finished when its
    metrics reach the budget and the checkpoint written after its last row exists: latest.pt,
    or that step's policy snapshot, so that a finished run's latest.pt (its replay buffer,
    gigabytes for pixels) may be deleted, or left out of an archive, and still count."""
    rd = RunDir(run)
    if rd.metrics.is_file():
        with rd.metrics.open() as fh:
            rows = list(csv.DictReader(fh))
        last = int(rows[-1]["step"]) if rows else -1
        if last >= steps and (rd.latest.is_file() or rd.snapshot(last).is_file()):
            return "finished"
    return "resume" if rd.latest.is_file() else "start"


def refuse_to_discard(run: Path, steps: int) -> None:
    """A run with evaluations past step 0 but no latest.pt had its checkpoint deleted (a
    finished run kept without its replay buffer, now asked for more steps): starting it
    again would throw its results away, so say so instead."""
    rd = RunDir(run)
    rows = read_metrics(run) if rd.metrics.is_file() else []
    done = int(rows[-1]["step"]) if rows else 0
    if done > 0:
        raise UserError(
            f"{run} reached step {done} but has no checkpoints/latest.pt to continue to "
            f"{steps}; restore latest.pt, or move the run folder away to train it again"
        )


@dataclass(frozen=True)
class Job:
    """One run of a sweep: a (method or grid point, seed) and its folder."""

    label: str
    seed: int
    cfg: TrainConfig
    run: Path


def plan(configs: dict[str, TrainConfig], out: Path, seeds: int, threads: int | None) -> list[Job]:
    """Seed-major, so that an interrupted sweep has the same seeds of every method;
    ``threads`` replaces each run's torch threads when several runs share a machine."""
    jobs = []
    for seed in range(seeds):
        for label, cfg in configs.items():
            run = replace(cfg.run, seed=seed, threads=threads or cfg.run.threads)
            jobs.append(Job(label, seed, replace(cfg, run=run), out / label / f"seed{seed}"))
    return jobs


def run_job(job: Job, announce: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Start, resume or skip one run, deciding from its folder at the moment it runs (so a
    run retried after its worker died continues from its last checkpoint); returns the
    summary row. ``announce`` gets the line saying that it starts (default: print it)."""
    from videorl.train import train

    state = run_state(job.run, job.cfg.run.steps)
    t0 = time.time()
    if state != "finished":
        if state == "start" and job.run.exists():
            refuse_to_discard(job.run, job.cfg.run.steps)
        (announce or functools.partial(print, flush=True))(f"  {state}: {job.run}")
        if state == "start" and job.run.exists():
            shutil.rmtree(job.run)  # a run that never reached its first checkpoint
        train(job.cfg, job.run, resume=state == "resume", progress=False)
    rows = read_metrics(job.run)
    return {"run": f"{job.label}/seed{job.seed}", "was": state,
            "step": int(rows[-1]["step"]) if rows else 0,
            "eval_return": rows[-1]["eval_return"] if rows else math.nan,
            "minutes": (time.time() - t0) / 60}  # fmt: skip


def summary_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'run':<40} {'was':<9} {'step':>8} {'eval_return':>12} {'minutes':>8}"]
    for r in sorted(rows, key=lambda r: r["run"]):
        lines.append(f"{r['run']:<40} {r['was']:<9} {r['step']:>8} {r['eval_return']:>12.2f} "
                     f"{r['minutes']:>8.1f}")  # fmt: skip
    return "\n".join(lines)
