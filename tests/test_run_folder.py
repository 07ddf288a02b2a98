"""The run folder as a researcher meets it (issue 11): resume from the folder alone, one
writer at a time, no ignored keys, a diverging run stops cleanly, readable output."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys

import pytest
import torch
import yaml

from videorl.agents.sac import SAC
from videorl.cli import main
from videorl.rundir import RunDir

TINY = ["--set", "eval_every=100", "eval_episodes=1", "initial_steps=50", "batch_size=16",
        "hidden=[16]", "threads=1"]  # fmt: skip


def train(out, *extra, steps=200, env="state-pusher"):
    return main(["train", "--env", env, "--steps", str(steps), *TINY, *extra, "--out", str(out),
                 "--no-progress"])  # fmt: skip


def rows(run):
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def one_line_error(capsys, code, returned):
    err = capsys.readouterr().err.strip()
    assert returned == code and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_resume_keeps_the_run_length_and_a_finished_run_has_nothing_to_do(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume"]) == 0  # no --steps: its own 200
    assert "nothing to do" in capsys.readouterr().out
    assert [r["step"] for r in rows(run)] == ["0", "100", "200"]
    assert main(["train", "--out", str(run), "--resume", "--steps", "300", "--no-progress"]) == 0
    assert [r["step"] for r in rows(run)][-1] == "300"
    assert yaml.safe_load((run / "config.yaml").read_text())["run"]["steps"] == 300
    # a length below the step the run has reached cannot be honoured: refused, nothing changes
    shorter = main(["train", "--out", str(run), "--resume", "--steps", "100"])
    err = one_line_error(capsys, 2, shorter)
    assert err.endswith("is already at step 300, and a run is not cut back; pass --steps above "
                        "300 to extend it")  # fmt: skip
    assert yaml.safe_load((run / "config.yaml").read_text())["run"]["steps"] == 300


def test_resume_refuses_a_flag_that_disagrees_with_the_run(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run, steps=100) == 0
    capsys.readouterr()
    err = one_line_error(capsys, 2, main(["train", "--out", str(run), "--resume", "--seed", "4"]))
    assert "seed is 0 there, not 4" in err
    err = one_line_error(capsys, 2, main(["train", "--resume"]))
    assert "--resume needs --out" in err


@pytest.mark.parametrize(
    "extra, needle",
    [(["--goal", "g.png"], "goal=['g.png'] is not read"),
     (["reward_scale=3"], "reward_scale='3' is not read"),
     (["--algo", "rlv", "--obs-data", "d", "--set", "disc_lr=0.1"], "domain confusion (c3 > 0)"),
     (["--obs-data", "d"], "read by bco, ilpo, rlmu, rlv, not by algo sac"),
     (["encoder=fast"], "state-pusher observes states); it is read by pixel tasks")],
)  # fmt: skip
def test_a_key_nothing_reads_is_refused_and_no_folder_is_made(tmp_path, capsys, extra, needle):
    err = one_line_error(capsys, 2, train(tmp_path / "run", *extra))
    assert needle in err and not (tmp_path / "run").exists()


def test_a_second_writer_is_refused_naming_the_process(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run, steps=100) == 0
    capsys.readouterr()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from videorl.rundir import RunDir\n"
        "with RunDir(sys.argv[1]).lock():\n    print('held', flush=True); time.sleep(60)"
    ), str(run)], stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        err = one_line_error(capsys, 2, main(["train", "--out", str(run), "--resume",
                                              "--steps", "200"]))  # fmt: skip
        assert f"in use by process {holder.pid}" in err
        err = one_line_error(capsys, 2, train(run))
        assert f"in use by process {holder.pid}" in err
    finally:
        holder.kill()
        holder.wait()
    # the lock died with its process: the run continues
    assert main(["train", "--out", str(run), "--resume", "--steps", "200", "--no-progress"]) == 0


def test_a_diverging_run_stops_with_exit_3_and_keeps_the_last_good_checkpoint(
    tmp_path, capsys, monkeypatch
):
    run = tmp_path / "run"
    original = SAC.critic_loss
    calls = []

    def poisoned(self, obs, action, target):
        calls.append(1)
        loss, hq, q = original(self, obs, action, target)
        return (loss * float("nan") if len(calls) > 80 else loss), hq, q

    monkeypatch.setattr(SAC, "critic_loss", poisoned)
    code = train(run, steps=300)
    err = one_line_error(capsys, 3, code)
    assert re.search(r"diverged by step 1\d\d: critic_loss is nan", err), err
    assert [r["step"] for r in rows(run)] == ["0", "100"]  # no row for the diverged interval
    nets = torch.load(RunDir(run).latest, weights_only=True)["agent"]["nets"]
    assert all(torch.isfinite(v).all() for v in nets.values() if v.is_floating_point())
    assert torch.load(RunDir(run).latest, weights_only=True)["loop"]["step"] == 100


def test_sweep_set_replaces_the_base_for_every_method(tmp_path):
    from videorl.sweep import load_sweep

    preset = tmp_path / "p.yaml"
    preset.write_text(yaml.safe_dump({"name": "p", "base": {"env": "acrobot", "steps": 9000},
                                      "methods": {"a": {}, "b": {"lr": 0.001}}}))  # fmt: skip
    _, _, configs = load_sweep(preset, {"steps": "500"})
    assert {m: c.run.steps for m, c in configs.items()} == {"a": 500, "b": 500}


def test_output_a_researcher_can_use(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run) == 0
    out = capsys.readouterr().out
    assert "best: eval_return" in out and "wall time" in out and str(run) in out
    assert all(re.fullmatch(r"\d{10}\.\d{3}", r["wall_time"]) for r in rows(run))
    res = subprocess.run(
        [sys.executable, "-m", "videorl.cli", "train", "--env", "state-pusher", "--steps", "200",
         *TINY, "--out", str(tmp_path / "logged")],
        capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": ""},
    )  # fmt: skip
    assert res.returncode == 0 and "\r" not in res.stderr
    assert "sac state-pusher: 200/200 steps (100%)" in res.stderr
    assert len(res.stderr.splitlines()) <= 21  # one line per 5%
    helptext = subprocess.run([sys.executable, "-m", "videorl.cli", "train", "--help"],
                              capture_output=True, text=True).stdout  # fmt: skip
    flat = " ".join(helptext.split())
    assert "(default: 100000)" in flat and "(default: 0)" in flat


def test_an_interrupt_message_starts_on_its_own_line(monkeypatch, capsys):
    import videorl.collect

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(videorl.collect, "collect", interrupted)
    code = main(["collect", "--env", "acrobot", "--policy", "expert", "--episodes", "1",
                 "--out", "x"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 130 and err.startswith("\n") and "--resume" not in err


def test_a_policy_snapshot_in_place_of_latest_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert train(run, steps=100) == 0
    (run / "checkpoints" / "latest.pt").write_bytes((run / "checkpoints" / "best.pt").read_bytes())
    capsys.readouterr()
    code = main(["train", "--out", str(run), "--resume", "--steps", "200", "--no-progress"])
    assert "not this run's full checkpoint" in one_line_error(capsys, 2, code)
