"""`videorl sweep`: methods x seeds, finished runs skipped, interrupted runs resumed."""

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from videorl.errors import UserError
from videorl.sweep import load_sweep, sweep

TINY = {"env": "acrobot", "eval_every": 100, "eval_episodes": 1, "initial_steps": 50,
        "batch_size": 16, "hidden": [16], "threads": 1}  # fmt: skip


def preset(tmp_path, steps, methods=None):
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "sweep.yaml"
    data = {"name": "t", "out": str(tmp_path / "out"), "base": {**TINY, "steps": steps},
            "methods": methods or {"sac": {}, "sac-lr": {"lr": 0.001}}}  # fmt: skip
    path.write_text(yaml.safe_dump(data))
    return path


def last_step(run: Path) -> int:
    with (run / "metrics.csv").open() as fh:
        return int(list(csv.DictReader(fh))[-1]["step"])


def test_sweep_runs_skips_and_resumes(tmp_path):
    out, runs = sweep(preset(tmp_path, 100), seeds=2)
    assert sorted(r.relative_to(out).as_posix() for r in runs) == [
        "sac-lr/seed0", "sac-lr/seed1", "sac/seed0", "sac/seed1"]  # fmt: skip
    assert all(last_step(r) == 100 for r in runs)
    seeds = {yaml.safe_load((r / "config.yaml").read_text())["run"]["seed"] for r in runs}
    assert seeds == {0, 1}
    stamps = {r: (r / "metrics.csv").stat().st_mtime_ns for r in runs}
    sweep(preset(tmp_path, 100), seeds=2)  # everything finished: nothing runs again
    assert {r: (r / "metrics.csv").stat().st_mtime_ns for r in runs} == stamps
    sweep(preset(tmp_path, 200), seeds=2)  # a larger budget resumes each run from step 100
    assert all(last_step(r) == 200 for r in runs)
    with (runs[0] / "metrics.csv").open() as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == [0, 100, 200]


def test_a_finished_run_without_latest_pt_still_counts_as_finished(tmp_path):
    """latest.pt (the replay buffer) may be deleted from a finished run to save space: the
    final step's policy snapshot says the run ended. Such a run cannot be extended, and it is
    refused rather than started again from nothing."""
    _, runs = sweep(preset(tmp_path, 100), seeds=1, only=["sac"])
    ckpts = runs[0] / "checkpoints"
    (ckpts / "latest.pt").unlink()
    (ckpts / "step_000000000.pt").unlink()
    stamp = (runs[0] / "metrics.csv").stat().st_mtime_ns
    sweep(preset(tmp_path, 100), seeds=1, only=["sac"])
    assert (runs[0] / "metrics.csv").stat().st_mtime_ns == stamp  # skipped, not run again
    with pytest.raises(UserError, match="reached step 100 but has no checkpoints/latest.pt"):
        sweep(preset(tmp_path, 200), seeds=1, only=["sac"])  # nothing to extend it from
    assert (runs[0] / "metrics.csv").stat().st_mtime_ns == stamp  # and it is not thrown away
    (ckpts / "step_000000100.pt").unlink()  # no sign the last row's checkpoint was written
    with pytest.raises(UserError, match="reached step 100"):
        sweep(preset(tmp_path, 100), seeds=1, only=["sac"])


def test_bad_method_config_fails_before_anything_runs(tmp_path):
    path = preset(tmp_path, 100, {"sac": {}, "broken": {"learning_rate": 1}})
    with pytest.raises(UserError, match="broken.*learning_rate"):
        sweep(path, seeds=1)
    assert not (tmp_path / "out").exists()


def test_methods_selects_a_subset_and_refuses_unknown_names(tmp_path):
    out, runs = sweep(preset(tmp_path, 100), seeds=1, only=["sac-lr"])
    assert [r.relative_to(out).as_posix() for r in runs] == ["sac-lr/seed0"]
    assert not (out / "sac").exists()
    path = preset(tmp_path / "b", 100)
    with pytest.raises(UserError, match="no method 'sacc'.*sac, sac-lr"):
        sweep(path, seeds=1, only=["sac", "sacc"])
    assert not (tmp_path / "b" / "out").exists()
    cmd = [sys.executable, "-m", "videorl.cli", "sweep", str(path), "--methods", "x"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_sweep_cli_error_is_one_line(tmp_path):
    res = subprocess.run([sys.executable, "-m", "videorl.cli", "sweep", str(tmp_path / "no.yaml")],
                         capture_output=True, text=True)  # fmt: skip
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "no.yaml" in res.stderr


@pytest.mark.parametrize(("seeds", "workers", "named"), [(0, 1, "--seeds"), (1, -2, "--workers")])
def test_a_non_positive_count_is_named(tmp_path, seeds, workers, named):
    with pytest.raises(UserError, match=f"^{named} must be positive, got {min(seeds, workers)}$"):
        sweep(preset(tmp_path, 100), seeds=seeds, workers=workers)
    assert not (tmp_path / "out").exists()


def test_set_must_reach_every_method_it_is_applied_to(tmp_path):
    path = preset(tmp_path, 100)
    with pytest.raises(UserError, match="--set lr does not reach method 'sac-lr', which sets lr"):
        load_sweep(path, {"lr": "0.01"})
    methods = {"sac": {}, "rlv": {"algo": "rlv", "obs_data": "d"}}
    with pytest.raises(UserError, match="'c3' is read by .*rlv.*choose the ones it fits"):
        load_sweep(preset(tmp_path / "b", 100, methods), {"c3": "0.5"})
    _, _, configs = load_sweep(path, {"gamma": "0.9"})  # a base value: reaches both
    assert {label: cfg.sac.gamma for label, cfg in configs.items()} == {"sac": 0.9, "sac-lr": 0.9}
    assert configs["sac-lr"].sac.lr == 0.001


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"name": "../../elsewhere"}, "name '../../elsewhere'"),
        ({"methods": {"../sac": {}}}, "run name '../sac'"),
        ({"methods": {"sac": {"grid": {"demo": ["a/b"]}}}}, "run name 'sac-demo=a/b'"),
    ],
)
def test_names_that_would_leave_the_sweep_folder_are_refused(tmp_path, change, refused):
    data = {**yaml.safe_load(preset(tmp_path, 100).read_text()), **change}
    data.pop("out")
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match=f"{re.escape(refused)} is not a plain folder name"):
        load_sweep(tmp_path / "bad.yaml")


def test_shipped_sweep_presets_validate():
    presets = sorted((Path(__file__).parent.parent / "configs" / "sweeps").glob("*.yaml"))
    assert presets
    for path in presets:
        _, _, configs = load_sweep(path)
        assert configs


def test_parallel_workers_give_the_same_runs(tmp_path):
    _, serial = sweep(preset(tmp_path / "a", 100, {"sac": {}}), seeds=2)
    _, parallel = sweep(preset(tmp_path / "b", 100, {"sac": {}}), seeds=2, workers=2)
    keys = ["step", "episodes", "eval_return", "critic_loss", "actor_loss"]
    for s, p in zip(serial, parallel, strict=True):
        with (s / "metrics.csv").open() as fa, (p / "metrics.csv").open() as fb:
            rows_a = [[r[k] for k in keys] for r in csv.DictReader(fa)]
            rows_b = [[r[k] for k in keys] for r in csv.DictReader(fb)]
        assert [r[0] for r in rows_b] == ["0", "100"]
        assert rows_a == rows_b  # trained rows too, losses included


def test_a_run_begun_with_other_threads_resumes_under_several_workers(tmp_path):
    """--workers > 1 gives each run one torch thread (with two, a forked worker hung here); a
    run begun by a one-worker sweep with its own threads continues with one, not refused."""
    methods = {"sac": {"threads": 2}}
    _, runs = sweep(preset(tmp_path, 100, methods), seeds=2, workers=1)
    assert yaml.safe_load((runs[0] / "config.yaml").read_text())["run"]["threads"] == 2
    sweep(preset(tmp_path, 200, methods), seeds=2, workers=2)
    for run in runs:
        assert last_step(run) == 200
        assert yaml.safe_load((run / "config.yaml").read_text())["run"]["threads"] == 1


def test_preset_headers_state_the_budget_the_file_runs():
    """A header's "Budget: Nk steps" is what the preset's base really runs."""
    import re

    for path in sorted((Path(__file__).parent.parent / "configs" / "sweeps").glob("*.yaml")):
        header = re.search(r"^# Budget: (\d+)k steps", path.read_text(), re.M)
        if header:
            steps = yaml.safe_load(path.read_text())["base"]["steps"]
            assert steps == int(header.group(1)) * 1000, path.name


def test_every_preset_the_readme_names_exists():
    import re

    root = Path(__file__).parent.parent
    named = set(re.findall(r"configs/[\w/]+\.yaml", (root / "README.md").read_text()))
    assert named and all((root / p).is_file() for p in named), named


@pytest.mark.parametrize(
    ("methods", "overrides"),
    [
        ({"sac": {"seed": 3}}, None),
        ({"sac": {"run": {"seed": 3}}}, None),
        ({"sac": {"grid": {"seed": [1, 2]}}}, None),
        ({"sac": {}}, {"run.seed": "3"}),
    ],
)
def test_a_seed_in_the_preset_or_set_is_refused(tmp_path, methods, overrides):
    """The sweep numbers its runs' seeds; a seed of the preset would be replaced unseen."""
    with pytest.raises(UserError, match="is given a seed, which the sweep sets"):
        load_sweep(preset(tmp_path, 100, methods), overrides)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_that_fails_does_not_stop_the_others(tmp_path, capsys, workers):
    """One run's error is printed when it happens; the other runs go on, and the sweep then
    raises that error (the CLI's one line)."""
    sweep(preset(tmp_path, 100), seeds=1, only=["sac"])
    path = preset(tmp_path, 200)
    latest = tmp_path / "out" / "sac" / "seed0" / "checkpoints" / "latest.pt"
    latest.write_bytes(latest.read_bytes()[:100])  # its resume to 200 steps will fail
    capsys.readouterr()
    with pytest.raises(UserError, match="latest.pt"):
        sweep(path, seeds=1, workers=workers)
    out = capsys.readouterr().out
    assert "  failed: sac/seed0: " in out and "  done: sac-lr/seed0 at step 200" in out
    assert last_step(tmp_path / "out" / "sac-lr" / "seed0") == 200
