"""Tests for HOLD's three DVD tasks: one Sawyer tabletop (drawer, faucet, mug), three tasks.

What every task must do (spaces, horizon, determinism, expert success) is tested for the DVD
tasks too in test_envs.py; this file holds what is particular to them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from videorl.envs import TASKS, expert_policy, make_env

DVD_TASKS = ["visual-close-drawer", "visual-push-cup", "visual-faucet-right"]
HORIZON = 60


@pytest.fixture(scope="module")
def envs():
    """One environment per task, shared by the tests of this module (GL contexts are slow)."""
    made = {name: make_env(name) for name in DVD_TASKS}
    yield made
    for env in made.values():
        env.close()


def _physics(env: gym.Env) -> np.ndarray:
    """Everything that decides the next physics step, as one exact vector."""
    d = env.unwrapped.data
    parts = (d.qpos, d.qvel, d.act, d.mocap_pos, d.mocap_quat, d.ctrl, d.qacc_warmstart, [d.time])
    return np.concatenate([np.ravel(p) for p in parts])


def _park_hand(env: gym.Env, steps: int = 8) -> None:
    """Lift the hand up and back, away from all three objects."""
    for _ in range(steps):
        env.step(np.array([0.0, -1.0, 1.0], dtype=np.float32))


# ----------------------------------------------------------------------------- registry
def test_tasks_are_registered_and_listed(capsys):
    from videorl import cli

    for name in DVD_TASKS:
        spec = TASKS[name]
        assert spec.horizon == HORIZON and spec.pixels is True
    assert cli.main(["envs"]) == 0
    listing = capsys.readouterr().out
    for name in DVD_TASKS:
        assert f"{name}  (horizon 60, pixels" in listing


def test_the_three_tasks_share_one_scene_and_start(envs):
    """Same seed: the same start state and the same first image in all three tasks."""
    starts = []
    for name in DVD_TASKS:
        obs, info = envs[name].reset(seed=5)
        starts.append((obs, _physics(envs[name]), info))
    for obs, physics, info in starts[1:]:
        np.testing.assert_array_equal(obs, starts[0][0])
        np.testing.assert_array_equal(physics, starts[0][1])
        assert info == starts[0][2]
    env = envs["visual-close-drawer"].unwrapped
    assert env.drawer_joint < -0.09  # starts open
    assert env.faucet_angle == 0.0
    assert env.cup_goal_distance() > 0.1  # behind its goal


# ----------------------------------------------------------------------------- success tests
def test_close_drawer_success_threshold(envs):
    env = envs["visual-close-drawer"]
    drawer = env.unwrapped
    for opening, inside in [(0.0, True), (0.03, True), (0.07, False), (0.16, False)]:
        env.reset(seed=0)
        _park_hand(env)
        drawer.set_drawer_opening(opening)
        assert drawer.drawer_joint == pytest.approx(-opening)  # negative = pulled out
        _, reward, terminated, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert info["success"] is inside and reward == float(inside) and terminated is False


def test_drawer_joint_sign_negative_is_pulled_toward_the_robot(envs):
    drawer = envs["visual-close-drawer"].unwrapped
    drawer.reset(seed=0)
    link = drawer.model.body("drawer_link").id
    drawer.set_drawer_opening(0.0)
    closed_y = drawer.data.xpos[link, 1]
    drawer.set_drawer_opening(0.1)
    assert drawer.data.xpos[link, 1] == pytest.approx(closed_y - 0.1)  # the robot is at y = 0


def test_push_cup_success_radius(envs):
    env = envs["visual-push-cup"]
    cup = env.unwrapped
    cases = [  # mug xy -> within 0.075 of (0, 0.7, 0)
        ((0.0, 0.7), True),
        ((0.05, 0.66), True),  # 0.064
        ((0.0, 0.61), False),  # 0.09
        ((-0.08, 0.7), False),
    ]
    for xy, inside in cases:
        env.reset(seed=0)
        _park_hand(env)
        cup.set_mug(xy)
        _, reward, _, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert abs(info["cup_goal_distance"] - np.hypot(xy[0], xy[1] - 0.7)) < 0.01
        assert info["success"] is inside and reward == float(inside), xy


def test_faucet_right_threshold_and_sign(envs):
    env = envs["visual-faucet-right"]
    faucet = env.unwrapped
    for angle, inside in [(-0.5, True), (-0.02, True), (0.0, False), (0.3, False)]:
        env.reset(seed=0)
        _park_hand(env)
        faucet.set_faucet_angle(angle)
        _, reward, _, _, info = env.step(np.zeros(3, dtype=np.float32))
        assert abs(info["faucet_angle"] - angle) < 1e-3
        assert info["success"] is inside and reward == float(inside)
    # Negative is clockwise seen from above: the handle, toward the robot (-y) at angle 0,
    # swings toward -x, which is the right of the camera's image (the camera faces the robot).
    link = faucet.model.body("faucet_faucet_link2").id
    for angle, side in [(0.0, 0.0), (-0.5, -1.0), (0.5, 1.0)]:
        faucet.set_faucet_angle(angle)
        handle = -faucet.data.xmat[link].reshape(3, 3)[:, 1]  # the handle is the link's -y axis
        assert np.sign(np.round(handle[0], 6)) == side and handle[1] < 0


@pytest.mark.parametrize("name", DVD_TASKS)
def test_random_policy_rarely_succeeds(envs, name):
    env = envs[name]
    env.action_space.seed(0)
    successes = 0
    for seed in range(10):
        env.reset(seed=100 + seed)
        for _ in range(HORIZON):
            *_, info = env.step(env.action_space.sample())
        successes += info["success"]
    assert successes <= 2, f"{name}: a random policy succeeded in {successes}/10 episodes"


# ----------------------------------------------------------------------------- rendering
def test_camera_sees_all_three_objects(envs):
    """Moving any one object changes the 48x48 observation clearly."""
    env = envs["visual-push-cup"]
    scene = env.unwrapped
    env.reset(seed=0)
    _park_hand(env)

    def observe() -> np.ndarray:
        return scene.renderer.render(scene.data, 48).astype(int)

    base = observe()
    opening, mug = -scene.drawer_joint, scene.mug_pos[:2]
    changes = {}
    scene.set_drawer_opening(0.0)
    changes["drawer"] = observe()
    scene.set_drawer_opening(opening)
    scene.set_faucet_angle(-0.8)
    changes["faucet"] = observe()
    scene.set_faucet_angle(0.0)
    scene.set_mug(mug + [0.0, 0.12])
    changes["mug"] = observe()
    for name, image in changes.items():
        changed = np.abs(image - base).max(axis=2) > 30
        assert changed.sum() >= 10, f"{name}: {changed.sum()} pixels changed"
    frame = env.render()
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8 and frame.std() > 5


@pytest.mark.parametrize("name", DVD_TASKS)
def test_human_domain_same_physics_different_pixels(envs, name):
    robot = envs[name]
    human = make_env(name, render_size=48, domain="human")
    try:
        obs_r, _ = robot.reset(seed=2)
        obs_h, _ = human.reset(seed=2)
        look = human.unwrapped.appearance
        assert len(look.recolor.objects) == 5  # drawer, its handle, faucet, its grip, mug
        assert human.unwrapped.renderer.scene_option.geomgroup[3] == 0  # the robot is hidden
        policy = expert_policy(robot)
        diffs = [np.abs(obs_r.astype(int) - obs_h).mean()]
        for _ in range(25):
            action = policy(obs_r)
            obs_r, reward_r, _, _, info_r = robot.step(action)
            obs_h, reward_h, _, _, info_h = human.step(action)
            np.testing.assert_array_equal(_physics(robot), _physics(human))
            assert (reward_r, info_r) == (reward_h, info_h)
            diffs.append(np.abs(obs_r.astype(int) - obs_h).mean())
        assert min(diffs) > 2.0, f"some frame barely changed ({min(diffs):.2f})"
        assert human.render().shape == (48, 48, 3)
    finally:
        human.close()
