"""Learning-curve plots from run folders' metrics.csv (matplotlib, no display needed)."""

from __future__ import annotations

import csv
import math
from pathlib import Path


def read_metrics(run_dir: str | Path) -> list[dict[str, float]]:
    """Rows of RUN_DIR/metrics.csv as floats (empty cells become NaN)."""
    with (Path(run_dir) / "metrics.csv").open() as fh:
        return [
            {k: float(v) if v else math.nan for k, v in row.items()} for row in csv.DictReader(fh)
        ]


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
