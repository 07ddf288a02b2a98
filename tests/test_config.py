import pytest

from videorl.config import ConfigError, TrainConfig, apply_overrides, parse_set


def test_set_overrides_and_types():
    cfg = apply_overrides(TrainConfig(), parse_set(["lr=1e-3", "hidden=[64,64]", "augment=false"]))
    assert cfg.lr == 1e-3 and cfg.hidden == [64, 64] and cfg.augment is False


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as err:
        apply_overrides(TrainConfig(), {"learning_rate": "1"})
    msg = str(err.value)
    assert "learning_rate" in msg and "eval_every" in msg and "batch_size" in msg
    assert "\n" not in msg


@pytest.mark.parametrize(
    "pair", ["batch_size=abc", "gamma=1.5", "encoder=huge", "eval_every=0", "hidden=[a]"]
)
def test_bad_values_are_config_errors(pair):
    with pytest.raises(ConfigError):
        apply_overrides(TrainConfig(), parse_set([pair])).validate()


def test_set_needs_key_value():
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_set(["lr"])


def test_every_preset_in_configs_loads_and_names_a_task():
    from pathlib import Path

    from videorl.config import load_yaml
    from videorl.envs import TASKS

    presets = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
    assert presets
    for path in presets:
        cfg = apply_overrides(TrainConfig(), load_yaml(path)).validate()
        assert cfg.env in TASKS, path
