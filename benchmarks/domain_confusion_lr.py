"""Domain confusion at Table 5's discriminator learning rate (issue 12, deviation 9).

Question: RLV's discriminator (agents/rlv.py, Eq. 3-4) trains with its own Adam at
``disc_lr`` (RLV Table 5: 3e-8) and reaches the inverse model's encoder through a
gradient-reversal layer scaled by c3. An audit found that at lr 3e-8 the discriminator
barely moves. On human-domain pusher data, in short runs, this script measures the
discriminator's accuracy ``disc_acc`` (and ``disc_loss``) and the inverse model's label error
on the observation data ``obs_label_error`` (squared error of its predicted actions against
the dataset's ground-truth actions; with ``inverse_loss``, its training loss on robot data)
for disc_lr 3e-8 versus 1e-4, with c3 = 0 and c3 = 0.001.

c3 = 0 rows are PROBE runs. videorl builds no discriminator when c3 = 0 (and refuses
disc_lr then), so a c3 = 0 run has no disc_acc. The probe builds the run with c3 = 0.001 and
then sets the agent's c3 to 0.0 right after the Trainer builds it (``agent.rlv`` is replaced
by a copy with c3 = 0.0): the gradient-reversal layer then passes zero gradient to the
inverse model's encoder, so nothing confuses it, while the discriminator still trains on the
features at disc_lr. Its disc_acc is how separable the two domains' features are without
confusion. The run folder's config.yaml still says c3 = 0.001 (what the agent was built
with); PROBE.txt in the folder says it is a probe. All four settings run through this same
script path (library API: make_config -> Trainer -> run_training).

Data (once; 50 episodes; the Fig. 6 preset uses 200):

    videorl collect --env visual-pusher --domain human --policy expert --noise 0.1 \
        --episodes 50 --seed 0 --out data/visual-pusher-human-50

Runs (the paper's pixel configuration of configs/sweeps/rlv_fig6_human_pushing.yaml,
default network sizes, only the budget shortened). The c3 = 0.001 runs are what this CLI
command does (the script builds the same config through the library):

    videorl train --env visual-pusher --algo rlv --obs-data data/visual-pusher-human-50 \
        --steps 1200 --seed 0 --out runs/bench/dcl/<name>_seed0 --no-progress \
        --set encoder=paper augment=true c1=1 c2=1 c3=0.001 disc_lr=<lr> c_large=10 \
        c_small=0 threads=1 initial_steps=200 eval_every=200 eval_episodes=1 \
        batch_size=64 obs_batch_size=64

<lr> = 3e-8 or 1e-4; the probes are the same config, built with c3 = 0.001 and then set to
0.0 on the agent. This script:

    nice .venv/bin/python benchmarks/domain_confusion_lr.py all  # 4 runs, 2 at a time, nice
    .venv/bin/python benchmarks/domain_confusion_lr.py run --setting probe-lr3e-8  # one
    .venv/bin/python benchmarks/domain_confusion_lr.py report    # JSON + markdown table

Seeds: 0 (one seed per setting).

Budget (the defaults below): 1200 environment steps, of which the first 200 are random
(initial_steps=200 instead of 1000), one update per step from step 200 on, so 1001 gradient
updates; eval_every=200 with one evaluation episode, so metrics.csv has rows at 200 (the
first single update: the untrained discriminator) and 400, ..., 1200, each the mean of the
update metrics over the 200 updates since the previous row (train.py's accumulator).
batch_size = obs_batch_size = 64 instead of 256: on this 2-core CPU, shared with other
jobs, the paper's 256 + 256 ran 0.18 steps/s against 0.88 at 64 + 64 (smoke runs), and
1000 updates of four runs at 256 do not fit the ~50 min of wall time. Adam's step size is
about lr whatever the batch, so the batch does not decide whether the discriminator moves
at 3e-8; the smaller batch makes each update's disc_acc noisier (the rows average 200).

Results: benchmarks/results/domain_confusion_lr.json and domain_confusion_lr.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = "data/visual-pusher-human-50"
RUNS = ROOT / "runs" / "bench" / "dcl"
RESULTS = ROOT / "benchmarks" / "results"
DATA_COMMAND = (
    "videorl collect --env visual-pusher --domain human --policy expert --noise 0.1 "
    f"--episodes 50 --seed 0 --out {DATA}"
)

# name -> (probe, disc_lr). Every run is built with c3 = 0.001; probes set it to 0 after.
SETTINGS = {
    "probe-lr3e-8": (True, 3e-8),
    "probe-lr1e-4": (True, 1e-4),
    "c3-0.001-lr3e-8": (False, 3e-8),
    "c3-0.001-lr1e-4": (False, 1e-4),
}
C3 = 0.001
COLUMNS = ["disc_acc", "disc_loss", "obs_label_error", "inverse_loss"]


def config_values(args: argparse.Namespace, disc_lr: float) -> dict:
    """The `videorl train` flags and --set keys of the module doc, as make_config keys."""
    values = dict(
        env="visual-pusher", algo="rlv", obs_data=DATA, steps=args.steps, seed=args.seed,
        encoder="paper", augment=True, c1=1.0, c2=1.0, c3=C3, disc_lr=disc_lr,
        c_large=10.0, c_small=0.0, threads=1, initial_steps=args.initial_steps,
        eval_every=args.eval_every, eval_episodes=1,
    )  # fmt: skip
    if args.batch:
        values.update(batch_size=args.batch, obs_batch_size=args.batch)
    return values


def cli_command(args: argparse.Namespace, name: str, disc_lr: float) -> str:
    batch = f" batch_size={args.batch} obs_batch_size={args.batch}" if args.batch else ""
    return (
        f"videorl train --env visual-pusher --algo rlv --obs-data {DATA} --steps {args.steps} "
        f"--seed {args.seed} --out {run_dir(name, args.seed).relative_to(ROOT)} --no-progress "
        f"--set encoder=paper augment=true c1=1 c2=1 c3={C3} disc_lr={disc_lr:g} c_large=10 "
        f"c_small=0 threads=1 initial_steps={args.initial_steps} "
        f"eval_every={args.eval_every} eval_episodes=1{batch}"
    )


def run_dir(name: str, seed: int) -> Path:
    return RUNS / f"{name}_seed{seed}"


def run_setting(args: argparse.Namespace) -> None:
    """Train one setting; a probe gets c3 = 0 on its agent right after it is built."""
    os.chdir(ROOT)  # DATA is relative to the repository root, as in the CLI command
    import torch

    from videorl.agents.registry import make_config
    from videorl.train import Trainer

    probe, disc_lr = SETTINGS[args.setting]
    out = run_dir(args.setting, args.seed)
    shutil.rmtree(out, ignore_errors=True)
    cfg = make_config(config_values(args, disc_lr))
    t0 = time.time()
    trainer = Trainer(cfg, out)
    agent = trainer.agent
    assert agent.discriminator is not None and agent.rlv.c3 == C3
    if probe:
        # A copy, so the Trainer's config (config.yaml) keeps what the agent was built with.
        agent.rlv = dataclasses.replace(agent.rlv, c3=0.0)
    trainer.run_training(progress=False)
    wall = time.time() - t0
    note = {
        "setting": args.setting,
        "probe": probe,
        "c3_built": C3,
        "c3_effective": agent.rlv.c3,
        "disc_lr": disc_lr,
        "torch_threads": torch.get_num_threads(),
        "wall_seconds": round(wall, 1),
    }
    (out / "dcl_run.json").write_text(json.dumps(note, indent=1))
    if probe:
        (out / "PROBE.txt").write_text(
            "Probe run of benchmarks/domain_confusion_lr.py: built with c3=0.001 (config.yaml), "
            "then agent.rlv.c3 set to 0.0, so the gradient reversal passes zero gradient to the "
            "encoder while the discriminator trains at disc_lr.\n"
        )
    print(json.dumps(note))


def run_all(args: argparse.Namespace) -> None:
    """Every setting as its own `nice` process, at most ``--workers`` at a time."""
    names = list(SETTINGS)
    pending, running, t0 = list(names), [], time.time()
    base = [sys.executable, str(Path(__file__).resolve()), "run", "--seed", str(args.seed),
            "--steps", str(args.steps), "--initial-steps", str(args.initial_steps),
            "--eval-every", str(args.eval_every), "--batch", str(args.batch)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while pending or running:
        while pending and len(running) < args.workers:
            name = pending.pop(0)
            log = (RUNS / f"{name}_seed{args.seed}.log").open("w")
            cmd = ["nice", "-n", "10", *base, "--setting", name]
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=log, env=env)))
            print(f"[{time.time() - t0:7.0f}s] started {name}", flush=True)
        time.sleep(5)
        for name, proc in list(running):
            if proc.poll() is not None:
                running.remove((name, proc))
                print(f"[{time.time() - t0:7.0f}s] {name} exited {proc.returncode}", flush=True)
    print(f"all done in {time.time() - t0:.0f} s")


def _num(x: float) -> float | None:
    return None if x is None or math.isnan(x) else round(float(x), 6)


def zero_label_error() -> float:
    """obs_label_error of a model that labels every observation transition with action 0:
    the mean squared norm of the dataset's clipped ground-truth actions (a reference)."""
    import numpy as np

    files = sorted((ROOT / DATA / "groundtruth").glob("*.npz"))
    actions = np.concatenate([np.load(f)["actions"] for f in files])
    return float((np.clip(actions, -1.0, 1.0) ** 2).sum(-1).mean())


def all_wall_seconds() -> float | None:
    """Wall time of the last `all` (its log's last line), if there is one."""
    log = RUNS / "all.log"
    lines = log.read_text().split() if log.is_file() else []
    if len(lines) >= 2 and lines[-1] == "s":
        return float(lines[-2])
    return None


def report(args: argparse.Namespace) -> None:
    from videorl.rundir import read_metrics

    runs = []
    for name, (probe, disc_lr) in SETTINGS.items():
        out = run_dir(name, args.seed)
        if not (out / "dcl_run.json").is_file():
            print(f"skip {name}: no finished run at {out}")
            continue
        note = json.loads((out / "dcl_run.json").read_text())
        rows = [r for r in read_metrics(out) if not math.isnan(r.get("disc_acc", math.nan))]
        learn = [r for r in rows if r["step"] - args.eval_every >= args.initial_steps]
        runs.append({
            "setting": name,
            "probe": probe,
            "c3_built": C3,
            "c3_effective": note["c3_effective"],
            "disc_lr": disc_lr,
            "seed": args.seed,
            "run_dir": str(out.relative_to(ROOT)),
            "cli_equivalent": None if probe else cli_command(args, name, disc_lr),
            "wall_seconds": note["wall_seconds"],
            "steps_per_second_update_phase": _num(
                sum(r["steps_per_second"] for r in learn) / len(learn) if learn else math.nan
            ),
            "rows": [
                {"step": int(r["step"]), **{k: _num(r[k]) for k in COLUMNS},
                 "eval_return": _num(r["eval_return"]),
                 "steps_per_second": _num(r["steps_per_second"])}
                for r in rows
            ],  # fmt: skip
            "final": {k: _num(rows[-1][k]) for k in COLUMNS} if rows else None,
        })  # fmt: skip
    result = {
        "question": "issue 12 deviation 9: does RLV's discriminator learn at Table 5's disc_lr "
        "3e-8 vs 1e-4, and what does domain confusion (c3=0.001) do to disc_acc and to the "
        "inverse model's label error on human-domain observation data?",
        "script": "benchmarks/domain_confusion_lr.py",
        "data_command": DATA_COMMAND,
        "run_command_template": cli_command(args, "<name>", 0.0).replace(
            "disc_lr=0", "disc_lr=<lr>"
        ),
        "probe_note": "probe-* rows: built with c3=0.001, then agent.rlv.c3 = 0.0 (zero gradient "
        "from the discriminator to the encoder; the discriminator still trains at disc_lr)",
        "seeds": [args.seed],
        "budget": {
            "steps": args.steps,
            "initial_steps": args.initial_steps,
            "gradient_updates": args.steps - args.initial_steps + 1,
            "eval_every": args.eval_every,
            "eval_episodes": 1,
            "batch_size": args.batch or 256,
            "obs_batch_size": args.batch or 256,
        },
        "row_meaning": "each row: mean of the update metrics over the updates since the "
        "previous metrics.csv row (train.py): the first row (step = initial_steps) is the "
        "first update alone, the untrained discriminator; disc_acc is over the robot and "
        "observation features of s and s' of each batch",
        "wall_seconds_all_runs": all_wall_seconds(),
        "throughput_note": "smoke runs before the sweep, same CPU under heavier load: 0.18 "
        "steps/s at batch 256 + 256 against 0.88 at 64 + 64 (one thread each)",
        "reference_obs_label_error_of_zero_actions": round(zero_label_error(), 6),
        "machine": f"{platform.machine()} {os.cpu_count()} CPU cores, torch threads 1 per run, "
        "2 runs at a time under nice, CPU shared with other jobs; "
        f"python {platform.python_version()}",
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "domain_confusion_lr.json").write_text(json.dumps(result, indent=1) + "\n")
    print(markdown_table(runs))


def markdown_table(runs: list[dict]) -> str:
    lines = [
        "| setting | disc_lr | c3 (effective) | step | disc_acc | disc_loss | obs_label_error "
        "| inverse_loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        label = f"{run['setting']}{' (probe)' if run['probe'] else ''}"
        for r in run["rows"]:
            cells = [f"{r[k]:.4f}" if r[k] is not None else "n/a" for k in COLUMNS]
            lines.append(
                f"| {label} | {run['disc_lr']:g} | {run['c3_effective']:g} | {r['step']} | "
                + " | ".join(cells)
                + " |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["run", "all", "report"])
    ap.add_argument("--setting", choices=list(SETTINGS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--initial-steps", type=int, default=200)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64, help="batch_size = obs_batch_size; 0: 256")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.command == "run":
        if not args.setting:
            ap.error("run needs --setting")
        run_setting(args)
    elif args.command == "all":
        RUNS.mkdir(parents=True, exist_ok=True)
        run_all(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
