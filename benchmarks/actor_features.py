"""Audit "deviation 8": does reusing the critics' pre-step features in the actor loss change
the actor's update?

``SAC.update`` computes the critic loss, steps the critic optimiser, then evaluates the
policy loss (SAC Eq. 7) with the *updated* Q heads applied to ``hq.detach()``: features that
the Q functions' conv extractors computed *before* the critic step (as DrQ-v2 does).
Stable-Baselines3 instead recomputes the Q values after the critic step, i.e. with fresh
features from the updated extractors. On states the features are the observation itself, so
both are the same; on pixels they differ. In the ``paper`` layout each Q has its own
extractor and the actor its own (untouched by the critic step), so only the Q features are
stale; in the ``fast`` layout the actor reads the shared critic extractor's detached
features, so its *input* is stale too.

What this script does, per layout (``paper``, ``fast``; default sizes, fp32, batch 256):
SAC is trained on ``visual-pusher`` (48x48 pixels) by videorl's own loop (``Trainer``) for
``--steps`` environment steps (the first ``initial_steps`` = 1000 random, then one update per
step). At every ``--probe-every`` steps from the first update on, just before the loop's
update, the batch that update is about to use is taken and, on a deep copy of the agent:

1. the critic step is done exactly as ``SAC.update`` does (same RNG stream: augmentation,
   target action sampling);
2. the actor loss and its gradient over all actor parameters are computed with the same
   policy noise (a) from the pre-step ``hq`` (what the code does), (b) from ``hq``
   recomputed by ``critic_features(obs)`` after the step (SB3; in ``fast`` this also
   recomputes the actor's input), and (c), for scale, entirely before the critic step
   (pre-step Q heads and features: the whole effect of the critic step on the actor's
   gradient is ||g_b - g_c||); each gradient is also split into its entropy term
   (alpha * log pi) and its Q term (-Q(h, a~pi)), the only part the Q features act on:
   early in training the Q term is a small share of the gradient, later it dominates;
3. for a minibatch-noise reference, the (b) gradient on a second, independent replay batch.

The RNG state is restored afterwards, so the training run itself is exactly a plain
``videorl train`` run; as a check of exactness, the loop's own update must report the same
actor loss as (a) and leave the same actor gradient in ``.grad``, and recomputing the
features *before* the step must give ``hq`` bit for bit (column ``exact``). A state task
(``state-pusher``, 1200 steps, 3 points) is probed the same way as a sanity check: there
(a) == (b) exactly.

Timing (``--timing-only`` runs only this part and merges it into the json): median over
``--reps`` interleaved repetitions, after warm-up, of one full ``update`` of ``SAC`` (reuse)
against ``RecomputeSAC`` (recompute ``critic_features`` without gradient after the critic
step), per layout, on a random uint8 batch of 256 48x48 images. The json records the load
average and whether the machine was declared idle (``--idle-machine``).

Command (seed 0, 1700 steps = 1000 random + 701 updates per layout, probes every 100 steps
= 8 points per layout, steps 1000..1700; about 16 minutes on 2 busy cores)::

    nice .venv/bin/python benchmarks/actor_features.py
    nice .venv/bin/python benchmarks/actor_features.py --timing-only --idle-machine  # later

Output: benchmarks/results/actor_features.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.registry import make_config
from videorl.agents.sac import SAC
from videorl.config import SACConfig
from videorl.replay import Batch
from videorl.train import Trainer

HERE = Path(__file__).parent
OUT = HERE / "results" / "actor_features.json"


class RecomputeSAC(SAC):
    """SAC whose actor step recomputes the critic features after the critic step (SB3)."""

    def actor_alpha_step(self, obs, hq, scale=1.0):
        with torch.no_grad(), self.autocast():
            hq = self.critic_features(obs)
        return super().actor_alpha_step(obs, hq, scale)


def flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors]).double()


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a, b) / (a.norm() * b.norm()))


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b||."""
    return float((a - b).norm() / b.norm())


def actor_grad(ag: SAC, obs: torch.Tensor, hq: torch.Tensor, rng: torch.Tensor):
    """(actor loss, alpha loss, flattened actor gradient, its Q-term part), policy noise
    from ``rng``. The Q term is what the features act on: the gradient of -Q(h, a~pi); the
    rest is the entropy term alpha * log pi (continuous actions)."""
    torch.set_rng_state(rng)
    with ag.autocast():
        actor_loss, alpha_loss, _ = ag.actor_alpha_loss(obs, hq)
    grads = flat(torch.autograd.grad(actor_loss, ag._actor_params))
    torch.set_rng_state(rng)  # the same draw as inside actor_alpha_loss
    with ag.autocast():
        _, log_prob = ag.actor(ag.actor_features(obs, hq if ag.shared_encoder else None))
        entropy_term = (ag.alpha * log_prob).mean()
    entropy_grads = flat(torch.autograd.grad(entropy_term, ag._actor_params))
    return float(actor_loss.detach()), float(alpha_loss.detach()), grads, grads - entropy_grads


def probe(agent: SAC, batch: Batch, batch2: Batch) -> dict:
    """The measurement on a copy of ``agent``; leaves agent and torch RNG as they were."""
    rng0 = torch.get_rng_state()
    ag = copy.deepcopy(agent)
    assert all(p is not q for p, q in zip(ag.parameters(), agent.parameters()))
    assert all(p is q for p, q in zip(ag._actor_params, ag.actor_opt.param_groups[0]["params"])), (
        "the copy's optimiser must hold the copy's parameters"
    )
    # The critic step, exactly as SAC.update does it.
    obs, next_obs = ag.augment(batch.obs, batch.next_obs)
    action = batch.action.to(ag.device)
    reward = batch.reward.to(ag.device)
    terminated = batch.terminated.to(ag.device)
    with ag.autocast():
        target = ag.td_target(next_obs, reward, terminated)
        critic_loss, hq, _ = ag.critic_loss(obs, action, target)
    q_pre = copy.deepcopy(ag.q)
    with torch.no_grad(), ag.autocast():
        same = float((ag.critic_features(obs) - hq).abs().max())  # recompute pre-step: 0
    ag.critic_opt.zero_grad(set_to_none=True)
    critic_loss.backward()
    ag.critic_opt.step()
    rng_actor = torch.get_rng_state()  # where SAC.update's actor loss draws its noise
    hq_before = hq.detach()
    with torch.no_grad(), ag.autocast():
        hq_after = ag.critic_features(obs)

    loss_a, alpha_a, g_a, gq_a = actor_grad(ag, obs, hq_before, rng_actor)  # reuse (videorl)
    loss_b, alpha_b, g_b, gq_b = actor_grad(ag, obs, hq_after, rng_actor)  # recompute (SB3)
    q_post, ag.q = ag.q, q_pre
    loss_c, _, g_c, gq_c = actor_grad(ag, obs, hq_before, rng_actor)  # before the critic step
    ag.q = q_post

    # Minibatch-noise reference: the recompute gradient on an independent batch.
    obs2, _ = ag.augment(batch2.obs, batch2.next_obs)
    with torch.no_grad(), ag.autocast():
        hq2 = ag.critic_features(obs2)
    _, _, g_b2, gq_b2 = actor_grad(ag, obs2, hq2, torch.get_rng_state())

    torch.set_rng_state(rng0)
    d_ab = float((g_b - g_a).norm())
    d_bc = float((g_b - g_c).norm())
    return {
        "actor_loss_reuse": loss_a,
        "actor_loss_recompute": loss_b,
        "actor_loss_before_critic_step": loss_c,
        "actor_loss_rel_diff": abs(loss_b - loss_a) / abs(loss_a),
        "alpha_loss_rel_diff": abs(alpha_b - alpha_a) / max(abs(alpha_a), 1e-12),
        "alpha": float(ag.alpha),
        "grad_cosine": cosine(g_a, g_b),
        "grad_rel_diff": d_ab / float(g_b.norm()),
        "q_grad_cosine": cosine(gq_a, gq_b),
        "q_grad_rel_diff": rel(gq_a, gq_b),
        "q_grad_share": float(gq_b.norm() / g_b.norm()),
        "feature_rel_change": rel(hq_after, hq_before),
        "feature_recompute_before_step_max_abs_diff": same,
        "grad_norm_reuse": float(g_a.norm()),
        "grad_norm_recompute": float(g_b.norm()),
        "ref_critic_step_grad_rel_change": d_bc / float(g_b.norm()),
        "ref_critic_step_grad_cosine": cosine(g_c, g_b),
        "ref_critic_step_q_grad_cosine": cosine(gq_c, gq_b),
        "missed_fraction_of_critic_step_effect": d_ab / d_bc if d_bc > 0 else 0.0,
        "ref_other_batch_grad_cosine": cosine(g_b2, g_b),
        "ref_other_batch_q_grad_cosine": cosine(gq_b2, gq_b),
        "_grad_reuse": g_a,
    }


def train_and_probe(env: str, encoder: str | None, steps: int, every: int, seed: int) -> dict:
    """Train by videorl's loop; probe before the updates at the chosen steps."""
    keys = dict(env=env, algo="sac", seed=seed, steps=steps, eval_every=steps,
                eval_episodes=1, eval_at_start=False, threads=1)  # fmt: skip
    if encoder is not None:
        keys["encoder"] = encoder
    cfg = make_config(**keys)
    points: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, Path(tmp) / "run")
        agent = trainer.agent
        real_update = agent.update
        ref_rng = np.random.default_rng([seed, 99])  # own stream: the loop's is untouched

        def update(inputs: UpdateInputs):
            step = trainer.state.step
            if (step - cfg.run.initial_steps) % every != 0 and step != steps:
                return real_update(inputs)
            t0 = time.perf_counter()
            p = probe(agent, inputs.robot, trainer.buffer.sample(cfg.run.batch_size, ref_rng))
            metrics = real_update(inputs)
            g_loop = flat([q.grad for q in agent._actor_params])
            g_a = p.pop("_grad_reuse")
            p["exact_loss_match"] = float(metrics["actor_loss"]) == p["actor_loss_reuse"]
            p["exact_grad_max_abs_diff"] = float((g_loop - g_a).abs().max())
            p.update(step=step, probe_seconds=time.perf_counter() - t0)
            points.append(p)
            print(f"  {env} {encoder or 'state'} step {step}: cos {p['grad_cosine']:.6f} "
                  f"rel {p['grad_rel_diff']:.3e} feat {p['feature_rel_change']:.3e}",
                  flush=True)  # fmt: skip
            return metrics

        agent.update = update
        t0 = time.perf_counter()
        trainer.run_training(progress=False)
        seconds = time.perf_counter() - t0
    return {"config": cfg.to_dict(), "train_seconds": seconds, "points": points}


def timing(reps: int, seed: int, idle: bool) -> dict:
    """Median seconds of one full update, reuse (SAC) vs recompute (RecomputeSAC)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # as the training loop does
    load_before = os.getloadavg()
    spaces = Spaces((48, 48, 3), True, 2, False)  # visual-pusher
    gen = torch.Generator().manual_seed(seed)
    obs = torch.randint(0, 256, (256, 3, 48, 48), dtype=torch.uint8, generator=gen)
    nxt = torch.randint(0, 256, (256, 3, 48, 48), dtype=torch.uint8, generator=gen)
    act = torch.rand(256, 2, generator=gen) * 2 - 1
    rew = torch.rand(256, generator=gen)
    inputs = UpdateInputs(robot=Batch(obs, act, rew, nxt, torch.zeros(256)))
    out: dict = {}
    for encoder in ("paper", "fast"):
        cfg = SACConfig(encoder=encoder)
        torch.manual_seed(seed)
        agents = {"reuse": SAC(spaces, cfg, torch.device("cpu"))}
        torch.manual_seed(seed)
        agents["recompute"] = RecomputeSAC(spaces, cfg, torch.device("cpu"))
        times: dict[str, list[float]] = {k: [] for k in agents}
        for _ in range(3):  # warm-up
            for agent in agents.values():
                agent.update(inputs)
        for _ in range(reps):  # interleaved, so load drifts hit both alike
            for name, agent in agents.items():
                t0 = time.perf_counter()
                agent.update(inputs)
                times[name].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in times.items()}
        out[encoder] = {
            "reuse_median_s": med["reuse"],
            "recompute_median_s": med["recompute"],
            "recompute_overhead": med["recompute"] / med["reuse"] - 1.0,
            "reuse_all_s": times["reuse"],
            "recompute_all_s": times["recompute"],
        }
        print(f"  timing {encoder}: reuse {med['reuse'] * 1e3:.0f} ms, recompute "
              f"{med['recompute'] * 1e3:.0f} ms (+{out[encoder]['recompute_overhead']:.1%})",
              flush=True)  # fmt: skip
    out.update(
        machine_idle=idle,
        machine_note=(
            "declared idle (--idle-machine)"
            if idle
            else "NOT idle: other jobs were running on the cores; medians are indicative only"
        ),
        load_average_before=load_before,
        load_average_after=os.getloadavg(),
        reps=reps,
        batch="random uint8 256x3x48x48, batch_size 256, fp32, 1 torch thread",
        when=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return out


SUMMARY_KEYS = [
    "actor_loss_rel_diff",
    "grad_cosine",
    "grad_rel_diff",
    "q_grad_cosine",
    "q_grad_rel_diff",
    "q_grad_share",
    "feature_rel_change",
    "missed_fraction_of_critic_step_effect",
    "ref_critic_step_grad_cosine",
    "ref_critic_step_q_grad_cosine",
    "ref_other_batch_grad_cosine",
    "ref_other_batch_q_grad_cosine",
]


def exact(p: dict) -> bool:
    return (
        p["exact_loss_match"]
        and p["exact_grad_max_abs_diff"] == 0.0
        and p["feature_recompute_before_step_max_abs_diff"] == 0.0
    )


def summarise(points: list[dict]) -> dict:
    out: dict = {}
    for key in SUMMARY_KEYS:
        values = [p[key] for p in points]
        out[key] = {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}
    out["all_exact"] = all(exact(p) for p in points)
    return out


COLUMNS = [  # (header, key, format)
    ("step", "step", "{:>5}"),
    ("alpha", "alpha", "{:>6.3f}"),
    ("loss_a", "actor_loss_reuse", "{:>8.3f}"),
    ("loss rel", "actor_loss_rel_diff", "{:>8.1e}"),
    ("g cos", "grad_cosine", "{:>8.5f}"),
    ("g rel", "grad_rel_diff", "{:>8.1e}"),
    ("gQ cos", "q_grad_cosine", "{:>8.5f}"),
    ("gQ rel", "q_grad_rel_diff", "{:>8.1e}"),
    ("gQ shr", "q_grad_share", "{:>6.3f}"),
    ("feat rel", "feature_rel_change", "{:>8.1e}"),
    ("missed", "missed_fraction_of_critic_step_effect", "{:>6.3f}"),
    ("gQ cos c", "ref_critic_step_q_grad_cosine", "{:>8.5f}"),
    ("gQ cos 2", "ref_other_batch_q_grad_cosine", "{:>8.4f}"),
]


def table(name: str, points: list[dict]) -> str:
    widths = [len(fmt.format(points[0][key])) for _, key, fmt in COLUMNS]
    head = " ".join(h.rjust(w) for (h, _, _), w in zip(COLUMNS, widths)) + " exact"
    lines = [f"== {name} ==", head]
    for p in points:
        cells = [fmt.format(p[key]) for _, key, fmt in COLUMNS]
        lines.append(" ".join(cells) + f" {'yes' if exact(p) else 'NO':>5}")
    return "\n".join(lines)


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1700, help="env steps per pixel run")
    parser.add_argument("--probe-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--state-steps", type=int, default=1200)
    parser.add_argument("--reps", type=int, default=30, help="timing repetitions")
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="only time reuse vs recompute; merge into the existing json",
    )
    parser.add_argument(
        "--idle-machine",
        action="store_true",
        help="declare that nothing else runs on the machine (recorded)",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()  # fmt: skip
    torch.set_num_threads(1)
    command = "nice .venv/bin/python benchmarks/actor_features.py " + " ".join(sys.argv[1:])

    if args.timing_only:
        result = json.loads(args.out.read_text()) if args.out.is_file() else {}
        result["timing"] = timing(args.reps, args.seed, args.idle_machine)
        result["timing_command"] = command.strip()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.out}")
        return

    result: dict = {
        "question": (
            "Deviation 8: SAC.update evaluates the actor loss with the updated Q heads on "
            "critic features computed before the critic step (reuse, as DrQ-v2); SB3 "
            "recomputes them after the step. How different is the actor's update?"
        ),
        "command": command.strip(),
        "seed": args.seed,
        "task": "visual-pusher (48x48x3 pixels), default SAC config, fp32, batch 256",
        "budget": f"{args.steps} env steps per layout (first 1000 random), probe every "
        f"{args.probe_every} steps from the first update",
        "machine": machine(),
        "columns": {
            "actor_loss_rel_diff": "|L_recompute - L_reuse| / |L_reuse| (same policy noise)",
            "grad_cosine": "cos(g_reuse, g_recompute), all actor parameters flattened",
            "grad_rel_diff": "||g_reuse - g_recompute|| / ||g_recompute||",
            "q_grad_*": "the same for the Q term of the actor gradient, grad of -Q(h, a~pi) "
            "(the actor gradient minus the entropy term's, alpha * log pi)",
            "q_grad_share": "||Q-term gradient|| / ||actor gradient|| (recompute)",
            "feature_rel_change": "||hq_after - hq_before|| / ||hq_before|| across the step",
            "missed_fraction_of_critic_step_effect": "||g_reuse - g_recompute|| / "
            "||g_before_critic_step - g_recompute||: share of the critic step's effect on the "
            "actor gradient that reuse misses",
            "ref_critic_step_grad_cosine": "cos(g_before_critic_step, g_recompute)",
            "ref_critic_step_q_grad_cosine": "the same for the Q term",
            "ref_other_batch_grad_cosine": "cos(g_recompute on an independent batch, "
            "g_recompute): minibatch noise reference (q_: for the Q term)",
            "exact_*": "the loop's own update gave the same actor loss and .grad as 'reuse'",
            "feature_recompute_before_step_max_abs_diff": "critic_features(obs) recomputed "
            "before the step vs the hq of critic_loss (must be 0: the difference is the step)",
        },
        "layouts": {},
    }
    tables = []
    print("sanity: state-pusher", flush=True)
    run = train_and_probe("state-pusher", None, args.state_steps, args.probe_every, args.seed)
    result["sanity_state"] = {**run, "summary": summarise(run["points"])}
    tables.append(table("state-pusher (sanity: must be identical)", run["points"]))
    for encoder in ("paper", "fast"):
        print(f"visual-pusher, encoder {encoder}", flush=True)
        run = train_and_probe("visual-pusher", encoder, args.steps, args.probe_every, args.seed)
        result["layouts"][encoder] = run
        tables.append(table(f"visual-pusher, encoder {encoder}", run["points"]))
    result["summary"] = {k: summarise(v["points"]) for k, v in result["layouts"].items()}
    result["summary"]["state_sanity"] = summarise(result["sanity_state"]["points"])
    print("timing (machine not idle unless --idle-machine)", flush=True)
    result["timing"] = timing(args.reps, args.seed, args.idle_machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print("\n\n".join(tables))
    for name, s in result["summary"].items():
        print(f"{name}: " + ", ".join(f"{k} mean {v['mean']:.3g}" for k, v in s.items()
                                        if isinstance(v, dict)))  # fmt: skip
    t = result["timing"]
    for enc in ("paper", "fast"):
        print(f"timing {enc}: reuse {t[enc]['reuse_median_s'] * 1e3:.0f} ms, recompute "
              f"{t[enc]['recompute_median_s'] * 1e3:.0f} ms ({t['machine_note']})")  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
