"""RLMU's Motion Extractor Module (MEM, report Eq. 6) as a pretext task, offline (issue 13).

Questions:
  1. Is MEM's pretext task (which of N equal parts of its video a clip of k = 10 frames
     starts in) learnable above chance 1/N on human-domain pushing videos the encoder and
     the LSTM never saw, and which N (2, 4, 8)?
  2. Before any RL: does MEM pre-training of the shared encoder (the extractor the inverse
     model reads) on the human videos lower the inverse model's action-label error on those
     human videos, after the inverse model (RLV Eq. 1) is fitted on a small robot dataset?

Data (``videorl collect``; the random-policy robot set is made by this benchmark's author):
    videorl collect --env visual-pusher --domain human --policy expert --noise 0.1 \
        --episodes 50 --seed 0 --out data/visual-pusher-human-50
    videorl collect --env visual-pusher --policy random --episodes 10 --seed 1 \
        --out data/visual-pusher-random-10

Commands (run one after the other on a loaded 2-core CPU, ``nice -n 10``, torch threads 1):
    python benchmarks/rlmu_pretext.py pretext --positions 4 --steps 1500 --eval-every 250
    python benchmarks/rlmu_pretext.py pretext --positions 2 --steps 750 --eval-every 250
    python benchmarks/rlmu_pretext.py pretext --positions 8 --steps 750 --eval-every 250
    python benchmarks/rlmu_pretext.py encoder --mem-steps 1000 --inverse-steps 1000 \
        --eval-every 250
    python benchmarks/rlmu_pretext.py report
Each part writes runs/bench/rlmu_pretext/<part>.json; ``report`` gathers them into
benchmarks/results/rlmu_pretext.json and rlmu_pretext.md.

Agent: ``make_config(algo="rlmu", env="visual-pusher", ...)`` with every default (the
inverse model's own conv encoder [16, 16, 32], LSTM 3 x 128, k = 10, 32 clips per MEM
step, lr 3e-4, random shift pad 4 per clip while training) except ``mem_positions``.

Part 1 (pretext): the 50 human videos are split by whole videos with
``np.random.default_rng(0).permutation(50)``: first 40 train, last 10 held out. Torch seed 0
builds the agent; clips of the train videos are drawn by ``EpisodeStore.sample_placed_windows``
(numpy seed 0), exactly as ``ObservationPool.sample_clips`` draws them, and each step is
``agent.pretrain``. At every evaluation point the accuracy over *all* windows (every start)
of the held-out videos and of the train videos is measured without augmentation (features
of each frame computed once, then the LSTM over every window), against chance 1/N.

Part 2 (encoder): torch seed 0 builds two identical agents (N = 4); (b) gets
``--mem-steps`` MEM steps on clips of all 50 human videos (numpy seed 0), (a) none. Each then
fits the inverse model for ``--inverse-steps`` steps of 64 robot transitions (numpy seed 1,
torch seed 1 for both, so the batches and the shift offsets are the same), exactly RLV's
Eq. 1 term: one random shift per transition shared by s and s' (``agent.augment``),
``inverse_loss`` on ``agent.inverse(cat(h_s, h_s'))``, ``agent.inverse_opt`` (the inverse MLP
and its encoder; in (b) it carries Adam moments from MEM, as in an RLMU run). Reported:
``RLV.label_error`` (squared error of the clipped prediction, summed over action dims,
mean over transitions) on all 5000 human transitions and on the 1000 robot training
transitions, without augmentation, against a zero-action predictor.

Seeds: split 0, agent initialisation (torch) 0, MEM clips (numpy) 0, inverse fit 1 (torch and
numpy). One seed for everything: no spread is measured.

Budget: about 25-30 min of wall time in all on a loaded 2-core CPU (about 0.3-0.4 s per MEM
step of 32 clips, 0.1 s per inverse step); the parts above took 25 min. Fewer steps for
N = 2 and 8 than for N = 4."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.common import inverse_loss
from videorl.agents.registry import make_config, make_method
from videorl.agents.rlmu import position_classes
from videorl.data.dataset import VideoDataset
from videorl.episodes import EpisodeStore
from videorl.replay import ObservationBatch

ROOT = Path(__file__).resolve().parents[1]
HUMAN = "data/visual-pusher-human-50"
ROBOT = "data/visual-pusher-random-10"
SCRATCH = ROOT / "runs/bench/rlmu_pretext"
RESULTS = ROOT / "benchmarks/results"
CPU = torch.device("cpu")
SPACES = Spaces((48, 48, 3), True, 2, False)
SPLIT_SEED, TRAIN_VIDEOS = 0, 40
DATA_COMMANDS = [
    "videorl collect --env visual-pusher --domain human --policy expert --noise 0.1 "
    "--episodes 50 --seed 0 --out data/visual-pusher-human-50",
    "videorl collect --env visual-pusher --policy random --episodes 10 --seed 1 "
    "--out data/visual-pusher-random-10",
]


def build_agent(positions: int):
    cfg = make_config(algo="rlmu", env="visual-pusher", obs_data=HUMAN, mem_positions=positions)
    torch.manual_seed(0)
    return make_method(SPACES, cfg, CPU), cfg


def chw(ds: VideoDataset) -> torch.Tensor:
    return torch.from_numpy(np.array(ds.frames)).permute(0, 3, 1, 2).contiguous()


def subset(frames: torch.Tensor, ds: VideoDataset, videos: np.ndarray):
    """(frames, EpisodeStore) of the chosen whole videos, in the given order."""
    starts, lengths = ds.episodes.starts, ds.episodes.lengths
    index = np.concatenate([np.arange(starts[v], starts[v] + lengths[v]) for v in videos])
    sub = frames[torch.from_numpy(index)]
    return sub, EpisodeStore(sub, lengths[videos])


@torch.no_grad()
def window_accuracy(agent, frames: torch.Tensor, store: EpisodeStore, n: int) -> dict:
    """Accuracy of the MEM's position class over every window of ``store``'s videos,
    without augmentation; also the share of the most common class (chance baseline)."""
    k = agent.rlv.mem_clip_length
    feats = torch.cat(
        [agent.inverse_features(frames[i : i + 512]) for i in range(0, len(frames), 512)]
    ).float()
    starts, positions = store._windows(k)  # every window, as sample_placed_windows draws them
    classes = position_classes(torch.from_numpy(positions).float(), n)
    correct = 0
    for i in range(0, len(starts), 1024):
        index = torch.from_numpy(starts[i : i + 1024])[:, None] + torch.arange(k)
        logits = agent.mem(feats[index])
        correct += int((logits.argmax(-1) == classes[i : i + 1024]).sum())
    share = torch.bincount(classes, minlength=n).float() / len(classes)
    return {
        "acc": correct / len(starts),
        "windows": len(starts),
        "majority_share": float(share.max()),
    }


def mem_steps(agent, frames, store, steps, rng, on_step=None) -> list[float]:
    k, b = agent.rlv.mem_clip_length, agent.rlv.mem_batch_size
    accs = []
    for step in range(1, steps + 1):
        index, position = store.sample_placed_windows(b, k, rng)
        clips = frames[torch.from_numpy(index)]
        m = agent.pretrain(
            UpdateInputs(clips=clips, clip_positions=torch.from_numpy(position).float())
        )
        accs.append(float(m["mem_acc"]))
        if on_step is not None:
            on_step(step, accs)
    return accs


def part_pretext(args) -> dict:
    ds = VideoDataset(ROOT / HUMAN)
    frames = chw(ds)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(ds))
    train_v, held_v = np.sort(order[:TRAIN_VIDEOS]), np.sort(order[TRAIN_VIDEOS:])
    train_f, train_s = subset(frames, ds, train_v)
    held_f, held_s = subset(frames, ds, held_v)
    agent, cfg = build_agent(args.positions)
    n = args.positions
    points, t0 = [], time.time()

    def evaluate(step, accs):
        if step % args.eval_every and step != args.steps:
            return
        last = accs[-args.eval_every :] if accs else []
        row = {
            "step": step,
            "wall_s": round(time.time() - t0, 1),
            "heldout": window_accuracy(agent, held_f, held_s, n),
            "train": window_accuracy(agent, train_f, train_s, n),
            "train_batch_acc_recent": float(np.mean(last)) if last else None,
        }
        points.append(row)
        print(
            f"N={n} step {step}: held-out {row['heldout']['acc']:.3f} train "
            f"{row['train']['acc']:.3f} batch {row['train_batch_acc_recent']} "
            f"({row['wall_s']} s)",
            flush=True,
        )

    evaluate(0, [])
    mem_steps(agent, train_f, train_s, args.steps, np.random.default_rng(0), evaluate)
    return {
        "positions": n,
        "chance": 1 / n,
        "steps": args.steps,
        "clip_length": cfg.method.mem_clip_length,
        "batch": cfg.method.mem_batch_size,
        "train_videos": train_v.tolist(),
        "heldout_videos": held_v.tolist(),
        "points": points,
        "wall_s": round(time.time() - t0, 1),
    }


@torch.no_grad()
def label_errors(agent, frames, store, gt_actions) -> float:
    """RLV.label_error over every transition of ``store`` (no augmentation)."""
    first, last = store.transition_table()
    feats = torch.cat(
        [agent.inverse_features(frames[i : i + 512]) for i in range(0, len(frames), 512)]
    )
    i = torch.from_numpy(first)
    pred = agent.inverse(torch.cat([feats[i], feats[i + 1]], dim=-1))
    batch = ObservationBatch(
        obs=frames[i], next_obs=frames[i + 1], last=torch.from_numpy(last), gt_action=gt_actions
    )
    return float(agent.label_error(pred, batch))


def gt_actions(ds: VideoDataset) -> torch.Tensor:
    acts = np.concatenate([ds.groundtruth(i)["actions"] for i in range(len(ds))])
    return torch.from_numpy(acts.astype(np.float32))


def part_encoder(args) -> dict:
    human, robot = VideoDataset(ROOT / HUMAN), VideoDataset(ROOT / ROBOT)
    h_frames, r_frames = chw(human), chw(robot)
    h_store = human.episodes.with_frames(h_frames)
    r_store = robot.episodes.with_frames(r_frames)
    h_gt, r_gt = gt_actions(human), gt_actions(robot)
    out = {
        "inverse_steps": args.inverse_steps,
        "mem_steps": args.mem_steps,
        "inverse_batch": args.batch,
        "zero_action": {
            "human": float(h_gt.pow(2).sum(-1).mean()),
            "robot_train": float(r_gt.pow(2).sum(-1).mean()),
        },
        "mean_human_action_oracle": float((h_gt - h_gt.mean(0)).pow(2).sum(-1).mean()),
    }
    r_first, _ = r_store.transition_table()
    for name, pre in (("fresh", 0), ("mem_pretrained", args.mem_steps)):
        t0 = time.time()
        agent, _ = build_agent(4)
        row: dict = {}
        if pre:
            accs = mem_steps(agent, h_frames, h_store, pre, np.random.default_rng(0))
            row["mem_batch_acc_last100"] = float(np.mean(accs[-100:]))
            row["mem_window_acc_all50"] = window_accuracy(agent, h_frames, h_store, 4)["acc"]
        row["before_fit"] = {"human": label_errors(agent, h_frames, h_store, h_gt)}
        torch.manual_seed(1)
        rng = np.random.default_rng(1)
        curve = []
        for step in range(1, args.inverse_steps + 1):
            k, first, _ = r_store.sample_transitions(args.batch, rng)
            i = torch.from_numpy(first)
            obs, nxt = agent.augment(r_frames[i], r_frames[i + 1])
            h_s, h_n = agent.inverse_features(torch.cat([obs, nxt])).chunk(2)
            loss = inverse_loss(agent.inverse(torch.cat([h_s, h_n], -1)), r_gt[k], False)  # Eq. 1
            agent.inverse_opt.zero_grad(set_to_none=True)
            loss.backward()
            agent.inverse_opt.step()
            curve.append(loss.item())
            if step % args.eval_every == 0 or step == args.inverse_steps:
                point = {
                    "step": step,
                    "train_loss_recent": float(np.mean(curve[-50:])),
                    "human": label_errors(agent, h_frames, h_store, h_gt),
                    "robot_train": label_errors(agent, r_frames, r_store, r_gt),
                }
                row.setdefault("points", []).append(point)
                print(name, json.dumps(point), flush=True)
        assert len(r_first) == len(r_gt)
        row["wall_s"] = round(time.time() - t0, 1)
        out[name] = row
    return out


def table(rows, head) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


READING = "## Reading"


def reading_of(md_path: Path) -> str:
    old = md_path.read_text() if md_path.exists() else ""
    return old[old.index(READING) :].rstrip() if READING in old else ""


def report() -> None:
    """Gather the parts into the results; a "## Reading" section (written by hand after
    looking at the numbers) already in rlmu_pretext.md is kept."""
    parts = {p.stem: json.loads(p.read_text()) for p in sorted(SCRATCH.glob("*.json"))}
    pre = sorted(
        (v for k, v in parts.items() if k.startswith("pretext_")), key=lambda v: v["positions"]
    )
    enc = parts.get("encoder")
    wall = sum(p["wall_s_total"] for p in parts.values())
    result = {
        "question": __doc__.split("\n\n")[1],
        "machine": "2-core CPU, loaded (a sweep, a mutation-testing run and another "
        "benchmark running); torch threads 1, nice -n 10",
        "torch": torch.__version__,
        "seeds": {"split": SPLIT_SEED, "agent_init": 0, "mem_clips": 0, "inverse_fit": 1},
        "data_commands": DATA_COMMANDS,
        "commands": [p.get("command") for p in parts.values()],
        "wall_s_all_parts": round(wall, 1),
        "pretext": pre,
        "encoder": enc,
        "reading": reading_of(RESULTS / "rlmu_pretext.md"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "rlmu_pretext.json").write_text(json.dumps(result, indent=1))
    md_path = RESULTS / "rlmu_pretext.md"
    reading = result["reading"]
    md = [
        "# RLMU MEM pretext task and encoder pre-training, offline (issue 13)",
        "",
        f"Script: `benchmarks/rlmu_pretext.py` (its docstring has the exact setup). Machine: "
        f"{result['machine']}; {wall / 60:.1f} min of wall time for all parts. One seed.",
        "",
        "Data: " + "; ".join(f"`{c}`" for c in DATA_COMMANDS),
        "",
        "Runs: " + "; ".join(f"`{c}`" for c in result["commands"]),
        "",
        "## 1. Pretext task: which of N parts of its video a 10-frame clip starts in",
        "",
        "Split by whole videos (numpy seed 0): 40 train, 10 held out. Accuracy over every "
        "window (every start, 92 per video) without augmentation; chance is 1/N (the classes "
        "are balanced to within one window per video).",
        "",
    ]
    for p in pre:
        md += [f"### N = {p['positions']} (chance {p['chance']:.3f}), {p['steps']} steps", ""]
        rows = [
            (
                q["step"],
                f"{q['heldout']['acc']:.3f}",
                f"{q['train']['acc']:.3f}",
                "" if q["train_batch_acc_recent"] is None else f"{q['train_batch_acc_recent']:.3f}",
                q["wall_s"],
            )
            for q in p["points"]
        ]
        head = ["MEM step", "held-out acc (920 windows)", "train acc (3680 windows)",
                "train batch acc since last point (augmented)", "wall s"]  # fmt: skip
        md += [table(rows, head), ""]
    if enc:
        md += [
            "## 2. Inverse model fitted on 1000 random robot transitions: label error on the "
            "human videos",
            "",
            f"RLV Eq. 1 for {enc['inverse_steps']} steps of {enc['inverse_batch']} transitions "
            "from (a) a fresh agent and (b) the same initial agent after "
            f"{enc['mem_steps']} MEM steps (N = 4) on all 50 human videos. Label error = "
            "`RLV.label_error`: squared error of the clipped prediction, summed over the 2 "
            "action dims, mean over all 5000 human transitions (and over the 1000 robot "
            "training transitions), no augmentation.",
            "",
        ]
        mem = enc["mem_pretrained"]
        if "mem_window_acc_all50" in mem:
            md += [
                f"MEM after pre-training: accuracy {mem['mem_window_acc_all50']:.3f} over "
                "every window of the 50 human videos (its own training videos; chance 0.25).",
                "",
            ]
        z = enc["zero_action"]
        rows = [
            ("zero action", "", f"{z['human']:.4f}", f"{z['robot_train']:.4f}"),
            ("mean human action (oracle constant)", "",
             f"{enc['mean_human_action_oracle']:.4f}", ""),
        ]  # fmt: skip
        for name in ("fresh", "mem_pretrained"):
            r = enc[name]
            rows.append((name, 0, f"{r['before_fit']['human']:.4f}", ""))
            rows += [
                (name, q["step"], f"{q['human']:.4f}", f"{q['robot_train']:.4f}")
                for q in r["points"]
            ]
        head = ["encoder", "inverse steps", "human label error", "robot train label error"]
        md += [table(rows, head), ""]
    if reading:
        md += [reading, ""]
    md_path.write_text("\n".join(md))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", choices=["pretext", "encoder", "report"])
    ap.add_argument("--positions", type=int, default=4)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--eval-every", type=int, default=150)
    ap.add_argument("--mem-steps", type=int, default=600)
    ap.add_argument("--inverse-steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.part == "report":
        return report()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    out = part_pretext(args) if args.part == "pretext" else part_encoder(args)
    out["command"] = "python benchmarks/rlmu_pretext.py " + " ".join(sys.argv[1:])
    out["wall_s_total"] = round(time.time() - t0, 1)
    name = f"pretext_N{args.positions}" if args.part == "pretext" else "encoder"
    (SCRATCH / f"{name}.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
