"""How BCO's inverse model labels the State Pusher videos: where its labels miss the bin of the
videos' true (noisy) actions, and by how much.

BCO's training log has one label diagnostic, ``obs_label_acc``: the share of video rows whose
inferred bin is exactly the bin of the true action. On the Fig. 5a sweep it ended at 0.21, 0.63
and 0.26 on seeds 0-2 while the three seeds cloned their labels to similar returns. This splits
it: rows where the video's state does not change (|s' - s| under ``--still``) and rows where it
does, the labels' commonest bins on the motionless rows, and the share of rows whose label is
within one bin of the truth in every action dimension.

    .venv/bin/python benchmarks/bco_video_labels.py --seeds 0 1 2 \
        > benchmarks/results/rlv_fig5a_bco_video_labels.txt

Reads the policy snapshot of ``runs/sweeps/rlv_fig5a_state_pusher/bco/seedN`` at ``--step``
(``videorl.policies.load_method``) and ``data/state-pusher-expert``.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch

from videorl.agents.common import ActionBins
from videorl.data.dataset import VideoDataset
from videorl.policies import load_method
from videorl.rollout import make_env, spaces_from_env

ap = argparse.ArgumentParser()
ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
ap.add_argument("--step", type=int, default=200000, help="the policy snapshot's step")
ap.add_argument("--sweep", default="runs/sweeps/rlv_fig5a_state_pusher")
ap.add_argument("--videos", default="data/state-pusher-expert")
ap.add_argument("--still", type=float, default=1e-3, help="max |s' - s| of a motionless row")
args = ap.parse_args()
torch.set_num_threads(1)

ds = VideoDataset(args.videos)
obs = torch.tensor(np.concatenate([ds[i][:-1] for i in range(len(ds))]), dtype=torch.float32)
nxt = torch.tensor(np.concatenate([ds[i][1:] for i in range(len(ds))]), dtype=torch.float32)
actions = np.concatenate([ds.groundtruth(i)["actions"] for i in range(len(ds))])
still = (nxt - obs).abs().max(-1).values < args.still
env = make_env("state-pusher")
spaces = spaces_from_env(env)
print(f"{args.videos}: {len(obs)} transitions, {int(still.sum())} motionless (|s' - s| < "
      f"{args.still})")  # fmt: skip


def bin_name(bins: ActionBins, index: int) -> str:
    return "(" + ", ".join(f"{v:+.2f}" for v in bins.action(torch.tensor([index]))[0]) + ")"


def share(mask: torch.Tensor) -> str:
    return f"{float(mask.float().mean()):.3f}"


for seed in args.seeds:
    _, step, agent = load_method(f"{args.sweep}/bco/seed{seed}", env, args.step)
    bins: ActionBins = agent.bins
    truth = bins.index(torch.tensor(actions))
    labels = agent.infer_actions(obs, nxt)
    gap = (bins.action(labels) - bins.action(truth)).abs()
    near = (gap <= 2 / (bins.bins - 1) + 1e-6).all(-1)  # neighbouring bins are 2 / (bins - 1) apart
    centre = bins.index(torch.zeros(1, spaces.action_dim))[0]

    print(f"bco seed {seed}, step {step}: exact bin {share(labels == truth)} (motionless rows "
          f"{share(labels[still] == truth[still])}, moving rows "
          f"{share(labels[~still] == truth[~still])}); within one bin per dimension "
          f"{share(near)}")  # fmt: skip
    print(f"  true action in the centre bin {bin_name(bins, centre)}: "
          f"{share(truth == centre)} of rows, label there: {share(labels == centre)}")  # fmt: skip
    common = Counter(labels[still].tolist()).most_common(3)
    words = ", ".join(f"{bin_name(bins, k)} {n}" for k, n in common)
    print(f"  commonest labels on motionless rows: {words}")
