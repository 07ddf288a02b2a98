"""Diagnosis of the State Pusher result: on the expert videos, the RLV and SAC critics of one
seed at one step's snapshot: Q(s, a_expert) and Q(s, pi(s)) along the video, and how well the
policy agrees with the expert (cosine of the actions). With ``--episodes N``, also the mean
return of the deterministic (evaluation) and the sampled (training) policy on N new episodes,
and the policy's std (before the tanh) on all the videos' states (not only the first 10) and on
its sampled episodes' states, and its entropy (mean -log pi) on both against the temperature's
target: SAC's temperature holds the entropy averaged over a batch, which for RLV is half video
rows. Where the run's ``latest.pt`` is at ``--step`` (a run finished on this machine, or one
stopped there: its policy is read from it when no snapshot exists), also the entropy on its
replay states.

    .venv/bin/python benchmarks/rlv_q_along_videos.py --step 40000 \
        > benchmarks/results/rlv_fig5a_q_along_videos.txt
    for seed in 0 1 2 3 4; do .venv/bin/python benchmarks/rlv_q_along_videos.py --step 200000 \
        --seed $seed --episodes 30; done > benchmarks/results/rlv_fig5a_q_along_videos_200k.txt
    # the label controls:
    .venv/bin/python benchmarks/rlv_q_along_videos.py --step 200000 --seed 0 --episodes 30 \
        --methods sac rlv rlv-idle-cut rlv-gt-rewards rlv-idle-reward rlv-first-reward \
        rlv-gt-recorded > benchmarks/results/rlv_fig5a_controls_q_along_videos_200k.txt
"""

import argparse
from functools import partial

import numpy as np
import torch

from videorl import checkpoint
from videorl.agents import make_method
from videorl.data.dataset import VideoDataset
from videorl.nets import LOG_STD_MAX, LOG_STD_MIN
from videorl.rollout import evaluate, make_env, spaces_from_env
from videorl.rundir import RunDir

ap = argparse.ArgumentParser()
ap.add_argument("--step", type=int, default=40000)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--episodes", type=int, default=0)
ap.add_argument("--methods", nargs="+", default=["rlv", "sac"], help="the sweep's method folders")
args = ap.parse_args()


def recording(policy, seen: list, obs: np.ndarray):
    seen.append(np.asarray(obs, dtype=np.float32))
    return policy(obs)


@torch.no_grad()
def policy_std(ag, obs: torch.Tensor) -> float:
    """Median over states and action dimensions of the policy's std before the tanh."""
    _, log_std = ag.actor.net(ag.actor_features(obs)).chunk(2, dim=-1)
    return float(log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp().median())


@torch.no_grad()
def policy_entropy(ag, obs: torch.Tensor, draws: int = 64) -> float:
    """Mean of -log pi(a|s) over states and ``draws`` sampled actions a state: the entropy
    (after the tanh) that SAC's temperature compares with its target (SAC Eq. 18)."""
    h = ag.actor_features(obs)
    return float(-torch.stack([ag.actor(h)[1] for _ in range(draws)]).mean())


def latest_at(run: RunDir, step: int) -> dict | None:
    """The run's latest.pt when it is at ``step`` (a run finished or stopped here), else None."""
    if not run.latest.is_file():
        return None
    state = checkpoint.load(run.latest)
    return state if state["loop"]["step"] == step else None


def replay_states(latest: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """(20,000 uniform draws, the newest 20,000) of the replay transitions' first states."""
    buf = latest["buffer"]
    obs = buf["obs"][buf["obs_slot"]]
    keep = torch.randperm(len(obs), generator=torch.Generator().manual_seed(0))[:20000]
    return obs[keep], obs[-20000:]


print(f"seed {args.seed}, snapshot at step {args.step}, Q and cos on the first 10 expert videos")
torch.set_num_threads(1)
for algo in args.methods:
    run = RunDir(f"runs/sweeps/rlv_fig5a_state_pusher/{algo}/seed{args.seed}")
    cfg = run.read_config()
    env = make_env("state-pusher")
    ag = make_method(spaces_from_env(env), cfg, torch.device("cpu"))
    latest = latest_at(run, args.step)
    snapshot = run.snapshot(args.step)  # a finished run's; a run under way has only latest.pt
    nets = checkpoint.load(snapshot)["nets"] if snapshot.is_file() else latest["agent"]["nets"]
    ag.load_state_dict(nets)
    ds = VideoDataset("data/state-pusher-expert")
    cos, qs = [], []
    for i in range(10):
        o = torch.tensor(ds[i])
        a = torch.tensor(ds.groundtruth(i)["actions"])
        with torch.no_grad():
            pi, _ = ag.actor(o[:-1], deterministic=True)
            c = torch.nn.functional.cosine_similarity(pi, a, dim=-1)
            q_exp = ag.q(torch.cat([o[:-1], a], -1)).min(0).values
            q_pi = ag.q(torch.cat([o[:-1], pi], -1)).min(0).values
        cos.append(c.numpy())
        qs.append((q_exp.numpy(), q_pi.numpy()))
    cos = np.concatenate(cos)
    qe = np.stack([q[0] for q in qs]).mean(0)
    qp = np.stack([q[1] for q in qs]).mean(0)
    print(algo, f"cos(pi, expert) on expert states: mean {cos.mean():.2f}")
    print(
        algo,
        "Q(s,a_expert) at t=0,25,50,75,99:",
        np.round(qe[[0, 25, 50, 75, 99]], 2),
        " Q(s,pi(s)):",
        np.round(qp[[0, 25, 50, 75, 99]], 2),
    )
    if args.episodes:
        words, seen = [], []
        for mode, det in [("deterministic", True), ("sampled", False)]:
            policy = partial(ag.act, deterministic=det)
            if not det:
                policy = partial(recording, policy, seen)
            torch.manual_seed(0)  # the sampled policy's noise, so that a re-run gives the same
            words.append(f"{mode} {evaluate(env, policy, args.episodes, 123)[0]:.1f}")
        print(algo, f"mean return over {args.episodes} new episodes:", ", ".join(words))
        video_states = torch.tensor(np.concatenate([ds[i][:-1] for i in range(len(ds))]))
        own_states = torch.tensor(np.array(seen), dtype=torch.float32)
        print(algo, f"policy std (before the tanh), median: on all the videos' states "
              f"{policy_std(ag, video_states):.2f}, on its sampled episodes' "
              f"{policy_std(ag, own_states):.2f}; alpha {ag.alpha.item():.3f}")  # fmt: skip
        print(algo, f"policy entropy (mean -log pi): on all the videos' states "
              f"{policy_entropy(ag, video_states):.2f}, on its sampled episodes' "
              f"{policy_entropy(ag, own_states):.2f}; target {ag.target_entropy:.1f}")  # fmt: skip
        if latest is not None:  # a run finished or stopped here still has its replay buffer
            uniform, newest = (policy_entropy(ag, states) for states in replay_states(latest))
            print(algo, f"policy entropy on 20,000 of its replay states {uniform:.2f}, "
                  f"on the newest 20,000 {newest:.2f}")  # fmt: skip
