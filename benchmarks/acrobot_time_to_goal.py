"""How many steps each run's final greedy policy needs to swing the acrobot up, without RLV's
100-step horizon: a policy that swings up in 150 steps scores -100 on RLV's Acrobot, exactly as
one that never does, while on gymnasium's Acrobot-v1 (500 steps, where ILPO and BCO were
tuned) it scores about -150. This tells the two apart.

    .venv/bin/python benchmarks/acrobot_time_to_goal.py runs/sweeps/rlv_fig3_acrobot_medium \
        --name acrobot_time_to_goal_medium [--episodes 20] [--cap 500]

Each run's latest checkpoint acts greedily from the start states of seeds 1000.. under the
task's own dynamics (AcrobotEnv._simulate); results go to benchmarks/results/NAME.json.
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


def observation(state: np.ndarray) -> np.ndarray:
    """Acrobot-v1's observation of a (theta1, theta2, dtheta1, dtheta2) state."""
    t1, t2, d1, d2 = state
    return np.array([np.cos(t1), np.sin(t1), np.cos(t2), np.sin(t2), d1, d2], np.float32)


def steps_to_goal(path: Path, episodes: int, cap: int) -> list[int | None]:
    run = RunDir(path)
    cfg = run.read_config()
    env = make_env(cfg.run.env)
    task = env.unwrapped
    agent = make_method(spaces_from_env(env), cfg, torch.device("cpu"))
    snaps = dict(run.snapshots())
    agent.load_state_dict(checkpoint.load(snaps[max(snaps)])["nets"])
    out = []
    for episode in range(episodes):
        env.reset(seed=1000 + episode)
        state, reached = task.state.copy(), None
        for t in range(cap):
            state = task._simulate(state, int(agent.act(observation(state), deterministic=True)))
            if -np.cos(state[0]) - np.cos(state[0] + state[1]) > 1.0:  # the task's goal
                reached = t + 1
                break
        out.append(reached)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sweep_dir")
    ap.add_argument("--name", required=True)
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--cap", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = {}
    for run in sorted(Path(args.sweep_dir).glob("*/seed*")):
        if not (run / "checkpoints" / "latest.pt").is_file():
            continue
        steps = steps_to_goal(run, args.episodes, args.cap)
        done = [s for s in steps if s is not None]
        results[f"{run.parent.name}/{run.name}"] = {
            "steps_to_goal": steps,
            "reached": len(done),
            "median_steps": float(np.median(done)) if done else None,
            "within_100": sum(s <= 100 for s in done),
        }
        r = results[f"{run.parent.name}/{run.name}"]
        print(f"{run.parent.name:>6}/{run.name}: reached {r['reached']}/{args.episodes}, median "
              f"{r['median_steps']} steps, {r['within_100']} within 100")  # fmt: skip
    path = HERE / "results" / f"{args.name}.json"
    path.write_text(json.dumps({"command": f"benchmarks/acrobot_time_to_goal.py {args.sweep_dir} "
                                f"--episodes {args.episodes} --cap {args.cap}",
                                "runs": results}, indent=1))  # fmt: skip
    print(f"results: {path}")


if __name__ == "__main__":
    main()
