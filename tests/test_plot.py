"""`videorl plot`: runs grouped by config, mean +- standard error, steps to threshold."""

import math
import subprocess
import sys

import pytest
import yaml

from videorl.plot import compare_runs, group_curve, group_runs

HEADER = "step,episodes,eval_return,eval_success\n"


def fake_run(root, name, algo, seed, returns, extra=None):
    run = root / name
    run.mkdir()
    cfg = {"env": "acrobot", "algo": algo, "seed": seed, "lr": 0.0003, **(extra or {})}
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    rows = [f"{1000 * i},{i},{r},{0.5}\n" for i, r in enumerate(returns)]
    (run / "metrics.csv").write_text(HEADER + "".join(rows))
    return run


def test_groups_by_config_without_seed_and_labels_by_difference(tmp_path):
    a0 = fake_run(tmp_path, "a0", "sac", 0, [0, 1])
    a1 = fake_run(tmp_path, "a1", "sac", 1, [0, 1])
    b0 = fake_run(tmp_path, "b0", "sac", 0, [0, 1], {"lr": 0.001})
    groups = group_runs([a0, a1, b0])
    assert groups == {"sac (lr=0.0003)": [a0, a1], "sac (lr=0.001)": [b0]}


def test_mean_and_standard_error_hand_checked(tmp_path):
    runs = [
        fake_run(tmp_path, f"s{i}", "sac", i, r) for i, r in enumerate([[0, 2], [0, 4], [0, 9]])
    ]
    steps, means, sems = group_curve(runs, "eval_return")
    assert steps == [0, 1000]
    assert means == pytest.approx([0.0, 5.0])
    # sample std of (2, 4, 9) = sqrt(((−3)² + (−1)² + 4²) / 2) = sqrt(13); s.e. = sqrt(13 / 3)
    assert sems == pytest.approx([0.0, math.sqrt(13 / 3)])


def test_steps_to_threshold_and_ratio_to_baseline(tmp_path):
    runs = [
        fake_run(tmp_path, "sac0", "sac", 0, [-100, -100, -90, -80]),
        fake_run(tmp_path, "sac1", "sac", 1, [-100, -100, -70, -80]),
        fake_run(tmp_path, "rlv0", "rlv", 0, [-100, -75, -70, -70]),
    ]
    table = compare_runs(runs, tmp_path / "fig.png", threshold=-80)
    rows = {r["method"]: r for r in table}
    assert rows["sac"]["steps_to_threshold"] == 2000  # mean -80 first at step 2000
    assert rows["rlv"]["steps_to_threshold"] == 1000
    assert rows["rlv"]["ratio_to_baseline"] == pytest.approx(0.5)
    assert rows["sac"]["final_return"] == pytest.approx(-80)
    assert (tmp_path / "fig.png").stat().st_size > 1000


def test_plot_cli_errors(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "videorl.cli", "plot", *args],
                              capture_output=True, text=True)  # fmt: skip

    res = run(str(tmp_path), "--out", str(tmp_path / "f.png"))
    assert res.returncode == 2 and "not a videorl run folder" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    good = fake_run(tmp_path, "g", "sac", 0, [0, 1])
    res = run(str(good), "--out", str(tmp_path / "f.jpg"))
    assert res.returncode == 2 and ".png" in res.stderr
    res = run(str(good), "--out", str(tmp_path / "f.png"), "--threshold", "0.5")
    assert res.returncode == 0 and "1000" in res.stdout
