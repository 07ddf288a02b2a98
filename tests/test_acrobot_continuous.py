"""Tests for ``acrobot-continuous``: RLV's Acrobot with a continuous action binned into torques.

The generic environment tests (spaces, horizon, determinism, expert on 20 seeds, rendering, bad
actions) cover it through ``tests/test_envs.py``; these check what is particular to it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from videorl.envs import TASKS, UnknownDomainError, expert_policy, gym_id, make_env
from videorl.envs.acrobot import BIN_CENTRES, BIN_EDGE, ContinuousAcrobotEnv, torque_index

NAME = "acrobot-continuous"
F32_BELOW_HALF = float(np.nextafter(np.float32(0.5), np.float32(0)))
F32_ABOVE_HALF = float(np.nextafter(np.float32(0.5), np.float32(1)))
BINNING = [  # continuous action -> torque index (0: torque -1, 1: torque 0, 2: torque +1)
    (-1.0, 0),
    (-0.75, 0),
    (-F32_ABOVE_HALF, 0),  # just beyond the lower edge
    (-0.5, 1),  # the edges belong to the middle bin
    (-F32_BELOW_HALF, 1),
    (0.0, 1),
    (0.3, 1),
    (F32_BELOW_HALF, 1),
    (0.5, 1),
    (F32_ABOVE_HALF, 2),  # just beyond the upper edge
    (0.75, 2),
    (1.0, 2),
    (-7.0, 0),  # outside [-1, 1]: clipped, same bin
    (3.5, 2),
]
INSIDE_BIN = {  # values in each bin, edges included, to replay a discrete sequence with
    0: [-1.0, -0.9, -0.6, -F32_ABOVE_HALF],
    1: [-0.5, -0.2, 0.0, 0.4, 0.5],
    2: [F32_ABOVE_HALF, 0.7, 1.0],
}


@pytest.fixture(scope="module")
def pair():
    """(discrete, continuous) acrobot, built through the registry like every task."""
    discrete, continuous = make_env("acrobot"), make_env(NAME)
    yield discrete, continuous
    discrete.close()
    continuous.close()


def _as_continuous(indices: list[int], rng: np.random.Generator) -> list[np.ndarray]:
    """A continuous action in the bin of each discrete index (not only the bin centres)."""
    return [np.array([rng.choice(INSIDE_BIN[i])], dtype=np.float32) for i in indices]


def _episode(env: gym.Env, seed: int, actions: list) -> list[tuple]:
    """(obs, reward, terminated, truncated, success) of every step, and the start."""
    obs, info = env.reset(seed=seed)
    steps = [(obs, 0.0, False, False, info["success"])]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        steps.append((obs, reward, terminated, truncated, info["success"]))
        if terminated or truncated:
            break
    return steps


def _assert_same_episode(first: list[tuple], second: list[tuple]) -> None:
    assert len(first) == len(second)
    for (obs_a, *rest_a), (obs_b, *rest_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert obs_a.dtype == obs_b.dtype
        assert rest_a == rest_b


# ----------------------------------------------------------------------------- binning
@pytest.mark.parametrize(("value", "index"), BINNING)
def test_binning_rule(value, index):
    assert BIN_EDGE == 0.5
    assert torque_index(value) == index
    assert torque_index(np.float32(value)) == index


@pytest.mark.parametrize(("value", "index"), BINNING)
def test_env_applies_the_torque_of_the_bin(pair, value, index):
    discrete, continuous = pair
    for start in (0, 4):  # two starts: the three torques differ from the first step on
        _assert_same_episode(
            _episode(discrete, start, [index] * 3),
            _episode(continuous, start, [np.array([value], dtype=np.float32)] * 3),
        )


def test_bin_centres_are_the_torques():
    env = ContinuousAcrobotEnv(render_mode=None)
    assert BIN_CENTRES == tuple(float(t) for t in env.AVAIL_TORQUE)
    assert [torque_index(c) for c in BIN_CENTRES] == [0, 1, 2]


# ----------------------------------------------------------------------------- same as discrete
@pytest.mark.parametrize("seed", [0, 11])
def test_continuous_episode_equals_discrete_episode(pair, seed):
    """A random torque sequence runs to the horizon, the expert's reaches the goal: both give
    the same observations, rewards and flags in both tasks, whatever value in the bin is sent."""
    discrete, continuous = pair
    rng = np.random.default_rng(seed)
    random_indices = [int(i) for i in rng.integers(3, size=100)]
    discrete.reset(seed=seed)
    policy = expert_policy(discrete)
    expert_indices, obs = [], None
    while True:
        expert_indices.append(int(policy(obs)))
        _, _, terminated, truncated, _ = discrete.step(expert_indices[-1])
        if terminated or truncated:
            break
    endings = []
    for indices in (random_indices, expert_indices):
        reference = _episode(discrete, seed, indices)
        _assert_same_episode(reference, _episode(continuous, seed, _as_continuous(indices, rng)))
        endings.append(reference[-1][2:])
    assert endings == [(False, True, False), (True, False, True)]  # truncated, then the goal


def test_render_and_domains_match_the_discrete_task():
    for domain in ("robot", "recolor"):
        discrete = make_env("acrobot", render_size=64, domain=domain)
        continuous = make_env(NAME, render_size=64, domain=domain)
        assert continuous.unwrapped.domain == domain
        for env, action in ((discrete, 2), (continuous, np.ones(1, dtype=np.float32))):
            env.reset(seed=3)
            for _ in range(5):
                env.step(action)
        np.testing.assert_array_equal(discrete.render(), continuous.render())
        discrete.close()
        continuous.close()


def test_acrobot_continuous_has_no_hand():
    with pytest.raises(UnknownDomainError, match=f"^{NAME} has no hand domain"):
        make_env(NAME, domain="hand")


# ----------------------------------------------------------------------------- expert
def test_expert_returns_bin_centres_and_succeeds(pair):
    discrete, continuous = pair
    policy = expert_policy(continuous)
    for seed in (0, 1, 2):
        obs, _ = continuous.reset(seed=seed)
        discrete.reset(seed=seed)
        seen = set()
        while True:
            action = policy(obs)
            assert isinstance(action, np.ndarray)
            assert action.dtype == np.float32 and action.shape == (1,)
            assert continuous.action_space.contains(action)
            expected = BIN_CENTRES[discrete.unwrapped.expert_action()]
            assert action[0] == expected
            seen.add(float(action[0]))
            obs, _, terminated, truncated, info = continuous.step(action)
            discrete.step(torque_index(expected))
            if terminated or truncated:
                break
        assert info["success"] is True and terminated, f"seed {seed}"
        assert seen <= set(BIN_CENTRES) and len(seen) > 1


def test_noisy_expert_policy_stays_in_the_box(pair):
    """``collect --policy expert --noise`` on a Box task: Gaussian noise, clipped to [-1, 1]."""
    from videorl.policies import make_policy
    from videorl.rollout import to_env_action

    _, continuous = pair
    continuous.reset(seed=0)
    rng = np.random.default_rng(0)
    clean = make_policy("expert", continuous, NAME, 0.0, rng)
    noisy = make_policy("expert", continuous, NAME, 0.6, rng)
    actions = [noisy(None) for _ in range(50)]
    assert all(a.dtype == np.float32 and a.shape == (1,) for a in actions)
    assert all(continuous.action_space.contains(a) for a in actions)
    assert len({float(a[0]) for a in actions}) > 3  # noise off the bin centres
    centre = clean(None)
    np.testing.assert_array_equal(to_env_action(continuous, centre), centre)


# ----------------------------------------------------------------------------- bad actions
def test_bad_actions_raise_value_error(pair):
    _, continuous = pair
    env = continuous.unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        ContinuousAcrobotEnv(render_mode=None).step(np.zeros(1, dtype=np.float32))
    obs, _ = env.reset(seed=0)
    bad = [
        (np.array([np.nan], dtype=np.float32), "finite"),
        (np.array([np.inf]), "finite"),
        (np.zeros(2, dtype=np.float32), r"shape \(1,\)"),
        (np.zeros(0), "shape"),
        ([0.1, 0.2, 0.3], "shape"),
    ]
    for action, problem in bad:
        with pytest.raises(ValueError, match=problem):
            env.step(action)
    np.testing.assert_array_equal(env._get_ob(), obs)  # a rejected action does not step
    reference = make_env("acrobot")
    reference.reset(seed=0)
    # The episode goes on as if nothing happened; a plain number is one action too.
    for action, index in ((np.zeros(1, dtype=np.float32), 1), (0.2, 1), (0.9, 2)):
        _assert_same_episode([reference.step(index)[:4]], [env.step(action)[:4]])
    reference.close()


# ----------------------------------------------------------------------------- registry
def test_make_env_spaces_and_spec():
    env = make_env(NAME)
    reference = make_env("acrobot")
    assert env.action_space == gym.spaces.Box(-1, 1, (1,), np.float32)
    assert env.observation_space == reference.observation_space
    assert isinstance(env.unwrapped, ContinuousAcrobotEnv)
    assert env.spec.id == gym_id(NAME) and env.spec.max_episode_steps == 100
    spec, discrete_spec = TASKS[NAME], TASKS["acrobot"]
    assert spec.action.startswith("Box(-1, 1, (1,))") and "RLV" in spec.action
    assert (spec.observation, spec.horizon, spec.success, spec.pixels) == (
        discrete_spec.observation,
        discrete_spec.horizon,
        discrete_spec.success,
        discrete_spec.pixels,
    )
    env.close()
    reference.close()


def test_rlv_table2_c_small_is_the_acrobot_reward():
    from videorl.agents.rlv import table2_c_small

    assert table2_c_small(NAME) == -1.0 == table2_c_small("acrobot")
