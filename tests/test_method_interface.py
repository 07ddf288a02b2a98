"""The method interface: the loop drives any registered method by what it declares.

A new method is its own file plus one registry line. These tests register methods written
here (as a new method's file would be) and check that the config, the command line, the
loop's inputs, phases and schedule, and metrics.csv all follow from the declaration alone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import pytest
import torch
import yaml

from videorl.agents import registry
from videorl.agents.base import CLIPS, ROBOT, UpdateInputs
from videorl.agents.sac import SAC
from videorl.cli import main
from videorl.config import ConfigError

SMALL = ["--set", "eval_every=100", "eval_episodes=1", "initial_steps=50", "batch_size=16",
         "hidden=[16]", "threads=1"]  # fmt: skip


@dataclass
class ActionL2Config:
    """SAC with an action-magnitude penalty (a one-loss SAC variant)."""

    action_l2: float = 0.1
    """weight of the mean squared policy mean added to the actor loss"""


class ActionL2SAC(SAC):
    """SAC plus one extra loss on the policy: what a new method's file looks like."""

    Config = ActionL2Config

    @classmethod
    def build(cls, spaces, cfg, device):
        agent = cls(spaces, cfg.sac, device)
        agent.weight = cfg.method.action_l2
        return agent

    @property
    def metric_names(self) -> list[str]:
        return [*super().metric_names, "action_l2"]

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        metrics = super().update(inputs)
        obs = self.to_device(inputs.robot.obs)
        mean, _ = self.actor(self.actor_features(obs), deterministic=True)
        penalty = mean.pow(2).mean()
        self.actor_opt.zero_grad(set_to_none=True)
        (self.weight * penalty).backward()
        self.actor_opt.step()
        return {**metrics, "action_l2": penalty.detach()}


def rows(run):
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_a_registered_method_trains_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.METHODS, "sac-l2", ActionL2SAC)
    run = tmp_path / "run"
    args = ["train", "--env", "state-pusher", "--algo", "sac-l2", "--steps", "200", *SMALL,
            "action_l2=0.5", "--out", str(run), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    header = list(rows(run)[0])
    assert header.index("action_l2") == header.index("q_mean") + 1
    assert float(rows(run)[-1]["action_l2"]) >= 0
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["sac-l2"] == {"action_l2": 0.5} and "videos" not in saved
    assert main(["train", "--help-config"]) == 0
    assert "action_l2 (default 0.1): weight of the mean squared" in capsys.readouterr().out
    with pytest.raises(ConfigError, match="action_l2.*read by sac-l2, not by algo sac"):
        registry.make_config(algo="sac", action_l2=1.0)


class ClipMethod(SAC):
    """Needs robot transitions and video clips, pre-trains on clips, updates every 25 steps."""

    needs = frozenset({ROBOT, CLIPS})
    pretrain_steps = 3
    seen: list = []

    @classmethod
    def observation_request(cls, cfg):
        from videorl.agents.base import ObservationRequest

        return ObservationRequest(clip_length=5)

    @classmethod
    def build(cls, spaces, cfg, device):
        return cls(spaces, cfg.sac, device)

    def pretrain(self, inputs):
        self.seen.append(("pretrain", inputs.robot, tuple(inputs.clips.shape)))
        return {}

    def updates_due(self, step, run):
        return 2 if step >= run.initial_steps and step % 25 == 0 else 0

    def update(self, inputs):
        self.seen.append(("update", len(inputs.robot), tuple(inputs.clips.shape)))
        return super().update(UpdateInputs(robot=inputs.robot))


def test_the_loop_serves_clips_runs_pretraining_and_follows_the_schedule(tmp_path, monkeypatch):
    monkeypatch.setitem(registry.METHODS, "clips", ClipMethod)
    ClipMethod.seen = []
    data = tmp_path / "data"
    collect = ["collect", "--env", "acrobot", "--policy", "expert", "--episodes", "2",
               "--out", str(data), "--no-progress"]  # fmt: skip
    assert main(collect) == 0
    args = [
        "train",
        "--env",
        "acrobot",
        "--algo",
        "clips",
        "--obs-data",
        str(data),
        "--steps",
        "100",
        *SMALL,
        "obs_batch_size=4",
        "--out",
        str(tmp_path / "r"),
        "--no-progress",
    ]
    assert main(args) == 0
    phases = [s[0] for s in ClipMethod.seen]
    assert phases[:3] == ["pretrain"] * 3 and ClipMethod.seen[0][1] is None  # no robot data yet
    assert ClipMethod.seen[0][2] == (4, 5, 6)  # (obs_batch_size, clip length, state dim)
    # updates at steps 50, 75, 100 (from initial_steps on, every 25), two each
    assert phases[3:] == ["update"] * 6
    assert all(s[1:] == (16, (4, 5, 6)) for s in ClipMethod.seen[3:])


def test_a_method_section_may_not_take_a_shared_section_name():
    for algo, method in registry.METHODS.items():
        assert method.Config is None or algo not in registry.SHARED
