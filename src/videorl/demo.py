"""`videorl demo`: RLV against SAC on a built-in task, nothing downloaded.

1. Collect 50 action-free observation episodes of Acrobot from the scripted expert with
   10% random actions (only the states are used; actions and rewards are dropped).
2. Train SAC, then RLV with those observations, for 30k steps each (same seed).
3. Print the comparison table (steps until the eval return first reaches -80, and that as a
   fraction of SAC's) and save both learning curves in one PNG.

Random actions never reach Acrobot's goal in 100 steps, so SAC's curve stays at -100 until
its temperature has decayed (about 22k steps); RLV's observation rewards (Eq. 2) show it
where the goal is much earlier. About 10 minutes on a 2-core CPU.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from videorl.agents.registry import make_config
from videorl.atomic import make_folder
from videorl.collect import collect
from videorl.errors import UserError
from videorl.plot import ascii_curve, compare_runs, format_table
from videorl.rundir import read_metrics
from videorl.train import train

DEMO_STEPS = 30_000
THRESHOLD = -80.0


def run_demo(out: Path, steps: int | None = None, seed: int = 0) -> int:
    steps = DEMO_STEPS if steps is None else steps
    base = dict(env="acrobot", seed=seed, steps=steps, eval_every=2000, eval_episodes=10)
    make_config(algo="sac", **base)  # a bad --steps or --seed: refused before anything is written
    if out.exists():
        if not ((out / "demo.txt").is_file() or (out / "config.yaml").is_file()):
            raise UserError(f"{out} exists and is not a videorl demo folder; pass another --out")
        shutil.rmtree(out)  # a previous demo: start afresh
    make_folder(out, "--out")
    (out / "demo.txt").write_text("videorl demo output; `videorl demo` replaces this folder\n")

    data = out / "acrobot-observations"
    print(f"videorl demo -> {out}\n1/3 collecting 50 observation episodes of acrobot ...")
    collect("acrobot", "expert", 50, data, noise=0.1, seed=seed, progress=True,
            command="videorl demo")  # fmt: skip
    runs = {}
    for i, (name, extra) in enumerate([("sac", {}), ("rlv", {"obs_data": str(data)})], start=2):
        print(f"{i}/3 training {name.upper()} on acrobot for {steps} steps (seed {seed}) ...")
        runs[name] = train(make_config(algo=name, **base, **extra), out / name).path

    for name, run in runs.items():
        rows = read_metrics(run)
        print(f"\n{name.upper()}: mean eval return (10 deterministic episodes) every 2000 steps")
        print(ascii_curve([r["eval_return"] for r in rows], width=len(rows)))
    png = out / "learning_curves.png"
    table = compare_runs(list(runs.values()), png, "eval_return", THRESHOLD)
    print(f"\nsteps to an eval return of {THRESHOLD:g} (one seed; benchmarks/ has five):")
    print(format_table(table))
    print(f"\nlearning curves: {png}")
    print(f"run folders: {runs['sac']} {runs['rlv']} (TensorBoard: tensorboard --logdir {out})")
    return 0
