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


def sweep_run(root, method, seed, returns, env="acrobot"):
    (root / method).mkdir(parents=True, exist_ok=True)
    return fake_run(root / method, f"seed{seed}", method.split("-")[0], seed, returns,
                    {"env": env})  # fmt: skip


def test_sweep_runs_are_labelled_by_method_and_thresholds_are_a_range(tmp_path, capsys):
    from videorl.plot import format_table

    runs = [sweep_run(tmp_path / "sw", "sac", s, [-100, -90, -85, -80]) for s in range(2)]
    runs += [sweep_run(tmp_path / "sw", "rlv-medium", s, [-100, -85, -80, -78]) for s in range(2)]
    table = compare_runs(runs, tmp_path / "f.png", threshold=[-85, -80])
    rows = {r["method"]: r for r in table}
    assert set(rows) == {"sac", "rlv-medium"}
    assert rows["sac"]["reach"] == {-85: 2000, -80: 3000}
    assert rows["rlv-medium"]["ratios"] == {-85: 0.5, -80: pytest.approx(2 / 3)}
    text = format_table(table)
    assert "steps to -85" in text and "steps to -80" in text and "final IQM" in text


def test_seeds_steps_to_threshold_are_each_seeds_own_first_crossing(tmp_path):
    """The mean curve can cross a threshold where no seed did, or later than most seeds did;
    the seeds' IQM counts each seed's own first step, a seed that never got there at the
    last step, and is printed as a lower bound then."""
    from videorl.plot import format_table

    sac = [[-100, -80, -100, -100], [-100, -100, -80, -80], [-100, -100, -100, -100]]
    runs = [sweep_run(tmp_path / "sw", "sac", s, r) for s, r in enumerate(sac)]
    runs += [sweep_run(tmp_path / "sw", "rlv", s, [-100, -80, -80, -80]) for s in range(3)]
    rows = {r["method"]: r for r in compare_runs(runs, tmp_path / "f.png", threshold=[-90])}
    assert rows["sac"]["reach"][-90] is None  # the mean curve never reaches -90
    seeds = rows["sac"]["seed_reach"][-90]
    assert seeds["seeds"] == 3 and seeds["reached"] == 2
    assert seeds["iqm"] == pytest.approx(2000)  # 1000, 2000 and the budget 3000
    assert rows["rlv"]["seed_reach"][-90]["iqm"] == pytest.approx(1000)
    assert rows["rlv"]["seed_ratios"][-90] == pytest.approx(0.5)
    text = format_table(list(rows.values()))
    assert ">= 2000 [" in text and "(2/3 reached)" in text and "(3/3 reached)" in text
    one = compare_runs(runs[:1] + runs[3:4], tmp_path / "g.png", threshold=[-90])
    assert "seeds' steps" not in format_table(one)  # one seed each: nothing more to say


def test_runs_of_different_tasks_are_refused(tmp_path):
    from videorl.errors import UserError

    a = sweep_run(tmp_path / "a", "sac", 0, [0, 1], env="acrobot")
    b = sweep_run(tmp_path / "b", "sac", 0, [0, 1], env="state-pusher")
    with pytest.raises(UserError, match="different tasks"):
        compare_runs([a, b], tmp_path / "f.png")


def test_interquartile_mean_and_bootstrap_interval_hand_checked():
    from videorl.plot import iqm_ci, method_colour

    iqm, lo, hi = iqm_ci([1.0, 2.0, 3.0, 100.0])
    assert iqm == pytest.approx(2.5)  # the middle two of four
    assert lo <= iqm <= hi <= 100
    assert math.isnan(iqm_ci([5.0])[1])
    assert method_colour("rlv") == method_colour("rlv") != method_colour("sac")


def test_steps_to_threshold_over_seeds_counts_a_seed_that_never_reached_at_the_budget():
    from videorl.plot import seed_steps_iqm

    out = seed_steps_iqm([10, 20, None, 40], budget=100)
    assert out["seeds"] == 4 and out["reached"] == 3
    assert out["iqm"] == pytest.approx(30.0)  # middle two of 10, 20, 40, 100
    assert 10 <= out["ci"][0] <= out["iqm"] <= out["ci"][1] <= 100


def test_per_seed_draws_each_runs_own_curve(tmp_path, monkeypatch):
    """--per-seed adds one thin line per run beside each method's mean."""
    import matplotlib.axes

    drawn = []
    real = matplotlib.axes.Axes.plot

    def plot(ax, x, y, **kw):
        drawn.append(list(y))
        return real(ax, x, y, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", plot)
    runs = [sweep_run(tmp_path / "sw", "sac", s, r) for s, r in enumerate([[0, 1], [0, 3]])]
    compare_runs(runs, tmp_path / "a.png")
    assert drawn == [[0, 2]]  # the mean only
    drawn.clear()
    compare_runs(runs, tmp_path / "b.png", per_seed=True)
    assert drawn == [[0, 2], [0, 1], [0, 3]]
    cmd = ["plot", *map(str, runs), "--out", str(tmp_path / "c.png"), "--per-seed"]
    res = subprocess.run([sys.executable, "-m", "videorl.cli", *cmd], capture_output=True)
    assert res.returncode == 0 and (tmp_path / "c.png").is_file()


def test_figure_colours_are_distinct_where_the_hash_collides():
    from videorl.plot import PALETTE, figure_colours, method_colour

    labels = ["rlv", "rlv-first-reward", "rlv-gt-recorded", "rlv-gt-rewards", "rlv-idle-cut",
              "rlv-idle-reward", "sac", "sac-rnd"]  # fmt: skip
    assert len({method_colour(x) for x in labels}) < len(labels)  # the hash alone collides
    colours = figure_colours(labels)
    assert len(set(colours.values())) == len(labels)
    assert colours["rlv"] == method_colour("rlv")  # the first keeps its own colour
    assert set(colours.values()) <= set(PALETTE)
