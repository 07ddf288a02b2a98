"""Tests for the observation domains: other-embodiment views of the same physics."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from videorl.envs import (
    DOMAIN_HELP,
    DOMAINS,
    UnknownDomainError,
    UnknownEnvError,
    expert_policy,
    make_env,
    preview_domains,
)
from videorl.envs.appearance import HandStyle, Recolor
from videorl.envs.hand import HandPose, hand_geoms

ACROBOT_DOMAINS = ("robot", "recolor", "lighting", "camera")


@pytest.fixture(scope="module")
def pusher_envs():
    """visual-pusher in every domain, shared by the tests of this module (GL contexts are slow)."""
    made = {domain: make_env("visual-pusher", render_size=48, domain=domain) for domain in DOMAINS}
    yield made
    for env in made.values():
        env.close()


def _physics(env) -> np.ndarray:
    """Everything that decides the next physics step, as one exact vector."""
    d = env.unwrapped.data
    parts = (d.qpos, d.qvel, d.act, d.mocap_pos, d.mocap_quat, d.ctrl, d.qacc_warmstart, [d.time])
    return np.concatenate([np.ravel(p) for p in parts])


def _rollout(env, actions, seed: int):
    """States, rewards, flags, infos and frames of one seeded rollout of fixed actions."""
    obs, info = env.reset(seed=seed)
    states, frames, returns = [_physics(env)], [(obs, env.render())], [info]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        states.append(_physics(env))
        frames.append((obs, env.render()))
        returns.append((reward, terminated, truncated, info))
    return states, returns, frames


def _expert_actions(env, seed: int, n: int) -> list[np.ndarray]:
    """A fixed action sequence that makes contact (the expert's, recorded in the robot domain)."""
    obs, _ = env.reset(seed=seed)
    policy = expert_policy(env)
    actions = []
    for _ in range(n):
        actions.append(np.asarray(policy(obs)))
        obs, *_ = env.step(actions[-1])
    return actions


def _assert_same_physics_different_pixels(envs: dict, actions, seed: int, pixel_obs: bool) -> None:
    states, returns, frames = _rollout(envs["robot"], actions, seed)
    for domain, env in envs.items():
        if domain == "robot":
            continue
        assert env.unwrapped.domain == domain
        other_states, other_returns, other_frames = _rollout(env, actions, seed)
        for t, (a, b) in enumerate(zip(states, other_states, strict=True)):
            assert np.array_equal(a, b), f"{domain}: physics differs at step {t}"
        assert returns == other_returns, f"{domain}: rewards/flags/info differ"
        diffs = []
        for (obs, frame), (other_obs, other_frame) in zip(frames, other_frames, strict=True):
            diffs.append(np.abs(frame.astype(int) - other_frame).mean())
            if pixel_obs:
                diffs.append(np.abs(obs.astype(int) - other_obs).mean())
            else:
                np.testing.assert_array_equal(obs, other_obs)  # state observations
        assert min(diffs) > 2.0, f"{domain}: some frame barely changed ({min(diffs):.2f})"


# ----------------------------------------------------------------------------- names, errors
def test_domain_names_and_help():
    assert DOMAINS == ("robot", "recolor", "lighting", "camera", "hand", "human")
    assert set(DOMAIN_HELP) == set(DOMAINS)
    assert all(text and "\n" not in text for text in DOMAIN_HELP.values())


def test_unknown_domain_lists_valid_names():
    with pytest.raises(UnknownDomainError) as caught:
        make_env("visual-pusher", domain="martian")
    message = str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert "\n" not in message and "martian" in message
    for name in DOMAINS:
        assert name in message


def test_acrobot_has_no_hand():
    for domain in ("hand", "human"):
        with pytest.raises(UnknownDomainError) as caught:
            make_env("acrobot", domain=domain)
        assert str(caught.value) == (
            f"acrobot has no {domain} domain; use robot, recolor, lighting or camera"
        )


def test_gym_envs_only_have_the_robot_domain():
    with pytest.raises(UnknownDomainError) as caught:
        make_env("gym:Pendulum-v1", domain="camera")
    message = str(caught.value)
    assert "\n" not in message and "gym:Pendulum-v1" in message and "robot" in message
    env = make_env("gym:Pendulum-v1", domain="robot")
    assert env.reset(seed=0)[0].shape == (3,)
    env.close()


# ----------------------------------------------------------------------------- same physics
def test_domains_change_pixels_not_the_visual_pusher_trajectory(pusher_envs):
    actions = _expert_actions(pusher_envs["robot"], seed=3, n=30)
    _assert_same_physics_different_pixels(pusher_envs, actions, seed=3, pixel_obs=True)


def test_domains_change_pixels_not_the_visual_door_trajectory():
    """Robot vs hand and human (which has every factor): three envs keep the test fast."""
    envs = {
        d: make_env("visual-door", render_size=48, domain=d) for d in ("robot", "hand", "human")
    }
    try:
        actions = _expert_actions(envs["robot"], seed=1, n=30)
        _assert_same_physics_different_pixels(envs, actions, seed=1, pixel_obs=True)
    finally:
        for env in envs.values():
            env.close()


def test_state_pusher_renders_domains_with_identical_states():
    """state-pusher observes a state vector: only render() may change."""
    envs = {d: make_env("state-pusher", render_size=48, domain=d) for d in ("robot", "human")}
    try:
        actions = list(np.random.default_rng(0).uniform(-1, 1, (12, 2)).astype(np.float32))
        _assert_same_physics_different_pixels(envs, actions, seed=0, pixel_obs=False)
    finally:
        for env in envs.values():
            env.close()


def test_acrobot_domains_change_drawing_not_dynamics():
    envs = {d: make_env("acrobot", render_size=64, domain=d) for d in ACROBOT_DOMAINS}
    robot_states, robot_returns, robot_frames = None, None, None
    actions = [0, 2, 2, 1, 0, 0, 2, 1, 2, 0]
    for domain, env in envs.items():
        obs, _ = env.reset(seed=4)
        states, returns, frames = [obs], [], [env.render()]
        for action in actions:
            obs, *rest = env.step(action)
            states.append(obs)
            returns.append(rest)
            frames.append(env.render())
        if domain == "robot":
            robot_states, robot_returns, robot_frames = states, returns, frames
            continue
        assert env.unwrapped.domain == domain
        for a, b in zip(robot_states, states, strict=True):
            np.testing.assert_array_equal(a, b)
        assert returns == robot_returns
        for a, b in zip(robot_frames, frames, strict=True):
            assert np.abs(a.astype(int) - b).mean() > 2.0, domain


# ----------------------------------------------------------------------------- randomisation
def test_domains_randomise_per_episode_and_repeat_per_seed(pusher_envs):
    env = pusher_envs["human"]
    first, _ = env.reset(seed=0)
    look = env.unwrapped.appearance
    assert None not in (look.recolor, look.lighting, look.camera, look.hand)
    other, _ = env.reset(seed=1)
    other_look = env.unwrapped.appearance
    assert other_look.recolor.table != look.recolor.table
    assert other_look.camera != look.camera and other_look.hand != look.hand
    assert np.abs(first.astype(int) - other).mean() > 2.0
    again, _ = env.reset(seed=0)
    assert env.unwrapped.appearance == look
    np.testing.assert_array_equal(first, again)
    # Unseeded resets keep drawing new looks, reproducibly from the last seed.
    chain = [env.unwrapped.appearance]
    for _ in range(2):
        env.reset()
        chain.append(env.unwrapped.appearance)
    assert chain[0] != chain[1] and chain[1] != chain[2]
    env.reset(seed=0)
    replay = [env.unwrapped.appearance]
    for _ in range(2):
        env.reset()
        replay.append(env.unwrapped.appearance)
    assert replay == chain


def test_each_factor_has_its_own_generator(pusher_envs):
    """human draws the same colours as recolor and the same camera as camera, for one seed."""
    looks = {}
    for domain in ("recolor", "camera", "human"):
        pusher_envs[domain].reset(seed=7)
        looks[domain] = pusher_envs[domain].unwrapped.appearance
    assert looks["human"].recolor == looks["recolor"].recolor
    assert looks["human"].camera == looks["camera"].camera
    assert looks["recolor"].camera is None and looks["camera"].recolor is None


def test_recolor_keeps_objects_apart_from_the_table():
    for seed in range(200):
        colours = Recolor.sample(np.random.default_rng(seed), n_objects=2)
        for obj in colours.objects:
            assert np.linalg.norm(np.subtract(obj, colours.table)) >= 0.45, seed
        door, handle = colours.objects
        assert np.linalg.norm(np.subtract(door, handle)) > 0.2, seed
        assert all(0.0 <= c <= 1.0 for rgb in (colours.table, *colours.objects) for c in rgb)


# ----------------------------------------------------------------------------- the hand
def _red_pixels(image: np.ndarray) -> int:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 90) & (r > 2 * g) & (r > 2 * b)))


def _skin_pixels(image: np.ndarray) -> int:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 150) & (r > g + 15) & (g > b) & (g > 0.55 * r)))


def test_hand_hides_the_arm_and_draws_a_hand(pusher_envs):
    robot_env, hand_env = pusher_envs["robot"], pusher_envs["hand"]
    robot_env.reset(seed=2)
    hand_env.reset(seed=2)
    robot, hand = robot_env.render(), hand_env.render()
    assert _red_pixels(robot) > 80  # the Sawyer is red ...
    assert _red_pixels(hand) < 0.1 * _red_pixels(robot)  # ... and gone (only the puck is red)
    assert _skin_pixels(hand) > 25 and _skin_pixels(robot) == 0
    model = hand_env.unwrapped.model
    robot_root = model.body_rootid[model.body("hand").id]
    robot_groups = set(model.geom_group[model.body_rootid[model.geom_bodyid] == robot_root])
    assert robot_groups <= {3, 4}  # the robot's drawn geoms sit in the hidden group
    assert hand_env.unwrapped.renderer.scene_option.geomgroup[3] == 0
    assert robot_env.unwrapped.renderer.scene_option.geomgroup[3] == 1


def test_hand_fingertip_follows_the_end_effector():
    style = HandStyle.sample(np.random.default_rng(0))
    for tip in ([0.0, 0.6, 0.01], [0.1, 0.7, 0.2], [-0.2, 0.5, 0.05]):
        tip = np.array(tip)
        pose = HandPose(wrist=tip + [0, 0, 0.045], tip=tip, opening=0.05)
        geoms = hand_geoms(pose, style)
        assert all(g.kind in ("capsule", "ellipsoid") for g in geoms) and len(geoms) >= 12
        ends = [
            g.pos + s * g.mat.reshape(3, 3)[:, 2] * g.size[1] for g in geoms[1:] for s in (1, -1)
        ]
        assert min(np.linalg.norm(e - tip) for e in ends) < 1e-9  # a fingertip is on the tip
        assert np.linalg.norm(geoms[0].pos - tip) < 0.2  # the palm is near it
        for g in geoms:  # proper rotations: MuJoCo shades a mirrored geom inside out
            assert np.isclose(np.linalg.det(g.mat.reshape(3, 3)), 1.0)


# ----------------------------------------------------------------------------- preview
def test_preview_writes_one_labelled_frame_per_domain(tmp_path):
    path = preview_domains("visual-pusher", tmp_path / "sub" / "preview.png", size=32)
    assert path == tmp_path / "sub" / "preview.png"
    image = np.asarray(Image.open(path).convert("RGB"))
    assert image.shape[1] == len(DOMAINS) * 32 and image.shape[0] >= 32
    panels = [image[-32:, i * 32 : (i + 1) * 32].astype(int) for i in range(len(DOMAINS))]
    for domain, panel in zip(DOMAINS[1:], panels[1:], strict=True):
        assert np.abs(panel - panels[0]).mean() > 2.0, domain
    assert [p.name for p in path.parent.iterdir()] == ["preview.png"]  # no temporary left

    acrobot = preview_domains("acrobot", tmp_path / "acrobot.png", size=32)
    assert Image.open(acrobot).size[0] == len(ACROBOT_DOMAINS) * 32


def test_preview_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        preview_domains("visual-pusher", tmp_path / "preview.jpg")
    with pytest.raises(UnknownEnvError, match="gym:Pendulum-v1"):
        preview_domains("gym:Pendulum-v1", tmp_path / "preview.png")
    assert list(tmp_path.iterdir()) == []
