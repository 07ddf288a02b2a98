"""SAC + RND (agents/rnd.py): the fixed target, the predictor, the normalisers, the bonus in
SAC's reward, and exact resume."""

import csv

import numpy as np
import pytest
import torch

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.registry import make_config
from videorl.agents.rnd import RND, RunningMoments
from videorl.agents.sac import SAC
from videorl.replay import Batch
from videorl.train import train

CPU = torch.device("cpu")


def state_rnd(**kw):
    cfg = make_config(algo="rnd", env="state-pusher", **{"hidden": [16], "rnd_hidden": [32], **kw})
    return RND.build(Spaces((5,), False, 2, False), cfg, CPU)


def batch(next_obs, reward=None):
    n = next_obs.shape[0]
    reward = torch.zeros(n) if reward is None else reward
    return Batch(next_obs.clone(), torch.zeros(n, 2), reward, next_obs, torch.zeros(n))


def test_running_moments_match_the_whole_stream():
    rng = np.random.default_rng(0)
    data = [rng.normal(3.0, 2.0, (n, 4)) for n in (5, 17, 1, 40)]
    moments = RunningMoments((4,))
    for chunk in data:
        moments.update(torch.as_tensor(chunk))
    whole = np.concatenate(data)
    np.testing.assert_allclose(moments.mean.numpy(), whole.mean(0), rtol=1e-10)
    np.testing.assert_allclose(moments.std.numpy(), whole.std(0), rtol=1e-10)


def test_the_target_stays_fixed_and_the_predictor_learns_what_it_sees():
    torch.manual_seed(0)
    agent = state_rnd(lr=1e-3)
    seen = torch.randn(64, 5)
    target = [p.clone() for p in agent.target_net.parameters()]
    losses = [agent.update(UpdateInputs(robot=batch(seen)))["rnd_loss"] for _ in range(200)]
    assert all(torch.equal(a, b) for a, b in zip(target, agent.target_net.parameters()))
    assert losses[-1] < 0.2 * losses[0]
    novel = torch.randn(64, 5) * 0.5 + 3.0  # far from what the predictor was trained on
    with torch.no_grad():
        assert agent.prediction_error(novel).mean() > 5 * agent.prediction_error(seen).mean()


def test_whitened_states_are_clipped():
    agent = state_rnd(obs_clip=2.0)
    agent.obs_moments.update(torch.randn(100, 5))
    mean, std = agent.obs_moments.mean.float(), agent.obs_moments.std.float()
    with torch.no_grad():
        at_clip = agent.prediction_error((mean + 2.0 * std).unsqueeze(0))
        beyond = agent.prediction_error((mean + 40.0 * std).unsqueeze(0))
    assert torch.allclose(at_clip, beyond)


@pytest.mark.parametrize("weight", [0.0, 2.0])
def test_sac_learns_from_the_task_reward_plus_the_weighted_bonus(weight, monkeypatch):
    agent = state_rnd(intrinsic_weight=weight)
    seen = {}
    real = SAC.td_target

    def spy(self, next_obs, reward, terminated):
        seen["reward"] = reward.clone()
        return real(self, next_obs, reward, terminated)

    monkeypatch.setattr(SAC, "td_target", spy)
    task_reward = torch.arange(8.0)
    metrics = agent.update(UpdateInputs(robot=batch(torch.randn(8, 5), task_reward)))
    bonus = seen["reward"] - task_reward
    assert metrics["intrinsic_reward"] > 0
    if weight == 0:
        assert torch.equal(bonus, torch.zeros(8))
    else:
        assert (bonus > 0).all()
        assert bonus.mean().item() == pytest.approx(weight * metrics["intrinsic_reward"].item())


TINY = dict(env="state-pusher", algo="rnd", eval_every=100, eval_episodes=1, initial_steps=50,
            batch_size=16, hidden=[16], rnd_hidden=[16], threads=1)  # fmt: skip


def rows(run):
    with (run / "metrics.csv").open() as fh:
        return [[r[k] for k in ("step", "critic_loss", "rnd_loss", "intrinsic_reward")]
                for r in csv.DictReader(fh)]  # fmt: skip


def test_stopped_and_resumed_matches_an_uninterrupted_run(tmp_path):
    straight = train(make_config(steps=300, **TINY), tmp_path / "a", progress=False)
    train(make_config(steps=200, **TINY), tmp_path / "b", progress=False)
    resumed = train(make_config(steps=300, **TINY), tmp_path / "b", resume=True, progress=False)
    assert rows(resumed.path) == rows(straight.path) and len(rows(straight.path)) == 4
