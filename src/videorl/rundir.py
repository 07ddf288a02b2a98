"""The run-folder contract every tool reads: ``config.yaml`` (the resolved config, in
sections), ``metrics.csv`` (one row per evaluation), ``tb/`` (TensorBoard), ``checkpoints/``
(``latest.pt`` with everything to resume, ``step_*.pt`` and ``best.pt`` policies) and, for
a learned reward, ``reward.json`` (its resolved scale and goal distances)."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

from videorl import atomic
from videorl.config import RunConfig, TrainConfig
from videorl.errors import UserError

RUN_COLUMNS_HEAD = ["step", "episodes", "eval_return", "eval_success"]
RUN_COLUMNS_TAIL = ["train_return", "steps_per_second", "wall_time"]


def metric_columns(method_metrics: list[str], pretraining: bool = False) -> list[str]:
    """metrics.csv header: evaluation columns, the method's own metrics, then run columns;
    ``pretrain_step`` after ``episodes`` for a method with a pre-training phase."""
    head = RUN_COLUMNS_HEAD[:2] + ["pretrain_step"] + RUN_COLUMNS_HEAD[2:]
    return (head if pretraining else RUN_COLUMNS_HEAD) + list(method_metrics) + RUN_COLUMNS_TAIL


def row_position(row: dict[str, str]) -> tuple[int, int]:
    """Where a metrics.csv row was written: (environment step, pre-training step)."""
    return int(row["step"]), int(row.get("pretrain_step") or 0)


class RunDir:
    """Paths of one run folder, and its config."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / "config.yaml"
        self.metrics = self.path / "metrics.csv"
        self.reward = self.path / "reward.json"
        self.tb = self.path / "tb"
        self.checkpoints = self.path / "checkpoints"
        self.latest = self.checkpoints / "latest.pt"
        self.best = self.checkpoints / "best.pt"

    def snapshot(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:09d}.pt"

    def snapshots(self) -> list[tuple[int, Path]]:
        found = []
        for p in self.checkpoints.glob("step_*.pt"):
            try:
                found.append((int(p.stem.split("_")[1]), p))
            except ValueError:
                continue
        return sorted(found)

    def refuse_existing_run(self) -> None:
        """A fresh start must not write into a folder that already holds a run, nor mix a
        run into a folder of other things (a dataset, a folder of runs)."""
        if self.metrics.exists() or self.latest.exists():
            raise UserError(
                f"{self.path} already holds a run; pass --resume to continue it "
                "or choose another --out"
            )
        run_files = {"config.yaml", "checkpoints", "tb", ".lock", ".write_test"}
        others = self.path.is_dir() and any(p.name not in run_files for p in self.path.iterdir())
        if others and not self.config.is_file():
            raise UserError(
                f"{self.path} is a folder of other files, not a run folder; choose a new or "
                "empty --out"
            )

    def lock(self) -> RunLock:
        """Hold the run folder for one writer (see RunLock)."""
        return RunLock(self.path / ".lock")

    def read_config_dict(self) -> dict[str, Any]:
        if not self.config.is_file():
            raise UserError(f"{self.path} is not a videorl run folder (no config.yaml)")
        data = yaml.safe_load(self.config.read_text())
        if not isinstance(data, dict):
            raise UserError(f"{self.config} is not a videorl config (not a mapping)")
        return data

    def read_config(self) -> TrainConfig:
        from videorl.agents.registry import make_config

        return make_config(config_values(self.read_config_dict()))

    def resumed(self, cfg: TrainConfig) -> TrainConfig:
        """The saved config with ``cfg``'s step budget and torch threads (a machine setting: a
        sweep with several workers gives each run one); any other key where ``cfg`` differs
        from the run's config.yaml is refused, naming it (the one resume rule)."""
        saved = self.read_config()
        mine, theirs = cfg.flat(), saved.flat()
        changed = [k for k in sorted(set(mine) | set(theirs))
                   if k not in ("steps", "threads") and mine.get(k) != theirs.get(k)]  # fmt: skip
        if changed:
            k = changed[0]
            raise UserError(
                f"--resume continues {self.path} as configured: {k} is {theirs.get(k)!r} there, "
                f"not {mine.get(k)!r}; drop that flag (only --steps, to extend the run, and "
                "threads may change)"
            )
        run = dataclasses.replace(saved.run, steps=cfg.run.steps, threads=cfg.run.threads)
        return dataclasses.replace(saved, run=run)

    def write_config(self, cfg: TrainConfig, reward_info: dict | None = None) -> None:
        atomic.write_text(self.config, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        if reward_info is not None:  # the learned reward as resolved (T, d(g, g), ...)
            atomic.write_text(self.reward, json.dumps(reward_info, indent=1))


class RunLock:
    """An OS lock (``flock``) on ``RUN_DIR/.lock`` while a process trains in the folder: a
    second writer is refused naming the holder, and the lock dies with its process, so a
    run killed with SIGKILL leaves no stale lock."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl

        fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise UserError(
                f"{self.file.parent} is in use by process {holder} (videorl train); wait for "
                "it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def flat_config(data: dict[str, Any]) -> dict[str, Any]:
    """A config.yaml's keys and values with the sections merged (only the keys its method
    reads), without validating them: what a tool that compares runs looks at."""
    data = config_values(data)
    if "run" not in data:
        return dict(data)
    return {
        k: v for section in data.values() if isinstance(section, dict) for k, v in section.items()
    }  # noqa: E501


def config_values(data: dict[str, Any]) -> dict[str, Any]:
    """A config.yaml's values for ``make_config``. Runs written before configs had sections
    hold every method's keys flat; the keys the run's method does not read are dropped."""
    if "run" in data:
        return data
    from videorl.agents.registry import sections_of

    sections = sections_of(str(data.get("algo", RunConfig.algo)))
    read = {f.name for cls in sections.values() for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in read}


def read_metrics(run_dir: str | Path, pretraining: bool = False) -> list[dict[str, float]]:
    """metrics.csv as floats (an empty cell is NaN): its evaluation rows, and with
    ``pretraining`` also the rows of a pre-training phase (step 0, no evaluation)."""
    path = RunDir(run_dir).metrics
    if not path.is_file():
        raise UserError(f"{run_dir}: no metrics.csv (is it a videorl run folder?)")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    if not pretraining:
        rows = [row for row in rows if row["eval_return"]]
    return [{k: float(v) if v else math.nan for k, v in row.items()} for row in rows]


class MetricsLog:
    """metrics.csv (one row per evaluation) plus TensorBoard scalars."""

    def __init__(self, run: RunDir, resume_at: tuple[int, int] | None, columns: list[str]) -> None:
        """``resume_at``: the checkpoint's (step, pre-training step); rows written after it
        are dropped, so a resumed run writes them again exactly once."""
        self.run = run
        self.columns = columns
        rows: list[dict[str, str]] = []
        resume_step = None if resume_at is None else resume_at[0]
        if resume_at is not None and run.metrics.is_file():
            with run.metrics.open() as fh:
                rows = [r for r in csv.DictReader(fh) if row_position(r) <= resume_at]
        with atomic.atomic_path(run.metrics) as tmp, tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(run.tb), purge_step=resume_step)

    def write(self, row: dict[str, float]) -> None:
        with self.run.metrics.open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.columns).writerow(
                {k: _fmt(row.get(k, math.nan), k) for k in self.columns}
            )
        step = int(row["step"])
        for key, value in row.items():
            if key not in ("step", "wall_time") and not math.isnan(float(value)):
                group = "eval" if key.startswith("eval_") else "train"
                self.tb.add_scalar(f"{group}/{key}", float(value), step)
        self.tb.flush()

    def close(self) -> None:
        self.tb.close()


def _fmt(value: float, key: str = "") -> str:
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return ""
    return f"{value:.3f}" if key == "wall_time" else f"{value:.6g}"  # seconds since 1970
