"""Where obs_cut=idle_tail cuts a dataset's videos, against the ground truth it never reads:
for each tolerance, how many videos are cut, how many frames are kept, and how far the cut
lies after the frame where the task's reward is first earned (a cut before it would give
Eq. 2's c_large to a state short of the goal).

    .venv/bin/python benchmarks/idle_tail_cuts.py data/state-pusher-expert \
        --name idle_tail_state_pusher [--fractions 0.05 0.1 0.2] [--min-frames 10]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from videorl.data.dataset import VideoDataset
from videorl.data.idle_tail import frames_to_keep

HERE = Path(__file__).parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--name", required=True)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.1, 0.2])
    ap.add_argument("--min-frames", type=int, default=10)
    args = ap.parse_args()
    ds = VideoDataset(args.dataset)
    first = []  # frame index at which each video first earns the task's reward
    for i in range(len(ds)):
        hit = np.flatnonzero(ds.groundtruth(i)["rewards"] > 0)
        first.append(int(hit[0]) + 1 if len(hit) else None)
    rows = []
    for fraction in args.fractions:
        keep = frames_to_keep(ds, fraction, args.min_frames)
        after = [k - 1 - f for k, f in zip(keep, first) if f is not None]
        rows.append({
            "fraction": fraction,
            "videos": len(ds),
            "videos_cut": sum(k < t for k, t in zip(keep, ds.lengths)),
            "kept_frames_median": float(np.median(keep)),
            "frames_after_first_reward": {q: float(np.percentile(after, p)) for q, p in
                                          (("p25", 25), ("median", 50), ("p75", 75))},
            "cut_before_first_reward": int(sum(a < 0 for a in after)),
        })  # fmt: skip
        r = rows[-1]
        after_q = r["frames_after_first_reward"]
        print(f"fraction {fraction}: {r['videos_cut']}/{len(ds)} videos cut, median "
              f"{r['kept_frames_median']} frames kept, cut {after_q} frames after the first "
              f"reward, {r['cut_before_first_reward']} before it")  # fmt: skip
    out = HERE / "results" / f"{args.name}.json"
    command = f"benchmarks/idle_tail_cuts.py {args.dataset} --min-frames {args.min_frames}"
    out.write_text(json.dumps({"command": command, "rows": rows}, indent=1))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
