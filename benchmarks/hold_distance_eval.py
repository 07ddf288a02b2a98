"""Appendix B metrics of HOLD distance models (an analogue of the paper's Table IV).

For each model folder: the metrics on its own held-out videos (the human-domain videos it
never trained on, split by dataset), and on every dataset given with --robot (robot-domain
videos of the target tasks, never seen in training). Pixel L2 is scored on the same videos as
a reference point. Writes benchmarks/results/NAME.json and NAME.md.

    python benchmarks/hold_distance_eval.py runs/hold/hold-c_human runs/hold/hold-r_human \
        --robot data/visual-pusher-expert data/visual-close-drawer-expert --name hold_table4
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import yaml

from videorl.rewards.baselines import PixelDistance
from videorl.rewards.distance_data import load_videos
from videorl.rewards.distance_metrics import evaluate_model
from videorl.rewards.hold import CONFIG_FILE, load_distance_model

RESULTS = Path(__file__).parent / "results"


def held_out_by_dataset(model_dir: Path) -> dict[str, list]:
    """The model's held-out videos, grouped by the dataset they came from."""
    summary = yaml.safe_load((model_dir / CONFIG_FILE).read_text())
    groups: dict[str, list] = {}
    held = set(summary["held_out_index"])
    offset = 0
    for path in summary["data"]:
        videos, _ = load_videos([path])
        for i, video in enumerate(videos):
            if offset + i in held:
                groups.setdefault(path, []).append(video)
        offset += len(videos)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="folders from videorl reward train")
    parser.add_argument("--robot", nargs="*", default=[], help="robot-domain datasets to score")
    parser.add_argument("--name", default="hold_distance_eval")
    args = parser.parse_args()

    robot = {path: load_videos([path])[0] for path in args.robot}
    rows = []
    for model_dir in args.models:
        model = load_distance_model(model_dir)
        summary = yaml.safe_load((model_dir / CONFIG_FILE).read_text())
        sets = {f"held-out {k}": v for k, v in held_out_by_dataset(model_dir).items()}
        sets.update({f"robot {k}": v for k, v in robot.items()})
        for label, videos in sets.items():
            for name, m in ((str(model_dir), model), ("pixel-l2", PixelDistance())):
                if name == "pixel-l2" and any(
                    r["model"] == name and r["videos_of"] == label for r in rows
                ):
                    continue
                scores = evaluate_model(m, videos)
                rows.append({"model": name, "kind": m.kind, "videos_of": label,
                             "best_step": summary["best"]["step"] if m is model else None,
                             **scores})  # fmt: skip
                print(json.dumps(rows[-1]))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(rows, indent=1))
    lines = [
        "| model | videos | n | Spearman | misclassification | hinge | MSE | mean error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        mse = f"{r['mse']:.1f}" if "mse" in r else ""
        mae = f"{r['mean_error']:.1f}" if "mean_error" in r else ""
        lines.append(
            f"| {r['model']} | {r['videos_of']} | {int(r['videos'])} | {r['spearman']:.3f} | "
            f"{r['misclassification']:.3f} | {r['hinge']:.4f} | {mse} | {mae} |"
        )
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
