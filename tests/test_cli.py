"""User mistakes: one line on stderr, exit 2, no traceback, no run folder left behind."""

import os
import subprocess
import sys

import pytest


def videorl(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "videorl.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def assert_user_error(res, *needles):
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in lines[0]


def test_unknown_env(tmp_path):
    out = tmp_path / "run"
    res = videorl("train", "--env", "no-such-task", "--out", str(out))
    assert_user_error(res, "no-such-task", "visual-pusher")
    assert not out.exists()


def test_bad_set_key_lists_valid_keys(tmp_path):
    out = tmp_path / "run"
    res = videorl("train", "--env", "acrobot", "--out", str(out), "--set", "learnrate=1")
    assert_user_error(res, "learnrate", "eval_every", "batch_size")
    assert not out.exists()


def test_bad_set_value(tmp_path):
    res = videorl("train", "--env", "acrobot", "--out", str(tmp_path / "r"), "--set", "gamma=2")
    assert_user_error(res, "gamma")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_as_user(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    res = videorl("train", "--env", "acrobot", "--out", str(locked / "run"))
    assert_user_error(res, "cannot write")


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = videorl("train", "--env", "acrobot", "--out", str(blocker / "run"))
    assert_user_error(res, "cannot write", "--out")
    assert blocker.read_text() == "not a folder"


def test_resume_without_checkpoint(tmp_path):
    out = tmp_path / "run"
    res = videorl("train", "--env", "acrobot", "--out", str(out), "--resume")
    assert_user_error(res, "--resume", "holds no run")
    assert not out.exists()


def test_existing_run_is_not_overwritten(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "latest.pt").write_bytes(b"x")
    res = videorl("train", "--env", "acrobot", "--out", str(out))
    assert_user_error(res, "already holds a run", "--resume")
    assert (out / "checkpoints" / "latest.pt").read_bytes() == b"x"


def test_missing_config_file(tmp_path):
    res = videorl("train", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r"))
    assert_user_error(res, "nope.yaml")
    assert not (tmp_path / "r").exists()


def test_argparse_errors_are_one_line():
    res = videorl("train", "--steps", "many")
    assert_user_error(res, "--steps")


def test_eval_needs_a_checkpoint(tmp_path):
    res = videorl("eval", str(tmp_path))
    assert_user_error(res, "not a videorl run folder")


def test_envs_lists_every_task():
    res = videorl("envs")
    assert res.returncode == 0
    for name in ["acrobot", "state-pusher", "visual-pusher", "visual-door", "visual-drawer"]:
        assert name in res.stdout


def test_help_config_lists_keys():
    res = videorl("train", "--help-config")
    assert res.returncode == 0 and "eval_every" in res.stdout and "encoder" in res.stdout


def test_only_user_errors_become_one_line_exits(monkeypatch):
    from videorl import cli
    from videorl.config import ConfigError
    from videorl.data.manifest import DatasetError
    from videorl.envs import UnknownDomainError, UnknownEnvError
    from videorl.errors import UserError

    for error in (ConfigError, DatasetError, UnknownDomainError, UnknownEnvError):
        assert issubclass(error, UserError)

    def user_mistake(args):
        raise DatasetError("bad dataset")

    def bug(args):
        raise ValueError("internal bug")

    monkeypatch.setattr(cli, "cmd_envs", user_mistake)
    assert cli.main(["envs"]) == 2
    monkeypatch.setattr(cli, "cmd_envs", bug)
    with pytest.raises(ValueError, match="internal bug"):
        cli.main(["envs"])
