"""Which torques a continuous-acrobot policy applies: the share of its actions that land in each
of the task's three bins (-1 below -0.5, 0 in [-0.5, 0.5], +1 above 0.5), acting greedily (as
evaluation does) and stochastically (as training does), at several of a run's snapshots.

A tanh-Gaussian policy that is unsure centres its mean near 0, which is the no-torque bin; this
shows whether that is why a run stays at -100.

    .venv/bin/python benchmarks/acrobot_torque_shares.py runs/acrobot-continuous-sac \
        --steps 2000 10000 20000 30000 --name acrobot_continuous_torque_shares [--episodes 5]

Episodes start from seeds 0.. and run the task's 100-step horizon; results go to
benchmarks/results/NAME.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from videorl import checkpoint
from videorl.agents.registry import make_method
from videorl.envs import make_env
from videorl.rollout import spaces_from_env
from videorl.rundir import RunDir

HERE = Path(__file__).parent


def torque_shares(agent, env, episodes: int, deterministic: bool) -> dict[str, float]:
    actions = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=episode)
        done = False
        while not done:
            action = agent.act(obs, deterministic=deterministic)
            actions.append(float(np.asarray(action).ravel()[0]))
            obs, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
    a = np.asarray(actions)
    return {"-1": float((a < -0.5).mean()), "0": float((np.abs(a) <= 0.5).mean()),
            "+1": float((a > 0.5).mean()), "mean_action": float(a.mean())}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--steps", type=int, nargs="+", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--episodes", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    run = RunDir(args.run)
    cfg = run.read_config()
    env = make_env(cfg.run.env)
    agent = make_method(spaces_from_env(env), cfg, torch.device("cpu"))
    snaps = dict(run.snapshots())
    results = {}
    for step in args.steps:
        agent.load_state_dict(checkpoint.load(snaps[step])["nets"])
        results[step] = {mode: torque_shares(agent, env, args.episodes, mode == "greedy")
                         for mode in ("greedy", "stochastic")}  # fmt: skip
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
