"""Short end-to-end run of each RLV baseline (BCO, ILPO, SAC+RND) on every preset it joins:
the preset's own config for that method (networks, batch sizes, bins, pre-training), with the
interaction budget cut to a few rounds, which shows that it runs end to end and measures its
time, from which the full budget's time follows.

    .venv/bin/python benchmarks/baseline_smoke.py [--rounds 2] [--learn-steps 50]

BCO runs its random phase and ``--rounds`` rounds of fitting; ILPO its whole pre-training and
``--rounds`` x 500 interaction steps; SAC+RND ``--learn-steps`` learning steps after one batch
of random steps. The presets' datasets must exist (each preset's header says how to make
them). Runs go to benchmarks/runs/smoke/; numbers to benchmarks/results/baseline_smoke.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from videorl.agents.registry import make_config
from videorl.rundir import read_metrics
from videorl.sweep import load_sweep
from videorl.train import train

HERE = Path(__file__).parent
PRESETS = [
    "rlv_fig3_acrobot_low",
    "rlv_fig3_acrobot_medium",
    "rlv_fig3_acrobot_high",
    "rlv_fig5a_state_pusher",
    "rlv_fig6_human_pushing",
    "rlv_fig7_human_drawer",
]
BASELINES = ("bco", "ilpo", "rnd")


def short_budget(cfg, rounds: int, learn_steps: int) -> dict:
    """Config keys that cut a baseline's interaction budget to a few rounds."""
    run, algo = cfg.run, cfg.run.algo
    if algo == "bco":
        steps = run.initial_steps + rounds * cfg.method.round_steps
        return dict(steps=steps, eval_every=steps)
    if algo == "ilpo":
        return dict(steps=rounds * 500, eval_every=rounds * 500)
    warm = run.batch_size
    return dict(steps=warm + learn_steps, initial_steps=warm, eval_every=warm)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--learn-steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    results = []
    for preset in PRESETS:
        _, _, configs = load_sweep(HERE.parent / "configs" / "sweeps" / f"{preset}.yaml")
        for method, cfg in configs.items():
            if cfg.run.algo not in BASELINES:
                continue
            keys = short_budget(cfg, args.rounds, args.learn_steps)
            smoke = make_config(cfg.to_dict(), eval_episodes=3, threads=args.threads, **keys)
            out = HERE / "runs" / "smoke" / preset / method
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.time()
            train(smoke, out, progress=False)
            wall = time.time() - t0
            rows = read_metrics(out)
            entry = {
                "preset": preset,
                "method": method,
                "env": cfg.run.env,
                "obs_data": cfg.videos.obs_data if cfg.videos else None,
                "smoke_config": keys,
                "wall_seconds": round(wall, 1),
                "full_budget_steps": cfg.run.steps,
                "full_budget_hours_here": round(wall * cfg.run.steps / smoke.run.steps / 3600, 2),
                "final_row": {k: rows[-1][k] for k in rows[-1] if k != "wall_time"},
            }
            results.append(entry)
            print(
                f"{preset:<26} {method:<8} {wall:7.1f} s for {smoke.run.steps} steps; eval "
                f"return {rows[-1]['eval_return']:.1f}; about {entry['full_budget_hours_here']} "
                f"h for the preset's {cfg.run.steps} steps"
            )
    path = HERE / "results" / "baseline_smoke.json"
    path.write_text(json.dumps({"command": "benchmarks/baseline_smoke.py", "args": vars(args),
                                "runs": results}, indent=1))  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
