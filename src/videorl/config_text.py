"""Config values written as text: ``--set KEY=VALUE`` pairs and YAML preset files, read
into plain dicts for the config sections (``videorl.config``) to coerce and validate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from videorl.config import ConfigError


def parse_set(pairs: list[str]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` strings from the command line."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        if key.strip() in out:
            raise ConfigError(f"--set {key.strip()} is given twice; keep one")
        out[key.strip()] = value
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        keys = [(self.construct_object(k, deep=deep), k.start_mark) for k, _ in node.value]
        for i, (key, mark) in enumerate(keys):
            if any(key == other for other, _ in keys[:i]):
                raise yaml.YAMLError(f"key {key!r} is written twice, on line {mark.line + 1}")
        return super().construct_mapping(node, deep)


def load_yaml(path: str | Path, what: str = "--config") -> dict[str, Any]:
    """Read a YAML preset into a dict, or raise ConfigError naming the file; ``what`` names
    what the file is for in the hint (the flag, or e.g. "the sweep preset")."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; pass a YAML file as {what}")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass a YAML file as {what}")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), _UniqueKeyLoader) or {}
    except (UnicodeDecodeError, OSError) as exc:
        why = "is not a text (YAML) file" if isinstance(exc, ValueError) else "cannot be read"
        raise ConfigError(f"{path} {why}; pass a YAML file as {what}") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value")
    return data
