"""Where an SAC update spends its time: operator breakdown of the state update (batch 256,
MLP [256, 256]) and the pixel update (Table 4 conv, heads [512, 256, 256]) on this machine.

    .venv/bin/python benchmarks/profile_update.py [--threads 1] [--precision fp32|bf16]
Writes benchmarks/results/profile_update_<precision>.txt.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.sac import SAC
from videorl.config import SACConfig
from videorl.replay import Batch


def batch(pixels: bool) -> Batch:
    if pixels:
        obs = torch.randint(0, 256, (256, 3, 48, 48), dtype=torch.uint8)
    else:
        obs = torch.randn(256, 5)
    return Batch(obs, torch.rand(256, 2) * 2 - 1, torch.zeros(256), obs.clone(), torch.zeros(256))


def matmul_flops_state() -> float:
    """Multiply-add FLOPs of one state update's matrix products (hidden layers dominate)."""
    b, h = 256, 256
    q_fwd = 2 * 2 * b * (7 * h + h * h + h)  # twin critics, one forward
    pi_fwd = 2 * b * (5 * h + h * h + h * 4)
    # target: pi(s') + Q_targ; critic: Q fwd + bwd (input and weight grads, 2x fwd);
    # actor: pi fwd + bwd (2x), Q fwd + input-grad bwd (1x)
    return pi_fwd + q_fwd + 3 * q_fwd + 3 * pi_fwd + 2 * q_fwd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    lines = [f"torch {torch.__version__}, {args.threads} thread(s), precision {args.precision}"]
    for name, pixels, encoder, n in [
        ("state", False, "fast", 50),
        ("pixel fast", True, "fast", 3),
        ("pixel paper", True, "paper", 3),
    ]:
        spaces = Spaces((48, 48, 3) if pixels else (5,), pixels, 2, False)
        cfg = SACConfig(encoder=encoder, precision=args.precision)
        agent = SAC(spaces, cfg, torch.device("cpu"))
        b = UpdateInputs(robot=batch(pixels))
        for _ in range(3):
            agent.update(b)
        start = time.perf_counter()
        for _ in range(n):
            agent.update(b)
        ms = (time.perf_counter() - start) / n * 1e3
        lines.append(f"\n== {name} update: {ms:.1f} ms ==")
        if name == "state":
            gflops = matmul_flops_state() / (ms * 1e-3) / 1e9
            lines.append(
                f"matrix products: {matmul_flops_state() / 1e6:.0f} MFLOP per update "
                f"-> {gflops:.0f} GFLOP/s over the whole update"
            )
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(n):
                agent.update(b)
        lines.append(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    text = "\n".join(lines)
    print(text)
    out = Path(__file__).parent / "results" / f"profile_update_{args.precision}.txt"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
