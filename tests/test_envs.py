"""Tests for videorl.envs: the registry, the RLV tasks, their experts and their rendering."""

from __future__ import annotations

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from videorl.envs import TASKS, TaskSpec, UnknownEnvError, expert_policy, gym_id, make_env

SAWYER_TASKS = ["state-pusher", "visual-pusher", "visual-door", "visual-drawer"]
ACROBOT_TASKS = ["acrobot", "acrobot-continuous"]  # more in test_acrobot_continuous
ALL_TASKS = [*ACROBOT_TASKS, *SAWYER_TASKS]
ZERO_TORQUE = {"acrobot": 1, "acrobot-continuous": np.zeros(1, dtype=np.float32)}
DVD_TASKS = ["visual-close-drawer", "visual-push-cup", "visual-faucet-right"]  # test_dvd_envs
EVERY_TASK = [*ALL_TASKS, *DVD_TASKS]
EXPECTED = {  # name: (observation shape, dtype, action space, horizon)
    "acrobot": ((6,), np.float32, gym.spaces.Discrete(3), 100),
    "acrobot-continuous": ((6,), np.float32, gym.spaces.Box(-1, 1, (1,), np.float32), 100),
    "state-pusher": ((5,), np.float32, gym.spaces.Box(-1, 1, (2,), np.float32), 100),
    "visual-pusher": ((48, 48, 3), np.uint8, gym.spaces.Box(-1, 1, (2,), np.float32), 100),
    "visual-door": ((48, 48, 3), np.uint8, gym.spaces.Box(-1, 1, (3,), np.float32), 100),
    "visual-drawer": ((48, 48, 3), np.uint8, gym.spaces.Box(-1, 1, (3,), np.float32), 200),
    **{
        name: ((48, 48, 3), np.uint8, gym.spaces.Box(-1, 1, (3,), np.float32), 60)
        for name in DVD_TASKS
    },
}


@pytest.fixture(scope="module")
def envs():
    """One environment per task, shared by the tests of this module (GL contexts are slow)."""
    made = {name: make_env(name) for name in EVERY_TASK}
    yield made
    for env in made.values():
        env.close()


def _fixed_actions(env: gym.Env, n: int, seed: int = 123) -> list:
    space = env.action_space
    space.seed(seed)
    return [space.sample() for _ in range(n)]


# ----------------------------------------------------------------------------- registry
def test_task_table_matches_the_paper():
    assert list(TASKS) == [*ALL_TASKS, *DVD_TASKS]
    for name, (_, _, _, horizon) in EXPECTED.items():
        spec = TASKS[name]
        assert isinstance(spec, TaskSpec)
        assert spec.name == name
        assert spec.horizon == horizon
        assert spec.pixels == name.startswith("visual-")
    with pytest.raises(AttributeError):
        TASKS["acrobot"].horizon = 5  # frozen


def test_import_does_not_load_mujoco():
    code = "import sys, videorl.envs; assert 'mujoco' not in sys.modules, 'mujoco imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownEnvError) as caught:
        make_env("visual-pushr")
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in message
    assert "visual-pushr" in message
    for name in ALL_TASKS:
        assert name in message
    assert "gym:" in message


def test_unknown_gym_id_is_an_unknown_env_error():
    with pytest.raises(UnknownEnvError, match="NoSuchEnv-v0"):
        make_env("gym:NoSuchEnv-v0")


def test_gym_prefix_makes_any_gymnasium_env():
    env = make_env("gym:Pendulum-v1")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3,)
    assert env.unwrapped.render_mode == "rgb_array"
    obs, reward, terminated, truncated, _ = env.step(np.zeros(1, dtype=np.float32))
    assert np.isfinite(reward) and not terminated and not truncated
    with pytest.raises(ValueError, match="no scripted expert"):
        expert_policy(env)
    env.close()


def test_tasks_are_registered_with_gymnasium():
    env = gym.make(gym_id("state-pusher"))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,)
    assert env.spec.max_episode_steps == 100
    env.close()


# ----------------------------------------------------------------------------- spaces, flags
@pytest.mark.parametrize("name", EVERY_TASK)
def test_spaces_dtypes_and_reset_info(envs, name):
    env = envs[name]
    shape, dtype, action_space, _ = EXPECTED[name]
    assert env.action_space == action_space
    obs, info = env.reset(seed=0)
    assert obs.shape == shape and obs.dtype == dtype
    assert env.observation_space.contains(obs)
    assert info["success"] is False


@pytest.mark.parametrize("name", EVERY_TASK)
def test_truncated_exactly_at_horizon(envs, name):
    env = envs[name]
    horizon = EXPECTED[name][3]
    env.reset(seed=1)
    # Acrobot: zero torque never reaches the goal, so the episode must run to the horizon.
    acrobot = name in ACROBOT_TASKS
    actions = [ZERO_TORQUE[name]] * horizon if acrobot else _fixed_actions(env, horizon)
    for t, action in enumerate(actions, start=1):
        obs, reward, terminated, truncated, info = env.step(action)
        assert truncated == (t == horizon), f"truncated={truncated} at step {t}"
        assert terminated is False
        assert isinstance(info["success"], bool)
        assert isinstance(reward, float)
        if acrobot:
            assert reward == -1.0
        else:
            assert reward == float(info["success"])
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(actions[0])


@pytest.mark.parametrize("name", ["acrobot-continuous", *SAWYER_TASKS, *DVD_TASKS])
def test_bad_actions_are_rejected(envs, name):
    env = envs[name].unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(7))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full(env.action_space.shape, np.nan))


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("name", EVERY_TASK)
def test_same_seed_same_observations(envs, name):
    env = envs[name]

    def rollout(environment: gym.Env, seed: int) -> list[np.ndarray]:
        obs, _ = environment.reset(seed=seed)
        policy = expert_policy(environment)
        frames = [obs]
        for _ in range(12):
            obs, *_ = environment.step(policy(obs))
            frames.append(obs)
        return frames

    first = rollout(env, 7)
    rollout(env, 8)  # an episode in between must not leak into the next
    again = rollout(env, 7)
    fresh = make_env(name)
    other_env = rollout(fresh, 7)
    fresh.close()
    for a, b, c in zip(first, again, other_env, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    starts = [env.reset(seed=seed)[0] for seed in range(6)]
    assert any(not np.array_equal(starts[0], s) for s in starts[1:]), "seed has no effect"


# ----------------------------------------------------------------------------- success checks
@pytest.mark.parametrize("name", ["state-pusher", "visual-pusher"])
def test_pusher_success_region(envs, name):
    env = envs[name]
    pusher = env.unwrapped
    cases = [  # puck xy -> in the goal region (L1 <= 0.03 around (0, 0.75))
        ((0.0, 0.75), True),
        ((0.012, 0.738), True),  # L1 0.024
        ((0.02, 0.77), False),  # L1 0.04
        ((0.0, 0.7), False),
        ((-0.05, 0.75), False),
    ]
    for xy, inside in cases:
        env.reset(seed=0)
        pusher.set_puck(xy)
        obs, reward, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
        assert info["success"] is inside, (xy, pusher.puck_xy)
        assert reward == (1.0 if inside else 0.0)
        assert terminated is False
        if name == "state-pusher":  # state = hand xyz + puck xy
            np.testing.assert_allclose(obs[3:], xy, atol=2e-3)
            np.testing.assert_allclose(obs[:3], pusher.hand_pos, atol=1e-6)


def test_door_success_band(envs):
    env = envs["visual-door"]
    door = env.unwrapped
    up_and_back = np.array([0.0, -1.0, 1.0], dtype=np.float32)  # keep the hand off the door
    for angle, inside in [(0.8, True), (0.74, True), (0.86, True), (0.6, False), (1.0, False)]:
        env.reset(seed=0)
        for _ in range(10):
            env.step(up_and_back)
        door.set_door_angle(angle)
        assert door.is_success() is inside
        _, reward, terminated, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert abs(info["door_angle"] - angle) < 0.02
        assert info["success"] is inside and reward == float(inside) and terminated is False


def test_drawer_success_band(envs):
    env = envs["visual-drawer"]
    drawer = env.unwrapped
    up = np.array([0.0, 1.0, -1.0], dtype=np.float32)
    for opening, inside in [(0.16, True), (0.1, True), (0.05, False), (0.0, False)]:
        env.reset(seed=0)
        for _ in range(10):
            env.step(up)
        drawer.set_opening(opening)
        _, reward, terminated, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert abs(info["drawer_opening"] - opening) < 0.01
        assert info["success"] is inside and reward == float(inside) and terminated is False


@pytest.mark.parametrize("name", ACROBOT_TASKS)
def test_acrobot_goal_terminates_with_zero_reward(envs, name):
    env = envs[name]
    acrobot = env.unwrapped
    env.reset(seed=0)
    acrobot.state = np.array([np.pi, 0.0, 0.0, 0.0])  # straight up: tip height 2
    _, reward, terminated, truncated, info = env.step(ZERO_TORQUE[name])
    assert (reward, terminated, truncated, info["success"]) == (0.0, True, False, True)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(ZERO_TORQUE[name])
    assert (reward, terminated, info["success"]) == (-1.0, False, False)


# ----------------------------------------------------------------------------- experts
@pytest.mark.parametrize("name", EVERY_TASK)
def test_expert_succeeds_on_the_first_seeds(envs, name):
    """Episode success: the final step for the Sawyer tasks, reaching the goal for acrobot.
    Seeds 0-19 for state tasks, 0-9 for pixel tasks (each of their steps renders a frame)."""
    env = envs[name]
    policy = expert_policy(env)
    successes = 0
    seeds = 10 if len(env.observation_space.shape) == 3 else 20
    for seed in range(seeds):
        obs, info = env.reset(seed=seed)
        while True:
            obs, _, terminated, truncated, info = env.step(policy(obs))
            if terminated or truncated:
                break
        successes += info["success"]
    assert successes >= 0.9 * seeds, f"{name}: expert succeeded in {successes}/{seeds} episodes"


# ----------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", EVERY_TASK)
def test_render_returns_larger_rgb_view(name):
    env = make_env(name, render_size=96)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # not a blank frame
    env.close()


def test_images_are_rgb_not_bgr(envs):
    """The Sawyer arm is red: in RGB order there must be many more red than blue pixels."""
    obs, _ = envs["visual-pusher"].reset(seed=0)
    r, g, b = (obs[..., i].astype(int) for i in range(3))
    red = np.sum((r > 100) & (r > 2 * g) & (r > 2 * b))
    blue = np.sum((b > 100) & (b > 2 * g) & (b > 2 * r))
    assert red > 20 and red > 5 * blue


def test_closing_one_env_does_not_corrupt_another():
    """MuJoCo's own Renderer.close frees the MjrContext after its GL context, so the free hits
    whichever context is current (another environment's) and corrupts that one's images."""
    first = make_env("visual-door")
    obs, _ = first.reset(seed=0)
    second = make_env("visual-drawer")
    second.reset(seed=0)
    second.render()
    renderer, data = first.unwrapped.renderer, first.unwrapped.data
    np.testing.assert_array_equal(renderer.render(data, 48), obs)  # first's context is current
    second.close()
    np.testing.assert_array_equal(renderer.render(data, 48), obs)
    first.close()


def test_gl_backend_respects_user_settings(monkeypatch):
    from videorl.envs import render

    monkeypatch.setenv("MUJOCO_GL", "egl")
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    assert render.configure_gl_backend() == "egl"
    assert os.environ["PYOPENGL_PLATFORM"] == "egl"
    assert os.environ["LP_NUM_THREADS"] == "1"

    monkeypatch.delenv("MUJOCO_GL")
    monkeypatch.delenv("PYOPENGL_PLATFORM")
    monkeypatch.setenv("LP_NUM_THREADS", "4")
    monkeypatch.setattr(render, "_egl_usable", lambda: False)
    assert render.configure_gl_backend() == "osmesa"
    assert os.environ["PYOPENGL_PLATFORM"] == "osmesa"
    assert os.environ["LP_NUM_THREADS"] == "4"
