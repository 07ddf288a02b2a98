"""Cutting observation videos at their idle tails (data/idle_tail.py, obs_cut=idle_tail):
found without labels, cut in memory with their ground truth, and Eq. 2's terminal moving to
the transition into the held state."""

import numpy as np
import pytest
import torch

from videorl.agents.registry import make_config
from videorl.config import ConfigError
from videorl.data.idle_tail import (
    CutVideos,
    frames_to_first_reward,
    frames_to_keep,
    idle_tail_start,
)
from videorl.data.writer import DatasetWriter
from videorl.replay import ObservationPool


def reach_then_hold(reach: int, hold: int, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    """A 2-D state moving in a straight line from (0, 0) to (1, 1) in ``reach`` steps, then
    held there for ``hold`` more frames with uniform jitter."""
    rng = np.random.default_rng(seed)
    path = np.linspace(0.0, 1.0, reach + 1)[:, None].repeat(2, 1)
    held = 1.0 + rng.uniform(-jitter, jitter, (hold, 2))
    return np.concatenate([path, held]).astype(np.float32)


def test_the_tail_starts_where_the_state_is_reached_and_held():
    video = reach_then_hold(20, 60, jitter=0.02)
    # the line ends at index 20; a tolerance of 10% of the way lets its last two steps in
    assert 18 <= idle_tail_start(video, 0.1, 10) <= 20
    assert idle_tail_start(reach_then_hold(20, 60), 0.01, 10) == 20  # no jitter: exactly there
    assert idle_tail_start(reach_then_hold(20, 5), 0.1, 10) is None  # a tail too short
    assert idle_tail_start(np.zeros((10, 2), np.float32), 0.1, 1) is None  # nothing moves


def test_a_jump_away_and_back_moves_the_cut_later():
    video = reach_then_hold(20, 60)
    video[50] = 0.0  # back at the start for one frame
    assert idle_tail_start(video, 0.1, 10) == 51


def test_pixels_use_the_mean_absolute_difference():
    frames = np.zeros((30, 4, 4, 3), np.uint8)
    for t in range(10):
        frames[t] = 25 * (10 - t)  # brightening to the held frame
    assert idle_tail_start(frames, 0.05, 5) == 10


@pytest.fixture
def dataset(tmp_path):
    from videorl.data.dataset import VideoDataset

    with DatasetWriter(tmp_path / "d", task="state-pusher", domain="robot", source="collected",
                       fps=10, provenance={"command": "test", "seed": 0},
                       kind="observations") as writer:  # fmt: skip
        for seed, (reach, hold) in enumerate([(10, 40), (30, 3)]):
            video = reach_then_hold(reach, hold, 0.01, seed)
            states = np.pad(video, ((0, 0), (0, 3)))  # the State Pusher observes 5 numbers
            n = len(states) - 1
            writer.add_episode(
                states,
                groundtruth={
                    "actions": np.zeros((n, 2), np.float32),
                    "rewards": np.arange(n, dtype=np.float32),
                },
            )
    return VideoDataset(tmp_path / "d")


def test_cut_videos_keep_their_ground_truth_and_end_in_a_terminal(dataset):
    keep = frames_to_keep(dataset, 0.1, 10)
    assert keep[1] == dataset.lengths[1]  # its 3-frame hold is no idle tail: kept whole
    assert 10 <= keep[0] <= 11 and dataset.lengths[0] == 51
    cut = CutVideos(dataset, keep)
    assert cut.lengths == keep and len(cut.frames) == sum(keep)
    np.testing.assert_array_equal(cut[0], dataset[0][: keep[0]])
    np.testing.assert_array_equal(cut.groundtruth(0)["rewards"], np.arange(keep[0] - 1))
    pool = ObservationPool(cut, groundtruth=True)
    assert len(pool) == sum(k - 1 for k in keep)
    batch = pool.sample(2000, np.random.default_rng(0))
    ends = batch.next_obs[batch.last]
    assert torch.allclose(ends[:, :2], torch.ones_like(ends[:, :2]), atol=0.15)  # the goal


def test_cut_is_a_config_value_with_its_own_keys():
    cfg = make_config(algo="rlv", env="state-pusher", obs_data="d", obs_cut="idle_tail",
                      idle_fraction=0.2)  # fmt: skip
    from videorl.agents.rlv import RLV

    assert RLV.observation_request(cfg).cut == ("idle_tail", 0.2, 10)
    assert RLV.observation_request(make_config(algo="rlv", obs_data="d")).cut is None
    control = RLV.observation_request(make_config(algo="rlv", obs_data="d", obs_cut="first_reward"))
    assert control.cut[0] == "first_reward" and control.groundtruth == {
        "rewards": "obs_cut=first_reward"}  # fmt: skip
    with pytest.raises(ConfigError, match="idle_fraction.*obs_cut=idle_tail"):
        make_config(algo="rlv", obs_data="d", idle_fraction=0.2)
    with pytest.raises(ConfigError, match="choose one"):
        make_config(algo="rlv", obs_data="d", obs_cut="idle_tail", obs_terminals="recorded")


def test_the_control_cuts_after_the_first_rewarded_transition(dataset):
    # the fixture's rewards are 0, 1, 2, ...: transition 1 is the first one rewarded
    assert frames_to_first_reward(dataset) == [3, 3]


@pytest.mark.parametrize(("setting", "expected"), [
    ("idle_min_frames=60", "none has an idle tail of idle_min_frames=60 frames"),
    ("idle_fraction=0.001", "none has an idle tail of idle_min_frames=10 frames within "
                            "idle_fraction=0.001"),
])  # fmt: skip
def test_a_cut_that_cuts_nothing_is_refused(dataset, tmp_path, capsys, setting, expected):
    from videorl.cli import main

    out = tmp_path / "run"
    # a run that does start is short
    args = ["train", "--algo", "rlv", "--env", "state-pusher", "--obs-data", str(dataset.path),
            "--steps", "20", "--no-progress", "--out", str(out), "--set", "obs_cut=idle_tail",
            setting, "initial_steps=10", "batch_size=8", "obs_batch_size=8", "eval_every=20",
            "eval_episodes=1"]  # fmt: skip
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "obs_cut=idle_tail would cut none of the 2 videos" in err[0] and expected in err[0]
    assert not out.exists()


# -- obs_rewards=idle_tail: the videos kept whole, their idle tails labelled in the goal --------
def test_idle_tail_labels_reward_each_transition_into_the_tail_and_nothing_before():
    from videorl.data.idle_tail import idle_tail_rewards, idle_tail_starts

    held, moving = reach_then_hold(20, 60), reach_then_hold(30, 3)  # the second has no tail
    starts = idle_tail_starts([held, moving], 0.01, 10)
    assert starts == [20, None]
    labels = idle_tail_rewards([len(held), len(moving)], starts, c_large=1.0, c_small=-0.5)
    assert len(labels) == len(held) - 1 + len(moving) - 1
    # the tail starts at frame 20: transitions 19 -> 20 and later lead into it
    np.testing.assert_array_equal(labels[:19], -0.5)
    np.testing.assert_array_equal(labels[19 : len(held) - 1], 1.0)
    np.testing.assert_array_equal(labels[len(held) - 1 :], -0.5)


def test_idle_tail_labels_are_a_config_value_that_reads_c_large_and_the_idle_keys():
    from videorl.agents.rlv import RLV

    cfg = make_config(algo="rlv", env="state-pusher", obs_data="d", obs_rewards="idle_tail",
                      c_large=1.0, idle_min_frames=5)  # fmt: skip
    request = RLV.observation_request(cfg)
    assert request.idle_tail_labels == (1.0, 0.0, 0.1, 5)  # c_small: Table 2's 0 here
    assert request.cut is None and request.reward_labels is None and not request.groundtruth
    with pytest.raises(ConfigError, match="choose one"):
        make_config(algo="rlv", obs_data="d", obs_rewards="idle_tail", obs_cut="idle_tail")
    with pytest.raises(ConfigError, match="obs_terminals='recorded' is not read"):
        make_config(algo="rlv", obs_data="d", obs_rewards="idle_tail", obs_terminals="recorded")
    with pytest.raises(ConfigError, match="obs_augment=negative_jitter makes videos"):
        make_config(algo="rlv", obs_data="d", obs_rewards="idle_tail",
                    obs_augment="negative_jitter")  # fmt: skip


def test_idle_tail_labels_reach_the_critic_with_no_terminal(dataset):
    from videorl.agents.base import Spaces
    from videorl.agents.rlv import RLV
    from videorl.observation_data import load_observation_pool

    cfg = make_config(algo="rlv", env="state-pusher", obs_data=str(dataset.path),
                      obs_rewards="idle_tail", c_large=2.0, c_small=-1.0)  # fmt: skip
    spaces = Spaces((5,), False, 2, False)
    pool, _ = load_observation_pool(cfg, spaces, RLV.observation_request(cfg))
    agent = RLV.build(spaces, cfg, torch.device("cpu"))
    batch = pool.sample(4000, np.random.default_rng(0))
    reward, terminated = agent.label_rewards(batch)
    assert not terminated.any()
    assert set(reward.tolist()) == {2.0, -1.0}
    in_goal = batch.next_obs[:, :2].sub(1.0).abs().amax(1) < 0.05
    assert in_goal[reward == 2.0].all()  # rewarded: only transitions into the held state
    # video 0 holds for 40 frames (its tail: rewarded), video 1 for 3 (no tail: c_small)
    assert 0.8 < (reward[in_goal] == 2.0).float().mean() < 0.95


def test_idle_tail_labels_that_find_no_tail_are_refused(dataset, tmp_path, capsys):
    from videorl.cli import main

    out = tmp_path / "run"
    args = ["train", "--algo", "rlv", "--env", "state-pusher", "--obs-data", str(dataset.path),
            "--steps", "20", "--no-progress", "--out", str(out), "--obs-reward", "idle_tail",
            "--set", "idle_min_frames=60", "initial_steps=10", "batch_size=8",
            "obs_batch_size=8", "eval_every=20", "eval_episodes=1"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "obs_rewards=idle_tail would label none of the 2 videos" in err[0]
    assert "idle_min_frames=60" in err[0] and not out.exists()
