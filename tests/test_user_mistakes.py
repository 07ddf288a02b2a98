"""Mistakes a user can make end with one line on stderr naming the thing and the fix, exit
code 2, no traceback and nothing half-written; and what videorl writes honours the umask."""

import dataclasses
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from videorl.cli import main
from videorl.config import WIDTHS

TINY = ["--set", "eval_every=50", "eval_episodes=1", "initial_steps=20", "batch_size=16",
        "hidden=[16]", "threads=1", "--no-progress"]  # fmt: skip


def cli(capsys, *args) -> str:
    """Run ``videorl ARGS`` in-process; assert a one-line user error and return the line."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("videorl: error: "), err
    return lines[0]


def collected(out: Path, env: str = "acrobot", policy: str = "expert", episodes: int = 2) -> Path:
    """A small dataset made with ``videorl collect``."""
    assert main(["collect", "--env", env, "--policy", policy, "--episodes", str(episodes),
                 "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    return out


class RunsCode:
    """Unpickling this calls os.mkdir(marker): a pickle that carries code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", "--env", "acrobot", "--steps", "100", "--out", str(out), *TINY]) == 0
    return out


def damage(path: Path, how: str, marker: Path) -> None:
    if how == "few-bytes":
        path.write_bytes(b"PK\x03\x04abc")
    elif how == "half":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:  # code
        torch.save({"nets": RunsCode(marker)}, path)


# -- 1. non-finite floats ----------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-.inf"])
def test_non_finite_float_is_refused(tmp_path, capsys, value):
    out = tmp_path / "D"
    line = cli(capsys, "train", "--env", "acrobot", "--steps", "200", "--set", f"lr={value}",
               "--out", out)  # fmt: skip
    assert "lr" in line and "must be a finite number" in line
    assert not out.exists()


def test_non_finite_float_in_a_preset_is_refused(tmp_path, capsys):
    preset = tmp_path / "p.yaml"
    preset.write_text("gamma: .nan\n")
    line = cli(capsys, "train", "--config", preset, "--out", tmp_path / "D")
    assert "gamma" in line and "must be a finite number" in line


# -- 2. unreadable checkpoints and model files --------------------------------------------
@pytest.mark.parametrize("how", ["few-bytes", "half", "code"])
def test_damaged_latest_checkpoint_on_resume(tiny_run, tmp_path, capsys, how):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    latest = run / "checkpoints" / "latest.pt"
    damage(latest, how, tmp_path / "pwned")
    before = (run / "metrics.csv").read_bytes()
    line = cli(capsys, "train", "--env", "acrobot", "--steps", "200", "--out", run, "--resume",
               *TINY)  # fmt: skip
    assert str(latest) in line
    if how == "code":
        assert "is not a safe videorl checkpoint: it holds code" in line and "not loaded" in line
    else:
        assert "not a readable videorl checkpoint (truncated or corrupt)" in line
    assert not (tmp_path / "pwned").exists()
    assert (run / "metrics.csv").read_bytes() == before


@pytest.mark.parametrize("how", ["few-bytes", "half", "code"])
def test_damaged_checkpoint_on_eval_and_collect(tiny_run, tmp_path, capsys, how):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    # eval and collect read the newest step snapshot; damage it and latest.pt alike
    newest = sorted((run / "checkpoints").glob("step_*.pt"))[-1]
    for path in (newest, run / "checkpoints" / "latest.pt"):
        damage(path, how, tmp_path / "pwned")
    for args in (["eval", run, "--episodes", "1"],
                 ["collect", "--env", "acrobot", "--policy", f"checkpoint:{run}", "--episodes",
                  "1", "--out", tmp_path / "data", "--no-progress"]):  # fmt: skip
        line = cli(capsys, *args)
        assert str(newest) in line
        assert ("holds code" if how == "code" else "truncated or corrupt") in line
    assert not (tmp_path / "data").exists()
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("how", ["few-bytes", "half", "code"])
def test_damaged_hold_model(tmp_path, capsys, how):
    from videorl.rewards.hold import HoldConfig, build_model

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    cfg = HoldConfig(model="hold-c", backbone="conv")
    saved = {"config": dataclasses.asdict(cfg), "image_shape": [48, 48, 3]}
    (model_dir / "hold.yaml").write_text(yaml.safe_dump(saved))
    torch.save(build_model(cfg).state_dict(), model_dir / "model.pt")
    damage(model_dir / "model.pt", how, tmp_path / "pwned")
    line = cli(capsys, "reward", "eval", model_dir, "--data", tmp_path / "none")
    assert str(model_dir / "model.pt") in line
    assert ("not a safe" if how == "code" else "truncated or corrupt") in line
    assert not (tmp_path / "pwned").exists()


class Mean(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


def encoder_file(tmp_path: Path, suffix: str, how: str) -> Path:
    file = tmp_path / f"enc{suffix}"
    marker = tmp_path / "pwned"
    if how == "code" and suffix == ".pt":  # torch.save of a pickle instead of TorchScript
        torch.save({"encoder": RunsCode(marker)}, file)
        return file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if suffix == ".pt":
            torch.jit.save(torch.jit.script(Mean()), str(file))
        else:
            batch = torch.export.Dim("batch")
            program = torch.export.export(
                Mean(), (torch.zeros(2, 3, 48, 48),), dynamic_shapes=({0: batch},)
            )
            torch.export.save(program, str(file))
    if how != "code":
        damage(file, how, marker)
        return file
    # A .pt2 whose weight is stored as a pickle: torch.export.load unpickles those with
    # weights_only=False. Mark the (single) constant-free program's input as pickled weight.
    payload = io.BytesIO()
    torch.save(RunsCode(marker), payload)
    parts = {n: zipfile.ZipFile(file).read(n) for n in zipfile.ZipFile(file).namelist()}
    config_name = next(n for n in parts if n.endswith("model_weights_config.json"))
    config = json.loads(parts[config_name])
    config["config"]["extra"] = {
        "path_name": "weight_x",
        "is_param": False,
        "use_pickle": True,
        "tensor_meta": None,
    }
    parts[config_name] = json.dumps(config).encode()
    parts[config_name.replace("model_weights_config.json", "weight_x")] = payload.getvalue()
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return file


@pytest.mark.parametrize("suffix", [".pt", ".pt2"])
@pytest.mark.parametrize("how", ["few-bytes", "half", "code"])
def test_damaged_encoder_file(tmp_path, capsys, suffix, how):
    file = encoder_file(tmp_path, suffix, how)
    out = tmp_path / "run"
    line = cli(capsys, "train", "--env", "visual-pusher", "--reward", f"embedding:{file}",
               "--goal", tmp_path / "g.png", "--steps", "100", "--out", out)  # fmt: skip
    assert str(file) in line
    assert ("not a safe" if how == "code" else "truncated or corrupt") in line
    assert not (tmp_path / "pwned").exists()
    assert not out.exists()


# -- 3. config files -----------------------------------------------------------------------
def test_config_that_is_a_folder(tmp_path, capsys):
    line = cli(capsys, "train", "--config", tmp_path, "--out", tmp_path / "D")
    assert "is a folder" in line and "--config" in line and "does not exist" not in line


def test_config_that_is_binary(tmp_path, capsys):
    binary = tmp_path / "model.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    line = cli(capsys, "train", "--config", binary, "--out", tmp_path / "D")
    assert str(binary) in line and "not a text" in line


def test_missing_sweep_preset_hints_at_the_sweep_command(tmp_path, capsys):
    line = cli(capsys, "sweep", tmp_path / "MISSING.yaml")
    assert "MISSING.yaml" in line and "sweep preset" in line and "--config" not in line


# -- 4. unwritable outputs are refused before any work --------------------------------------
def unwritable_targets(tmp_path: Path, name: str) -> list[Path]:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    return [blocker / name, Path("/proc") / name]


def test_plot_to_an_unwritable_path(tmp_path, capsys):
    for target in unwritable_targets(tmp_path, "curves.png"):
        # the run folder does not exist: the check on --out must come first
        line = cli(capsys, "plot", tmp_path / "no-run", "--out", target)
        assert "cannot write" in line and str(target) in line and "--out" in line


def test_eval_video_to_an_unwritable_path(tmp_path, capsys):
    for target in unwritable_targets(tmp_path, "v.mp4"):
        line = cli(capsys, "eval", tmp_path / "no-run", "--video", target)
        assert "cannot write" in line and str(target) in line and "--video" in line


def test_reward_eval_json_to_an_unwritable_path(tmp_path, capsys):
    for target in [*unwritable_targets(tmp_path, "s.json"), tmp_path]:
        # the model folder does not exist: the check on --json must come first
        line = cli(capsys, "reward", "eval", tmp_path / "no-model", "--data", tmp_path,
                   "--json", target)  # fmt: skip
        assert "cannot write --json" in line and str(target) in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["goal", "--env", "visual-pusher", "--out", "/proc/g.png"], "cannot write --out"),
        (["collect", "--env", "visual-pusher", "--preview", "/proc/p.png"], "cannot write --prev"),
        (["demo", "--out", "/proc/videorl-demo"], "cannot create --out /proc/videorl-demo ("),
        (["sweep", "PRESET"], "cannot create the preset's sweep folder /proc/videorl-sweep ("),
    ],
)
def test_outputs_under_an_unwritable_folder(tmp_path, capsys, args, expected):
    preset = tmp_path / "s.yaml"
    preset.write_text("name: s\nout: /proc/videorl-sweep\nbase: {env: acrobot}\n"
                      "methods: {a: {algo: sac}}\n")  # fmt: skip
    args = [str(preset) if a == "PRESET" else a for a in args]
    assert expected in cli(capsys, *args)


# -- 5. learned rewards on a state task ------------------------------------------------------
@pytest.fixture()
def goal_png(tmp_path) -> Path:
    from PIL import Image

    path = tmp_path / "g.png"
    Image.fromarray(np.zeros((48, 48, 3), np.uint8)).save(path)
    return path


def test_learned_reward_on_a_state_task(tmp_path, capsys, goal_png):
    out = tmp_path / "run"
    line = cli(capsys, "train", "--env", "state-pusher", "--reward", "pixel-l2", "--goal",
               goal_png, "--steps", "100", "--out", out)  # fmt: skip
    assert "--reward pixel-l2" in line and "images" in line and "state-pusher" in line
    assert "visual task" in line
    assert not out.exists()


def test_learned_obs_reward_on_a_state_task(tmp_path, capsys, goal_png):
    data = collected(tmp_path / "data", "state-pusher", "random")
    capsys.readouterr()
    out = tmp_path / "run"
    line = cli(capsys, "train", "--env", "state-pusher", "--algo", "rlv", "--obs-data", data,
               "--obs-reward", "pixel-l2", "--goal", goal_png, "--out", out)  # fmt: skip
    assert "--obs-reward pixel-l2" in line and "visual task" in line
    assert not out.exists()


# -- 6. negative crop offsets ---------------------------------------------------------------
@pytest.mark.parametrize("form", [["--crop", "-10,0,100,100"], ["--crop=-10,0,100,100"]])
def test_negative_crop_offset(tmp_path, capsys, form):
    out = tmp_path / "D"
    line = cli(capsys, "import-videos", tmp_path, "--out", out, *form)
    assert "--crop" in line and "X,Y,W,H" in line and "X, Y >= 0" in line
    assert not out.exists()


# -- 7. file modes honour the umask ---------------------------------------------------------
def test_written_files_honour_the_umask(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = os.umask(0o022)
    try:
        assert main(["train", "--env", "acrobot", "--steps", "100", "--out", "RUN", *TINY]) == 0
        collected(Path("DATA"))
        assert main(["eval", "RUN", "--episodes", "1", "--video", "V.mp4"]) == 0
    finally:
        os.umask(old)
    paths = [Path("V.mp4")]
    for top in ("RUN", "DATA"):
        paths += [Path(top), *Path(top).rglob("*")]
    modes = {str(p): stat.S_IMODE(p.stat().st_mode) for p in paths}
    wrong = {p: oct(m) for p, m in modes.items() if m != (0o755 if Path(p).is_dir() else 0o644)}
    assert not wrong
    assert any(p.endswith(".pt") for p in modes) and any(p.endswith(".npz") for p in modes)


def test_subprocess_error_is_one_line(tmp_path):
    """The same contract through ``python -m videorl.cli`` (a fresh interpreter)."""
    res = subprocess.run([sys.executable, "-m", "videorl.cli", "import-videos", str(tmp_path),
                          "--out", str(tmp_path / "D"), "--crop", "-1,0,4,4"],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "X,Y,W,H" in res.stderr and "Traceback" not in res.stderr


# -- 8. out-of-range settings name the one setting at fault -------------------------------
@pytest.mark.parametrize(
    ("algo", "setting", "expected"),
    [
        ("sac", "init_alpha=-1", "init_alpha must be positive, got -1.0"),
        ("sac", "lr=0", "lr must be positive, got 0.0"),
        ("sac", "hidden=[]", f"hidden must be {WIDTHS}, got []"),
        ("sac", "hidden=[64,0]", f"hidden must be {WIDTHS}, got [64, 0]"),
        ("rlv", "disc_hidden=[0]", f"disc_hidden must be {WIDTHS}, got [0]"),
        ("bco", "inverse_hidden=[-8]", f"inverse_hidden must be {WIDTHS}, got [-8]"),
        ("ilpo", "embed_hidden=[0]", f"embed_hidden must be {WIDTHS}, got [0]"),
        ("rnd", "rnd_hidden=[0]", f"rnd_hidden must be {WIDTHS}, got [0]"),
        ("rnd", "rnd_dim=0", "rnd_dim must be positive, got 0"),
        ("rlv", "disc_lr=0", "disc_lr must be positive, got 0.0"),
        ("rlv", "c2=-1", "c2 must be >= 0, got -1.0"),
        ("rlv", "idle_fraction=1", "idle_fraction must be in (0, 1), got 1.0"),
        ("rlmu", "mem_layers=0", "mem_layers must be positive, got 0"),
        ("rlmu", "mem_positions=1", "mem_positions must be at least 2, got 1"),
        ("bco", "policy_lr=0", "policy_lr must be positive, got 0.0"),
        ("ilpo", "explore=2", "explore must be in [0, 1], got 2.0"),
    ],
)
def test_an_out_of_range_setting_is_named_with_its_value(tmp_path, capsys, algo, setting,
                                                         expected):  # fmt: skip
    env = "visual-pusher" if algo == "rlmu" else "acrobot"
    videos = [] if algo in ("sac", "rnd") else ["--obs-data", tmp_path / "videos"]
    out = tmp_path / "D"
    line = cli(capsys, "train", "--algo", algo, "--env", env, *videos, "--set", setting,
               "--out", out)  # fmt: skip
    assert line == f"videorl: error: {expected}"
    assert not out.exists()


# -- 9. one setting given twice on the command line ---------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--env", "acrobot", "--steps", "10", "--set", "steps=20"],
         "steps is given twice, as --steps 10 and --set steps=20; keep one"),
        (["train", "--env", "acrobot", "--set", "steps=10", "steps=20"],
         "--set steps is given twice; keep one"),
        (["reward", "train", "--data", "d", "--model", "hold-c", "--steps", "5", "--set",
          "steps=7"],
         "steps is given twice, as --steps 5 and --set steps=7; keep one"),
    ],
)  # fmt: skip
def test_a_setting_given_twice_is_refused(tmp_path, capsys, args, expected):
    out = tmp_path / "D"
    assert cli(capsys, *args, "--out", out) == f"videorl: error: {expected}"
    assert not out.exists()


# -- 10. a run rolled out on a task its networks do not fit -------------------------------
def test_eval_on_a_task_with_other_observations_is_refused(tiny_run, capsys):
    line = cli(capsys, "eval", tiny_run, "--env", "state-pusher", "--episodes", "1")
    assert f"{tiny_run} was trained on acrobot" in line and "observations (5,) and 2-D" in line


# -- 11. negative seeds: numpy's generators take only integers >= 0 -------------------------
CONFIG_SEED = "seed must be >= 0, got -1"
FLAG_SEED = "argument --seed: must be an integer >= 0, got '-1'"


@pytest.mark.parametrize(
    "args, expected",
    [
        (["train", "--env", "acrobot", "--seed", "-1"], CONFIG_SEED),
        (["train", "--env", "acrobot", "--set", "seed=-1"], CONFIG_SEED),
        (["reward", "train", "--data", "D", "--model", "hold-c", "--seed", "-1"], CONFIG_SEED),
        (
            [
                "collect",
                "--env",
                "acrobot",
                "--policy",
                "expert",
                "--episodes",
                "1",
                "--seed",
                "-1",
            ],
            FLAG_SEED,
        ),  # fmt: skip
        (["eval", "--env", "acrobot", "--policy", "expert", "--seed", "-1"], FLAG_SEED),
        (["goal", "--env", "visual-pusher", "--seed", "-1"], FLAG_SEED),
        (["demo", "--seed", "-1"], FLAG_SEED),
        (["demo", "--steps", "-1"], "steps must be positive, got -1"),
        (["demo", "--steps", "0"], "steps must be positive, got 0"),
    ],
)
def test_a_negative_seed_or_budget_is_refused_before_writing(tmp_path, capsys, args, expected):
    out = tmp_path / "out.png"
    assert expected in cli(capsys, *args, "--out", out)
    assert not out.exists()


# -- 12. non-finite numbers on the command line ---------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["collect", "--env", "acrobot", "--policy", "expert", "--episodes", "1", "--noise", "nan"],
        ["collect", "--env", "acrobot", "--policy", "expert", "--episodes", "1", "--noise", "inf"],
        ["plot", "R", "--threshold", "-80", "nan"],
    ],
)
def test_a_non_finite_flag_value_is_refused(tmp_path, capsys, args):
    out = tmp_path / "out.png"
    assert "must be a finite number, got '" in cli(capsys, *args, "--out", out)
    assert not out.exists()


# -- 13. a run started in a folder of other things ------------------------------------------
def test_train_into_a_dataset_or_a_folder_of_runs_is_refused(tmp_path, capsys, tiny_run):
    dataset = collected(tmp_path / "data", episodes=1)
    capsys.readouterr()
    before = sorted(p.name for p in dataset.iterdir())
    for out in (dataset, tiny_run.parent):
        line = cli(capsys, "train", "--env", "acrobot", "--steps", "100", "--out", out)
        assert line.endswith("is a folder of other files, not a run folder; choose a new or "
                             "empty --out")  # fmt: skip
    assert sorted(p.name for p in dataset.iterdir()) == before
    (tmp_path / "empty").mkdir()  # an empty folder is fine
    assert main(["train", "--env", "acrobot", "--steps", "50", "--out", str(tmp_path / "empty"),
                 *TINY]) == 0  # fmt: skip


# -- 14. a key written twice in a YAML file (PyYAML would keep the last) ---------------------
def test_a_key_written_twice_in_a_preset_is_refused(tmp_path, capsys):
    preset = tmp_path / "p.yaml"
    preset.write_text("lr: 0.001\ngamma: 0.9\nlr: 0.0001\n")
    line = cli(capsys, "train", "--env", "acrobot", "--config", preset, "--out", tmp_path / "D")
    assert line.endswith("is not valid YAML (key 'lr' is written twice, on line 3)")
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: s\nbase: {env: acrobot}\nmethods:\n  a: {algo: sac}\n  a: {}\n")
    assert "key 'a' is written twice, on line 5" in cli(capsys, "sweep", sweep)
    assert not (tmp_path / "D").exists()


# -- 15. a renderer MuJoCo cannot use ---------------------------------------------------------
@pytest.mark.parametrize(
    ("gl", "expected"),
    [("bogus", "MUJOCO_GL=bogus is not a renderer"), ("glfw", "glfw needs a display")],
)
def test_an_unusable_mujoco_gl_is_one_line(tmp_path, gl, expected):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "PYOPENGL_PLATFORM")}
    res = subprocess.run([sys.executable, "-m", "videorl.cli", "collect", "--env", "visual-pusher",
                          "--policy", "expert", "--episodes", "1", "--out", str(tmp_path / "D")],
                         capture_output=True, text=True, env={**env, "MUJOCO_GL": gl})  # fmt: skip
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("videorl: error: ")
    assert expected in lines[0] and lines[0].endswith("or set egl or osmesa")
    assert not (tmp_path / "D").exists()
