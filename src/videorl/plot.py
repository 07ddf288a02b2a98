"""Learning-curve plots from run folders' metrics.csv (matplotlib, no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from videorl.agents.registry import BASELINE_ALGO
from videorl.atomic import atomic_path
from videorl.errors import UserError
from videorl.rundir import RunDir, flat_config, read_metrics


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
METRIC_WORDS = {"eval_return": "eval return", "eval_success": "eval success rate"}


def _sweep_method(run: Path) -> tuple[str, str] | None:
    """(sweep folder, method) of a run made by ``videorl sweep`` (OUT/METHOD/seedS)."""
    if run.name.startswith("seed") and run.name[4:].isdigit():
        return run.parent.parent.name, run.parent.name
    return None


def group_runs(run_dirs: list[str | Path]) -> dict[str, list[Path]]:
    """Group run folders by their config without the seed. Runs of a sweep are labelled by
    the sweep's method names; others by what differs among runs of the same method. Runs of
    different tasks are refused: they share no axis and no threshold."""
    configs: dict[Path, dict] = {}
    for run in map(Path, run_dirs):
        rd = RunDir(run)
        if not rd.config.is_file() or not rd.metrics.is_file():
            raise UserError(
                f"{run} is not a videorl run folder (needs config.yaml and metrics.csv)"
            )
        cfg = flat_config(rd.read_config_dict())
        configs[run] = {k: v for k, v in cfg.items() if k not in IGNORED_KEYS}
    tasks = sorted({str(c.get("env")) for c in configs.values()})
    if len(tasks) > 1:
        raise UserError(
            f"the runs are of different tasks ({', '.join(tasks)}); plot each task's runs "
            "separately, they share no axis or threshold"
        )
    swept = {run: _sweep_method(run) for run in configs}
    if all(swept.values()):
        several = len({s[0] for s in swept.values()}) > 1  # type: ignore[index]
        groups: dict[str, list[Path]] = {}
        for run, (sweep_name, method) in swept.items():  # type: ignore[misc]
            groups.setdefault(f"{sweep_name}/{method}" if several else method, []).append(run)
        return groups
    keys = sorted({k for c in configs.values() for k in c})
    groups = {}
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
    steps, per_step = _per_step(runs, metric)
    means, sems = [], []
    for values in per_step:
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


def _per_step(runs, metric: str) -> tuple[list[int], list[list[float]]]:
    per_run = []
    for run in runs:
        rows = run if isinstance(run, list) else read_metrics(run)
        per_run.append({int(r["step"]): r[metric] for r in rows})
    steps = sorted(set.intersection(*(set(d) for d in per_run)))
    return steps, [[d[s] for d in per_run if not math.isnan(d[s])] for s in steps]


def iqm_ci(values: list[float], seed: int = 0) -> tuple[float, float, float]:
    """Interquartile mean over seeds (the mean of the middle 50%, Agarwal et al. 2021) with a
    95% percentile-bootstrap interval (scipy); NaN interval for fewer than 2 seeds."""
    from scipy import stats

    if not values:
        return math.nan, math.nan, math.nan
    iqm = float(stats.trim_mean(values, 0.25))
    if len(values) < 2:
        return iqm, math.nan, math.nan
    res = stats.bootstrap((values,), lambda x, axis: stats.trim_mean(x, 0.25, axis=axis),
                          n_resamples=2000, method="percentile", random_state=seed)  # fmt: skip
    return iqm, float(res.confidence_interval.low), float(res.confidence_interval.high)


def seed_steps_iqm(first_steps: list[int | None], budget: int) -> dict:
    """IQM [95% bootstrap CI] over seeds of the steps each seed first took to reach a threshold.

    A seed that never reached it counts as ``budget``, so with any such seed the numbers are
    lower bounds (``reached`` < ``seeds``)."""
    steps = [budget if s is None else s for s in first_steps]
    iqm, lo, hi = iqm_ci([float(s) for s in steps])
    reached = sum(s is not None for s in first_steps)
    return {"seeds": len(steps), "reached": reached, "iqm": iqm, "ci": [lo, hi]}


def first_step_reaching(steps: list[int], means: list[float], threshold: float) -> int | None:
    return next((s for s, m in zip(steps, means) if not math.isnan(m) and m >= threshold), None)


def _first_of_run(rows: list[dict[str, float]], metric: str, threshold: float,
                  steps: list[int]) -> int | None:  # fmt: skip
    """One run's first step at or above ``threshold``, among the group's common ``steps``."""
    own = {int(r["step"]): r[metric] for r in rows}
    return first_step_reaching(steps, [own[s] for s in steps], threshold)


PALETTE = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown",
           "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]  # fmt: skip


def method_colour(label: str) -> str:
    """The same colour for a method in every figure (a stable hash of its label)."""
    import zlib

    return PALETTE[zlib.crc32(label.encode()) % len(PALETTE)]


def figure_colours(labels: list[str]) -> dict[str, str]:
    """Each method's colour in one figure: its own (``method_colour``) unless a method before it
    took that colour, then the next free one, so that up to 10 methods never share a colour."""
    taken: dict[str, str] = {}
    for label in labels:
        start = PALETTE.index(method_colour(label))
        free = [PALETTE[(start + k) % len(PALETTE)] for k in range(len(PALETTE))]
        free = [c for c in free if c not in taken.values()] or [PALETTE[start]]
        taken[label] = free[0]
    return taken


def compare_runs(
    run_dirs: list[str | Path],
    out_png: str | Path,
    metric: str = "eval_return",
    threshold: float | list[float] | None = None,
    per_seed: bool = False,
) -> list[dict]:
    """Plot mean +- standard error per group and return one summary row per group: final
    mean and IQM with its bootstrap interval across seeds, the first step the group's mean
    reaches each threshold (``reach``, ``ratios`` to the baseline method's), and the IQM over
    seeds of each seed's first step there (``seed_reach``, ``seed_ratios``). ``per_seed``
    also draws each run's own curve, thin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    thresholds = [] if threshold is None else list(np.atleast_1d(threshold).astype(float))
    groups = group_runs(run_dirs)
    task = flat_config(RunDir(next(iter(groups.values()))[0]).read_config_dict()).get("env")
    fig, ax = plt.subplots(figsize=(7.6, 4.0), dpi=110)
    table = []
    colours = figure_colours(list(groups))
    for label, runs in groups.items():
        rows = [read_metrics(run) for run in runs]
        steps, means, sems = group_curve(rows, metric)
        colour = colours[label]
        ax.plot(steps, means, color=colour, label=f"{label} (n={len(runs)})")
        ax.fill_between(steps, [m - e for m, e in zip(means, sems)],
                        [m + e for m, e in zip(means, sems)], color=colour, alpha=0.2)  # fmt: skip
        for own in rows if per_seed else []:
            ax.plot([int(r["step"]) for r in own], [r[metric] for r in own], color=colour,
                    lw=0.6, alpha=0.45)  # fmt: skip
        _, returns, _ = group_curve(rows, "eval_return")
        _, success, _ = group_curve(rows, "eval_success")
        _, finals = _per_step(rows, metric)
        reach = {t: first_step_reaching(steps, means, t) for t in thresholds}
        seed_reach = {t: seed_steps_iqm([_first_of_run(r, metric, t, steps) for r in rows],
                                        steps[-1] if steps else 0) for t in thresholds}  # fmt: skip
        table.append({
            "method": label, "runs": len(runs), "final_step": steps[-1] if steps else None,
            "final_return": returns[-1] if returns else math.nan,
            "final_success": success[-1] if success else math.nan,
            "final_iqm": iqm_ci(finals[-1] if finals else []),
            "reach": reach, "steps_to_threshold": reach[thresholds[0]] if thresholds else None,
            "seed_reach": seed_reach,
        })  # fmt: skip
    base = [r for r in table if r["method"].split(" ")[0] == BASELINE_ALGO]
    for row in table:
        row["ratios"], row["seed_ratios"] = {}, {}
        for t in thresholds:
            mine, theirs = row["reach"][t], base[0]["reach"][t] if len(base) == 1 else None
            row["ratios"][t] = mine / theirs if mine is not None and theirs else None
            theirs = base[0]["seed_reach"][t]["iqm"] if len(base) == 1 else None
            row["seed_ratios"][t] = row["seed_reach"][t]["iqm"] / theirs if theirs else None
        row["ratio_to_baseline"] = row["ratios"][thresholds[0]] if thresholds else None
    for t in thresholds:
        ax.axhline(t, color="k", ls=":", lw=0.8)
    n = sorted({len(runs) for runs in groups.values()})
    words = METRIC_WORDS.get(metric, metric)
    ax.set_title(f"{task}: {words}")
    ax.set_xlabel("environment steps")
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
    ax.set_ylabel(f"{words}, mean ± s.e. over {seeds} seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    with atomic_path(Path(out_png)) as tmp:
        fig.savefig(tmp, bbox_inches="tight")
    plt.close(fig)
    return table


def format_table(table: list[dict]) -> str:
    """The comparison table as aligned text: final values and the steps at which each
    method's mean curve reached each threshold; then, per threshold, the interquartile mean
    over seeds of each seed's own first step there, with its bootstrap interval."""

    def fmt(v, spec="{:.3g}"):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return spec.format(v)

    thresholds = list(table[0]["reach"]) if table else []
    header = ["method", "runs", "final step", "final return", "final IQM [95% CI]",
              "final success"]  # fmt: skip
    for t in thresholds:
        header += [f"steps to {t:g} (mean)", f"x {BASELINE_ALGO}"]
    rows = []
    for r in table:
        iqm, lo, hi = r["final_iqm"]
        ci = fmt(iqm, "{:.2f}") + (f" [{lo:.2f}, {hi:.2f}]" if not math.isnan(lo) else "")
        row = [r["method"], str(r["runs"]), fmt(r["final_step"], "{}"),
               fmt(r["final_return"], "{:.2f}"), ci, fmt(r["final_success"], "{:.2f}")]  # fmt: skip
        for t in thresholds:
            row += [fmt(r["reach"][t], "{}"), fmt(r["ratios"][t], "{:.2f}")]
        rows.append(row)
    text = _aligned([header, *rows])
    if not thresholds or all(r["runs"] == 1 for r in table):  # one seed: the same steps again
        return text
    header = ["method"]
    for t in thresholds:
        header += [f"seeds' steps to {t:g}: IQM [95% CI]", f"x {BASELINE_ALGO}"]
    rows = []
    for r in table:
        row = [r["method"]]
        for t in thresholds:
            s = r["seed_reach"][t]
            ci = "" if math.isnan(s["ci"][0]) else " [{:.0f}, {:.0f}]".format(*s["ci"])
            at_least = ">= " if s["reached"] < s["seeds"] else ""
            row += [f"{at_least}{s['iqm']:.0f}{ci} ({s['reached']}/{s['seeds']} reached)",
                    fmt(r["seed_ratios"][t], "{:.2f}")]  # fmt: skip
        rows.append(row)
    note = ("Each seed's first step at the threshold; a seed that never reached it counts as "
            "the last step, so '>=' marks a lower bound.")  # fmt: skip
    return f"{text}\n\n{_aligned([header, *rows])}\n{note}"


def _aligned(lines: list[list[str]]) -> str:
    widths = [max(len(x[i]) for x in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in lines)
