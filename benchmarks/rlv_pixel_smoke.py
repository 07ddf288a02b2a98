"""Smoke run of every RLV pixel preset (Fig. 5b, 5c, 6, 7, 8): each method of each preset
trains a few learning steps with the preset's full networks and batch sizes, which shows
that it runs end to end and measures its speed, from which the full budget's time follows.

    .venv/bin/python benchmarks/rlv_pixel_smoke.py [--learn-steps 50] [--episodes 100]

Missing datasets are made first with the command each preset's header names (scripted
expert, noise 0.1). Runs go to benchmarks/runs/smoke/; numbers to
benchmarks/results/rlv_pixel_smoke.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from videorl.agents.registry import make_config
from videorl.collect import collect
from videorl.config_text import load_yaml
from videorl.rundir import read_metrics
from videorl.sweep import load_sweep
from videorl.train import train

HERE = Path(__file__).parent
PRESETS = [
    "rlv_fig5b_visual_door",
    "rlv_fig5c_visual_pusher",
    "rlv_fig6_human_pushing",
    "rlv_fig7_human_drawer",
    "rlv_fig8_ablations",
]


def ensure_data(path: str, env: str, episodes: int) -> float:
    """Collect a preset's dataset when missing; returns the seconds it took (0 if present)."""
    if Path(path).exists():
        return 0.0
    domain = "human" if path.endswith("-human") else "robot"
    t0 = time.time()
    command = f"benchmarks/rlv_pixel_smoke.py (episodes {episodes}, domain {domain})"
    collect(env, "expert", episodes, path, noise=0.1, domain=domain, seed=0, progress=False,
            command=command)  # fmt: skip
    return time.time() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--learn-steps", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    results = []
    for preset in PRESETS:
        path = HERE.parent / "configs" / "sweeps" / f"{preset}.yaml"
        raw = load_yaml(path)
        collect_s = {}
        for overrides in raw["methods"].values():
            spec = {**raw["base"], **(overrides or {})}
            if spec.get("obs_data") and spec["obs_data"] not in collect_s:
                collect_s[spec["obs_data"]] = ensure_data(
                    spec["obs_data"], spec["env"], args.episodes
                )
        _, _, configs = load_sweep(path)
        for method, cfg in configs.items():
            warm = cfg.run.batch_size  # random steps until the buffer holds one batch
            smoke = make_config(cfg.to_dict(), **dict(
                steps=warm + args.learn_steps, initial_steps=warm, eval_every=warm,
                eval_episodes=1, threads=args.threads,
            ))  # fmt: skip
            obs_data = cfg.videos.obs_data if cfg.videos else None
            out = HERE / "runs" / "smoke" / preset / method
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.time()
            train(smoke, out, progress=False)
            rows = read_metrics(out)
            learn_sps = rows[-1]["steps_per_second"]  # the row after the learning steps only
            entry = {
                "preset": preset,
                "method": method,
                "env": cfg.run.env,
                "obs_data": obs_data,
                "learning_steps": args.learn_steps,
                "learning_steps_per_second": round(learn_sps, 3),
                "wall_seconds": round(time.time() - t0, 1),
                "collect_seconds": round(collect_s.get(obs_data, 0.0), 1),
                "full_budget_steps": cfg.run.steps,
                "full_budget_hours_here": round(cfg.run.steps / learn_sps / 3600, 1),
                "final_row": {k: rows[-1][k] for k in rows[-1] if k != "wall_time"},
            }
            results.append(entry)
            print(
                f"{preset:<26} {method:<24} {learn_sps:6.2f} learning steps/s -> "
                f"{entry['full_budget_hours_here']} h for {cfg.run.steps} steps on this machine"
            )
    path = HERE / "results" / "rlv_pixel_smoke.json"
    path.write_text(json.dumps({"command": "benchmarks/rlv_pixel_smoke.py", "args": vars(args),
                                "runs": results}, indent=1))  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
