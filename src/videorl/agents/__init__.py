"""Learning methods: one method per file, registered in ``registry.py``. Methods take tensors
and return losses and metrics."""

from videorl.agents.base import Method, Spaces, UpdateInputs
from videorl.agents.registry import METHODS, config_help, make_config, make_method

__all__ = ["METHODS", "Method", "Spaces", "UpdateInputs", "config_help", "make_config",
           "make_method"]  # fmt: skip
