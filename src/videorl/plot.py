"""Learning-curve plots from run folders' metrics.csv (matplotlib, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

from videorl.agents.registry import BASELINE_ALGO
from videorl.atomic import atomic_path
from videorl.errors import UserError
from videorl.rundir import RunDir, flat_config, read_metrics


def plot_learning_curve(run_dir: str | Path, out_png: str | Path, title: str = "") -> Path:
    """Eval return (and success rate if reported) against environment steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(steps, [r["eval_return"] for r in rows], marker="o", label="eval return")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean eval return")
    ax.grid(alpha=0.3)
    success = [r["eval_success"] for r in rows]
    if any(not math.isnan(s) for s in success):
        ax2 = ax.twinx()
        ax2.plot(steps, success, color="tab:green", ls="--", label="success rate")
        ax2.set_ylim(-0.05, 1.05)
        ax2.set_ylabel("success rate")
    ax.set_title(title or str(run_dir))
    fig.tight_layout()
    out_png = Path(out_png)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png


def ascii_curve(values: list[float], width: int = 60, height: int = 10) -> str:
    """A small text plot for terminals: one column per point (resampled to width)."""
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return "(no data)"
    n = len(values)
    cols = [values[min(n - 1, int(i * n / width))] for i in range(min(width, n))]
    lo, hi = min(vals), max(vals)
    span = hi - lo or 1.0
    grid = [[" "] * len(cols) for _ in range(height)]
    for x, v in enumerate(cols):
        if math.isnan(v):
            continue
        y = int(round((v - lo) / span * (height - 1)))
        grid[height - 1 - y][x] = "*"
    lines = []
    for i, row in enumerate(grid):
        label = hi - i * span / (height - 1)
        lines.append(f"{label:9.1f} |" + "".join(row))
    lines.append(" " * 10 + "+" + "-" * len(cols))
    return "\n".join(lines)


# -- comparing runs -------------------------------------------------------------------------
IGNORED_KEYS = ("seed", "threads", "device")  # do not define a method


def group_runs(run_dirs: list[str | Path]) -> dict[str, list[Path]]:
    """Group run folders by their config without the seed; label groups by what differs."""
    configs: dict[Path, dict] = {}
    for run in map(Path, run_dirs):
        rd = RunDir(run)
        if not rd.config.is_file() or not rd.metrics.is_file():
            raise UserError(
                f"{run} is not a videorl run folder (needs config.yaml and metrics.csv)"
            )
        cfg = flat_config(rd.read_config_dict())
        configs[run] = {k: v for k, v in cfg.items() if k not in IGNORED_KEYS}
    keys = sorted({k for c in configs.values() for k in c})
    groups: dict[str, list[Path]] = {}
    for run, cfg in configs.items():
        algo = cfg.get("algo", "?")
        # Label by what differs among runs of the same method (a run's config holds only
        # the keys its method reads).
        peers = [c for c in configs.values() if c.get("algo", "?") == algo]
        varying = [k for k in keys if len({repr(c.get(k)) for c in peers}) > 1]
        extra = [f"{k}={cfg.get(k)}" for k in varying if k not in ("algo", "steps")]
        label = str(algo)
        if extra:
            label += " (" + ", ".join(extra) + ")"
        groups.setdefault(label, []).append(run)
    return groups


def group_curve(
    runs: list[Path] | list[list[dict[str, float]]], metric: str
) -> tuple[list[int], list[float], list[float]]:
    """Mean and standard error of ``metric`` at the steps that every run evaluated.

    ``runs`` are run folders, or their already-read metrics rows.
    """
    per_run = []
    for run in runs:
        rows = run if isinstance(run, list) else read_metrics(run)
        per_run.append({int(r["step"]): r[metric] for r in rows})
    steps = sorted(set.intersection(*(set(d) for d in per_run)))
    means, sems = [], []
    for step in steps:
        values = [d[step] for d in per_run if not math.isnan(d[step])]
        if not values:
            means.append(math.nan)
            sems.append(math.nan)
            continue
        mean = sum(values) / len(values)
        if len(values) > 1:
            var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
            sems.append(math.sqrt(var / len(values)))
        else:
            sems.append(0.0)
        means.append(mean)
    return steps, means, sems


def first_step_reaching(steps: list[int], means: list[float], threshold: float) -> int | None:
    return next((s for s, m in zip(steps, means) if not math.isnan(m) and m >= threshold), None)


def compare_runs(
    run_dirs: list[str | Path],
    out_png: str | Path,
    metric: str = "eval_return",
    threshold: float | None = None,
) -> list[dict]:
    """Plot mean +- standard error per group and return one summary row per group."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = group_runs(run_dirs)
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    table = []
    for label, runs in groups.items():
        rows = [read_metrics(run) for run in runs]
        steps, means, sems = group_curve(rows, metric)
        lo = [m - s for m, s in zip(means, sems)]
        hi = [m + s for m, s in zip(means, sems)]
        ax.plot(steps, means, label=f"{label} (n={len(runs)})")
        ax.fill_between(steps, lo, hi, alpha=0.25)
        _, returns, _ = group_curve(rows, "eval_return")
        _, success, _ = group_curve(rows, "eval_success")
        table.append(
            {
                "method": label,
                "runs": len(runs),
                "final_step": steps[-1] if steps else None,
                "final_return": returns[-1] if returns else math.nan,
                "final_success": success[-1] if success else math.nan,
                "steps_to_threshold": None
                if threshold is None
                else first_step_reaching(steps, means, threshold),
            }
        )
    base = [r for r in table if r["method"].split(" ")[0] == BASELINE_ALGO]
    base_steps = base[0]["steps_to_threshold"] if len(base) == 1 else None
    for row in table:
        mine = row["steps_to_threshold"]
        row["ratio_to_baseline"] = mine / base_steps if mine is not None and base_steps else None
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"{metric} (mean ± s.e.)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out_png = Path(out_png)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp)
    plt.close(fig)
    return table


def format_table(table: list[dict]) -> str:
    """The comparison table as aligned text."""

    def fmt(v, spec="{:.3g}"):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return spec.format(v)

    header = ["method", "runs", "final step", "final return", "final success", "steps to thr.",
              f"x {BASELINE_ALGO}"]  # fmt: skip
    rows = [
        [r["method"], str(r["runs"]), fmt(r["final_step"], "{}"), fmt(r["final_return"], "{:.2f}"),
         fmt(r["final_success"], "{:.2f}"), fmt(r["steps_to_threshold"], "{}"),
         fmt(r["ratio_to_baseline"], "{:.2f}")]
        for r in table
    ]  # fmt: skip
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header, *rows])
