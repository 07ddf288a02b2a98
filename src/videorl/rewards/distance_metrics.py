"""The Appendix B metrics of a distance model on videos whose goal is their last frame:
Spearman rank correlation with the remaining time, misclassification (Eq. 6), hinge (Eq. 5),
and for HOLD-R the error in frames."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from videorl.rewards.distance_data import history_index
from videorl.rewards.hold import DistanceModel, model_device


@torch.no_grad()
def goal_distances(model: DistanceModel, video: np.ndarray, batch: int = 256) -> np.ndarray:
    """d(s_t, s_T) for every frame t of one video, the goal being its last frame."""
    device = model_device(model)
    frames = torch.from_numpy(np.array(video)).to(device)
    code = model.goal_code(frames[-1:])
    t = np.arange(len(video))
    idx = torch.as_tensor(history_index(np.zeros_like(t), t, model.history), device=device)
    out = [model.distance(frames[idx[i : i + batch]], code) for i in range(0, len(t), batch)]
    return torch.cat(out).float().cpu().numpy()


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their mean rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x))
    values, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation; 0 when either side is constant (no ranking at all)."""
    rx, ry = _ranks(np.asarray(x, np.float64)), _ranks(np.asarray(y, np.float64))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0


def ranking_metrics(distances: Sequence[np.ndarray], time_metrics: bool) -> dict[str, float]:
    """Appendix B metrics over videos, each given as d(s_t, s_T) for t = 1..T (goal = last).

    * spearman: mean over videos of the rank correlation between d(s_t, s_T) and the true
      remaining time T - t over s_1..s_{T-1}.
    * misclassification (Eq. 6) and hinge (Eq. 5), read as REFERENCE.md states them: over
      consecutive frames, the count of steps whose predicted distance goes up, and the summed
      increase, each divided by sum_i (T_i - 1). As in the equations, the indices run over
      s_1..s_{T-1}: the final step into the goal frame s_T (whose distance is d(g, g)) is not
      counted, while the denominator stays sum_i (T_i - 1) as printed.
    * mse and mean_error (HOLD-R): (d(s_t, s_T) - (T - t)) over s_1..s_{T-1}, in frames.
    """
    rho, ups, rise, steps, sq, ab, n = [], 0.0, 0.0, 0, 0.0, 0.0, 0
    for d in distances:
        d = np.asarray(d, np.float64)
        if len(d) < 3:
            continue
        remaining = np.arange(len(d) - 1, 0, -1, dtype=np.float64)  # T - t for t < T
        rho.append(spearman(d[:-1], remaining))
        diff = np.diff(d[:-1])  # j, k in 1..T-1: not the step into the goal frame
        ups += float((diff > 0).sum())  # Eq. 6
        rise += float(np.maximum(diff, 0).sum())  # Eq. 5
        steps += len(d) - 1
        err = d[:-1] - remaining
        sq, ab, n = sq + float((err**2).sum()), ab + float(np.abs(err).sum()), n + len(err)
    if not rho:
        raise ValueError("need at least one video of 3 or more frames")
    out = {
        "spearman": float(np.mean(rho)),
        "misclassification": ups / steps,
        "hinge": rise / steps,
        "videos": float(len(rho)),
    }
    if time_metrics:
        out.update(mse=sq / n, mean_error=ab / n)
    return out


def evaluate_model(model: DistanceModel, videos: Sequence[np.ndarray]) -> dict[str, float]:
    """The Appendix B metrics of ``model`` on ``videos`` (goal = each video's last frame)."""
    was_training = model.training
    model.eval()
    try:
        dists = [goal_distances(model, v) for v in videos]
    finally:
        model.train(was_training)
    return ranking_metrics(dists, time_metrics=model.kind == "hold-r")
