"""HOLD (rewards/): the Appendix B metrics against hand values, the training samplers and
losses (Eq. 2, Eq. 3), the goal reward (Eq. 4 as run) with subgoals, the baseline distances,
brief training that ranks frames better than chance, and the command line's errors."""

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from videorl.agents.registry import make_config
from videorl.cli import main
from videorl.config import ConfigError, RewardConfig
from videorl.data.writer import DatasetWriter
from videorl.episodes import EpisodeStore, history_index
from videorl.nets import ResNet
from videorl.rewards.baselines import EncoderDistance, PixelDistance
from videorl.rewards.build import build_goal_reward, load_distance, parse_spec
from videorl.rewards.distance_metrics import evaluate_model, ranking_metrics, spearman
from videorl.rewards.distance_training import train_hold
from videorl.rewards.goals import RewardSpecError, read_goal, write_png
from videorl.rewards.hold import (
    HoldC,
    HoldConfig,
    HoldR,
    load_distance_model,
    regression_loss,
    triplet_loss,
    triplet_masks,
)
from videorl.rewards.shaping import (
    GoalDistance,
    GoalReward,
    LearnedRewardWrapper,
    auto_scale,
)

SIZE = 24


# -- Appendix B metrics -----------------------------------------------------------------
def test_metrics_match_hand_computed_values():
    # One video of T = 4 frames, goal = last frame; distances to it:
    d = np.array([3.0, 2.0, 2.5, 0.0])
    m = ranking_metrics([d], time_metrics=True)
    # changes among s_1..s_3 (not the step into the goal frame): -1, +0.5; one rise of 0.5,
    # divided by T - 1 = 3 (Eq. 5, 6)
    assert m["misclassification"] == pytest.approx(1 / 3)
    assert m["hinge"] == pytest.approx(0.5 / 3)
    # a rise on the last step into the goal frame is outside the sums
    assert ranking_metrics([np.array([3.0, 2.0, 1.0, 5.0])], False)["misclassification"] == 0
    # frames 1..3 vs remaining time 3, 2, 1: ranks (2, 0, 1) vs (2, 1, 0) -> rho = 0.5
    assert m["spearman"] == pytest.approx(0.5)
    # errors 3-3, 2-2, 2.5-1: mse 2.25/3, mean |error| 1.5/3
    assert m["mse"] == pytest.approx(0.75) and m["mean_error"] == pytest.approx(0.5)


def test_metrics_pool_videos_by_total_steps_and_average_spearman():
    perfect, reversed_ = np.array([4.0, 3, 2, 1, 0]), np.array([0.0, 1, 2])
    m = ranking_metrics([perfect, reversed_], time_metrics=False)
    assert m["spearman"] == pytest.approx((1.0 + -1.0) / 2)
    # video 2 (0, 1, 2): one rise among s_1..s_2, its step into the goal is not counted
    assert m["misclassification"] == pytest.approx(1 / (4 + 2))
    assert m["hinge"] == pytest.approx(1 / 6)
    assert "mse" not in m


def test_spearman_handles_ties_like_the_textbook_formula():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 4, 30).astype(float), rng.normal(size=30)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)
    assert spearman(np.ones(5), np.arange(5.0)) == 0.0  # a constant prediction ranks nothing


# -- samplers and losses ----------------------------------------------------------------
def test_triplet_windows_positive_within_2_negative_beyond_4_and_other_videos():
    video = torch.tensor([0] * 10 + [1] * 3)
    time = torch.cat([torch.arange(10), torch.arange(3)])
    pos, neg = triplet_masks(video, time, pos_window=2, neg_window=4)
    gap = (time[:, None] - time[None, :]).abs()
    same = video[:, None] == video[None, :]
    assert torch.equal(pos, same & (gap >= 1) & (gap <= 2))
    assert torch.equal(neg, ~same | (same & (gap > 4)))
    assert not (pos & neg).any()
    assert not pos.diagonal().any()
    # frame 0 of video 0: positives t=1,2; neither t=3,4; negatives t>=5 and all of video 1
    assert pos[0, :10].nonzero().flatten().tolist() == [1, 2]
    assert neg[0, :10].nonzero().flatten().tolist() == [5, 6, 7, 8, 9]
    assert neg[0, 10:].all()


def test_triplet_loss_picks_the_semi_hard_negative():
    # anchor 0, positive 1 at squared distance 1; negatives at squared distances 1.1 and 4
    emb = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.1**0.5], [0.0, 2.0]])
    pos = torch.zeros(4, 4, dtype=torch.bool)
    pos[0, 1] = True
    neg = torch.zeros(4, 4, dtype=torch.bool)
    neg[0, 2] = neg[0, 3] = True
    # semi-hard = the closest negative beyond the positive: 1.1 -> max(0, 1 - 1.1 + 0.2) = 0.1
    assert triplet_loss(emb, pos, neg, 0.2).item() == pytest.approx(0.1, abs=1e-5)
    # no negative beyond the positive -> the farthest one
    neg[0, 3] = False
    emb[2] = torch.tensor([0.0, 0.5])
    assert triplet_loss(emb, pos, neg, 0.2).item() == pytest.approx(1 - 0.25 + 0.2, abs=1e-5)


def _store(lengths: list[int]) -> EpisodeStore:
    """A store of videos with these lengths (the samplers only look at the lengths)."""
    return EpisodeStore(np.zeros((sum(lengths), 1), np.uint8), lengths)


def test_pairs_are_uniform_over_all_ordered_pairs_of_all_videos():
    lengths = np.array([3, 5])  # 3 + 10 = 13 pairs
    video, t, g = _store([3, 5]).sample_pairs(130_000, np.random.default_rng(0))
    assert (g > t).all() and (g < lengths[video]).all()
    keys, counts = np.unique(np.stack([video, t, g], 1), axis=0, return_counts=True)
    assert len(keys) == 13
    assert np.allclose(counts / 130_000, 1 / 13, atol=0.004)


def test_windows_are_consecutive_frames_of_distinct_videos():
    video, t = _store([40, 10, 50]).sample_episode_windows(3, 32, np.random.default_rng(1))
    for v in np.unique(video):
        tv = t[video == v]
        assert (np.diff(tv) == 1).all() and len(tv) == min(32, [40, 10, 50][v])


def test_history_repeats_the_first_frame_before_the_video_starts():
    idx = history_index(np.array([10, 10]), np.array([0, 5]), 3)
    assert idx.tolist() == [[10, 10, 10], [13, 14, 15]]
    store = _store([10, 6])
    assert store.history_index(np.array([1, 1]), np.array([0, 5]), 3).tolist() == idx.tolist()


def test_regression_loss_is_eq2_squared_error():
    pred, delta = torch.tensor([1.0, 5.0]), torch.tensor([2.0, 2.0])
    assert regression_loss(pred, delta).item() == pytest.approx((1 + 9) / 2)


# -- backbones --------------------------------------------------------------------------
@pytest.mark.parametrize("depth,params", [("resnet18", 11_689_512), ("resnet50", 25_557_032)])
def test_resnet_matches_the_published_architecture(depth, params):
    net = ResNet(depth, 3, 1000)
    assert sum(p.numel() for p in net.parameters()) == params


def test_resnet_weights_load_into_stacked_frame_input(tmp_path):
    src = ResNet("resnet18", 3, 1000)
    file = tmp_path / "w.pth"
    torch.save(src.state_dict(), file)
    cfg = HoldConfig(model="hold-r", backbone="resnet18", history=3, weights=str(file))
    model = HoldR(cfg)
    from videorl.rewards.distance_training import _load_resnet_weights

    _load_resnet_weights(model, str(file))
    w = model.net.conv1.weight
    assert w.shape[1] == 12  # 3 history frames + goal
    assert torch.allclose(w[:, 3:6], src.conv1.weight / 4)
    assert torch.equal(model.net.layer1[0].conv1.weight, src.layer1[0].conv1.weight)


# -- synthetic videos: a square sliding across the frame --------------------------------
def square_video(length: int, rng: np.random.Generator) -> np.ndarray:
    frames = np.zeros((length, SIZE, SIZE, 3), np.uint8)
    frames[:] = rng.integers(0, 60, 3)  # background colour per video
    row = int(rng.integers(2, SIZE - 6))
    for t in range(length):
        col = round(t * (SIZE - 5) / (length - 1))
        frames[t, row : row + 4, col : col + 4] = 230
    return frames


def write_video_dataset(path, n=12, length=16, seed=0, task="synthetic"):
    rng = np.random.default_rng(seed)
    prov = {"command": "test", "seed": seed}
    with DatasetWriter(
        path, task=task, domain="human", source="collected", fps=10, provenance=prov, kind="frames"
    ) as w:
        for _ in range(n):
            w.add_episode(square_video(length, rng))
    return path


@pytest.mark.parametrize("model", ["hold-c", "hold-r"])
def test_brief_training_ranks_held_out_frames_better_than_chance(tmp_path, model):
    data = write_video_dataset(tmp_path / "d")
    cfg = HoldConfig(model=model, steps=120, eval_every=60, seq_len=16, videos_per_batch=4,
                     threads=1, lr=1e-3)  # fmt: skip
    summary = train_hold(cfg, [data], tmp_path / "m", progress=False)
    assert summary["best"]["spearman"] > 0.5  # chance is 0
    loaded = load_distance_model(tmp_path / "m")
    fresh = write_video_dataset(tmp_path / "fresh", n=4, seed=7)
    from videorl.data.dataset import VideoDataset

    scores = evaluate_model(loaded, list(VideoDataset(fresh)))
    assert scores["spearman"] > 0.5 and scores["misclassification"] < 0.5
    rows = (tmp_path / "m" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 evaluations


# -- the goal reward --------------------------------------------------------------------
def flat(value: int) -> np.ndarray:
    return np.full((SIZE, SIZE, 3), value, np.uint8)


class OffsetDistance(PixelDistance):
    """Pixel L2 plus a constant: d(g, g) = 2 > 0, as HOLD-R on untrimmed videos."""

    def distance(self, states, code):
        return super().distance(states, code) + 2.0


def test_goal_gets_zero_reward_and_no_state_gets_more():
    goal = flat(200)
    reward = GoalReward(GoalDistance(OffsetDistance(), [goal]), scale=5.0, env_weight=0.0)
    reward.reset(flat(0))
    assert reward.step(goal, 0.0) == 0.0
    rng = np.random.default_rng(0)
    for _ in range(20):
        state = rng.integers(0, 256, goal.shape).astype(np.uint8)
        assert reward.step(state, 0.0) < 0.0


def test_cumulative_reward_value_and_sparse_weight():
    goal = flat(255)
    reward = GoalReward(GoalDistance(PixelDistance(), [goal]), scale=4.0, env_weight=0.5)
    reward.reset(flat(0))
    d = np.sqrt(SIZE * SIZE * 3) * (255 - 51) / 255  # ||s' - g|| in [0, 1] pixel units
    assert reward.step(flat(51), 1.0) == pytest.approx(-d / 4.0 + 0.5, rel=1e-5)


def test_instantaneous_form_rewards_progress_and_penalises_moving_away():
    goal = flat(255)
    reward = GoalReward(GoalDistance(PixelDistance(), [goal]), 1.0, 0.0, form="instantaneous")
    reward.reset(flat(100))
    unit = np.sqrt(SIZE * SIZE * 3) / 255
    assert reward.step(flat(150), 0.0) == pytest.approx(50 * unit, rel=1e-5)  # closer: +
    assert reward.step(flat(120), 0.0) == pytest.approx(-30 * unit, rel=1e-5)  # away: -
    assert reward.step(flat(120), 0.0) == 0.0  # standing still earns nothing


def test_subgoals_switch_after_3_close_steps_and_charge_each_remaining_one():
    g1, g2 = flat(100), flat(200)
    dist = GoalDistance(PixelDistance(), [g1, g2])
    reward = GoalReward(dist, scale=1.0, env_weight=0.0, subgoal_cost=7.0, switch_threshold=1.0)
    reward.reset(flat(0))
    assert reward.step(g1, 0.0) == pytest.approx(-7.0)  # at g1, one subgoal still ahead
    reward.step(g1, 0.0)
    reward.step(flat(0), 0.0)  # moved away: the count starts over
    assert reward.current_goal == 0
    for _ in range(2):
        reward.step(g1, 0.0)
    assert reward.current_goal == 0
    reward.step(g1, 0.0)  # third consecutive close step
    assert reward.current_goal == 1
    assert reward.step(g2, 0.0) == 0.0  # last goal reached: nothing ahead
    reward.reset(flat(0))
    assert reward.current_goal == 0


def test_default_subgoal_cost_is_the_largest_gap_between_consecutive_goals():
    goals = [flat(0), flat(255), flat(200)]
    dist = GoalDistance(PixelDistance(), goals)
    full = np.sqrt(SIZE * SIZE * 3)
    assert dist.chain_cost() == pytest.approx(full, rel=1e-5)


def test_time_schedule_follows_the_demo_frame_by_frame():
    demo = [flat(v) for v in (0, 50, 100, 150)]
    reward = GoalReward(GoalDistance(PixelDistance(), demo), 1.0, 0.0, schedule="time")
    reward.reset(flat(0))
    assert reward.subgoal_cost == 0.0
    assert reward.step(flat(0), 0.0) < 0  # s_1 is compared with demo frame 1 (50)
    assert reward.current_goal == 1
    assert reward.step(flat(100), 0.0) == 0.0  # s_2 matches demo frame 2
    for _ in range(5):
        reward.step(flat(150), 0.0)
    assert reward.current_goal == 3  # stays on the demo's last frame


def test_auto_scale_gives_initial_states_a_third():
    assert auto_scale([1.5, 4.5]) == pytest.approx(9.0)
    with pytest.raises(ValueError):
        auto_scale([0.0, 0.0])


class BrightnessEnv(gym.Env):
    """Observation: a flat image of brightness 10 * position; success at position 20."""

    observation_space = spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
    action_space = spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(0, 5))
        return flat(10 * self.pos), {}

    def step(self, action):
        self.pos = int(np.clip(self.pos + np.sign(action[0]), 0, 25))
        success = self.pos == 20
        return flat(10 * self.pos), float(success), False, False, {"success": success}


def test_build_goal_reward_auto_scale_and_goal_conditioned_observation(tmp_path):
    write_png(flat(200), tmp_path / "g1.png")
    write_png(flat(100), tmp_path / "g0.png")
    cfg = RewardConfig(reward="pixel-l2", goal=[str(tmp_path / "g1.png")], env_reward_weight=0.0)
    env = BrightnessEnv()
    reward, info = build_goal_reward(cfg, "pixel-l2", env, list(range(10)))
    wrapped = LearnedRewardWrapper(env, reward, goal_conditioned=False)
    initial = []
    for seed in range(10):
        obs, _ = wrapped.reset(seed=seed)
        initial.append(-reward.state_cost() / reward.scale)
    assert np.mean(initial) == pytest.approx(-1 / 3, rel=1e-4)
    # goal-conditioned chain: the observation carries the current goal image
    chain = [str(tmp_path / "g0.png"), str(tmp_path / "g1.png")]
    cfg2 = RewardConfig(reward="pixel-l2", goal=chain, reward_scale="2", goal_conditioned=True)
    reward2, info2 = build_goal_reward(cfg2, "pixel-l2", env, [])
    assert info2["scale"] == 2.0
    env2 = LearnedRewardWrapper(BrightnessEnv(), reward2, goal_conditioned=True)
    obs, _ = env2.reset(seed=0)
    assert obs.shape == (SIZE, SIZE, 6) and (obs[..., 3:] == 100).all()
    env2.unwrapped.pos = 10
    for _ in range(3):
        obs, r, *_, info = env2.step(np.zeros(1, np.float32))  # stays at brightness 100
    assert info["goal_index"] == 1 and (obs[..., 3:] == 200).all()


# -- baselines and specs ----------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch 2.13 deprecates TorchScript
def test_encoder_file_baseline_is_euclidean_in_its_embedding(tmp_path):
    class MeanColour(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))

    file = tmp_path / "enc.pt"
    torch.jit.save(torch.jit.script(MeanColour()), str(file))
    model = load_distance(f"embedding:{file}", (SIZE, SIZE, 3))
    assert isinstance(model, EncoderDistance)
    code = model.goal_code(torch.from_numpy(flat(255))[None])
    d = model.distance(torch.from_numpy(flat(0))[None, None], code)
    assert d.item() == pytest.approx(np.sqrt(3), rel=1e-5)


def test_reward_specs_parse_and_reject_malformed():
    assert parse_spec("hold:m") == ("hold", "m") and parse_spec("pixel-l2") == ("pixel-l2", "")
    for bad in ("hold", "hold:", "pixel-l2:x", "r3m:x"):
        with pytest.raises(RewardSpecError):
            parse_spec(bad)


def test_goal_image_must_match_the_observation_size(tmp_path):
    write_png(np.zeros((10, 10, 3), np.uint8), tmp_path / "g.png")
    with pytest.raises(RewardSpecError, match="10x10 but the task observes 24x24"):
        read_goal(tmp_path / "g.png", (SIZE, SIZE, 3))


def test_config_requires_a_goal_for_learned_rewards():
    with pytest.raises(ConfigError, match="needs a goal image"):
        make_config(reward="hold:m")
    with pytest.raises(ConfigError, match="reward_scale"):
        make_config(reward="pixel-l2", goal=["g.png"], reward_scale="-1")
    with pytest.raises(ConfigError, match="demonstration"):
        make_config(reward="tcn:m", goal=["g.png"])
    with pytest.raises(ConfigError, match="needs a goal image"):
        make_config(algo="rlv", obs_data="d", obs_rewards="hold:m")


def test_a_model_refuses_frames_of_another_size():
    from videorl.rewards.hold import DistanceModelError

    model = HoldC(HoldConfig(model="hold-c"))
    model.image_shape = (SIZE, SIZE, 3)
    model.check_image_shape((SIZE, SIZE, 3), "the task")  # same size: fine
    with pytest.raises(DistanceModelError, match=r"\(48, 48, 3\) frames but the hold-c model"):
        model.check_image_shape((48, 48, 3), "the task")


def test_hold_c_distance_is_euclidean_between_unit_embeddings():
    model = HoldC(HoldConfig(model="hold-c", embed_dim=8)).eval()
    frames = torch.from_numpy(np.stack([flat(0), flat(255)]))
    with torch.no_grad():
        emb = model.embed(frames)
        d = model.distance(frames[:1, None], model.goal_code(frames[1:]))
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert d.item() == pytest.approx((emb[0] - emb[1]).norm().item(), rel=1e-5)


# -- command line -----------------------------------------------------------------------
def run(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    return code, err


def test_reward_cli_errors_are_one_line_exit_2_without_output(tmp_path, capsys):
    data = write_video_dataset(tmp_path / "d", n=3, length=8)
    out = tmp_path / "m"
    cases = [
        ["reward", "train", "--data", str(tmp_path / "nope"), "--model", "hold-c",
         "--out", str(out)],
        ["reward", "train", "--data", str(data), "--model", "hold-c", "--set", "margin=-1",
         "--out", str(out)],
        ["reward", "train", "--data", str(data), "--model", "hold-c", "--weights", "w.pth",
         "--out", str(out)],
        ["reward", "train", "--data", str(data), "--model", "hold-c", "--backbone", "resnet18",
         "--weights", str(tmp_path / "missing.pth"), "--out", str(out)],
        ["reward", "eval", str(tmp_path), "--data", str(data)],
        ["reward", "eval", str(tmp_path / "nope"), "--data", str(data)],
        ["train", "--env", "visual-pusher", "--reward", "hold:" + str(tmp_path / "nope"),
         "--goal", str(tmp_path / "g.png"), "--out", str(tmp_path / "run")],
        ["train", "--env", "visual-pusher", "--reward", "pixel-l2", "--out", str(tmp_path / "run")],
        ["train", "--env", "visual-pusher", "--reward", "r3m:x", "--goal", "g.png",
         "--out", str(tmp_path / "run")],
        ["train", "--env", "visual-pusher", "--reward", "pixel-l2", "--goal",
         str(tmp_path / "missing.png"), "--out", str(tmp_path / "run")],
        ["goal", "--env", "state-pusher", "--out", str(tmp_path / "g.png")],
        ["goal", "--env", "visual-pusher", "--out", str(tmp_path / "g.jpg")],
    ]  # fmt: skip
    for argv in cases:
        code, err = run(argv, capsys)
        assert code == 2, argv
        assert len(err.splitlines()) == 1 and err.startswith("videorl: error:"), (argv, err)
        assert not out.exists() and not (tmp_path / "run").exists(), argv
    assert not (tmp_path / "g.png").exists()


def test_reward_train_refuses_a_non_empty_out_and_state_data(tmp_path, capsys):
    data = write_video_dataset(tmp_path / "d", n=3, length=8)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    code, err = run(["reward", "train", "--data", str(data), "--model", "hold-c", "--out",
                     str(tmp_path / "full")], capsys)  # fmt: skip
    assert code == 2 and "not empty" in err
    assert (tmp_path / "full" / "keep.txt").exists()
    states = tmp_path / "s"
    prov = {"command": "test", "seed": 0}
    with DatasetWriter(
        states,
        task="acrobot",
        domain="robot",
        source="collected",
        fps=10,
        provenance=prov,
        kind="observations",
    ) as w:
        w.add_episode(np.zeros((5, 6), np.float32))
    code, err = run(["reward", "train", "--data", str(states), "--model", "hold-r", "--out",
                     str(tmp_path / "m")], capsys)  # fmt: skip
    assert code == 2 and "image datasets" in err and not (tmp_path / "m").exists()
    # one dataset twice (another spelling of its path): its videos on both sides of the split
    code, err = run(["reward", "train", "--data", str(data), f"{tmp_path}/./d/", "--model",
                     "hold-c", "--out", str(tmp_path / "m")], capsys)  # fmt: skip
    assert (
        code == 2
        and err.endswith("twice; give each dataset once")
        and not (tmp_path / "m").exists()
    )


def test_cli_train_then_eval_end_to_end(tmp_path):
    data = write_video_dataset(tmp_path / "d", n=6, length=12)
    cmd = [sys.executable, "-m", "videorl.cli"]
    done = subprocess.run(
        [*cmd, "reward", "train", "--data", str(data), "--model", "hold-r", "--steps", "4",
         "--set", "eval_every=2", "threads=1", "--out", str(tmp_path / "m"), "--no-progress"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "best held-out Spearman" in done.stdout
    done = subprocess.run(
        [*cmd, "reward", "eval", str(tmp_path / "m"), "--data", str(data), "--json",
         str(tmp_path / "s.json")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "s.json").read_text())
    assert {"spearman", "misclassification", "hinge", "mse", "mean_error"} <= set(scores)
    assert "mean error" in done.stdout


# -- in the training loop ---------------------------------------------------------------
PIXEL_TINY = dict(
    steps=100, eval_every=50, eval_episodes=1, initial_steps=20, batch_size=16, encoder="fast",
    conv_channels=[8], pixel_hidden=[32], threads=1,
)  # fmt: skip


def read_rows(run):
    import csv

    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def pusher_goal(tmp_path_factory):
    from videorl.collect import render_goal

    path, _ = render_goal("visual-pusher", tmp_path_factory.mktemp("goal") / "goal.png")
    return path


def test_learned_reward_run_records_its_scale_and_resumes_exactly(tmp_path, pusher_goal):
    cfg = make_config(env="visual-pusher", reward="pixel-l2", goal=[str(pusher_goal)],
                      env_reward_weight=0.0, **PIXEL_TINY)  # fmt: skip
    straight = train_run(cfg, tmp_path / "a")
    info = json.loads((straight / "reward.json").read_text())
    assert info["scale"] > 0 and len(info["reset_cost"]) == 10
    assert np.mean(info["reset_cost"]) / info["scale"] == pytest.approx(1 / 3)
    rows = read_rows(straight)
    assert float(rows[-1]["train_return"]) < 0  # learned reward only: never above 0
    assert float(rows[-1]["eval_return"]) >= 0  # eval reports the task's own reward
    import dataclasses

    train_run(dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, steps=50)), tmp_path / "b")
    resumed = train_run(cfg, tmp_path / "b", resume=True)
    keys = ["step", "eval_return", "train_return", "critic_loss"]
    assert [[r[k] for k in keys] for r in read_rows(resumed)] == [
        [r[k] for k in keys] for r in rows
    ]


def train_run(cfg, out, resume=False):
    from videorl.train import train

    return train(cfg, out, resume=resume, progress=False).path


def test_rlv_obs_rewards_label_videos_with_the_learned_reward(tmp_path, pusher_goal):
    from videorl.collect import collect
    from videorl.data.dataset import VideoDataset
    from videorl.observation_data import learned_labels

    data = collect("visual-pusher", "random", 2, tmp_path / "obs", progress=False)
    cfg = make_config(
        env="visual-pusher", algo="rlv", obs_data=str(data), obs_rewards="pixel-l2",
        goal=[str(pusher_goal)], reward_scale="4",
    )  # fmt: skip
    ds = VideoDataset(data)
    labels, info = learned_labels(cfg, "pixel-l2", ds)
    assert labels.shape == (ds.num_transitions,) and info["scale"] == 4.0
    goal = read_goal(pusher_goal, ds.obs_shape).astype(np.float64) / 255
    second = np.asarray(ds[0][1], np.float64) / 255
    assert labels[0] == pytest.approx(-np.linalg.norm(second - goal) / 4.0, rel=1e-4)
    # and the RLV agent uses them, with no terminal at the video's end
    from videorl.agents.rlv import RLV
    from videorl.replay import ObservationPool
    from videorl.rollout import make_env, spaces_from_env

    pool = ObservationPool(ds, reward_labels=labels)
    batch = pool.sample(64, np.random.default_rng(0))
    agent = RLV.build(spaces_from_env(make_env("visual-pusher")), cfg, torch.device("cpu"))
    reward, terminated = agent.label_rewards(batch)
    assert torch.equal(reward, batch.reward_label) and not terminated.any()
    assert batch.last.any()  # video ends were sampled, and still are not terminal


def test_sweep_names_a_missing_distance_model_or_goal(tmp_path, capsys):
    goal = write_png(flat(0), tmp_path / "g.png")
    for method, missing in (
        (f"{{reward: 'hold:{tmp_path}/nomodel', goal: [{goal}]}}", "nomodel"),
        ("{reward: pixel-l2, goal: [nowhere/goal.png]}", "nowhere/goal.png"),
    ):
        preset = tmp_path / "p.yaml"
        preset.write_text(f"name: p\nout: {tmp_path}/sw\nbase: {{env: visual-pusher}}\n"
                          f"methods:\n  m: {method}\n")  # fmt: skip
        code, err = run(["sweep", str(preset), "--seeds", "1"], capsys)
        assert code == 2 and missing in err and "header" in err, err
        assert not (tmp_path / "sw").exists()


class OldestFrame(PixelDistance):
    """Distance = brightness of the oldest frame of the history (to see what it holds)."""

    history = 3

    def distance(self, states, code):
        return states[:, 0].float().mean(dim=(1, 2, 3))


def test_history_frames_start_repeated_and_slide_with_each_step():
    reward = GoalReward(GoalDistance(OldestFrame(), [flat(0)]), scale=1.0, env_weight=0.0)
    reward.reset(flat(10))
    assert reward.step(flat(20), 0.0) == pytest.approx(-10.0)  # (s0, s0, s1)
    assert reward.step(flat(30), 0.0) == pytest.approx(-10.0)  # (s0, s1, s2)
    assert reward.step(flat(40), 0.0) == pytest.approx(-20.0)  # (s1, s2, s3)


def test_subgoals_switch_on_the_raw_distance_as_the_authors_did():
    """REFERENCE.md: switch when d < 1 for 3 steps, the raw distance, not d - d(g, g)."""

    class Offset(PixelDistance):
        def distance(self, states, code):
            return super().distance(states, code) + 5.0  # d(g, g) = 5, like HOLD-R's idling

    g1, g2 = flat(100), flat(200)
    for threshold, switched in ((1.0, False), (6.0, True)):
        reward = GoalReward(GoalDistance(Offset(), [g1, g2]), 1.0, 0.0, subgoal_cost=0.0,
                            switch_threshold=threshold)  # fmt: skip
        reward.reset(flat(0))
        for _ in range(3):
            reward.step(g1, 0.0)  # at g1: d = 5, excess 0
        assert (reward.current_goal == 1) is switched


def test_the_chain_stays_at_its_last_goal():
    """Mutation-testing survivor: at the last goal the close steps still counted and the
    chain moved past its end (IndexError at the next step)."""
    g1, g2 = flat(100), flat(200)
    reward = GoalReward(GoalDistance(PixelDistance(), [g1, g2]), 1.0, 0.0, subgoal_cost=7.0)
    reward.reset(flat(0))
    for _ in range(3):
        reward.step(g1, 0.0)
    assert reward.current_goal == 1
    for _ in range(6):
        assert reward.step(g2, 0.0) == 0.0
    assert reward.current_goal == 1


def test_the_close_step_count_restarts_at_each_switch():
    """Mutation-testing survivor: after a switch the count restarting at 1, so the next goal
    switched after 2 close steps instead of 3."""
    goals = [flat(50), flat(150), flat(250)]
    reward = GoalReward(GoalDistance(PixelDistance(), goals), 1.0, 0.0, subgoal_cost=0.0)
    reward.reset(flat(0))
    for _ in range(3):
        reward.step(goals[0], 0.0)
    assert reward.current_goal == 1
    for _ in range(2):
        reward.step(goals[1], 0.0)
    assert reward.current_goal == 1
    reward.step(goals[1], 0.0)  # third close step on goal 1
    assert reward.current_goal == 2


def test_instantaneous_form_divides_by_the_scale():
    """Mutation-testing survivor: the instantaneous form multiplied by T (tested with T = 1)."""
    goal = flat(255)
    reward = GoalReward(GoalDistance(PixelDistance(), [goal]), 2.0, 0.0, form="instantaneous")
    reward.reset(flat(100))
    unit = np.sqrt(SIZE * SIZE * 3) / 255
    assert reward.step(flat(150), 0.0) == pytest.approx(25 * unit, rel=1e-5)
    assert reward.step(flat(120), 0.0) == pytest.approx(-15 * unit, rel=1e-5)
