"""Sectioned configuration: plain, dotted and nested keys; generated help; every preset loads."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from videorl.agents.registry import METHODS, SHARED, config_help, make_config
from videorl.config import ConfigError, field_help
from videorl.config_text import load_yaml, parse_set

CONFIGS = Path(__file__).parent.parent / "configs"


def test_set_overrides_and_types():
    cfg = make_config(parse_set(["lr=1e-3", "hidden=[64,64]", "augment=false"]))
    assert cfg.sac.lr == 1e-3 and cfg.sac.hidden == [64, 64] and cfg.sac.augment is False


def test_dotted_and_nested_keys_name_the_section():
    assert make_config({"sac.lr": "0.01"}).sac.lr == 0.01
    assert make_config({"sac": {"lr": 0.02}, "run": {"steps": 7}}).run.steps == 7
    with pytest.raises(ConfigError, match="run.lr"):
        make_config({"run.lr": "1"})


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        make_config({"learning_rate": "1"})
    msg = str(err.value)
    assert "learning_rate" in msg and "eval_every" in msg and "batch_size" in msg
    assert "\n" not in msg


def test_a_key_of_another_method_is_refused_naming_its_reader():
    with pytest.raises(ConfigError, match="c3.*read by rlmu, rlv, not by algo sac"):
        make_config(algo="sac", c3=0.1)
    with pytest.raises(ConfigError, match="obs_data.*rlv"):
        make_config(algo="sac", obs_data="data/x")


@pytest.mark.parametrize(
    "pair", ["batch_size=abc", "gamma=1.5", "encoder=huge", "eval_every=0", "hidden=[a]",
             "algo=nope", "augment=1", "hidden=[true]"]
)  # fmt: skip
def test_bad_values_are_config_errors(pair):
    with pytest.raises(ConfigError):
        make_config(parse_set([pair]))


def test_set_needs_key_value():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["lr"])


def test_keys_are_unique_across_the_shared_sections_and_each_method():
    """Plain keys (presets, --set) resolve to one section for every method."""
    for algo, method in METHODS.items():
        sections = [*SHARED.values()] + ([method.Config] if method.Config else [])
        names = [f.name for cls in sections for f in dataclasses.fields(cls)]
        assert len(names) == len(set(names)), algo


def test_every_field_has_a_one_line_docstring_and_help_lists_every_key():
    text = config_help()
    for method in METHODS.values():
        sections = [*SHARED.values()] + ([method.Config] if method.Config else [])
        for cls in sections:
            for f in dataclasses.fields(cls):
                assert field_help(cls, f.name), f"{cls.__name__}.{f.name} has no docstring"
                assert f"  {f.name} (default" in text


def test_config_yaml_round_trip_keeps_every_value():
    cfg = make_config(algo="rlv", obs_data="d", c3=0.01, lr=1e-3, reward="pixel-l2", goal=["g"])
    again = make_config(yaml.safe_load(yaml.safe_dump(cfg.to_dict())))
    assert again == cfg and set(cfg.to_dict()) == {"run", "sac", "reward", "videos", "rlv"}
    assert set(make_config().to_dict()) == {"run", "sac", "reward"}


def test_a_run_folder_from_before_sections_still_reads(tmp_path):
    """config.yaml of runs written before the sections: every method's keys, flat."""
    from videorl.rundir import RunDir

    flat = {**make_config(algo="rlv", obs_data="d").flat(), "seed": 3}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({**flat, "algo": "sac"}))
    cfg = RunDir(tmp_path).read_config()
    assert cfg.run.seed == 3 and cfg.videos is None and cfg.method is None


def test_every_preset_in_configs_loads_and_names_a_task():
    from videorl.envs import TASKS

    presets = sorted(CONFIGS.glob("*.yaml"))
    assert presets
    for path in presets:
        cfg = make_config(load_yaml(path))
        assert cfg.run.env in TASKS, path
