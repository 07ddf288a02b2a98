"""The training loop: act, step, store, update, evaluate, log, checkpoint, resume.

Exact resume (CPU): every training episode is reset with a seed derived from (seed,
episode index), and the checkpoint holds the actions taken so far in the open episode.
Resuming rebuilds the environment, resets it with that episode's seed and replays those
actions, so the simulator is back in the exact state it had, whatever the environment.
Networks, optimisers, the replay buffer and every RNG state (torch, numpy, Python) are
restored as well, so a run killed with SIGKILL and resumed writes the same metrics as one
that never stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from videorl import checkpoint
from videorl.agents import make_agent
from videorl.agents.sac import Spaces
from videorl.config import TrainConfig, is_learned
from videorl.errors import UserError
from videorl.replay import ObservationPool, ReplayBuffer

METRIC_COLUMNS = [
    "step",
    "episodes",
    "eval_return",
    "eval_success",
    "critic_loss",
    "actor_loss",
    "alpha_loss",
    "alpha",
    "entropy",
    "q_mean",
    "train_return",
    "steps_per_second",
    "wall_time",
]
TRAIN_KEYS = ["critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy", "q_mean"]


def metric_columns(extra: list[str]) -> list[str]:
    """metrics.csv header: the SAC columns, a method's own losses, then the run columns."""
    i = METRIC_COLUMNS.index("q_mean") + 1
    return METRIC_COLUMNS[:i] + extra + METRIC_COLUMNS[i:]


EVAL_SEED_OFFSET = 1_000_003


# -- environment glue -------------------------------------------------------------------
def make_env(name: str, render_size: int = 128, domain: str = "robot"):
    """Build an environment (imported lazily: MuJoCo loads only when a task is made)."""
    from videorl.envs import make_env as _make

    return _make(name, render_size=render_size, domain=domain)


SCALE_SEED_OFFSET, SCALE_RESETS = 2_000_003, 10
"""Reset states that measure an automatic reward scale T (seeds apart from training/eval)."""


def wrap_reward(cfg: TrainConfig, env, relabel: bool = True):
    """(env, resolved reward info): ``env`` with the learned reward of ``cfg`` (a HOLD model
    or a baseline distance, with the goal image(s)), or unchanged for ``reward: env``.
    ``relabel=False`` keeps the task reward (an eval env that only needs the goal in the
    observation of a goal-conditioned policy)."""
    if cfg.reward == "env" or (not relabel and not cfg.goal_conditioned):
        return env, None
    from videorl.rewards.shaping import LearnedRewardWrapper

    reward, info = goal_reward(cfg, cfg.reward, env, measure_scale=relabel)
    return LearnedRewardWrapper(env, reward, cfg.goal_conditioned, relabel), info


def goal_reward(cfg: TrainConfig, spec: str, env, measure_scale: bool = True):
    """``rewards.shaping.build_goal_reward`` with T measured over the run's scale seeds."""
    from videorl.rewards.shaping import build_goal_reward

    seeds = [episode_seed(cfg.seed, SCALE_SEED_OFFSET + i) for i in range(SCALE_RESETS)]
    return build_goal_reward(cfg, spec, env, seeds, measure_scale=measure_scale)


def spaces_from_env(env) -> Spaces:
    """Describe a gymnasium env's spaces for an agent (agents never see the env)."""
    import gymnasium as gym

    obs_space, act_space = env.observation_space, env.action_space
    pixels = obs_space.dtype == np.uint8 and len(obs_space.shape) == 3
    if isinstance(act_space, gym.spaces.Discrete):
        return Spaces(tuple(obs_space.shape), pixels, int(act_space.n), True)
    if isinstance(act_space, gym.spaces.Box) and len(act_space.shape) == 1:
        return Spaces(tuple(obs_space.shape), pixels, int(act_space.shape[0]), False)
    raise UserError(f"unsupported action space {act_space}; videorl needs Discrete or 1-D Box")


def to_env_action(env, action: np.ndarray | int) -> np.ndarray | int:
    """Policies act in [-1, 1]^d; rescale to the env's Box bounds (identity for tasks)."""
    space = env.action_space
    if isinstance(action, int | np.integer):
        return int(action)
    low, high = space.low, space.high
    return (low + (np.asarray(action, dtype=np.float64) + 1.0) * 0.5 * (high - low)).astype(
        space.dtype
    )


def episode_seed(seed: int, index: int) -> int:
    """Reset seed of training episode ``index`` (eval episodes use an offset index)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device cuda requested but no GPU is visible; use --set device=cpu")
    return torch.device(name)


def resolve_threads(threads: int) -> int:
    """0 = automatic: every core up to 4 (on 2 cores, 2 threads trained state-pusher at 112
    steps/s against 80 with 1; small-batch updates gain little beyond 4 threads)."""
    return threads if threads > 0 else max(1, min(4, os.cpu_count() or 1))


# -- evaluation -------------------------------------------------------------------------
def run_episode(
    env,
    policy: Callable[[np.ndarray], Any],
    seed: int,
    frames: list[np.ndarray] | None = None,
) -> tuple[float, bool | None, int]:
    """One episode: (return, success at the last step or None if unreported, length)."""
    obs, info = env.reset(seed=seed)
    if frames is not None:
        frames.append(env.render())
    total, done, length = 0.0, False, 0
    while not done:
        obs, reward, terminated, truncated, info = env.step(to_env_action(env, policy(obs)))
        total += float(reward)
        length += 1
        done = terminated or truncated
        if frames is not None:
            frames.append(env.render())
    success = info.get("success")
    return total, (None if success is None else bool(success)), length


def evaluate(
    env, policy: Callable[[np.ndarray], Any], episodes: int, seed: int
) -> tuple[float, float]:
    """Mean return and success rate over fixed seeded episodes (the same every eval)."""
    returns, successes = [], []
    for j in range(episodes):
        ret, success, _ = run_episode(env, policy, episode_seed(seed, EVAL_SEED_OFFSET + j))
        returns.append(ret)
        successes.append(success)
    if any(s is None for s in successes):  # e.g. gym: envs report no success
        return float(np.mean(returns)), math.nan
    return float(np.mean(returns)), float(np.mean(successes))


# -- the run folder ---------------------------------------------------------------------
class RunDir:
    """The run-folder contract: config.yaml, metrics.csv, tb/, checkpoints/."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config = self.path / "config.yaml"
        self.metrics = self.path / "metrics.csv"
        self.tb = self.path / "tb"
        self.checkpoints = self.path / "checkpoints"
        self.latest = self.checkpoints / "latest.pt"
        self.best = self.checkpoints / "best.pt"

    def snapshot(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:09d}.pt"

    def snapshots(self) -> list[tuple[int, Path]]:
        found = []
        for p in self.checkpoints.glob("step_*.pt"):
            try:
                found.append((int(p.stem.split("_")[1]), p))
            except ValueError:
                continue
        return sorted(found)

    def read_config(self) -> TrainConfig:
        if not self.config.is_file():
            raise UserError(f"{self.path} is not a videorl run folder (no config.yaml)")
        data = yaml.safe_load(self.config.read_text())
        return TrainConfig(**data)


class MetricsLog:
    """metrics.csv (one row per evaluation) plus TensorBoard scalars."""

    def __init__(
        self, run: RunDir, resume_step: int | None, columns: list[str] | None = None
    ) -> None:
        self.run = run
        self.columns = columns or METRIC_COLUMNS
        rows: list[dict[str, str]] = []
        if resume_step is not None and run.metrics.is_file():
            with run.metrics.open() as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        tmp = run.metrics.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, run.metrics)
        from torch.utils.tensorboard import SummaryWriter

        self.tb = SummaryWriter(str(run.tb), purge_step=resume_step)

    def write(self, row: dict[str, float]) -> None:
        with self.run.metrics.open("a", newline="") as fh:
            csv.DictWriter(fh, fieldnames=self.columns).writerow(
                {k: _fmt(row.get(k, math.nan)) for k in self.columns}
            )
        step = int(row["step"])
        for key, value in row.items():
            if key not in ("step", "wall_time") and not math.isnan(float(value)):
                group = "eval" if key.startswith("eval_") else "train"
                self.tb.add_scalar(f"{group}/{key}", float(value), step)
        self.tb.flush()

    def close(self) -> None:
        self.tb.close()


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    value = float(value)
    return "" if math.isnan(value) else f"{value:.6g}"


# -- the loop ---------------------------------------------------------------------------
@dataclasses.dataclass
class LoopState:
    """Counters that a checkpoint must carry besides networks, buffer and RNGs."""

    step: int = 0
    episodes: int = 0  # finished training episodes
    episode_actions: list = dataclasses.field(default_factory=list)  # of the open episode
    episode_return: float = 0.0
    best_eval: float = -math.inf
    recent_returns: list = dataclasses.field(default_factory=list)


class Trainer:
    """Wires env, replay buffer and agent; owns the run folder."""

    def __init__(self, cfg: TrainConfig, out: str | Path, resume: bool = False) -> None:
        self.run = RunDir(out)
        if resume:
            if not self.run.latest.is_file():
                raise UserError(
                    f"--resume: no checkpoint in {self.run.checkpoints}; "
                    "start the run without --resume"
                )
            saved = self.run.read_config()
            changed = [
                f.name
                for f in dataclasses.fields(cfg)
                if f.name != "steps" and getattr(cfg, f.name) != getattr(saved, f.name)
            ]
            if changed:
                raise UserError(
                    f"--resume keeps the run's config; {', '.join(changed)} differ from "
                    f"{self.run.config} (only --steps may change)"
                )
            cfg = dataclasses.replace(saved, steps=cfg.steps)
        elif self.run.metrics.exists() or self.run.checkpoints.exists():
            raise UserError(
                f"{self.run.path} already holds a run; pass --resume to continue it "
                "or choose another --out"
            )
        self.cfg = cfg.validate()
        self.device = resolve_device(cfg.device)
        torch.set_num_threads(resolve_threads(cfg.threads))
        # Gradients underflow to denormals; flushing them made the update 16% faster here.
        torch.set_flush_denormal(True)
        self.env, self.reward_info = wrap_reward(cfg, make_env(cfg.env))
        self.eval_env, _ = wrap_reward(cfg, make_env(cfg.env), relabel=False)
        self.spaces = spaces_from_env(self.env)
        channels = self.spaces.obs_shape[2:]
        if self.spaces.pixels and channels != ((6,) if cfg.goal_conditioned else (3,)):
            raise UserError(f"pixel observations must be HxWx3, got {self.spaces.obs_shape}")
        self.resume = resume
        self.state = LoopState()

        self.obs_pool = None
        if cfg.algo == "rlv":
            self.obs_pool, obs_reward_info = load_observation_pool(cfg, self.spaces)
            if obs_reward_info is not None:
                self.reward_info = {**(self.reward_info or {}), "obs_rewards": obs_reward_info}
        torch.manual_seed(cfg.seed)
        self.agent = make_agent(self.spaces, cfg, self.device)
        self.metric_keys = TRAIN_KEYS + self.agent.metric_names
        self.explore_rng = np.random.default_rng([cfg.seed, 1])
        self.sample_rng = np.random.default_rng([cfg.seed, 2])
        random.seed(cfg.seed)
        capacity = cfg.buffer_size or cfg.steps
        action_shape = (1,) if self.spaces.discrete else (self.spaces.action_dim,)
        self.buffer = ReplayBuffer(
            capacity, self.spaces.obs_shape, self.env.observation_space.dtype, action_shape
        )

    # -- setup ---------------------------------------------------------------------------
    def _create_run_dir(self) -> bool:
        """Create the folder; True if we created it (so a failed start can remove it)."""
        created = not self.run.path.exists()
        try:
            self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.checkpoints.mkdir(exist_ok=True)
            probe = self.run.path / ".write_test"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise UserError(
                f"cannot write the run folder {self.run.path} ({exc.strerror}); "
                "choose a writable --out"
            ) from None
        return created

    def _write_config(self) -> None:
        text = yaml.safe_dump(self.cfg.to_dict(), sort_keys=False)
        tmp = self.run.config.with_suffix(".yaml.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.run.config)
        if self.reward_info is not None:  # the learned reward as resolved (T, d(g, g), ...)
            file = self.run.path / "reward.json"
            tmp = file.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self.reward_info, indent=1))
            os.replace(tmp, file)

    # -- checkpoint ----------------------------------------------------------------------
    def save_checkpoint(self, best: bool = False) -> None:
        """latest.pt (everything) and the step's policy snapshot (also best.pt if ``best``)."""
        s = self.state
        ckpt = {
            "version": 1,
            "config": self.cfg.to_dict(),
            "agent": self.agent.full_state(),
            "buffer": self.buffer.state_dict(),
            "loop": {
                "step": s.step,
                "episodes": s.episodes,
                "episode_actions": torch.as_tensor(np.asarray(s.episode_actions, dtype=np.float64)),
                "episode_return": s.episode_return,
                "best_eval": s.best_eval,
                "recent_returns": list(s.recent_returns),
            },
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "explore": self.explore_rng.bit_generator.state,
                "sample": self.sample_rng.bit_generator.state,
                "python": random.getstate(),
            },
        }
        checkpoint.save(ckpt, self.run.latest)
        policy = {"config": self.cfg.to_dict(), "step": s.step, "nets": self.agent.state_dict()}
        checkpoint.save(policy, self.run.snapshot(s.step))
        if best:
            checkpoint.save(policy, self.run.best)

    def load_checkpoint(self) -> None:
        ckpt = checkpoint.load(self.run.latest)
        self.agent.load_full_state(ckpt["agent"])
        self.buffer.load_state_dict(ckpt["buffer"])
        loop = ckpt["loop"]
        actions = loop["episode_actions"].numpy()
        self.state = LoopState(
            step=loop["step"],
            episodes=loop["episodes"],
            episode_actions=[a for a in actions],
            episode_return=loop["episode_return"],
            best_eval=loop["best_eval"],
            recent_returns=list(loop["recent_returns"]),
        )
        rng = ckpt["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.explore_rng.bit_generator.state = rng["explore"]
        self.sample_rng.bit_generator.state = rng["sample"]
        random.setstate(_tuplify(rng["python"]))

    def _restore_open_episode(self) -> np.ndarray:
        """Reset to the open episode's seed and replay its actions (see module doc)."""
        obs, _ = self.env.reset(seed=episode_seed(self.cfg.seed, self.state.episodes))
        for action in self.state.episode_actions:
            a = int(action[0]) if self.spaces.discrete else action.astype(np.float32)
            obs, *_ = self.env.step(to_env_action(self.env, a))
        return obs

    # -- main loop -----------------------------------------------------------------------
    def policy(self, deterministic: bool) -> Callable[[np.ndarray], Any]:
        return lambda obs: self.agent.act(obs, deterministic=deterministic)

    def random_action(self) -> np.ndarray | int:
        if self.spaces.discrete:
            return int(self.explore_rng.integers(self.spaces.action_dim))
        return self.explore_rng.uniform(-1.0, 1.0, self.spaces.action_dim).astype(np.float32)

    def run_training(self, progress: bool = True) -> RunDir:
        created = False
        if not self.resume:
            created = self._create_run_dir()
        try:
            if self.resume:
                self.load_checkpoint()
                self._write_config()  # steps may have been extended
                obs = self._restore_open_episode()
            else:
                self._write_config()
                obs, _ = self.env.reset(seed=episode_seed(self.cfg.seed, 0))
                self.buffer.start_episode(obs)
            log = MetricsLog(
                self.run,
                self.state.step if self.resume else None,
                metric_columns(self.metric_keys[len(TRAIN_KEYS) :]),
            )
        except BaseException:
            if created:
                shutil.rmtree(self.run.path, ignore_errors=True)
            raise
        try:
            self._loop(obs, log, progress)
        finally:
            log.close()
        return self.run

    def _eval_and_checkpoint(self, log: MetricsLog, acc: dict, n_updates: int, sps: float):
        s, cfg = self.state, self.cfg
        eval_return, eval_success = evaluate(
            self.eval_env, self.policy(True), cfg.eval_episodes, cfg.seed
        )
        row: dict[str, float] = {
            "step": s.step,
            "episodes": s.episodes,
            "eval_return": eval_return,
            "eval_success": eval_success,
            "train_return": float(np.mean(s.recent_returns)) if s.recent_returns else math.nan,
            "steps_per_second": sps,
            "wall_time": time.time(),
        }
        for key in self.metric_keys:
            row[key] = float(acc[key]) / n_updates if n_updates else math.nan
        log.write(row)
        s.recent_returns = []
        best = eval_return > s.best_eval
        s.best_eval = max(s.best_eval, eval_return)
        self.save_checkpoint(best=best)
        return row

    def _zero_metrics(self) -> dict[str, torch.Tensor]:
        return {k: torch.zeros((), device=self.device) for k in self.metric_keys}

    def update_agent(self) -> dict[str, torch.Tensor]:
        """One gradient step: n robot transitions, plus m observation transitions for RLV."""
        batch = self.buffer.sample(self.cfg.batch_size, self.sample_rng)
        if self.obs_pool is None:
            return self.agent.update(batch)
        return self.agent.update(
            batch, self.obs_pool.sample(self.cfg.obs_batch_size, self.sample_rng)
        )

    def _loop(self, obs: np.ndarray, log: MetricsLog, progress: bool) -> None:
        from tqdm import tqdm

        cfg, s = self.cfg, self.state
        acc = self._zero_metrics()
        n_updates = 0
        bar = tqdm(
            total=cfg.steps,
            initial=s.step,
            disable=not progress,
            unit="step",
            dynamic_ncols=True,
            desc=f"{cfg.algo} {cfg.env}",
        )
        if s.step == 0 and cfg.eval_at_start and not self.resume:
            row = self._eval_and_checkpoint(log, acc, 0, math.nan)
            bar.set_postfix(eval_return=f"{row['eval_return']:.1f}")
        t0, step0 = time.perf_counter(), s.step
        while s.step < cfg.steps:
            if s.step < cfg.initial_steps:
                action = self.random_action()
            else:
                action = self.agent.act(obs, deterministic=False)
            next_obs, reward, terminated, truncated, _ = self.env.step(
                to_env_action(self.env, action)
            )
            self.buffer.add(action, reward, next_obs, terminated, truncated)
            s.episode_actions.append(np.atleast_1d(np.asarray(action, dtype=np.float64)))
            s.episode_return += float(reward)
            s.step += 1
            if terminated or truncated:
                s.episodes += 1
                s.recent_returns.append(s.episode_return)
                s.episode_actions, s.episode_return = [], 0.0
                obs, _ = self.env.reset(seed=episode_seed(cfg.seed, s.episodes))
                self.buffer.start_episode(obs)
            else:
                obs = next_obs
            if s.step >= cfg.initial_steps and len(self.buffer) >= cfg.batch_size:
                for _ in range(cfg.updates_per_step):
                    metrics = self.update_agent()
                    for key in self.metric_keys:
                        acc[key] += metrics[key]
                    n_updates += 1
            bar.update(1)
            if s.step % cfg.eval_every == 0 or s.step == cfg.steps:
                sps = (s.step - step0) / max(time.perf_counter() - t0, 1e-9)
                row = self._eval_and_checkpoint(log, acc, n_updates, sps)
                bar.set_postfix(eval_return=f"{row['eval_return']:.1f}")
                acc = self._zero_metrics()
                n_updates = 0
                t0, step0 = time.perf_counter(), s.step
        bar.close()


def load_observation_pool(cfg: TrainConfig, spaces: Spaces) -> tuple[ObservationPool, Any]:
    """RLV's D_obs from ``cfg.obs_data``; its observations must match the robot's. With a
    learned ``obs_rewards`` (e.g. hold:MODEL_DIR) every transition is labelled once with it;
    returns (pool, that reward's resolved info or None)."""
    from videorl.data.dataset import VideoDataset

    ds = VideoDataset(cfg.obs_data)
    _check_matches(ds, spaces, cfg.env, "--obs-data")
    paired = None
    if cfg.paired_data:
        paired = VideoDataset(cfg.paired_data)
        _check_matches(paired, spaces, cfg.env, "paired_data")
    need_gt = cfg.obs_actions == "groundtruth" or cfg.obs_rewards == "groundtruth"
    # Ground truth also feeds the obs_label_error diagnostic when present; never training
    # unless an ablation asks.
    labels, info = None, None
    if is_learned(cfg.obs_rewards):
        labels, info = learned_labels(cfg, ds)
    pool = ObservationPool(
        ds, groundtruth=need_gt or ds.has_groundtruth, paired=paired, reward_labels=labels
    )
    return pool, info


def learned_labels(cfg: TrainConfig, ds) -> tuple[np.ndarray, dict]:
    """The learned reward of every observation transition (f_i, f_{i+1}), in the dataset's
    transition order: the reward the robot gets for reaching f_{i+1} with the same goal,
    scale T and history, without the sparse task reward (videos have none)."""
    env = make_env(cfg.env)
    try:
        reward, info = goal_reward(cfg, cfg.obs_rewards, env)
    finally:
        env.close()
    labels = []
    for video in ds:
        reward.reset(np.asarray(video[0]))
        labels += [reward.step(np.asarray(frame), 0.0) for frame in video[1:]]
    return np.asarray(labels, dtype=np.float32), info


def _check_matches(ds, spaces: Spaces, env: str, flag: str) -> None:
    pixels = ds.kind == "frames"
    if pixels != spaces.pixels:
        have = "video frames" if pixels else "state observations"
        want = "pixels" if spaces.pixels else "states"
        raise UserError(
            f"{flag} {ds.path} holds {have} but {env} observes {want}; collect the dataset "
            f"from the same task (videorl collect --env {env})"
        )
    if tuple(ds.obs_shape) != tuple(spaces.obs_shape):
        what = "image size" if pixels else "observation size"
        fix = "re-import with --size matching the task" if pixels else "collect it from this task"
        raise UserError(
            f"{flag} {ds.path} has {what} {ds.obs_shape} but {env} observes "
            f"{tuple(spaces.obs_shape)}; {fix}"
        )


def _tuplify(obj: Any) -> Any:
    """random.setstate needs tuples; the checkpoint may hold lists."""
    if isinstance(obj, list | tuple):
        return tuple(_tuplify(x) for x in obj)
    return obj


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True) -> RunDir:
    """Train (or resume) a run; returns its folder."""
    return Trainer(cfg, out, resume=resume).run_training(progress=progress)
