"""The training loop: ask the method what it needs, act, step, store, update, evaluate, log,
checkpoint, resume. It drives any registered method and never checks a method's name.

Exact resume (CPU): every training episode is reset with a seed derived from (seed,
episode index), and the checkpoint holds the actions taken so far in the open episode.
Resuming rebuilds the environment, resets it with that episode's seed and replays those
actions, so the simulator is back in the exact state it had, whatever the environment.
Networks, optimisers, the replay buffer and every RNG state (torch, numpy, Python) are
restored as well, so a run killed with SIGKILL and resumed writes the same metrics as one
that never stopped.
"""

from __future__ import annotations

import contextlib
import math
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videorl import checkpoint
from videorl.agents.base import CLIPS, OBSERVATIONS, ROBOT, UpdateInputs
from videorl.agents.registry import make_method, method_class
from videorl.config import TrainConfig
from videorl.errors import TrainingDiverged, UserError
from videorl.loop_state import LoopState, MetricSums, tuplify
from videorl.replay import ReplayBuffer
from videorl.rollout import (
    episode_seed,
    evaluate,
    make_task_env,
    resolve_device,
    resolve_threads,
    spaces_from_env,
    to_env_action,
)
from videorl.rundir import MetricsLog, RunDir, metric_columns


class Trainer:
    """Wires env, replay buffer, observation pool and method; owns the run folder."""

    def __init__(self, cfg: TrainConfig, out: str | Path, resume: bool = False) -> None:
        self.run = RunDir(out)
        if (self.run.path / ".lock").exists():
            with self.run.lock():  # refused now, naming the process, if one trains here
                pass
        if resume:
            cfg = self._resumed_config(cfg)
        else:
            self.run.refuse_existing_run()  # early, before any env is built
        self.cfg = cfg.validate()
        run = cfg.run
        self.device = resolve_device(run.device)
        torch.set_num_threads(resolve_threads(run.threads))
        # Gradients underflow to denormals; flushing them made the update 16% faster here.
        torch.set_flush_denormal(True)
        self.env, self.reward_info = make_task_env(run.env, cfg.reward, run.seed)
        self.eval_env, _ = make_task_env(run.env, cfg.reward, run.seed, train=False)
        self.spaces = spaces_from_env(self.env)
        unread = cfg.sac.unread(self.spaces.pixels)
        if unread:
            key, reader = unread[0]
            raise UserError(
                f"{key}={getattr(cfg.sac, key)!r} is not read by this run ({run.env} observes "
                f"{'pixels' if self.spaces.pixels else 'states'}); it is read by {reader}"
            )
        channels = self.spaces.obs_shape[2:]
        if self.spaces.pixels and channels != ((6,) if cfg.reward.goal_conditioned else (3,)):
            raise UserError(f"pixel observations must be HxWx3, got {self.spaces.obs_shape}")
        self.resume = resume
        self.state = LoopState()

        method = method_class(run.algo)
        self.needs = method.needs
        self.obs_pool = None
        if self.needs & {OBSERVATIONS, CLIPS}:
            from videorl.observation_data import load_observation_pool

            request = method.observation_request(cfg)
            self.clip_batch_size = request.clip_batch_size
            self.obs_pool, obs_reward_info = load_observation_pool(cfg, self.spaces, request)
            if obs_reward_info is not None:
                self.reward_info = {**(self.reward_info or {}), "obs_rewards": obs_reward_info}
        torch.manual_seed(run.seed)
        self.agent = make_method(self.spaces, cfg, self.device)
        self.metric_keys = self.agent.metric_names
        self.explore_rng = np.random.default_rng([run.seed, 1])
        self.sample_rng = np.random.default_rng([run.seed, 2])
        random.seed(run.seed)
        capacity = run.buffer_size or run.steps
        action_shape = (1,) if self.spaces.discrete else (self.spaces.action_dim,)
        self.buffer = ReplayBuffer(
            capacity, self.spaces.obs_shape, self.env.observation_space.dtype, action_shape
        )

    def _resumed_config(self, cfg: TrainConfig) -> TrainConfig:
        if not self.run.latest.is_file():
            raise UserError(
                f"--resume: no checkpoint in {self.run.checkpoints}; start the run without --resume"
            )
        return self.run.resumed(cfg)

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

    # -- checkpoint ----------------------------------------------------------------------
    def save_checkpoint(self, best: bool = False) -> None:
        """latest.pt (everything) and the step's policy snapshot (also best.pt if ``best``)."""
        s = self.state
        ckpt = {
            "version": 2,
            "config": self.cfg.to_dict(),
            "agent": self.agent.full_state(),
            "buffer": self.buffer.state_dict(),
            "loop": {
                "step": s.step,
                "pretrain_step": s.pretrain_step,
                "start_evaluated": s.start_evaluated,
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
        try:
            self.agent.load_full_state(ckpt["agent"])
            self.buffer.load_state_dict(ckpt["buffer"])
            loop, rng = ckpt["loop"], ckpt["rng"]
        except (KeyError, RuntimeError, ValueError) as exc:  # e.g. a policy snapshot copied here
            raise UserError(
                f"{self.run.latest} is not this run's full checkpoint ({type(exc).__name__}); "
                "restore latest.pt from a copy, or train again into a new --out"
            ) from None
        actions = loop["episode_actions"].numpy()
        self.state = LoopState(
            step=loop["step"],
            pretrain_step=loop.get("pretrain_step", 0),
            start_evaluated=loop.get("start_evaluated", True),  # older runs: done or off
            episodes=loop["episodes"],
            episode_actions=[a for a in actions],
            episode_return=loop["episode_return"],
            best_eval=loop["best_eval"],
            recent_returns=list(loop["recent_returns"]),
        )
        torch.set_rng_state(rng["torch"])
        if rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])
        self.explore_rng.bit_generator.state = rng["explore"]
        self.sample_rng.bit_generator.state = rng["sample"]
        random.setstate(tuplify(rng["python"]))

    def _restore_open_episode(self) -> np.ndarray:
        """Reset to the open episode's seed and replay its actions (see module doc)."""
        obs, _ = self.env.reset(seed=episode_seed(self.cfg.run.seed, self.state.episodes))
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
        created = False if self.resume else self._create_run_dir()
        with contextlib.ExitStack() as held:
            held.enter_context(self.run.lock())  # refused if another process trains here
            log = self._start(created)
            held.callback(log.close)
            self._loop(self.obs, log, progress)
        return self.run

    def _start(self, created: bool) -> MetricsLog:
        """Load or begin the run under its lock; a failed fresh start leaves no folder."""
        try:
            if not self.resume:
                self.run.refuse_existing_run()  # again under the lock: a racing start
            if self.resume:
                self.load_checkpoint()
                self.run.write_config(self.cfg, self.reward_info)  # steps may have grown
                self.obs = self._restore_open_episode()
            else:
                self.run.write_config(self.cfg, self.reward_info)
                self.obs, _ = self.env.reset(seed=episode_seed(self.cfg.run.seed, 0))
                self.buffer.start_episode(self.obs)
            at = (self.state.step, self.state.pretrain_step) if self.resume else None
            columns = metric_columns(self.metric_keys, self.agent.pretrain_steps > 0)
            return MetricsLog(self.run, at, columns)
        except BaseException:
            if created:
                shutil.rmtree(self.run.path, ignore_errors=True)
            raise

    def _act(self, obs: np.ndarray, sums: MetricSums) -> np.ndarray | int:
        """The policy's exploration action; non-finite weights stop the run here, before a
        NaN action reaches the simulator."""
        try:
            action = self.agent.act(obs, deterministic=False)
        except RuntimeError:  # sampling from NaN probabilities, or a bug: only the first stops
            self._check_finite(sums.trained())
            raise
        if not np.all(np.isfinite(action)):
            self._check_finite(sums.trained())
            raise TrainingDiverged(
                f"training diverged by step {self.state.step}: the policy's action is not "
                f"finite; {self.run.latest} keeps the last good state"
            )
        return action

    def _check_finite(self, row: dict[str, float]) -> None:
        """Stop a diverged run before its non-finite weights reach a checkpoint."""
        bad = [k for k, v in row.items() if k.endswith("loss") and not math.isfinite(v)]
        if not bad and all(torch.isfinite(p).all() for p in self.agent.parameters()):
            return
        what = f"{bad[0]} is {row[bad[0]]}" if bad else "a network weight is not finite"
        raise TrainingDiverged(
            f"training diverged by step {self.state.step}: {what}; {self.run.latest} keeps the "
            "last good state (lower lr, or check the reward scale)"
        )

    def _eval_and_checkpoint(self, log: MetricsLog, sums: MetricSums, sps: float):
        s, run = self.state, self.cfg.run
        eval_return, eval_success = evaluate(
            self.eval_env, self.policy(True), run.eval_episodes, run.seed
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
        row.update(sums.means())
        if self.agent.pretrain_steps:
            row["pretrain_step"] = s.pretrain_step
        if sums.updates:
            self._check_finite(sums.trained())
        log.write(row)
        s.recent_returns = []
        best = eval_return > s.best_eval
        s.best_eval = max(s.best_eval, eval_return)
        self.save_checkpoint(best=best)
        return row

    def sample_inputs(self, needs: frozenset[str]) -> UpdateInputs:
        """What ``needs`` names, drawn in a fixed order: robot transitions, observation
        transitions, clips."""
        n, rng = self.cfg.run.batch_size, self.sample_rng
        m = self.cfg.videos.obs_batch_size if self.cfg.videos is not None else 0
        robot = self.buffer.sample(n, rng) if ROBOT in needs else None
        observations = self.obs_pool.sample(m, rng) if OBSERVATIONS in needs else None
        clips = positions = None
        if CLIPS in needs:
            clips, positions = self.obs_pool.sample_clips(self.clip_batch_size or m, rng)
        return UpdateInputs(robot, observations, clips, positions)

    def pretrain(self, log: MetricsLog, progress: bool) -> None:
        """The method's phase before interaction (none for most methods), or what is left
        of it: ten metrics rows (step 0, no evaluation) and as many checkpoints, so that a
        run killed here resumes exactly where its last checkpoint was."""
        from videorl.progress import progress as progress_bar

        s, total = self.state, self.agent.pretrain_steps
        if s.pretrain_step >= total:
            return
        every = -(-total // 10)
        bar = progress_bar(total=total, initial=s.pretrain_step, disable=not progress,
                           unit="step", desc=f"{self.cfg.run.algo} pre-training")  # fmt: skip
        sums, t0 = MetricSums(self.metric_keys, self.device), time.perf_counter()
        while s.pretrain_step < total:
            sums.add(self.agent.pretrain(self.sample_inputs(self.needs - {ROBOT})))
            s.pretrain_step += 1
            bar.update(1)
            if s.pretrain_step % every == 0 or s.pretrain_step == total:
                row = sums.trained()
                self._check_finite(row)
                sps = sums.updates / max(time.perf_counter() - t0, 1e-9)
                row.update(step=0, episodes=0, pretrain_step=s.pretrain_step, wall_time=time.time(),
                           steps_per_second=sps)  # fmt: skip
                log.write(row)
                self.save_checkpoint()
                sums.reset()
                t0 = time.perf_counter()
        bar.close()

    def _loop(self, obs: np.ndarray, log: MetricsLog, progress: bool) -> None:
        from videorl.progress import progress as progress_bar

        run, s = self.cfg.run, self.state
        sums = MetricSums(self.metric_keys, self.device)
        self.pretrain(log, progress)
        bar = progress_bar(total=run.steps, initial=s.step, disable=not progress, unit="step",
                           desc=f"{run.algo} {run.env}")  # fmt: skip
        if s.step == 0 and run.eval_at_start and not s.start_evaluated:
            s.start_evaluated = True
            row = self._eval_and_checkpoint(log, sums, math.nan)
            bar.set_postfix(eval_return=f"{row['eval_return']:.1f}")
        t0, step0 = time.perf_counter(), s.step
        while s.step < run.steps:
            if s.step < run.initial_steps:
                action = self.random_action()
            else:
                action = self._act(obs, sums)
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
                obs, _ = self.env.reset(seed=episode_seed(run.seed, s.episodes))
                self.buffer.start_episode(obs)
            else:
                obs = next_obs
            updates = self.agent.updates_due(s.step, run)
            if updates and len(self.buffer) >= run.batch_size:
                for _ in range(updates):
                    sums.add(self.agent.update(self.sample_inputs(self.agent.update_needs())))
            bar.update(1)
            if s.step % run.eval_every == 0 or s.step == run.steps:
                sps = (s.step - step0) / max(time.perf_counter() - t0, 1e-9)
                row = self._eval_and_checkpoint(log, sums, sps)
                bar.set_postfix(eval_return=f"{row['eval_return']:.1f}")
                sums.reset()
                t0, step0 = time.perf_counter(), s.step
        bar.close()


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True) -> RunDir:
    """Train (or resume) a run; returns its folder."""
    return Trainer(cfg, out, resume=resume).run_training(progress=progress)
