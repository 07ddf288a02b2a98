"""Training a HOLD distance model (``videorl reward train``): holds out whole videos and keeps
the checkpoint with the best mean Spearman correlation on them, the paper's early-stopping
rule (Appendix B)."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from videorl import atomic, checkpoint
from videorl.rewards.distance_data import Batcher, VideoFrames, load_videos, split_videos
from videorl.rewards.distance_metrics import evaluate_model
from videorl.rewards.hold import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    DistanceModel,
    DistanceModelError,
    HoldConfig,
    build_model,
    regression_loss,
    triplet_loss,
    triplet_masks,
)

METRICS_FILE = "metrics.csv"


def _load_resnet_weights(model: DistanceModel, file: str) -> None:
    path = Path(file)
    if not path.is_file():
        raise DistanceModelError(f"weights file {path} not found; pass a local .pth file")
    state = checkpoint.load(path, what="weights file", error=DistanceModelError,
                            fix="use a torchvision ResNet state dict (.pth)")  # fmt: skip
    try:
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.net.load_backbone(state)  # type: ignore[union-attr, operator]
    except (RuntimeError, ValueError, OSError, AttributeError, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DistanceModelError(
            f"weights file {path} does not fit the {model.net.__class__.__name__} backbone "
            f"({first}); use a torchvision ResNet state dict of the same depth"
        ) from None


def train_hold(
    cfg: HoldConfig, data: Sequence[str | Path], out: str | Path, progress: bool = True
) -> dict[str, Any]:
    """Train a distance model on ``data`` and write ``out`` (hold.yaml, model.pt = best by
    held-out Spearman, metrics.csv). Returns the summary written to hold.yaml."""
    from videorl.progress import progress as progress_bar

    cfg.validate()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DistanceModelError(f"{out}: already exists and is not empty; choose a new --out")
    videos, info = load_videos(data)
    train_idx, val_idx = split_videos(len(videos), cfg.holdout, cfg.seed)
    train_set = VideoFrames([videos[i] for i in train_idx])
    val_videos = [videos[i] for i in val_idx]
    if cfg.model == "hold-c" and int(train_set.lengths.max()) <= cfg.neg_window + 1:
        raise DistanceModelError(
            f"training videos have at most {int(train_set.lengths.max())} frames; HOLD-C needs "
            f"more than neg_window + 1 = {cfg.neg_window + 1}"
        )
    if cfg.model == "hold-r" and int(train_set.lengths.max()) < 2:
        raise DistanceModelError("training videos need at least 2 frames")
    short = [len(v) for v in val_videos if len(v) < 3]
    if len(short) == len(val_videos):
        raise DistanceModelError("held-out videos need at least 3 frames to be scored")

    threads = cfg.threads or min(4, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(cfg)
    if cfg.weights:
        _load_resnet_weights(model, cfg.weights)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    batcher = Batcher(cfg, train_set, device)

    summary: dict[str, Any] = {
        "config": dataclasses.asdict(cfg),
        **info,
        "data": [str(p) for p in data],
        "videos": {"train": len(train_idx), "held_out": len(val_idx)},
        "held_out_index": [int(i) for i in val_idx],
        "best": None,
    }
    made = not out.exists()
    atomic.make_folder(out, "--out")
    try:
        columns = ["step", "train_loss", "spearman", "misclassification", "hinge"]
        if cfg.model == "hold-r":
            columns += ["mse", "mean_error"]
        with (out / METRICS_FILE).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            losses: list[torch.Tensor] = []
            bar = progress_bar(range(1, cfg.steps + 1), disable=not progress, desc=cfg.model,
                               unit="step")  # fmt: skip
            for step in bar:
                if cfg.model == "hold-r":
                    stacked, delta = batcher.regression(rng)
                    loss = regression_loss(model(stacked), delta)  # Eq. 2
                else:
                    frames, video, t = batcher.contrastive(rng)
                    pos, neg = triplet_masks(video, t, cfg.pos_window, cfg.neg_window)
                    loss = triplet_loss(model.embed(frames), pos, neg, cfg.margin)  # Eq. 3
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
                if step % cfg.eval_every and step != cfg.steps:
                    continue
                scores = evaluate_model(model, val_videos)
                row = {
                    "step": step,
                    "train_loss": float(torch.stack(losses).mean()),
                    **{k: scores[k] for k in columns[2:]},
                }
                losses.clear()
                writer.writerow(row)
                fh.flush()
                best = summary["best"]
                if best is None or scores["spearman"] > best["spearman"]:
                    checkpoint.save(model.state_dict(), out / WEIGHTS_FILE)
                    summary["best"] = {"step": step, **{k: row[k] for k in columns[1:]}}
                    _write_summary(out, summary)
                bar.set_postfix(
                    loss=f"{row['train_loss']:.3f}",
                    spearman=f"{row['spearman']:.3f}",
                    best=f"{summary['best']['spearman']:.3f}",
                )
            bar.close()
    except BaseException as e:
        # An interrupted run with a best checkpoint is a usable model; anything else is not.
        if made and (summary["best"] is None or not isinstance(e, KeyboardInterrupt)):
            shutil.rmtree(out, ignore_errors=True)
        raise
    return summary


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    text = yaml.safe_dump(json.loads(json.dumps(summary)), sort_keys=False)
    atomic.write_text(out / CONFIG_FILE, text)
