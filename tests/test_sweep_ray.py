"""`videorl sweep --backend ray` against a real single-node Ray cluster started here, and the
presets' grids: runs named by their grid values, finished runs skipped on a re-run, and a
worker killed mid-run whose task is retried and resumes exactly from its last checkpoint."""

import csv
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
import yaml

from videorl.agents.registry import make_config
from videorl.errors import UserError
from videorl.sweep import load_sweep, sweep
from videorl.sweep_ray import _probe, connect
from videorl.train import train

TINY = {"env": "acrobot", "eval_every": 100, "eval_episodes": 1, "initial_steps": 50,
        "batch_size": 16, "hidden": [16], "threads": 1}  # fmt: skip


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield
    ray.shutdown()


def write_preset(folder: Path, steps: int, methods: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    data = {"name": "t", "out": str(folder / "out"), "base": {**TINY, "steps": steps},
            "methods": methods}  # fmt: skip
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def rows(run: Path) -> list[dict]:
    with (run / "metrics.csv").open() as fh:
        return [{k: v for k, v in r.items() if k not in ("wall_time", "steps_per_second")}
                for r in csv.DictReader(fh)]  # fmt: skip


GRID = {"sac": {}, "rlv-like": {"grid": {"lr": [0.001, 0.0003], "tau": [0.01]}}}


def test_a_grid_expands_into_runs_named_by_their_values(tmp_path):
    _, _, configs = load_sweep(write_preset(tmp_path, 100, GRID))
    assert list(configs) == ["sac", "rlv-like-lr=0.001-tau=0.01", "rlv-like-lr=0.0003-tau=0.01"]
    assert configs["rlv-like-lr=0.0003-tau=0.01"].sac.lr == 0.0003
    with pytest.raises(UserError, match="grid key 'lr' must list"):
        load_sweep(write_preset(tmp_path, 100, {"sac": {"grid": {"lr": 0.001}}}))
    with pytest.raises(UserError, match="learning_rate"):  # grid keys are validated too
        load_sweep(write_preset(tmp_path, 100, {"sac": {"grid": {"learning_rate": [1]}}}))


def test_ray_sweep_runs_a_grid_and_a_rerun_skips_what_is_finished(cluster, tmp_path, capsys):
    path = write_preset(tmp_path, 100, GRID)
    out, runs = sweep(path, seeds=2, backend="ray")
    assert sorted(r.relative_to(out).as_posix() for r in runs) == [
        f"{label}/seed{s}" for label in
        ["rlv-like-lr=0.0003-tau=0.01", "rlv-like-lr=0.001-tau=0.01", "sac"] for s in (0, 1)
    ]  # fmt: skip
    assert all(int(rows(r)[-1]["step"]) == 100 for r in runs)
    printed = capsys.readouterr().out
    assert printed.count("  start: ") == 6 and printed.count("  done: ") == 6  # a line each
    assert "eval_return" in printed  # the summary table
    local = train(make_config(**TINY, steps=100, seed=1), tmp_path / "local", progress=False)
    assert rows(out / "sac" / "seed1") == rows(local.path)  # the same run as on this machine
    stamps = {r: (r / "metrics.csv").stat().st_mtime_ns for r in runs}
    sweep(path, seeds=2, backend="ray")
    assert {r: (r / "metrics.csv").stat().st_mtime_ns for r in runs} == stamps
    assert "(6 finished, 0 to run, ray)" in capsys.readouterr().out


def test_a_killed_worker_is_retried_and_the_run_resumes_exactly(cluster, tmp_path, capsys):
    path = write_preset(tmp_path, 600, {"sac": {}})
    run = tmp_path / "out" / "sac" / "seed0"
    result = {}
    driver = threading.Thread(target=lambda: result.update(out=sweep(path, 1, backend="ray")))
    driver.start()
    deadline = time.time() + 120
    while not (run / "checkpoints" / "step_000000200.pt").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # between checkpoints
    worker = int((run / ".lock").read_text())
    assert worker != os.getpid()
    os.kill(worker, signal.SIGKILL)
    driver.join(timeout=180)
    assert "out" in result, "the sweep did not finish after the worker was killed"
    assert re.search(r"sac/seed0\s+resume\s+600", capsys.readouterr().out)  # retried, resumed
    straight = train(make_config(**TINY, steps=600, seed=0), tmp_path / "b", progress=False)
    assert rows(run) == rows(straight.path)
    assert [int(r["step"]) for r in rows(run)] == list(range(0, 601, 100))


def test_without_ray_the_backend_is_refused_in_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(UserError, match=r"pip install 'videorl\[ray\]'"):
        connect(None)


def test_the_probe_names_a_folder_the_node_cannot_see(tmp_path):
    (tmp_path / "token").write_text("abc")
    assert _probe(str(tmp_path), "token", "abc") is None
    assert "cannot see" in _probe(str(tmp_path / "elsewhere"), "token", "abc")
    assert "sees another" in _probe(str(tmp_path), "token", "xyz")


def test_address_without_the_ray_backend_is_refused(tmp_path):
    with pytest.raises(UserError, match="--backend ray"):
        sweep(write_preset(tmp_path, 100, {"sac": {}}), 1, address="10.0.0.1:6379")


def test_workers_with_the_ray_backend_is_refused(tmp_path):
    with pytest.raises(UserError, match="drop --workers"):
        sweep(write_preset(tmp_path, 100, {"sac": {}}), 1, workers=2, backend="ray")
