"""Training throughput: videorl SAC vs Stable-Baselines3 SAC, in one process.

Same network sizes, batch 256, one gradient step per environment step, the same task:
  (a) state-pusher from states: MLP [256, 256] for actor and critics;
  (b) visual-pusher from pixels: the RLV Table 4 conv extractor ([16, 16, 32], 5x5, 2x2
      max-pool) with heads [512, 256, 256] in both libraries. Pairings by layout:
      videorl `fast` (one extractor shared by the critics, detached for the actor) vs SB3
      share_features_extractor=True (the same sharing), and videorl `paper` (one extractor
      per network) vs SB3's default (actor and critic each their own extractor).
Steps/s are measured only over the learning phase (after the random warm-up, with one
update per step), excluding evaluation. The last line is ``state_ratio=X pixel_ratio=Y``
(videorl / SB3; pixel_ratio pairs the closest layouts: fast vs shared).

    .venv/bin/python benchmarks/throughput.py [--quick] [--precision bf16]
Needs the bench extra: `make bench` (installs stable-baselines3).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results" / "throughput.json"


def videorl_sps(env: str, warmup: int, steps: int, extra: dict) -> float:
    from videorl.agents.registry import make_config
    from videorl.train import train

    cfg = make_config(
        env=env,
        steps=warmup + steps,
        initial_steps=warmup,
        eval_every=warmup,
        eval_episodes=1,
        eval_at_start=False,
        batch_size=256,
        **extra,
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = train(cfg, Path(tmp) / "run", progress=False)
        with run.metrics.open() as fh:
            rows = [r for r in csv.DictReader(fh) if int(r["step"]) > warmup]
    # rows after the warm-up cover only learning steps; weight by steps in each interval
    total_steps, total_time, prev = 0, 0.0, warmup
    for r in rows:
        n = int(r["step"]) - prev
        total_steps += n
        total_time += n / float(r["steps_per_second"])
        prev = int(r["step"])
    return total_steps / total_time


def sb3_sps(env_name: str, warmup: int, steps: int, pixels: bool, share: bool = False) -> float:
    from stable_baselines3 import SAC
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
    from torch import nn

    from videorl.envs import make_env

    class Table4Conv(BaseFeaturesExtractor):
        """The RLV Table 4 extractor, so both libraries run the same network."""

        def __init__(self, observation_space, features_dim: int = 1152):
            super().__init__(observation_space, features_dim)
            c = observation_space.shape[0]
            layers: list[nn.Module] = []
            for out in (16, 16, 32):
                layers += [nn.Conv2d(c, out, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2)]
                c = out
            self.net = nn.Sequential(*layers, nn.Flatten())

        def forward(self, obs):
            return self.net(obs)

    env = make_env(env_name)
    if pixels:
        policy, kwargs = (
            "CnnPolicy",
            dict(
                features_extractor_class=Table4Conv,
                net_arch=[512, 256, 256],
                share_features_extractor=share,
                normalize_images=True,
            ),
        )
    else:
        policy, kwargs = "MlpPolicy", dict(net_arch=[256, 256])
    model = SAC(
        policy,
        env,
        learning_rate=3e-4,
        buffer_size=warmup + steps + 10,
        learning_starts=warmup,
        batch_size=256,
        train_freq=1,
        gradient_steps=1,
        policy_kwargs=kwargs,
        device="cpu",
        seed=0,
        verbose=0,
    )
    model.learn(total_timesteps=warmup + 1)
    start = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def measure_state(warm: int, steps: int, precision: dict, repeats: int, threads: int) -> dict:
    """Single timings vary by ~25% on a shared 2-core machine: interleave the libraries and
    report the median of the repeats."""
    ours, theirs = [], []
    for _ in range(repeats):
        ours.append(videorl_sps("state-pusher", warm, steps, precision))
        torch.set_num_threads(threads)
        theirs.append(sb3_sps("state-pusher", warm, steps, pixels=False))
    return {
        "task": "state-pusher",
        "videorl": statistics.median(ours),
        "sb3": statistics.median(theirs),
        "videorl_repeats": ours,
        "sb3_repeats": theirs,
        "learning_steps": steps,
    }


def measure_pixels(warm: int, steps: int, precision: dict, threads: int) -> dict:
    px: dict = {"task": "visual-pusher", "learning_steps": steps}
    px["videorl_fast"] = videorl_sps("visual-pusher", warm, steps, {**precision, "encoder": "fast"})
    px["sb3_shared"] = sb3_sps("visual-pusher", warm, steps, pixels=True, share=True)
    torch.set_num_threads(threads)
    px["videorl_paper"] = videorl_sps(
        "visual-pusher", warm, steps, {**precision, "encoder": "paper"}
    )
    px["sb3_separate"] = sb3_sps("visual-pusher", warm, steps, pixels=True, share=False)
    torch.set_num_threads(threads)
    return px


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (about 3 minutes)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=3, help="state runs per library (median)")
    parser.add_argument(
        "--only", choices=["state", "pixel"], help="re-measure one part, keep the other from --out"
    )
    parser.add_argument("--out", default=None, help="default results/throughput[_bf16].json")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.precision == "fp32" else f"_{args.precision}"
        args.out = str(RESULTS.with_name(f"throughput{suffix}.json"))
    s_warm, s_steps = (1000, 1000) if args.quick else (1000, 2000)
    p_warm, p_steps = (256, 30) if args.quick else (256, 100)
    precision = {"precision": args.precision}
    threads = torch.get_num_threads()

    res: dict = {}
    if args.only and Path(args.out).is_file():
        res = json.loads(Path(args.out).read_text())
    res |= {"machine": machine(), "torch_threads_sb3": threads, "precision": args.precision}
    if args.only != "pixel":
        res["state"] = measure_state(s_warm, s_steps, precision, args.repeats, threads)
        res["quick"] = args.quick
    if args.only != "state":
        res["pixel"] = measure_pixels(p_warm, p_steps, precision, threads)
    st, px = res["state"], res["pixel"]
    print(f"state-pusher  videorl {st['videorl']:.1f} steps/s   sb3 {st['sb3']:.1f} steps/s")
    print(
        f"visual-pusher videorl fast {px['videorl_fast']:.2f}  sb3 shared {px['sb3_shared']:.2f}"
        f"  | videorl paper {px['videorl_paper']:.2f}  sb3 separate {px['sb3_separate']:.2f}"
        " steps/s"
    )
    res["state_ratio"] = st["videorl"] / st["sb3"]
    res["pixel_ratio"] = px["videorl_fast"] / px["sb3_shared"]
    res["pixel_ratio_paper_vs_separate"] = px["videorl_paper"] / px["sb3_separate"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"paper-vs-separate pixel ratio {res['pixel_ratio_paper_vs_separate']:.2f}")
    print(f"state_ratio={res['state_ratio']:.2f} pixel_ratio={res['pixel_ratio']:.2f}")


if __name__ == "__main__":
    main()
