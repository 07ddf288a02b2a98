"""The training loop: run folder contract, atomic checkpoints, exact resume after SIGKILL."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from videorl import checkpoint
from videorl.agents.registry import make_config
from videorl.agents.sac import SAC_METRICS
from videorl.rundir import metric_columns
from videorl.train import train

TINY = dict(
    steps=600,
    eval_every=200,
    eval_episodes=2,
    initial_steps=100,
    batch_size=32,
    hidden=[32, 32],
    threads=1,
)


def read_rows(run: Path):
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_run_folder_contract(tmp_path):
    run = train(make_config(env="acrobot", **TINY), tmp_path / "run", progress=False)
    header = (run.path / "metrics.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["step", "episodes", "eval_return", "eval_success"]
    assert header == metric_columns(SAC_METRICS)
    rows = read_rows(run.path)
    assert [int(r["step"]) for r in rows] == [0, 200, 400, 600]
    assert float(rows[-1]["critic_loss"]) >= 0 and float(rows[-1]["alpha"]) > 0
    assert (run.path / "config.yaml").is_file()
    assert any((run.path / "tb").iterdir())
    assert (run.path / "checkpoints" / "latest.pt").is_file()
    assert (run.path / "checkpoints" / "step_000000600.pt").is_file()
    # episodes: acrobot is 100 steps unless it reaches the goal, so >= 6 in 600 steps
    assert int(rows[-1]["episodes"]) >= 6


def test_same_seed_same_metrics(tmp_path):
    cfg = make_config(env="acrobot", **{**TINY, "steps": 400})
    a = train(cfg, tmp_path / "a", progress=False)
    b = train(cfg, tmp_path / "b", progress=False)
    keys = ["step", "episodes", "eval_return", "eval_success", "critic_loss", "actor_loss"]
    ra = [[r[k] for k in keys] for r in read_rows(a.path)]
    rb = [[r[k] for k in keys] for r in read_rows(b.path)]
    assert ra == rb


def test_checkpoint_load_cannot_execute_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(checkpoint.CheckpointError, match="holds code"):  # weights_only
        checkpoint.load(path)  # refuses arbitrary globals; one line for the CLI, not a traceback


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    checkpoint.save({"v": torch.tensor([1.0])}, path)

    def broken_save(obj, file):
        Path(file).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        checkpoint.save({"v": torch.tensor([2.0])}, path)
    assert checkpoint.load(path)["v"].item() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temp file left


KEYS = ["step", "episodes", "eval_return", "eval_success"]


@pytest.mark.parametrize("env", ["acrobot"])
def test_sigkill_and_resume_matches_uninterrupted_run(tmp_path, env):
    """train, kill -9, then `videorl train --out RUN --resume` as the README shows it.
    (Continuous actions resume exactly in the pixel, RND, BCO and RLMU resume tests.)"""
    args = [
        "--env", env, "--steps", "700", "--seed", "3", "--no-progress",
        "--set", "eval_every=200", "eval_episodes=2", "initial_steps=150", "batch_size=32",
        "hidden=[32,32]", "threads=1",
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "videorl.cli", "train", *args]
    full = tmp_path / "full"
    subprocess.run([*cmd, "--out", str(full)], check=True, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [*cmd, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    snap = killed / "checkpoints" / "step_000000200.pt"
    deadline = time.time() + 120
    while not snap.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # somewhere between checkpoints, mid-episode
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rows_at_kill = read_rows(killed)
    assert len(rows_at_kill) < len(read_rows(full)), "the run finished before it was killed"

    # the README's line: the run folder alone says what to continue (its config.yaml)
    resume = [sys.executable, "-m", "videorl.cli", "train", "--out", str(killed), "--resume"]
    subprocess.run(resume, check=True, capture_output=True)
    full_rows = [[r[k] for k in KEYS] for r in read_rows(full)]
    resumed_rows = [[r[k] for k in KEYS] for r in read_rows(killed)]
    assert resumed_rows == full_rows
    # losses continue exactly too
    assert [r["critic_loss"] for r in read_rows(killed)] == [
        r["critic_loss"] for r in read_rows(full)
    ]


def test_batch_size_comes_from_config(tmp_path, monkeypatch):
    """REFERENCE.md defect 6: no hard-coded batch sizes; every update uses batch_size."""
    from videorl.agents.sac import SAC

    sizes = []
    original = SAC.update

    def spy(self, inputs):
        sizes.append(len(inputs.robot))
        return original(self, inputs)

    monkeypatch.setattr(SAC, "update", spy)
    cfg = make_config(env="acrobot", **{**TINY, "steps": 150, "batch_size": 48})
    train(cfg, tmp_path / "run", progress=False)
    assert sizes and set(sizes) == {48}
    assert len(sizes) == 150 - TINY["initial_steps"] + 1  # one update per step from then on


def test_eval_replays_the_latest_checkpoint_to_video(tmp_path):
    from videorl.data.video_io import read_video

    run = train(
        make_config(env="state-pusher", **{**TINY, "steps": 200}), tmp_path / "r", progress=False
    )
    video = tmp_path / "pusher.mp4"
    res = subprocess.run(
        [sys.executable, "-m", "videorl.cli", "eval", str(run.path), "--episodes", "2",
         "--video", str(video)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "at step 200" in res.stdout and "success rate" in res.stdout
    frames, fps = read_video(video)
    assert fps == 20
    assert len(frames) == 2 * 101  # reset frame + one per step, for each 100-step episode
    assert frames[0].shape == (128, 128, 3)
    assert np.ptp(np.asarray(frames[0])) > 0  # not a blank image


@pytest.mark.parametrize("encoder", ["fast", "paper"])
def test_pixel_run_stopped_and_resumed_matches(tmp_path, encoder):
    tiny_pixels = dict(
        env="visual-pusher", eval_every=40, eval_episodes=1, initial_steps=30, batch_size=8,
        pixel_hidden=[16], conv_channels=[4, 4, 4], threads=1, encoder=encoder,
    )  # fmt: skip
    straight = train(make_config(steps=80, **tiny_pixels), tmp_path / "a", progress=False)
    train(make_config(steps=40, **tiny_pixels), tmp_path / "b", progress=False)
    resumed = train(
        make_config(steps=80, **tiny_pixels), tmp_path / "b", resume=True, progress=False
    )
    keys = [*KEYS, "critic_loss", "actor_loss"]
    assert [[r[k] for k in keys] for r in read_rows(resumed.path)] == [
        [r[k] for k in keys] for r in read_rows(straight.path)
    ]
    assert [int(r["step"]) for r in read_rows(resumed.path)] == [0, 40, 80]
