"""videorl command line: train | eval | envs | demo.

User mistakes end with one line on stderr and exit code 2; no traceback.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

from videorl.config import apply_overrides
from videorl.config_text import parse_set as _parse_set
from videorl.errors import TrainingDiverged, UserError
from videorl.train_command import (
    add_config_flags,
    command_line_values,
    config_flags,
    flagged_fields,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line, exit 2, and reads a word like
    -10,0,100,100 as a value (Python < 3.13 takes it for an unknown option)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-\.?\d[\d.,]*$")

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"videorl: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _number(kind: type, ok, what: str):
    """An argparse type: ``kind(text)`` if ``ok`` accepts it, else "must be <what>"."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


_seed = _number(int, lambda v: v >= 0, "an integer >= 0")  # numpy seeds are >= 0
_finite = _number(float, math.isfinite, "a finite number")


def _fail(message: str) -> int:
    sys.stderr.write(f"videorl: error: {message}\n")
    return 2


# -- commands -------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from videorl import train_command as tc
    from videorl.train import train

    if args.help_config:
        from videorl.agents.registry import config_help

        print("config keys by section (--set KEY=VALUE or SECTION.KEY=VALUE, or a YAML file):")
        print(config_help())
        return 0
    if args.resume:
        cfg, out = tc.resume_config(args.out, tc.given_values(args)), Path(args.out)
        if tc.finished(cfg, out):
            return 0
    else:
        cfg = tc.build_config(args)
        out = Path(args.out) if args.out else tc.default_out(cfg)
    started = time.monotonic()
    run = train(cfg, out, resume=args.resume, progress=not args.no_progress)
    print(tc.summary(run.path, time.monotonic() - started))
    return 0


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


def cmd_collect(args: argparse.Namespace) -> int:
    from videorl.collect import collect, preview

    if args.preview:
        if not args.env:
            raise UserError("--preview needs --env ENV")
        print(f"domain preview: {preview(args.env, args.preview, seed=args.seed or 0)}")
        return 0
    missing = [f"--{k}" for k in ("env", "policy", "episodes", "out") if getattr(args, k) is None]
    if missing:
        raise UserError(f"collect needs {', '.join(missing)} (or --env ENV --preview FILE.png)")
    out = collect(
        args.env, args.policy, args.episodes, args.out, noise=args.noise, domain=args.domain,
        seed=args.seed or 0, progress=not args.no_progress, command=" ".join(sys.argv),
    )  # fmt: skip
    from videorl.data.dataset import summarize

    print(summarize(out))
    return 0


def cmd_import_videos(args: argparse.Namespace) -> int:
    from videorl.data.dataset import summarize
    from videorl.data.importer import import_videos, parse_crop

    crop = parse_crop(args.crop) if args.crop else None
    out, skipped = import_videos(
        args.sources, args.out, size=args.size, crop=crop, fps=args.fps,
        task=args.task, domain=args.domain, progress=not args.no_progress,
        command=" ".join(sys.argv),
    )  # fmt: skip
    print(summarize(out))
    if skipped:
        print(f"skipped {len(skipped)} input(s); see the messages above")
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from videorl.data.dataset import summarize

    print(summarize(args.dir))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from videorl.atomic import check_writable
    from videorl.plot import compare_runs, format_table

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must name a .png file, got {args.out}")
    check_writable(out, "--out")
    if args.metric not in ("eval_return", "eval_success"):
        raise UserError("--metric must be eval_return or eval_success")
    table = compare_runs(args.runs, out, args.metric, args.threshold, args.per_seed)
    print(format_table(table))
    print(f"figure: {out}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from videorl.sweep import sweep

    out, runs = sweep(args.preset, args.seeds, args.workers, _parse_set(args.set or []),
                      backend=args.backend, address=args.address, only=args.methods)  # fmt: skip
    print(
        f"all runs finished; compare them with: videorl plot {out}/*/seed* --out {out}/curves.png"
    )
    return 0


def cmd_goal(args: argparse.Namespace) -> int:
    from videorl.collect import render_goal

    path, episode = render_goal(args.env, args.out, seed=args.seed, domain=args.domain)
    print(f"goal image: {path} (last frame of a successful expert episode, reset seed {episode})")
    return 0


def cmd_reward_train(args: argparse.Namespace) -> int:
    from videorl.rewards.distance_training import train_hold
    from videorl.rewards.hold import HoldConfig

    fields = [f for _, f, _ in flagged_fields(HoldConfig)]
    cfg = apply_overrides(HoldConfig(), command_line_values(args, fields)).validate()
    summary = train_hold(cfg, args.data, args.out, progress=not args.no_progress)
    best = summary["best"]
    print(f"distance model: {args.out} ({cfg.model}, {cfg.backbone})")
    print(
        f"best held-out Spearman {best['spearman']:.3f} at step {best['step']} "
        f"({summary['videos']['held_out']} held-out videos)"
    )
    return 0


def cmd_reward_eval(args: argparse.Namespace) -> int:
    import json

    from videorl.atomic import check_writable, write_text
    from videorl.rewards.distance_data import load_videos
    from videorl.rewards.distance_metrics import evaluate_model
    from videorl.rewards.hold import load_distance_model

    if args.json:
        check_writable(args.json, "--json")
    model = load_distance_model(args.model_dir)
    videos, info = load_videos(args.data)
    model.check_image_shape(tuple(info["image_shape"]), "--data")
    scores = evaluate_model(model, videos)
    fps = [f for f in info["fps"] if f]
    print(f"{model.kind} on {', '.join(map(str, args.data))}: {int(scores['videos'])} videos")
    print(f"  spearman            {scores['spearman']:.4f}  (higher is better)")
    print(f"  misclassification   {scores['misclassification']:.4f}  (Eq. 6, lower is better)")
    print(f"  hinge               {scores['hinge']:.4f}  (Eq. 5, lower is better)")
    if "mse" in scores:
        seconds = f" ({scores['mean_error'] / fps[0]:.2f} s)" if len(set(fps)) == 1 else ""
        print(f"  mse                 {scores['mse']:.1f}  (frames^2)")
        print(f"  mean error          {scores['mean_error']:.2f} frames{seconds}")
    if args.json:
        data = list(map(str, args.data))
        write_text(args.json, json.dumps({"model": str(args.model_dir), "data": data, **scores}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from videorl.demo import run_demo

    return run_demo(out=Path(args.out), steps=args.steps, seed=args.seed)


# -- parser ---------------------------------------------------------------------------
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the flags generated from config sections are added only for ``command``
    (the one being run, or all when None): building them imports every method, and so torch,
    which commands like ``videorl envs`` do not need."""
    wants = lambda name: command is None or command == name  # noqa: E731
    parser = _Parser(
        prog="videorl",
        description="Reinforcement learning from action-free videos (RLV, RLMU, HOLD).",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train an agent; writes a run folder")
    if wants("train"):
        add_config_flags(p, config_flags())
    p.add_argument("--out", help="run folder (default runs/ENV_ALGO_seedS)")
    p.add_argument("--config", help="YAML preset of config keys")
    p.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE",
                   help="config keys (lr=1e-3 sac.tau=0.01); --help-config lists them")  # fmt: skip
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
    p.add_argument("--seed", type=_seed, default=0, help="episode seed base (default 0)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("envs", help="list the built-in tasks")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("collect", help="roll out a policy and write an action-free dataset")
    p.add_argument("--env", help="task from `videorl envs`")
    p.add_argument("--policy", help="expert, random, or checkpoint:RUN_DIR[@STEP]")
    p.add_argument("--episodes", type=int, help="episodes to record")
    p.add_argument(
        "--noise",
        type=_finite,
        default=0.0,
        help="perturb the policy: Gaussian std (continuous) or epsilon (discrete)",
    )
    p.add_argument(
        "--domain",
        default="robot",
        help="observation domain: robot, recolor, lighting, camera, hand, human",
    )
    p.add_argument("--seed", type=_seed, help="seed (default 0); a seed gives identical bytes")
    p.add_argument("--out", help="dataset folder to create")
    p.add_argument("--preview", metavar="FILE.png", help="write one frame per domain and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("import-videos", help="turn real videos or frame folders into a dataset")
    p.add_argument("sources", nargs="+", metavar="SRC", help="video files or folders of frames")
    p.add_argument("--out", required=True, help="dataset folder to create")
    p.add_argument("--size", type=int, default=48, help="square frame size, 2 to 512 (default 48)")
    p.add_argument("--crop", metavar="X,Y,W,H", help="crop before resizing, in source pixels")
    p.add_argument("--fps", type=float, help="subsample to this rate, <= the videos' (default all)")
    p.add_argument("--task", help="task the videos show (recorded in the manifest)")
    p.add_argument("--domain", help="domain label (default human)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import_videos)

    p = sub.add_parser("data", help="dataset tools")
    data_sub = p.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    q = data_sub.add_parser("info", help="validate a dataset and print its summary")
    q.add_argument("dir", help="dataset folder")
    q.set_defaults(func=cmd_data_info)

    p = sub.add_parser("plot", help="mean +- s.e. learning curves of runs grouped by config")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (seeds are grouped)")
    p.add_argument("--out", required=True, help="figure file (.png)")
    p.add_argument("--metric", default="eval_return", help="eval_return or eval_success")
    p.add_argument("--threshold", type=_finite, nargs="+", metavar="T",
                   help="steps to reach each T: the mean's, and each seed's (a range)")  # fmt: skip
    p.add_argument("--per-seed", action="store_true",
                   help="also draw each run's own curve, thin, in its method's colour")  # fmt: skip
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("sweep", help="run the methods of a sweep preset over several seeds")
    p.add_argument("preset", help="sweep YAML (name, out, base, methods); see configs/sweeps/")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per method (default 5)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (1 thread each)")
    p.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE",
                   help="replace base values of the preset, for every method (each must read "
                        "the key and not set it itself)")  # fmt: skip
    p.add_argument("--methods", nargs="+", metavar="NAME",
                   help="run only these methods of the preset (default: all)")  # fmt: skip
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: this machine's process pool (--workers); ray: one Ray task per "
                        "run (needs pip install 'videorl[ray]')")  # fmt: skip
    p.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="join the Ray cluster there (default: start a local Ray instance)",
    )
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("goal", help="render a goal image: a successful expert episode's end")
    p.add_argument("--env", required=True, help="visual task from `videorl envs`")
    p.add_argument("--out", required=True, metavar="GOAL.png", help="PNG file to write")
    p.add_argument("--seed", type=_seed, default=0, help="seed of the expert episodes")
    p.add_argument("--domain", default="robot", help="observation domain (default robot)")
    p.set_defaults(func=cmd_goal)

    p = sub.add_parser("reward", help="learned distance-to-goal rewards (HOLD)")
    reward_sub = p.add_subparsers(dest="reward_command", required=True, parser_class=_Parser)
    q = reward_sub.add_parser("train", help="train a HOLD distance model on unlabeled videos")
    q.add_argument("--data", nargs="+", required=True, metavar="DIR", help="image datasets")
    if wants("reward"):
        from videorl.rewards.hold import HoldConfig

        add_config_flags(q, flagged_fields(HoldConfig))
    q.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to create")
    q.add_argument("--set", nargs="+", action="extend", metavar="KEY=VALUE", help="override")
    q.add_argument("--no-progress", action="store_true", help="no progress bar")
    q.set_defaults(func=cmd_reward_train)
    q = reward_sub.add_parser("eval", help="Appendix B metrics of a distance model on videos")
    q.add_argument("model_dir", metavar="MODEL_DIR", help="folder from videorl reward train")
    q.add_argument("--data", nargs="+", required=True, metavar="DIR", help="image datasets")
    q.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    q.set_defaults(func=cmd_reward_eval)

    p = sub.add_parser("demo", help="RLV vs SAC on acrobot with generated videos (~10 min)")
    p.add_argument("--out", default="runs/demo", help="folder for the demo run")
    p.add_argument("--steps", type=int, default=None, help="override the demo's step budget")
    p.add_argument("--seed", type=_seed, default=0)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), "")
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        return _fail(str(exc))
    except TrainingDiverged as exc:
        _fail(str(exc))
        return 3
    except KeyboardInterrupt:
        hint = "; continue it with --out RUN_DIR --resume" if command in ("train", "sweep") else ""
        sys.stderr.write(f"\nvideorl: interrupted{hint}\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
