"""REFERENCE.md defects 2, 3 and 5 on the code paths training uses (defect 1 is in
test_rlv.py, 4 in test_import.py, 6 in test_train.py and test_rlv.py). Each test was checked
by putting its defect back (see the note of issue 12's first part)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from videorl.agents.base import Spaces
from videorl.agents.registry import make_config, make_method
from videorl.train import Trainer

DATA = Path(__file__).parent / "data"
CPU = torch.device("cpu")


@pytest.mark.parametrize("algo", ["sac", "rlv"])
@pytest.mark.parametrize("encoder", ["paper", "fast"])
def test_the_agents_augmentation_shifts_each_sample_on_its_own(algo, encoder):
    """Defect 2: the original drew one crop offset for the whole batch."""
    extra = {"obs_data": "unused"} if algo == "rlv" else {}
    cfg = make_config(algo=algo, env="visual-pusher", encoder=encoder, pixel_hidden=[8],
                      conv_channels=[4], **extra)  # fmt: skip
    agent = make_method(Spaces((48, 48, 3), True, 2, False), cfg, CPU)
    torch.manual_seed(0)
    image = (torch.arange(3 * 48 * 48) % 251).to(torch.uint8).reshape(1, 3, 48, 48)
    batch = image.repeat(64, 1, 1, 1)
    obs, next_obs = agent.augment(batch, batch.clone())
    for shifted in (obs, next_obs):
        assert len({tuple(x.flatten()[:300].tolist()) for x in shifted}) > 20
    # Issue 12, deviation 1: s and s' of one transition share the offset, so an unchanged
    # scene stays unchanged and the inverse model sees only the motion.
    assert torch.equal(obs, next_obs)


def train_and_read_buffer(tmp_path, env, steps):
    cfg = make_config(env=env, steps=steps, eval_every=steps, eval_episodes=1, eval_at_start=False,
                      initial_steps=steps, batch_size=16, hidden=[8], threads=1)  # fmt: skip
    trainer = Trainer(cfg, tmp_path / env.replace(":", "_"))
    trainer.run_training(progress=False)
    return trainer.buffer.transitions()


def test_the_trainer_stores_time_limits_as_truncations_not_terminals(tmp_path):
    """Defect 3: time limits were stored as terminals, so the critic never bootstrapped
    past a timeout. Acrobot's random policy never reaches the goal: every episode end is
    the 100-step limit; CartPole's ends are real terminations."""
    acrobot = train_and_read_buffer(tmp_path, "acrobot", 250)
    assert acrobot["truncated"].sum() == 2 and not acrobot["terminated"].any()
    cartpole = train_and_read_buffer(tmp_path, "gym:CartPole-v1", 120)
    ends = int(cartpole["terminated"].sum())
    assert ends >= 3 and not cartpole["truncated"].any()


def test_a_video_from_another_writer_keeps_red_as_red(tmp_path):
    """Defect 5: frames were read in BGR. The file was made by ffmpeg's own colour sources
    (red left half, blue right half), not by videorl's writer, so a reader and a writer that
    swap channels alike cannot pass this test."""
    from videorl.data.dataset import VideoDataset
    from videorl.data.importer import import_videos
    from videorl.data.video_io import read_video

    frames, fps = read_video(DATA / "red_left_blue_right.mp4")
    assert frames.shape == (10, 48, 48, 3) and fps == 10.0
    left, right = frames[:, 8:40, 2:20].astype(int), frames[:, 8:40, 28:46].astype(int)
    assert (left[..., 0] > 230).all() and (left[..., 2] < 30).all()
    assert (right[..., 2] > 230).all() and (right[..., 0] < 30).all()
    path, _ = import_videos([str(DATA / "red_left_blue_right.mp4")], tmp_path / "ds", size=24,
                            progress=False)  # fmt: skip
    first = VideoDataset(path)[0][0].astype(int)
    assert first[12, 3, 0] > 230 and first[12, 3, 2] < 30  # still red on the left
    assert first[12, 20, 2] > 230 and first[12, 20, 0] < 30
