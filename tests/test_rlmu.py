"""RLMU (agents/rlmu.py, data/video_augment.py): Eq. 6 on a hand-checked case, the motion
module training the encoder the inverse model reads (REFERENCE.md defect 7), the negative
jitter order, the dataset left untouched, exact resume across pre-training, CLI errors."""

import csv
import hashlib
import math

import numpy as np
import pytest
import torch

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.registry import make_config
from videorl.agents.rlmu import RLMU, mem_loss, position_classes
from videorl.cli import main
from videorl.config import ConfigError
from videorl.data.dataset import VideoDataset
from videorl.data.video_augment import augmented_orders, negative_jitter_order, reversed_order
from videorl.errors import UserError
from videorl.replay import Batch, ObservationBatch, ObservationPool
from videorl.train import train

CPU = torch.device("cpu")
TINY_NETS = dict(pixel_hidden=[16], conv_channels=[4, 4], inverse_hidden=[8], mem_hidden=8,
                 mem_layers=2)  # fmt: skip


def pixel_rlmu(**kw):
    cfg = make_config(algo="rlmu", obs_data="unused", env="visual-pusher", **{**TINY_NETS, **kw})
    return RLMU.build(Spaces((48, 48, 3), True, 2, False), cfg, CPU)


def clips(b=4, k=10):
    return torch.randint(0, 256, (b, k, 3, 48, 48), dtype=torch.uint8)


# -- Eq. 6 ------------------------------------------------------------------------------
def test_eq6_position_classes_and_cross_entropy_by_hand():
    positions = torch.tensor([0.0, 0.24, 0.25, 0.5, 0.99])
    assert position_classes(positions, 4).tolist() == [0, 0, 1, 2, 3]
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])  # p = (3/4, 1/4), (1/2, 1/2)
    loss, acc = mem_loss(logits, torch.tensor([0, 1]))
    assert loss.item() == pytest.approx((-math.log(0.75) - math.log(0.5)) / 2)
    assert acc.item() == 0.5  # row 1 is a tie: argmax picks class 0


@pytest.mark.parametrize("inverse_encoder", ["own", "shared"])
def test_the_motion_loss_trains_the_encoder_the_inverse_model_reads(inverse_encoder):
    """Defect 7: the authors' motion module read raw pixels and never trained the encoder."""
    extra = {"encoder": "fast"} if inverse_encoder == "shared" else {}
    agent = pixel_rlmu(inverse_encoder=inverse_encoder, **extra)
    encoder = agent.inverse_encoder if inverse_encoder == "own" else agent.critic_encoder
    before = [p.detach().clone() for p in encoder.parameters()]
    inputs = UpdateInputs(clips=clips(), clip_positions=torch.tensor([0.0, 0.3, 0.6, 0.9]))
    metrics = agent.pretrain(inputs)
    assert set(metrics) == {"mem_loss", "mem_acc"}
    assert all(not torch.equal(a, p) for a, p in zip(before, encoder.parameters()))
    x = clips(1, 1)[0]
    # The encoder the pre-training moved is the one whose features the inverse model reads.
    assert torch.equal(agent.inverse_features(x), encoder(x))


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_eq7_adds_the_motion_loss_to_the_joint_update(weight):
    agent = pixel_rlmu(mem_weight=weight)
    frames = lambda n: clips(n, 1)[:, 0]  # noqa: E731
    robot = Batch(frames(4), torch.rand(4, 2) * 2 - 1, torch.zeros(4), frames(4), torch.zeros(4))
    observations = ObservationBatch(frames(4), frames(4), torch.tensor([False, True] * 2))
    lstm = [p.detach().clone() for p in agent.mem.parameters()]
    metrics = agent.update(UpdateInputs(robot, observations, clips(), torch.rand(4)))
    assert {"mem_loss", "mem_acc", "inverse_loss", "critic_loss"} <= set(metrics)
    moved = [not torch.equal(a, p) for a, p in zip(lstm, agent.mem.parameters())]
    assert all(moved) if weight else not any(moved)


def test_state_tasks_are_refused():
    cfg = make_config(algo="rlmu", obs_data="unused", env="state-pusher")
    with pytest.raises(ConfigError, match="image encoder"):
        RLMU.build(Spaces((5,), False, 2, False), cfg, CPU)


def test_pretraining_leaves_the_rl_networks_alone():
    agent = pixel_rlmu()
    others = [agent.actor, agent.q, agent.actor_encoder, agent.q_encoders, agent.inverse]
    before = [[p.detach().clone() for p in m.parameters()] for m in others]
    agent.pretrain(UpdateInputs(clips=clips(), clip_positions=torch.rand(4)))
    for module, saved in zip(others, before):
        assert all(torch.equal(a, p) for a, p in zip(saved, module.parameters()))


# -- the Video Data Generator -----------------------------------------------------------
def test_negative_jitter_order_of_a_30_frame_video():
    forward, backward = [10, 11, 12, 13, 14], [14, 13, 12, 11, 10]
    expected = list(range(10)) + forward + backward + forward + backward
    assert negative_jitter_order(30, jitter=5, start=10).tolist() == expected
    cut = list(range(12)) + [12, 13, 14, 14, 13, 12] * 3
    assert negative_jitter_order(30, jitter=3, start=12).tolist() == cut
    assert reversed_order(4).tolist() == [3, 2, 1, 0]
    with pytest.raises(ValueError):
        negative_jitter_order(30, jitter=5, start=26)


def test_augmented_copies_are_half_the_videos_and_depend_only_on_the_seed():
    lengths = [101] * 9 + [15]  # the last is too short for a start in 10-25 plus 5 frames
    orders = augmented_orders(lengths, "negative_jitter", 0.5, 5, (10, 25), seed=3)
    assert len(orders) == 5 and 9 not in [video for video, _ in orders]
    for _, order in orders:
        start = int(np.flatnonzero(np.diff(order) != 1)[0]) - 4  # the first turn
        assert 10 <= start <= 25 and len(order) == 101
    again = augmented_orders(lengths, "negative_jitter", 0.5, 5, (10, 25), seed=3)
    assert all(a[0] == b[0] and np.array_equal(a[1], b[1]) for a, b in zip(orders, again))
    other = augmented_orders(lengths, "negative_jitter", 0.5, 5, (10, 25), seed=4)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(orders, other))


def test_too_few_videos_long_enough_for_the_copies_asked_is_refused():
    lengths = [101] * 4 + [15] * 6  # 5 copies asked, 4 videos long enough (16 frames)
    with pytest.raises(UserError, match="asks for 5 copies .* only 4 of 10 videos have the 16"):
        augmented_orders(lengths, "negative_jitter", 0.5, 5, (10, 25), seed=0)
    assert len(augmented_orders([101], "negative_jitter", 0.4, 5, (10, 25), seed=0)) == 1


@pytest.fixture(scope="module")
def pusher_videos(tmp_path_factory):
    out = tmp_path_factory.mktemp("d") / "pusher"
    cmd = ["collect", "--env", "visual-pusher", "--policy", "expert", "--episodes", "2",
           "--seed", "0", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(cmd) == 0
    return out


def test_the_pool_adds_the_copies_in_memory(pusher_videos):
    ds = VideoDataset(pusher_videos)
    orders = augmented_orders(ds.lengths, "negative_jitter", 1.0, 5, (10, 25), seed=0)
    pool = ObservationPool(ds, groundtruth=True, clip_length=10, extra_videos=orders)
    assert len(pool) == 2 * sum(t - 1 for t in ds.lengths)
    b = pool.sample(400, np.random.default_rng(0))
    copies = torch.isnan(b.gt_action).any(-1)  # copies have no true actions
    assert copies.any() and (~copies).any()
    clips, positions = pool.sample_clips(50, np.random.default_rng(0))
    assert clips.shape == (50, 10, 3, 48, 48) and ((positions >= 0) & (positions < 1)).all()


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


TINY_RUN = dict(env="visual-pusher", algo="rlmu", eval_every=50, eval_episodes=1,
                eval_at_start=False, initial_steps=30, batch_size=8, obs_batch_size=8,
                mem_batch_size=4, mem_pretrain_steps=20, threads=1, **TINY_NETS)  # fmt: skip


def rows(run):
    with (run / "metrics.csv").open() as fh:
        return [{k: v for k, v in r.items() if k not in ("steps_per_second", "wall_time")}
                for r in csv.DictReader(fh)]  # fmt: skip


def test_a_run_killed_during_pretraining_resumes_exactly_and_leaves_the_data(
    tmp_path, pusher_videos, monkeypatch
):
    before = digest(pusher_videos)
    cfg = make_config(obs_data=str(pusher_videos), steps=50, **TINY_RUN)
    straight = train(cfg, tmp_path / "a", progress=False)
    calls = {"n": 0}
    real = RLMU.pretrain

    def killed_at_7(self, inputs):
        calls["n"] += 1
        if calls["n"] == 7:  # after the checkpoint at pre-training step 6
            raise KeyboardInterrupt
        return real(self, inputs)

    monkeypatch.setattr(RLMU, "pretrain", killed_at_7)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "b", progress=False)
    assert [r["pretrain_step"] for r in rows(tmp_path / "b")] == ["2", "4", "6"]
    monkeypatch.setattr(RLMU, "pretrain", real)
    resumed = train(cfg, tmp_path / "b", resume=True, progress=False)
    assert rows(resumed.path) == rows(straight.path)
    pretraining = [r for r in rows(straight.path) if not r["eval_return"]]
    assert [r["pretrain_step"] for r in pretraining] == [str(i) for i in range(2, 21, 2)]
    assert all(r["mem_loss"] and not r["critic_loss"] for r in pretraining)
    assert digest(pusher_videos) == before  # the copies never reach the disk


# -- the command line -------------------------------------------------------------------
def one_line_error(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("videorl: error: ")
    return err[0]


def test_cli_rlmu_errors(tmp_path, capsys, pusher_videos):
    out = tmp_path / "r"
    base = ["train", "--env", "visual-pusher", "--algo", "rlmu", "--out", out, "--no-progress"]
    assert "--obs-data" in one_line_error(capsys, *base)
    long_clip = ["--obs-data", pusher_videos, "--set", "mem_clip_length=500"]
    assert "no video has 500 frames" in one_line_error(capsys, *base, *long_clip)
    paired = ["--obs-data", pusher_videos, "--set", f"paired_data={pusher_videos}"]
    assert "paired loss" in one_line_error(capsys, *base, *paired)
    late_start = ["--obs-data", pusher_videos, "--set", "jitter_start=[96,99]"]
    assert "102 frames a copy needs" in one_line_error(capsys, *base, *late_start)
    assert not out.exists()
