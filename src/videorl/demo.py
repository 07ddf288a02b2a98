"""`videorl demo`: the main job on a built-in task, nothing downloaded.

For now: SAC learns Acrobot (swing the tip above the line within 100 steps; -1 per step,
0 at the goal) for about four minutes on a 2-core CPU; prints the learning curve in the
terminal and saves it as a PNG next to the run. Random actions never reach the goal in 100
steps, so the curve stays at -100 until the temperature has decayed (about 22k steps) and
then climbs to about -80 by 30k (benchmarks/results/learning_acrobot_fp32.json). Later
issues turn this into the RLV demo.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from videorl.config import TrainConfig
from videorl.plot import ascii_curve, plot_learning_curve, read_metrics
from videorl.train import UserError, train

DEMO_STEPS = 30_000


def run_demo(out: Path, steps: int | None = None, seed: int = 0) -> int:
    steps = steps or DEMO_STEPS
    if out.exists():
        if not (out / "config.yaml").is_file():
            raise UserError(f"{out} exists and is not a videorl demo run; pass another --out")
        shutil.rmtree(out)  # a previous demo run: start afresh
    cfg = TrainConfig(
        env="acrobot", algo="sac", seed=seed, steps=steps, eval_every=2000, eval_episodes=10
    )
    print(f"videorl demo: SAC on acrobot for {steps} steps (seed {seed}) -> {out}")
    run = train(cfg, out)
    rows = read_metrics(run.path)
    print("\nmean eval return (10 deterministic episodes) every 2000 steps:")
    print(ascii_curve([r["eval_return"] for r in rows], width=len(rows)))
    png = plot_learning_curve(run.path, run.path / "learning_curve.png", "SAC on acrobot")
    first, last = rows[0], rows[-1]
    print(
        f"\neval return {first['eval_return']:.1f} at step 0 -> {last['eval_return']:.1f} "
        f"at step {int(last['step'])}; success {last['eval_success']:.2f}"
    )
    print(f"learning curve: {png}")
    print(f"run folder: {run.path} (TensorBoard: tensorboard --logdir {run.tb})")
    return 0
