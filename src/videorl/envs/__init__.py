"""The RLV tasks as gymnasium environments, and a registry to build them by name.

``make_env("visual-pusher")`` builds a task; ``make_env("gym:Pendulum-v1")`` any gymnasium
environment; ``make_env("visual-pusher", domain="human")`` the task seen as a human would do it
(see ``DOMAINS``), and ``preview_domains`` draws one frame per domain. Importing this package is
cheap (no MuJoCo); the Sawyer modules load MuJoCo, after choosing its GL backend, only when such
an environment is made.
"""

from videorl.envs.appearance import DOMAIN_HELP, DOMAINS, UnknownDomainError
from videorl.envs.preview import preview_domains
from videorl.envs.registry import (
    TASKS,
    TaskSpec,
    UnknownEnvError,
    expert_policy,
    gym_id,
    make_env,
    register_envs,
)

register_envs()

__all__ = [
    "DOMAINS",
    "DOMAIN_HELP",
    "TASKS",
    "TaskSpec",
    "UnknownDomainError",
    "UnknownEnvError",
    "expert_policy",
    "gym_id",
    "make_env",
    "preview_domains",
    "register_envs",
]
