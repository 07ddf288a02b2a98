"""Learning sanity for the SAC core, and fp32 against bf16:
  gym:Pendulum-v1  mean eval return above -200 within 20k steps;
  acrobot          eval return improving from about -100 to -80 or better within 30k steps.

    .venv/bin/python benchmarks/learning.py --precision fp32 --seeds 0 1 2 3 4 [--workers 2]
    .venv/bin/python benchmarks/learning.py --precision bf16 --seeds 0 1 2 3 4
    .venv/bin/python benchmarks/learning.py --compare --seeds 0 1 2 3 4
Runs go to benchmarks/runs/ (not committed; a finished run is kept and not run again);
curves and numbers to benchmarks/results/. --compare puts both precisions' runs side by
side: IQM of the final returns with bootstrap intervals, and steps to several thresholds.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
SUITES = {
    "pendulum": dict(env="gym:Pendulum-v1", steps=20_000, eval_every=2_000, target=-200.0),
    "acrobot": dict(env="acrobot", steps=30_000, eval_every=2_000, target=-80.0),
}


def run_one(suite: str, seed: int, precision: str) -> str:
    from videorl.agents.registry import make_config
    from videorl.train import train

    s = SUITES[suite]
    out = HERE / "runs" / f"{suite}_{precision}_seed{seed}"
    if (out / "wall_seconds.txt").exists():  # finished: keep it
        return str(out)
    if out.exists():  # an interrupted run starts over, so that its wall time is whole
        import shutil

        shutil.rmtree(out)
    cfg = make_config(
        env=s["env"], steps=s["steps"], seed=seed, eval_every=s["eval_every"],
        eval_episodes=10, threads=1, precision=precision,
    )  # fmt: skip
    t0 = time.time()
    train(cfg, out, progress=False)
    (out / "wall_seconds.txt").write_text(f"{time.time() - t0:.1f}\n")
    return str(out)


def summarise(suite: str, precision: str, seeds: list[int]) -> dict:
    from videorl.rundir import read_metrics

    curves = {}
    for seed in seeds:
        run = HERE / "runs" / f"{suite}_{precision}_seed{seed}"
        rows = read_metrics(run)
        curves[seed] = {
            "step": [int(r["step"]) for r in rows],
            "eval_return": [r["eval_return"] for r in rows],
            "wall_seconds": float((run / "wall_seconds.txt").read_text()),
        }
    steps = curves[seeds[0]]["step"]
    mean = [sum(curves[s]["eval_return"][i] for s in seeds) / len(seeds) for i in range(len(steps))]
    target = SUITES[suite]["target"]
    first_hit = next((st for st, m in zip(steps, mean) if m >= target), None)
    return {
        "env": SUITES[suite]["env"],
        "precision": precision,
        "seeds": seeds,
        "target": target,
        "mean_curve": {"step": steps, "eval_return": mean},
        "initial_mean_return": mean[0],
        "final_mean_return": mean[-1],
        "best_mean_return": max(mean),
        "first_step_mean_reaches_target": first_hit,
        "met": first_hit is not None,
        "per_seed_final": {s: curves[s]["eval_return"][-1] for s in seeds},
        "per_seed_wall_seconds": {s: curves[s]["wall_seconds"] for s in seeds},
        "curves": curves,
    }


def plot(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    for seed, c in summary["curves"].items():
        ax.plot(c["step"], c["eval_return"], alpha=0.35, label=f"seed {seed}")
    mc = summary["mean_curve"]
    ax.plot(mc["step"], mc["eval_return"], color="k", lw=2, label="mean")
    ax.axhline(summary["target"], color="r", ls="--", label=f"target {summary['target']:g}")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("eval return (10 episodes)")
    ax.set_title(f"SAC on {summary['env']} ({summary['precision']})")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


THRESHOLDS = {"pendulum": [-600.0, -400.0, -200.0], "acrobot": [-95.0, -90.0, -85.0, -80.0]}


def compare_precisions(suite: str, seeds: list[int]) -> None:
    """fp32 against bf16 on one suite, from the finished runs of both."""
    from videorl.plot import compare_runs, format_table

    runs = [HERE / "runs" / f"{suite}_{p}_seed{s}" for p in ("fp32", "bf16") for s in seeds]
    name = f"learning_{suite}_precision"
    table = compare_runs(runs, HERE / "results" / f"{name}.png", "eval_return", THRESHOLDS[suite])
    walls = {
        p: [float((HERE / "runs" / f"{suite}_{p}_seed{s}" / "wall_seconds.txt").read_text())
            for s in seeds]
        for p in ("fp32", "bf16")
    }  # fmt: skip
    out = {
        "command": "benchmarks/learning.py --compare --seeds " + " ".join(map(str, seeds)),
        "env": SUITES[suite]["env"], "seeds": seeds, "table": table, "wall_seconds": walls,
    }  # fmt: skip
    (HERE / "results" / f"{name}.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    print(f"{SUITES[suite]['env']}: fp32 against bf16, seeds {seeds}")
    print(format_table(table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=list(SUITES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", action="store_true", help="compare both precisions' runs")
    args = parser.parse_args()
    if args.compare:
        for suite in args.suites:
            compare_precisions(suite, args.seeds)
        return
    jobs = [(suite, seed) for suite in args.suites for seed in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        for out in pool.map(run_one, *zip(*jobs), [args.precision] * len(jobs)):
            print("finished", out, flush=True)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    for suite in args.suites:
        summary = summarise(suite, args.precision, args.seeds)
        name = f"learning_{suite}_{args.precision}"
        (results / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
        plot(summary, results / f"{name}.png")
        hit = summary["first_step_mean_reaches_target"]
        print(
            f"{summary['env']} ({args.precision}, seeds {args.seeds}): mean eval return "
            f"{summary['initial_mean_return']:.1f} at step 0 -> {summary['final_mean_return']:.1f}"
            f" at the end (best {summary['best_mean_return']:.1f}); target {summary['target']:g}"
            f" {'first met at step ' + str(hit) if hit else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
