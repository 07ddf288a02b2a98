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
import tempfile
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results" / "throughput.json"


def videorl_sps(env: str, warmup: int, steps: int, extra: dict) -> float:
    from videorl.config import TrainConfig
    from videorl.train import train

    cfg = TrainConfig(
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (about 3 minutes)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    s_warm, s_steps = (1000, 1000) if args.quick else (1000, 3000)
    p_warm, p_steps = (256, 30) if args.quick else (256, 100)
    precision = {"precision": args.precision}
    threads = torch.get_num_threads()

    res: dict = {"machine": machine(), "torch_threads_sb3": threads, "quick": args.quick}
    res["state"] = {
        "task": "state-pusher",
        "videorl": videorl_sps("state-pusher", s_warm, s_steps, precision),
        "sb3": sb3_sps("state-pusher", s_warm, s_steps, pixels=False),
        "learning_steps": s_steps,
    }
    torch.set_num_threads(threads)
    print(
        f"state-pusher  videorl {res['state']['videorl']:.1f} steps/s   "
        f"sb3 {res['state']['sb3']:.1f} steps/s"
    )
    px = {"task": "visual-pusher", "learning_steps": p_steps}
    px["videorl_fast"] = videorl_sps(
        "visual-pusher", p_warm, p_steps, {**precision, "encoder": "fast"}
    )
    px["sb3_shared"] = sb3_sps("visual-pusher", p_warm, p_steps, pixels=True, share=True)
    torch.set_num_threads(threads)
    px["videorl_paper"] = videorl_sps(
        "visual-pusher", p_warm, p_steps, {**precision, "encoder": "paper"}
    )
    px["sb3_separate"] = sb3_sps("visual-pusher", p_warm, p_steps, pixels=True, share=False)
    torch.set_num_threads(threads)
    res["pixel"] = px
    print(
        f"visual-pusher videorl fast {px['videorl_fast']:.2f}  sb3 shared {px['sb3_shared']:.2f}"
        f"  | videorl paper {px['videorl_paper']:.2f}  sb3 separate {px['sb3_separate']:.2f}"
        " steps/s"
    )
    res["state_ratio"] = res["state"]["videorl"] / res["state"]["sb3"]
    res["pixel_ratio"] = px["videorl_fast"] / px["sb3_shared"]
    res["pixel_ratio_paper_vs_separate"] = px["videorl_paper"] / px["sb3_separate"]
    res["precision"] = args.precision
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2) + "\n")
    print(f"paper-vs-separate pixel ratio {res['pixel_ratio_paper_vs_separate']:.2f}")
    print(f"state_ratio={res['state_ratio']:.2f} pixel_ratio={res['pixel_ratio']:.2f}")


if __name__ == "__main__":
    main()
