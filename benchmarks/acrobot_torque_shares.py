"""Which torques a continuous-acrobot policy applies: the share of its actions that land in each
of the task's three bins (-1 below -0.5, 0 in [-0.5, 0.5], +1 above 0.5), acting greedily (as
evaluation does) and stochastically (as training does), at several of a run's snapshots.

A tanh-Gaussian policy that is unsure centres its mean near 0, which is the no-torque bin; this
shows whether that is why a run stays at -100.

    .venv/bin/python benchmarks/acrobot_torque_shares.py runs/acrobot-continuous-sac \
        --steps 2000 10000 20000 30000 --name acrobot_continuous_torque_shares [--episodes 5]

Episodes start from seeds 0.. and run the task's 100-step horizon; the stochastic policy's
samples come from torch seed 0 at each snapshot. Results go to benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from videorl.envs import make_env
from videorl.envs.acrobot import torque_index
from videorl.policies import load_policy
from videorl.rundir import RunDir

HERE = Path(__file__).parent


def torque_shares(policy, env, episodes: int) -> dict[str, float]:
    actions = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            action = policy(obs)
            actions.append(float(np.asarray(action).ravel()[0]))
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    counts = np.bincount([torque_index(a) for a in actions], minlength=3) / len(actions)
    return {"-1": float(counts[0]), "0": float(counts[1]), "+1": float(counts[2]),
            "mean_action": float(np.mean(actions))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, nargs="+", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--episodes", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    env = make_env(RunDir(args.run).read_config().run.env)
    results = {}
    for step in args.steps:
        results[step] = {}
        for mode in ("greedy", "stochastic"):
            torch.manual_seed(0)
            _, _, policy = load_policy(args.run, env, step, deterministic=mode == "greedy")
            results[step][mode] = torque_shares(policy, env, args.episodes)
        for mode, s in results[step].items():
            print(f"step {step:>6} {mode:>10}: torque -1 {s['-1']:.2f}, 0 {s['0']:.2f}, "
                  f"+1 {s['+1']:.2f} (mean action {s['mean_action']:+.2f})")  # fmt: skip
    out = HERE / "results" / f"{args.name}.json"
    command = (f"benchmarks/acrobot_torque_shares.py {args.run} --steps "
               f"{' '.join(map(str, args.steps))} --episodes {args.episodes}")  # fmt: skip
    out.write_text(json.dumps({"command": command, "run": args.run, "shares": results}, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
