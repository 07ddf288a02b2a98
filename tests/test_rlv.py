"""RLV (agents/rlv.py): Eq. 1-3 on tiny tensors, the combined batch, the ablation flags, the
adversarial gradient reaching the encoder (REFERENCE.md defect 1), and RLV in the loop."""

import csv
import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.registry import make_config
from videorl.agents.rlv import (
    RLV,
    domain_loss,
    grad_reverse,
    inverse_loss,
    reward_labels,
    table2_c_small,
)
from videorl.config import ConfigError
from videorl.data.dataset import VideoDataset
from videorl.data.writer import DatasetWriter
from videorl.nets import ConvEncoder
from videorl.replay import Batch, ObservationBatch, ObservationPool
from videorl.train import train

CPU = torch.device("cpu")


# -- the equations on tiny tensors ------------------------------------------------------
def test_eq1_continuous_is_squared_error_summed_over_action_dims():
    pred = torch.tensor([[0.5, -0.5], [1.0, 0.0]])
    action = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    # row 0: 0.25 + 0.25 = 0.5; row 1: 0 + 1 = 1; mean 0.75
    assert inverse_loss(pred, action, discrete=False).item() == pytest.approx(0.75)
    # three rows of two dimensions: summing over the batch instead gives (1 + 4) / 2 = 2.5
    pred = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    assert inverse_loss(pred, torch.zeros(3, 2), discrete=False).item() == pytest.approx(5 / 3)


def test_eq1_discrete_is_cross_entropy_on_the_true_index():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    action = torch.tensor([[0.0], [2.0]])
    expected = (-math.log(math.e**2 / (math.e**2 + 2)) + math.log(3)) / 2
    assert inverse_loss(logits, action, discrete=True).item() == pytest.approx(expected)


def test_eq2_last_transition_gets_c_large_and_is_the_only_terminal():
    reward, terminated = reward_labels(torch.tensor([False, True, False]), 10.0, -1.0)
    assert reward.tolist() == [-1.0, 10.0, -1.0]
    assert terminated.tolist() == [0.0, 1.0, 0.0]


def test_table2_defaults():
    assert table2_c_small("acrobot") == -1.0 and table2_c_small("gym:Acrobot-v1") == -1.0
    assert table2_c_small("visual-pusher") == 0.0


def test_eq3_discriminator_loss_is_minus_l_dom():
    # D = sigmoid(logit): D(h_int) = 0.5 -> log 0.5; D(h_obs) = sigmoid(2) -> log(1 - s(2))
    logits_int, logits_obs = torch.tensor([0.0]), torch.tensor([2.0])
    s2 = 1 / (1 + math.exp(-2))
    l_dom = math.log(0.5) + math.log(1 - s2)
    assert domain_loss(logits_int, logits_obs).item() == pytest.approx(-l_dom, rel=1e-6)


def test_gradient_reversal_flips_and_scales():
    x = torch.ones(3, requires_grad=True)
    grad_reverse(x, 0.1).sum().backward()
    assert torch.allclose(x.grad, torch.full((3,), -0.1))


# -- agents -----------------------------------------------------------------------------
def pixel_rlv(**kw):
    cfg = make_config(
        algo="rlv", obs_data="unused", env="visual-pusher", pixel_hidden=[16],
        conv_channels=[4, 4, 8], inverse_hidden=[8], **kw,
    )  # fmt: skip
    return RLV.build(Spaces((48, 48, 3), True, 2, False), cfg, CPU)


def state_rlv(discrete=False, **kw):
    cfg = make_config(
        algo="rlv", obs_data="unused", env="acrobot" if discrete else "state-pusher",
        hidden=[16], inverse_hidden=[8], **kw,
    )  # fmt: skip
    spaces = Spaces((6,), False, 3, True) if discrete else Spaces((5,), False, 2, False)
    return RLV.build(spaces, cfg, CPU)


def frames(n):
    return torch.randint(0, 256, (n, 3, 48, 48), dtype=torch.uint8)


def state_batches(n=5, m=4, obs_dim=5, action_dim=2, gt=True):
    g = torch.Generator().manual_seed(0)
    batch = Batch(
        torch.randn(n, obs_dim, generator=g), torch.rand(n, action_dim, generator=g) * 2 - 1,
        torch.randn(n, generator=g), torch.randn(n, obs_dim, generator=g), torch.zeros(n),
    )  # fmt: skip
    obs_batch = ObservationBatch(
        obs=torch.randn(m, obs_dim, generator=g),
        next_obs=torch.randn(m, obs_dim, generator=g),
        last=torch.tensor([False, True] * (m // 2)),
        gt_action=torch.rand(m, action_dim, generator=g) * 2 - 1 if gt else None,
        gt_reward=torch.tensor([0.0, 1.0] * (m // 2)) if gt else None,
    )
    return batch, obs_batch


def test_domain_term_alone_reaches_the_encoder_reversed():
    """Defect 1: the original code stopped the adversarial gradient before the encoder."""
    agent = pixel_rlv(c3=0.01)
    x_int, x_obs = frames(6), frames(6)
    loss, acc = agent.domain_terms(agent.inverse_features(x_int), agent.inverse_features(x_obs))
    loss.backward()
    reversed_grads = [p.grad.clone() for p in agent.inverse_encoder.parameters()]
    disc_grads = [p.grad.clone() for p in agent.discriminator.parameters()]
    assert all(g.abs().sum() > 0 for g in reversed_grads)
    assert all(p.grad.abs().sum() > 0 for p in agent.discriminator.parameters())
    assert 0.0 <= acc.item() <= 1.0
    # The encoder gets exactly -c3 times the gradient of the discriminator's loss: it learns
    # to confuse the discriminator, while the discriminator learns to tell the domains apart.
    agent.zero_grad()
    d = agent.discriminator
    plain = domain_loss(
        d(agent.inverse_features(x_int)).squeeze(-1), d(agent.inverse_features(x_obs)).squeeze(-1)
    )
    plain.backward()
    for r, p in zip(reversed_grads, agent.inverse_encoder.parameters()):
        assert torch.allclose(r, -0.01 * p.grad, atol=1e-9, rtol=1e-4)
    # ... and the discriminator gets the plain gradient of its own loss: the reversal sits
    # between encoder and discriminator, not after the discriminator (which would make it
    # learn to confuse itself).
    for g, p in zip(disc_grads, agent.discriminator.parameters()):
        assert torch.allclose(g, p.grad, atol=1e-9, rtol=1e-4)


def test_update_with_domain_confusion_changes_the_inverse_encoder_by_the_domain_term():
    """With c1 = 0 and c3 > 0 only the domain term can move the inverse model's extractor."""
    agent = pixel_rlv(c1=0.0, c3=1.0, disc_lr=1e-3)
    before = [p.detach().clone() for p in agent.inverse_encoder.parameters()]
    n = 4
    batch = Batch(frames(n), torch.zeros(n, 2), torch.zeros(n), frames(n), torch.zeros(n))
    obs_batch = ObservationBatch(frames(n), frames(n), torch.zeros(n, dtype=torch.bool))
    metrics = agent.update(UpdateInputs(batch, obs_batch))
    moved = [not torch.equal(b, p) for b, p in zip(before, agent.inverse_encoder.parameters())]
    assert all(moved)
    assert {"disc_loss", "disc_acc", "inverse_loss"} <= set(metrics)

    still = pixel_rlv(c1=0.0, c3=0.0)
    before = [p.detach().clone() for p in still.inverse_encoder.parameters()]
    still.update(UpdateInputs(batch, obs_batch))
    assert all(torch.equal(b, p) for b, p in zip(before, still.inverse_encoder.parameters()))


def capture_sac_inputs(agent, monkeypatch):
    """Record the combined batch RLV hands to SAC (actions, rewards, terminals)."""
    seen = {}
    original_target, original_critic = agent.td_target, agent.critic_loss

    def td_target(next_obs, reward, terminated):
        seen.update(next_obs=next_obs, reward=reward, terminated=terminated)
        return original_target(next_obs, reward, terminated)

    def critic_loss(obs, action, target):
        seen.update(obs=obs, action=action)
        return original_critic(obs, action, target)

    monkeypatch.setattr(agent, "td_target", td_target)
    monkeypatch.setattr(agent, "critic_loss", critic_loss)
    return seen


def test_combined_batch_has_true_actions_first_then_inferred(monkeypatch):
    agent = state_rlv()
    batch, obs_batch = state_batches(n=5, m=4)
    with torch.no_grad():
        h = torch.cat([obs_batch.obs, obs_batch.next_obs], dim=-1)
        inferred = agent.inverse(h).clamp(-1, 1)
    seen = capture_sac_inputs(agent, monkeypatch)
    agent.update(UpdateInputs(batch, obs_batch))
    assert seen["action"].shape == (9, 2) and seen["obs"].shape == (9, 5)
    assert torch.equal(seen["action"][:5], batch.action)
    assert torch.allclose(seen["action"][5:], inferred)
    assert torch.equal(seen["obs"][:5], batch.obs) and torch.equal(seen["obs"][5:], obs_batch.obs)
    assert seen["reward"][5:].tolist() == [0.0, 10.0, 0.0, 10.0]  # Table 2 MuJoCo: 0 / 10
    assert seen["terminated"][5:].tolist() == [0.0, 1.0, 0.0, 1.0]
    assert torch.equal(seen["reward"][:5], batch.reward)


def test_discrete_observation_actions_are_argmax_indices(monkeypatch):
    agent = state_rlv(discrete=True)
    batch, obs_batch = state_batches(n=3, m=2, obs_dim=6, action_dim=1, gt=False)
    batch = Batch(batch.obs, torch.tensor([[0.0], [2.0], [1.0]]), batch.reward, batch.next_obs,
                  batch.terminated)  # fmt: skip
    with torch.no_grad():
        logits = agent.inverse(torch.cat([obs_batch.obs, obs_batch.next_obs], dim=-1))
    seen = capture_sac_inputs(agent, monkeypatch)
    metrics = agent.update(UpdateInputs(batch, obs_batch))
    assert seen["action"][3:, 0].tolist() == logits.argmax(-1).float().tolist()
    assert seen["reward"][3:].tolist() == [-1.0, 10.0]  # Table 2 acrobot: -1 / 10
    assert math.isnan(metrics["obs_label_error"].item())  # no ground truth in this batch


ABLATIONS = [
    ({"obs_actions": "groundtruth"}, "action"),
    ({"obs_actions": "zero"}, "action"),
    ({"obs_rewards": "groundtruth"}, "reward"),
    ({"obs_rewards": "zero"}, "reward"),
]


@pytest.mark.parametrize("flags,changed", ABLATIONS)
def test_each_ablation_flag_changes_exactly_what_it_says(monkeypatch, flags, changed):
    batch, obs_batch = state_batches(n=5, m=4)
    default, ablated = state_rlv(), state_rlv(**flags)
    ablated.load_state_dict(default.state_dict())
    seen_default = capture_sac_inputs(default, monkeypatch)
    seen_ablated = capture_sac_inputs(ablated, monkeypatch)
    default.update(UpdateInputs(batch, obs_batch))
    ablated.update(UpdateInputs(batch, obs_batch))
    expected = {
        "obs_actions=groundtruth": obs_batch.gt_action,
        "obs_actions=zero": torch.zeros(4, 2),
        "obs_rewards=groundtruth": obs_batch.gt_reward,
        "obs_rewards=zero": torch.zeros(4),
    }["{}={}".format(*next(iter(flags.items())))]
    assert torch.equal(seen_ablated[changed][5:], expected)
    assert not torch.equal(seen_default[changed][5:], expected)
    for key in ("action", "reward", "terminated", "obs"):
        if key != changed:
            assert torch.equal(seen_ablated[key], seen_default[key]), key
    assert torch.equal(seen_ablated[changed][:5], seen_default[changed][:5])  # robot rows


def test_state_observations_refuse_domain_confusion():
    with pytest.raises(ConfigError, match="c3"):
        state_rlv(c3=0.001)


def test_shared_encoder_is_one_extractor_for_every_network():
    """Issue 12, deviation 5: the CoRL version's single extractor, read by the policy, both
    Q functions, the inverse model and the discriminator."""
    agent = pixel_rlv(inverse_encoder="shared", encoder="fast", c3=0.001)
    encoders = [m for m in agent.modules() if isinstance(m, ConvEncoder)]
    assert encoders == [agent.critic_encoder]
    x = frames(3)
    h = agent.critic_encoder(x)
    assert torch.equal(agent.inverse_features(x), h)
    assert torch.equal(agent.critic_features(x), h)
    assert torch.equal(agent.actor_features(x), h)


def test_shared_encoder_with_one_extractor_per_network_is_refused():
    with pytest.raises(ConfigError, match="encoder=fast"):
        pixel_rlv(inverse_encoder="shared", encoder="paper")


def test_paired_loss_is_zero_for_identical_renders():
    agent = pixel_rlv(paired_data="unused")
    x, y = frames(3), frames(3)
    same = ObservationBatch(x, y, torch.zeros(3, dtype=torch.bool), paired_obs=x,
                            paired_next_obs=y)  # fmt: skip
    assert agent.paired_loss(same).item() == 0.0
    other = ObservationBatch(x, y, torch.zeros(3, dtype=torch.bool), paired_obs=frames(3),
                             paired_next_obs=frames(3))  # fmt: skip
    assert agent.paired_loss(other).item() > 0.0


# -- the observation pool ---------------------------------------------------------------
def write_dataset(path, lengths, obs_dim=6, groundtruth=True, task="acrobot"):
    with DatasetWriter(path, task=task, domain="robot", source="collected", fps=10,
                       provenance={"command": "test", "seed": 0},
                       kind="observations") as w:  # fmt: skip
        for e, t in enumerate(lengths):
            data = np.zeros((t, obs_dim), np.float32)
            data[:, 0] = e  # episode id
            data[:, 1] = np.arange(t)  # time index
            gt = None
            if groundtruth:
                gt = {"actions": np.full((t - 1, 1), e % 3, np.float32),
                      "rewards": -np.ones(t - 1, np.float32)}  # fmt: skip
            w.add_episode(data, groundtruth=gt)
    return path


def test_pool_marks_video_ends_and_pairs_consecutive_frames(tmp_path):
    lengths = [3, 5, 2]
    pool = ObservationPool(VideoDataset(write_dataset(tmp_path / "d", lengths)), groundtruth=True)
    assert len(pool) == sum(t - 1 for t in lengths)
    b = pool.sample(500, np.random.default_rng(0))
    ep, t = b.obs[:, 0].long(), b.obs[:, 1].long()
    assert torch.equal(b.next_obs[:, 0], b.obs[:, 0])  # never across episodes
    assert torch.equal(b.next_obs[:, 1], b.obs[:, 1] + 1)
    expected_last = t == torch.tensor(lengths)[ep] - 2
    assert torch.equal(b.last, expected_last) and b.last.any() and (~b.last).any()
    assert torch.equal(b.gt_action[:, 0], (ep % 3).float())


def test_groundtruth_ablation_without_groundtruth_is_a_user_error(tmp_path):
    ds = VideoDataset(write_dataset(tmp_path / "d", [3], groundtruth=False))
    from videorl.errors import UserError

    with pytest.raises(UserError, match="groundtruth"):
        ObservationPool(ds, groundtruth=True)


# -- the loop and the CLI ---------------------------------------------------------------
TINY = dict(
    steps=300, eval_every=150, eval_episodes=1, initial_steps=100, batch_size=16,
    obs_batch_size=8, hidden=[16], inverse_hidden=[8], threads=1,
)  # fmt: skip


@pytest.fixture(scope="module")
def acrobot_data(tmp_path_factory):
    from videorl.collect import collect

    return collect("acrobot", "expert", 3, tmp_path_factory.mktemp("d") / "acro", progress=False)


def read_rows(run):
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_rlv_run_logs_inverse_loss_and_resumes_exactly(tmp_path, acrobot_data):
    cfg = make_config(env="acrobot", algo="rlv", obs_data=str(acrobot_data), **TINY)
    straight = train(cfg, tmp_path / "a", progress=False)
    rows = read_rows(straight.path)
    assert "inverse_loss" in rows[0] and "disc_loss" not in rows[0]
    assert float(rows[-1]["inverse_loss"]) > 0
    assert 0.0 <= float(rows[-1]["obs_label_error"]) <= 1.0  # collect wrote ground truth
    half = make_config(
        env="acrobot", algo="rlv", obs_data=str(acrobot_data), **{**TINY, "steps": 150}
    )
    train(half, tmp_path / "b", progress=False)
    resumed = train(cfg, tmp_path / "b", resume=True, progress=False)
    keys = ["step", "eval_return", "critic_loss", "inverse_loss", "obs_label_error"]
    assert [[r[k] for k in keys] for r in read_rows(resumed.path)] == [
        [r[k] for k in keys] for r in rows
    ]
    # an RLV checkpoint loads as a policy (eval and collect build the agent from its config)
    from videorl.policies import load_policy
    from videorl.rollout import make_env

    env = make_env("acrobot")
    _, step, policy = load_policy(straight.path, env)
    obs, _ = env.reset(seed=0)
    assert step == 300 and policy(obs) in (0, 1, 2)


def test_rlv_batch_sizes_come_from_config(tmp_path, acrobot_data, monkeypatch):
    """Defect 6 for RLV: n and m are config keys, never hard-coded slices."""
    sizes = []
    original = RLV.update

    def spy(self, inputs):
        sizes.append((len(inputs.robot), len(inputs.observations)))
        return original(self, inputs)

    monkeypatch.setattr(RLV, "update", spy)
    cfg = make_config(env="acrobot", algo="rlv", obs_data=str(acrobot_data),
                      **{**TINY, "steps": 120, "batch_size": 12, "obs_batch_size": 7})  # fmt: skip
    train(cfg, tmp_path / "r", progress=False)
    assert sizes and set(sizes) == {(12, 7)}


def videorl(*args):
    return subprocess.run(
        [sys.executable, "-m", "videorl.cli", *args], capture_output=True, text=True
    )


def assert_user_error(res, out, *needles):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in lines[0]
    assert not out.exists()


def test_cli_rlv_without_obs_data(tmp_path):
    out = tmp_path / "r"
    assert_user_error(videorl("train", "--algo", "rlv", "--out", str(out)), out, "--obs-data")


def test_cli_obs_data_of_another_kind(tmp_path, acrobot_data):
    out = tmp_path / "r"
    res = videorl("train", "--env", "visual-pusher", "--algo", "rlv", "--obs-data",
                  str(acrobot_data), "--out", str(out))  # fmt: skip
    assert_user_error(res, out, "state observations", "videorl collect --env visual-pusher")


def test_cli_obs_data_of_another_size(tmp_path, acrobot_data):
    out = tmp_path / "r"
    res = videorl("train", "--env", "state-pusher", "--algo", "rlv", "--obs-data",
                  str(acrobot_data), "--out", str(out))  # fmt: skip
    assert_user_error(res, out, "observation size")


def test_cli_missing_obs_data_folder(tmp_path):
    out = tmp_path / "r"
    res = videorl("train", "--algo", "rlv", "--obs-data", str(tmp_path / "nope"), "--out", str(out))
    assert_user_error(res, out, "not found")


def test_cli_groundtruth_ablation_without_groundtruth(tmp_path):
    data = write_dataset(tmp_path / "d", [4, 4], groundtruth=False)
    out = tmp_path / "r"
    res = videorl("train", "--algo", "rlv", "--obs-data", str(data), "--out", str(out),
                  "--set", "obs_actions=groundtruth")  # fmt: skip
    assert_user_error(res, out, "groundtruth")


def test_cli_bad_ablation_value(tmp_path, acrobot_data):
    out = tmp_path / "r"
    res = videorl("train", "--algo", "rlv", "--obs-data", str(acrobot_data), "--out", str(out),
                  "--set", "obs_rewards=learned")  # fmt: skip
    assert_user_error(res, out, "obs_rewards", "rlv, groundtruth, zero")


def test_demo_runs_sac_and_rlv_and_prints_the_table(tmp_path):
    out = tmp_path / "demo"
    res = videorl("demo", "--out", str(out), "--steps", "400")
    assert res.returncode == 0, res.stderr
    assert "steps to -80" in res.stdout and "x sac" in res.stdout
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith(("sac", "rlv"))]
    assert [ln.split()[0] for ln in lines] == ["sac", "rlv"]
    assert (out / "learning_curves.png").stat().st_size > 0
    assert (out / "rlv" / "metrics.csv").is_file() and (out / "sac" / "metrics.csv").is_file()


def test_paired_dataset_must_pair_frame_by_frame(tmp_path):
    from videorl.errors import UserError

    ds = VideoDataset(write_dataset(tmp_path / "a", [3, 4]))
    other = VideoDataset(write_dataset(tmp_path / "b", [3, 5]))
    with pytest.raises(UserError, match="pair frame by frame"):
        ObservationPool(ds, paired=other)
    pool = ObservationPool(ds, paired=VideoDataset(write_dataset(tmp_path / "c", [3, 4])))
    b = pool.sample(20, np.random.default_rng(0))
    assert torch.equal(b.paired_obs, b.obs) and torch.equal(b.paired_next_obs, b.next_obs)


def test_sweep_names_a_missing_dataset(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text(
        "name: p\nbase: {env: acrobot}\nmethods:\n  rlv: {algo: rlv, obs_data: nowhere/data}\n"
    )
    res = videorl("sweep", str(preset), "--seeds", "1")
    assert res.returncode == 2 and "nowhere/data" in res.stderr and "header" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


# -- Eq. 2 terminals: video ends or recorded terminations (issue 12, deviation 7) --------
def test_recorded_terminals_give_c_large_only_where_the_episode_really_ended():
    _, obs_batch = state_batches()
    obs_batch = dataclasses.replace(
        obs_batch, last=torch.tensor([False, True, True, False]),
        gt_terminated=torch.tensor([0.0, 1.0, 0.0, 0.0]),  # video 2 hit the time limit
    )  # fmt: skip
    paper = state_rlv(c_large=10.0, c_small=-1.0)
    reward, terminated = paper.label_rewards(obs_batch)
    assert reward.tolist() == [-1.0, 10.0, 10.0, -1.0] and terminated.tolist() == [0, 1, 1, 0]
    recorded = state_rlv(c_large=10.0, c_small=-1.0, obs_terminals="recorded")
    reward, terminated = recorded.label_rewards(obs_batch)
    assert reward.tolist() == [-1.0, 10.0, -1.0, -1.0] and terminated.tolist() == [0, 1, 0, 0]
    groundtruth = state_rlv(obs_rewards="groundtruth", obs_terminals="recorded")
    reward, terminated = groundtruth.label_rewards(obs_batch)
    assert reward.tolist() == obs_batch.gt_reward.tolist() and terminated.tolist() == [0, 1, 0, 0]


def test_pool_reads_recorded_terminations(tmp_path):
    with DatasetWriter(tmp_path / "d", task="acrobot", domain="robot", source="collected",
                       fps=10, provenance={"command": "test", "seed": 0},
                       kind="observations") as w:  # fmt: skip
        for episode, ended in enumerate((True, False)):  # episode 1 hit the time limit
            w.add_episode(np.full((3, 6), episode, np.float32),
                          groundtruth={"terminated": np.array([False, ended])})  # fmt: skip
    pool = ObservationPool(VideoDataset(tmp_path / "d"), groundtruth=True)
    b = pool.sample(200, np.random.default_rng(0))
    first_episode = b.obs[:, 0] == 0
    assert torch.equal(b.gt_terminated.bool(), b.last & first_episode)
    assert (b.last & ~first_episode).any()


def test_cli_recorded_terminals_need_them_in_the_dataset(tmp_path):
    data = write_dataset(tmp_path / "d", [4, 4])  # records actions and rewards only
    out = tmp_path / "r"
    res = videorl("train", "--algo", "rlv", "--obs-data", str(data), "--out", str(out),
                  "--set", "obs_terminals=recorded")  # fmt: skip
    assert_user_error(res, out, "terminated (read by obs_terminals=recorded)")


def test_cli_groundtruth_from_another_task_is_refused(tmp_path, acrobot_data):
    """acrobot's action indices are not acrobot-continuous's torques."""
    out = tmp_path / "r"
    res = videorl("train", "--env", "acrobot-continuous", "--algo", "rlv", "--obs-data",
                  str(acrobot_data), "--out", str(out),
                  "--set", "obs_actions=groundtruth")  # fmt: skip
    assert_user_error(res, out, "recorded on acrobot")


def test_joint_loss_is_eq4():
    """Mutation-testing survivors: c1 / L_a, L_RL - aux. Eq. 4 without domain confusion."""
    agent = state_rlv(c1=0.7, c2=1.3)
    batch, obs_batch = state_batches()
    total, metrics, _, _ = agent.joint_loss(UpdateInputs(robot=batch, observations=obs_batch))
    expected = 1.3 * metrics["critic_loss"] + 0.7 * metrics["inverse_loss"]
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)


def test_one_update_steps_the_inverse_model_and_the_discriminator():
    """Mutation-testing survivors: the discriminator's or the inverse MLP's optimiser left
    out of the step, or the discriminator's learning rate not the configured one."""
    agent = pixel_rlv(c3=0.01, disc_lr=1e-3)
    assert agent.disc_opt.param_groups[0]["lr"] == 1e-3
    robot = Batch(frames(4), torch.rand(4, 2) * 2 - 1, torch.zeros(4), frames(4), torch.zeros(4))
    observations = ObservationBatch(frames(4), frames(4), torch.tensor([False, True] * 2))
    nets = (agent.discriminator, agent.inverse, agent.inverse_encoder)
    before = [[p.detach().clone() for p in net.parameters()] for net in nets]
    agent.update(UpdateInputs(robot=robot, observations=observations))
    for net, saved in zip(nets, before):
        assert all(not torch.equal(a, p) for a, p in zip(saved, net.parameters()))


def test_inferred_continuous_actions_are_clipped_to_the_action_box():
    """Mutation-testing survivors: the inverse model's labels not clipped to [-1, 1]."""
    agent = state_rlv()
    _, obs_batch = state_batches(m=2)
    pred = torch.tensor([[2.0, -3.0], [0.5, -0.5]])
    labels = agent.label_actions(pred, obs_batch)
    assert labels.tolist() == [[1.0, -1.0], [0.5, -0.5]]


@pytest.mark.parametrize("mode", ["zero", "groundtruth"])
def test_discrete_ablation_labels_are_one_index_per_transition(mode):
    """Mutation-testing survivors: discrete zero/groundtruth labels of width 2 or A, not 1."""
    agent = state_rlv(discrete=True, obs_actions=mode)
    _, obs_batch = state_batches(m=4, obs_dim=6, action_dim=1, gt=False)
    gt = torch.tensor([[2.0], [0.0], [1.0], [2.0]])
    obs_batch = dataclasses.replace(obs_batch, gt_action=gt)
    labels = agent.label_actions(torch.randn(4, 3), obs_batch)
    assert labels.shape == (4, 1)
    assert torch.equal(labels, gt if mode == "groundtruth" else torch.zeros(4, 1))


def test_observation_request_follows_the_config():
    """Mutation-testing survivors: what RLV asks the trainer for (video augmentation and its
    parameters, paired data, learned reward labels, ground truth)."""
    from videorl.data.video_augment import VideoAugment

    base = dict(algo="rlv", obs_data="d", env="visual-pusher")
    request = RLV.observation_request(make_config(
        **base, obs_augment="negative_jitter", augment_fraction=0.25, jitter=7,
        jitter_start=[3, 8],
    ))  # fmt: skip
    assert request.augment == VideoAugment("negative_jitter", 0.25, 7, (3, 8))
    assert request.paired_data is None and request.reward_labels is None
    assert request.groundtruth == {}
    request = RLV.observation_request(make_config(
        **base, paired_data="p", obs_rewards="hold:m", goal=["g.png"], obs_actions="groundtruth",
    ))  # fmt: skip
    assert request.augment is None
    assert request.paired_data == "p" and request.reward_labels == "hold:m"
    assert request.groundtruth == {"actions": "obs_actions=groundtruth"}
    request = RLV.observation_request(make_config(**base))
    assert request.augment is None and request.reward_labels is None  # obs_rewards=rlv
