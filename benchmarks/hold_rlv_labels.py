"""How well RLV's observation reward labels track the task, Eq. 2's constants against HOLD's
learned reward (``--obs-reward hold:DIR``), on a dataset with ground-truth rewards.

Offline and cheap: no RL. For each labelling, the AUC of the label at telling transitions
that the task rewards (ground-truth reward 1: in the goal region) from those it does not, and
the mean within-video Spearman correlation between the label and time (progress).

    python benchmarks/hold_rlv_labels.py --env visual-close-drawer \
        --data data/visual-close-drawer-expert --model runs/hold/hold-c_human \
        --goal runs/hold/goal_visual-close-drawer.png --name hold_rlv_labels_close_drawer
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from videorl.agents.registry import make_config
from videorl.agents.rlv import table2_c_small
from videorl.data.dataset import VideoDataset
from videorl.observation_data import learned_labels
from videorl.rewards.distance_metrics import spearman

RESULTS = Path(__file__).parent / "results"


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a positive outscores a negative (ties count half)."""
    from videorl.rewards.distance_metrics import _ranks

    ranks = _ranks(score) + 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--goal", required=True)
    ap.add_argument("--name", required=True)
    args = ap.parse_args()

    ds = VideoDataset(args.data)
    gt = np.concatenate([ds.groundtruth(i)["rewards"] for i in range(len(ds))])
    _, last = ds.transition_table()
    c_small = table2_c_small(args.env)
    labels = {"rlv_eq2": np.where(last, 10.0, c_small)}
    for spec in (f"hold:{args.model}", "pixel-l2"):
        cfg = make_config(env=args.env, algo="rlv", obs_data=args.data, obs_rewards=spec,
                          goal=[args.goal])  # fmt: skip
        labels[spec], _ = learned_labels(cfg, spec, ds)
    success = gt > 0.5
    starts = np.concatenate([[0], np.cumsum([t - 1 for t in ds.lengths])])
    out = {"data": args.data, "transitions": len(gt), "success_share": float(success.mean())}
    for name, label in labels.items():
        rho = [spearman(label[a:b], np.arange(b - a)) for a, b in zip(starts[:-1], starts[1:])]
        out[name] = {"auc_success": auc(label, success), "spearman_time": float(np.mean(rho)),
                     "mean_on_success": float(label[success].mean()),
                     "mean_elsewhere": float(label[~success].mean())}  # fmt: skip
        print(name, json.dumps(out[name]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
