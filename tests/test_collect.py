"""`videorl collect`: datasets from built-in tasks, deterministic for a seed."""

import json
import subprocess
import sys

import numpy as np
import pytest

from videorl.agents.registry import make_config
from videorl.collect import collect
from videorl.data.dataset import VideoDataset
from videorl.errors import UserError
from videorl.train import train


def tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_same_seed_gives_byte_identical_dataset(tmp_path):
    kwargs = dict(noise=0.1, seed=5, progress=False, command="videorl collect (test)")
    a = collect("state-pusher", "expert", 3, tmp_path / "a", **kwargs)
    b = collect("state-pusher", "expert", 3, tmp_path / "b", **kwargs)
    assert tree_bytes(a) == tree_bytes(b)
    c = collect("state-pusher", "expert", 3, tmp_path / "c", **{**kwargs, "seed": 6})
    assert tree_bytes(a) != tree_bytes(c)


def test_state_task_writes_observations_with_groundtruth_apart(tmp_path):
    out = collect("state-pusher", "expert", 2, tmp_path / "d", progress=False)
    ds = VideoDataset(out)
    assert ds.kind == "observations" and len(ds) == 2
    assert ds.lengths == [101, 101]  # reset observation + one per step
    assert ds[0].dtype == np.float32 and ds[0].shape == (101, 5)
    gt = ds.groundtruth(0)
    assert gt["actions"].shape == (100, 2) and gt["rewards"].shape == (100,)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["success_rate"] == 1.0  # the scripted expert solves the task
    assert manifest["source"] == "collected" and manifest["task"] == "state-pusher"


def test_pixel_task_in_human_domain(tmp_path):
    out = collect("visual-pusher", "expert", 1, tmp_path / "h", domain="human", progress=False)
    ds = VideoDataset(out)
    assert ds.kind == "frames" and ds[0].shape == (101, 48, 48, 3) and ds[0].dtype == np.uint8
    assert ds.manifest.domain == "human"


def test_expert_noise_makes_a_worse_demonstrator(tmp_path):
    clean = collect("acrobot", "expert", 4, tmp_path / "clean", progress=False)
    noisy = collect("acrobot", "expert", 4, tmp_path / "noisy", noise=0.9, progress=False)
    clean_m = json.loads((clean / "manifest.json").read_text())
    noisy_m = json.loads((noisy / "manifest.json").read_text())
    assert noisy_m["mean_return"] < clean_m["mean_return"]
    actions = np.concatenate([VideoDataset(noisy).groundtruth(i)["actions"] for i in range(4)])
    assert set(np.unique(actions)) <= {0.0, 1.0, 2.0}  # still valid discrete actions


def test_checkpoint_policy_and_wrong_env(tmp_path):
    cfg = make_config(env="acrobot", steps=300, eval_every=150, eval_episodes=1,
                      initial_steps=100, batch_size=32, hidden=[16], threads=1)  # fmt: skip
    run = train(cfg, tmp_path / "run", progress=False)
    out = collect("acrobot", f"checkpoint:{run.path}@150", 2, tmp_path / "ck", progress=False)
    assert len(VideoDataset(out)) == 2
    with pytest.raises(UserError, match="trained on acrobot"):
        collect("state-pusher", f"checkpoint:{run.path}", 1, tmp_path / "x", progress=False)
    with pytest.raises(UserError, match="no checkpoint at step 7"):
        collect("acrobot", f"checkpoint:{run.path}@7", 1, tmp_path / "y", progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "videorl.cli", *args], capture_output=True,
                          text=True)  # fmt: skip


@pytest.mark.parametrize(
    "args, needle",
    [
        (["collect", "--env", "visual-pusher", "--policy", "expert", "--episodes", "1",
          "--domain", "cartoon"], "cartoon"),
        (["collect", "--env", "visual-pusher", "--policy", "teacher", "--episodes", "1"],
         "teacher"),
        (["collect", "--env", "acrobot", "--policy", "expert", "--episodes", "1",
          "--domain", "hand"], "hand"),
        (["collect", "--env", "gym:Pendulum-v1", "--policy", "expert", "--episodes", "1"],
         "expert"),
    ],
)  # fmt: skip
def test_collect_cli_errors_are_one_line(tmp_path, args, needle):
    out = tmp_path / "ds"
    res = cli(*args, "--out", str(out))
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and needle in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_collect_cli_writes_and_data_info_reads(tmp_path):
    out = tmp_path / "ds"
    res = cli("collect", "--env", "acrobot", "--policy", "random", "--episodes", "2",
              "--out", str(out), "--no-progress")  # fmt: skip
    assert res.returncode == 0, res.stderr
    info = cli("data", "info", str(out))
    assert info.returncode == 0 and "acrobot" in info.stdout and "episodes" in info.stdout


def test_preview_writes_one_frame_per_domain(tmp_path):
    from PIL import Image

    png = tmp_path / "p.png"
    res = cli("collect", "--env", "visual-door", "--preview", str(png))
    assert res.returncode == 0, res.stderr
    from videorl.envs import DOMAINS

    width, _ = Image.open(png).size
    assert width % len(DOMAINS) == 0 and width >= len(DOMAINS) * 48


def test_data_info_on_a_non_dataset(tmp_path):
    res = cli("data", "info", str(tmp_path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "manifest" in res.stderr
