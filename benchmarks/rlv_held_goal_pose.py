"""Why RLV's deterministic policy trails its sampled one on the State Pusher: where its hand goes
once the puck is at the goal, and how its critic values the expert's held-goal pose.

Three measurements per seed (one snapshot; RLV and SAC of the same seeds where both exist):
1. The critic with the puck placed at the goal and the hand at x = -0.03 and y from 0.45 (the
   near edge of the hand's range) to 0.71, 0.05 from the puck as in the expert's held-goal frames
   (there the expert's hand is 0.04-0.07 from the puck): min over the twin critics of
   Q(s, pi(s)), and the y of the deterministic action (+ moves toward the puck).
2. N deterministic episodes, each classed by where it ends: puck within the goal radius (0.03 L1),
   hand "stalled" against the puck short of the goal (hand within 0.07 of the puck, hand still for
   the last 30 steps), or hand "retracted" (more than 0.15 from the puck) with the puck left short.
   Where the run's latest.pt holds its replay buffer: how many replay states (hand and puck xy)
   lie within 0.02 of the episodes' end states, in the goal and stalled.
3. At the states where RLV's episodes stalled: each policy's deterministic action size and noise
   (std before the tanh), the slope of its critic in the action there, and its temperature.
4. There too, the actor's own objective (SAC Eq. 7, negated): J(m) = E_eps[min Q(s, tanh(m + std
   eps)) - alpha log pi], 1024 noise draws a state, with the mean m moved by t (before the tanh)
   along the critic's slope at the deterministic action: J(t) - J(0) for each t, and the size of
   dJ/dm at t = 0. A flat J at t = 0 while Q itself has slope means the policy's noise averages the
   slope away (its optimum given its std); a J that still rises means the actor was not trained
   to its optimum at these states. And the range (max - min) of the critic over a 9 x 9 grid of
   actions covering [-1, 1]^2, and where its best action points (cosine to the hand -> puck and the
   puck -> goal directions; pushing the puck home is + on both).

    for seed in 0 1 2 3 4; do .venv/bin/python benchmarks/rlv_held_goal_pose.py --seed $seed \
        --episodes 30; done > benchmarks/results/rlv_fig5a_held_goal_pose_200k.txt
    .venv/bin/python benchmarks/rlv_held_goal_pose.py --seed 0 --episodes 30 \
        --methods rlv-idle-cut rlv sac   # another method's stalled states, compared with RLV's
    # (rlv_fig5a_controls_held_goal_pose_200k.txt: this for rlv-idle-cut, rlv-gt-rewards and
    # rlv-idle-reward as the first method, appended one after another)
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from videorl import checkpoint
from videorl.agents import make_method
from videorl.envs.pusher import PusherEnv
from videorl.nets import LOG_STD_MAX, LOG_STD_MIN, tanh_gaussian
from videorl.rollout import EVAL_SEED_OFFSET, episode_seed, make_env, spaces_from_env
from videorl.rundir import RunDir

HAND_Y = [0.45, 0.5, 0.55, 0.6, 0.65, 0.68, 0.71]
HAND_Z = 0.046  # the hand's height in the observations (its mocap target is 0.05)

ap = argparse.ArgumentParser()
ap.add_argument("--sweep", default="runs/sweeps/rlv_fig5a_state_pusher")
ap.add_argument("--step", type=int, default=200000)
ap.add_argument("--seed", type=int, default=3)
ap.add_argument("--episodes", type=int, default=10)
ap.add_argument(
    "--methods",
    nargs="+",
    default=["rlv", "sac"],
    help="the sweep's method folders; the first one's stalled episodes are studied",
)
args = ap.parse_args()
torch.set_num_threads(1)
torch.set_grad_enabled(False)  # on only where a slope is measured
goal = np.array(PusherEnv.GOAL)
env = make_env("state-pusher")


def q_min(ag, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
    """min over the twin critics of Q(s, a), one value per row."""
    return ag.q(torch.cat([obs, act], -1)).min(0).values


def pi_det(ag, obs: torch.Tensor) -> torch.Tensor:
    return ag.actor(ag.actor_features(obs), deterministic=True)[0]


def episode_ends(ag) -> dict[str, list[np.ndarray]]:
    """The end states of N deterministic episodes, by how each ended."""
    ends = {"in goal": [], "stalled": [], "retracted": [], "other": []}
    for j in range(args.episodes):  # new start states: past the training and the eval episodes'
        o, _ = env.reset(seed=episode_seed(args.seed, EVAL_SEED_OFFSET + 1000 + j))
        moved = []
        for _ in range(PusherEnv.HORIZON):
            o2, *_ = env.step(ag.act(o, deterministic=True))
            moved.append(np.abs(o2[:2] - o[:2]).sum())
            o = o2
        hand_puck, puck_goal = np.linalg.norm(o[:2] - o[3:5]), np.abs(o[3:5] - goal).sum()
        if puck_goal <= PusherEnv.GOAL_RADIUS_L1:
            ends["in goal"].append(o)
        elif hand_puck < 0.07 and max(moved[-30:]) < 1e-3:
            ends["stalled"].append(o)
        elif hand_puck > 0.15:
            ends["retracted"].append(o)
        else:
            ends["other"].append(o)
    return ends


def replay_neighbours(run: RunDir, ends: dict[str, list[np.ndarray]]) -> None:
    """How many of the run's replay states (hand and puck xy) lie within 0.02 of each end state:
    how often the sampled (training) policy went where the deterministic one ends."""
    if not (run.checkpoints / "latest.pt").is_file():
        return
    replay = np.asarray(checkpoint.load(run.checkpoints / "latest.pt")["buffer"]["obs"])
    replay = replay[np.abs(replay).sum(1) > 0][:, [0, 1, 3, 4]]
    words = []
    for how in ["in goal", "stalled"]:
        if ends[how]:
            end = np.array(ends[how])[:, [0, 1, 3, 4]]
            near = (np.linalg.norm(replay[None] - end[:, None], axis=-1) < 0.02).sum(1)
            words.append(f"{how} {np.median(near):.0f}")
    print("  replay states within 0.02 of the end states (median):", ", ".join(words))


SHIFTS = [-1.0, -0.5, -0.25, 0.25, 0.5, 1.0]


def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-8)


def actor_objective(ag, obs: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor,
                    noise: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Per state, E over the noise draws of min Q(s, a) - alpha log pi(a|s), a = tanh(m + std
    eps): the negated SAC Eq. 7 loss the actor minimises."""
    action, log_prob = tanh_gaussian(mean, log_std, noise)  # noise: (draws, states, dims)
    states = obs.expand(len(noise), -1, -1).reshape(-1, obs.shape[-1])
    q = q_min(ag, states, action.reshape(len(states), -1)).reshape(log_prob.shape)
    return (q - ag.alpha * log_prob).mean(0)


def actor_objective_along_slope(ag, obs, mean, log_std, q_slope) -> tuple[list[float], float]:
    """Medians over states of J(t) - J(0) at each shift t of the mean along the critic's slope
    (same noise draws for every t), and of |dJ/dm| at t = 0."""
    noise = torch.randn(1024, *mean.shape, generator=torch.Generator().manual_seed(0))
    u = q_slope / q_slope.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    m0 = mean.detach().requires_grad_(True)
    with torch.enable_grad():
        j0 = actor_objective(ag, obs, m0, log_std, noise)
        (dj,) = torch.autograd.grad(j0.sum(), m0)
    gains = [float((actor_objective(ag, obs, mean + t * u, log_std, noise) - j0).median())
             for t in SHIFTS]  # fmt: skip
    return gains, float(dj.norm(dim=-1).median())


def critic_over_action_grid(ag, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The 9 x 9 grid of actions covering [-1, 1]^2 and min Q(s, a) on it, (states, 81)."""
    grid = torch.cartesian_prod(*[torch.linspace(-1, 1, 9)] * 2)
    states = obs.repeat_interleave(len(grid), 0)
    return grid, q_min(ag, states, grid.repeat(len(obs), 1)).reshape(len(obs), len(grid))


print(f"seed {args.seed}, snapshot at step {args.step}; puck at the goal, hand y {HAND_Y}")
agents, stalls = {}, torch.empty(0, 5)
for algo in args.methods:
    run = RunDir(Path(args.sweep) / algo / f"seed{args.seed}")
    if not run.snapshot(args.step).is_file():
        print(algo, "no snapshot at this step")
        continue
    agents[algo] = ag = make_method(spaces_from_env(env), run.read_config(), torch.device("cpu"))
    ag.load_state_dict(checkpoint.load(run.snapshot(args.step))["nets"])
    obs = torch.tensor([[-0.03, y, HAND_Z, *goal] for y in HAND_Y], dtype=torch.float32)
    pi = pi_det(ag, obs)
    q = q_min(ag, obs, pi)
    print(f"{algo} Q(s, pi(s)): {np.round(q.numpy(), 1)}  pi(s) y: {np.round(pi[:, 1].numpy(), 2)}")
    ends = episode_ends(ag)
    words = ", ".join(f"{k} {len(v)}" for k, v in ends.items())
    print(f"{algo} {args.episodes} deterministic episodes end: {words}")
    replay_neighbours(run, ends)
    if algo == args.methods[0]:
        stalls = torch.tensor(np.array(ends["stalled"]), dtype=torch.float32).reshape(-1, 5)

if len(stalls):
    print(f"at {args.methods[0]}'s {len(stalls)} stalled end states (medians):")
    to_goal_dir = torch.tensor(goal, dtype=torch.float32) - stalls[:, 3:5]
    for algo, ag in agents.items():
        mean, log_std = ag.actor.net(ag.actor_features(stalls)).chunk(2, dim=-1)
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp().mean(-1).median()
        act = torch.tanh(mean)
        with torch.enable_grad():
            a = act.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(q_min(ag, stalls, a).sum(), a)
        print(
            f"  {algo}: |pi(s)| {act.norm(dim=-1).median():.2f}, policy std "
            f"{std:.2f}, |dQ/da| {grad.norm(dim=-1).median():.2f}, "
            f"alpha {float(ag.alpha):.3f}"
        )
        gains, slope = actor_objective_along_slope(ag, stalls, mean, log_std, grad)
        words = ", ".join(f"{t:+.2f}: {g:+.2f}" for t, g in zip(SHIFTS, gains))
        print(f"  {algo}: actor objective J, (t) - (0) along dQ/da: {words}")
        grid, q_grid = critic_over_action_grid(ag, stalls)
        q_pi = q_min(ag, stalls, act)
        best = grid[q_grid.argmax(1)]
        print(
            f"  {algo}: |dJ/dm| at t = 0: {slope:.2f}; over a 9 x 9 grid of actions Q's range "
            f"{(q_grid.max(1).values - q_grid.min(1).values).median():.2f}, its best "
            f"{(q_grid.max(1).values - q_pi).median():.2f} above Q(s, pi(s)) = "
            f"{q_pi.median():.1f}; the best action's |a| {best.norm(dim=-1).median():.2f}, its "
            f"cosine to hand -> puck {cosine(best, stalls[:, 3:5] - stalls[:, :2]).median():.2f} "
            f"and to puck -> goal {cosine(best, to_goal_dir).median():.2f}"
        )
