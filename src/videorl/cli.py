"""videorl command line: train | eval | envs | demo.

User mistakes end with one line on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videorl.config import ConfigError, TrainConfig, apply_overrides, config_help, load_yaml
from videorl.config import parse_set as _parse_set


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"videorl: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _fail(message: str) -> int:
    sys.stderr.write(f"videorl: error: {message}\n")
    return 2


def build_config(args: argparse.Namespace) -> TrainConfig:
    """Defaults < --config YAML < explicit flags < --set KEY=VALUE."""
    cfg = TrainConfig()
    if args.config:
        cfg = apply_overrides(cfg, load_yaml(args.config))
    flags = {k: getattr(args, k) for k in ("env", "algo", "steps", "seed")}
    cfg = apply_overrides(cfg, {k: v for k, v in flags.items() if v is not None})
    cfg = apply_overrides(cfg, _parse_set(args.set or []))
    return cfg.validate()


def default_out(cfg: TrainConfig) -> Path:
    safe = cfg.env.replace(":", "-").replace("/", "-")
    return Path("runs") / f"{safe}_{cfg.algo}_seed{cfg.seed}"


# -- commands -------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from videorl.train import train

    if args.help_config:
        print("config keys (--set KEY=VALUE or a YAML file for --config):")
        print(config_help())
        return 0
    cfg = build_config(args)
    out = Path(args.out) if args.out else default_out(cfg)
    run = train(cfg, out, resume=args.resume, progress=not args.no_progress)
    print(f"run folder: {run.path}")
    _print_last_row(run.metrics)
    return 0


def _print_last_row(metrics: Path) -> None:
    import csv

    with metrics.open() as fh:
        rows = list(csv.DictReader(fh))
    if rows:
        last = rows[-1]
        print(
            f"step {last['step']}: eval_return {last['eval_return']} "
            f"eval_success {last['eval_success'] or 'n/a'}"
        )


def cmd_eval(args: argparse.Namespace) -> int:
    from videorl.evaluate import evaluate_command

    return evaluate_command(
        run_dir=args.run_dir,
        env_name=args.env,
        policy=args.policy,
        episodes=args.episodes,
        video=args.video,
        seed=args.seed,
    )


def cmd_envs(args: argparse.Namespace) -> int:
    from videorl.envs import TASKS

    for task in TASKS.values():
        kind = "pixels" if task.pixels else "states"
        print(f"{task.name}  (horizon {task.horizon}, {kind}, expert: --policy expert)")
        print(f"    observation: {task.observation}")
        print(f"    action:      {task.action}")
        print(f"    success:     {task.success}")
    print("\nAny gymnasium id also works as gym:ID, e.g. --env gym:Pendulum-v1")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from videorl.demo import run_demo

    return run_demo(out=Path(args.out), steps=args.steps, seed=args.seed)


# -- parser ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="videorl",
        description="Reinforcement learning from action-free videos (RLV, RLMU, HOLD).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train an agent; writes a run folder")
    p.add_argument("--env", help="task from `videorl envs`, or gym:ID")
    p.add_argument("--algo", help="algorithm (sac)")
    p.add_argument("--steps", type=int, help="environment steps")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--out", help="run folder (default runs/ENV_ALGO_seedS)")
    p.add_argument("--config", help="YAML preset of config keys")
    p.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE", help="override")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--help-config", action="store_true", help="list config keys and exit")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="replay a trained policy or a scripted expert")
    p.add_argument("run_dir", nargs="?", help="run folder (its latest checkpoint)")
    p.add_argument("--env", help="with --policy: task to roll out instead of a run")
    p.add_argument("--policy", choices=["expert", "random"], help="scripted policy for --env")
    p.add_argument("--episodes", type=int, default=10, help="episodes (default 10)")
    p.add_argument("--video", help="write the rollouts to this .mp4 file")
    p.add_argument("--seed", type=int, default=0, help="episode seed base (default 0)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("envs", help="list the built-in tasks")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("demo", help="train SAC on a built-in task and plot the curve")
    p.add_argument("--out", default="runs/demo", help="folder for the demo run")
    p.add_argument("--steps", type=int, default=None, help="override the demo's step budget")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from videorl.train import UserError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("videorl: interrupted; resume a training run with --resume\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
