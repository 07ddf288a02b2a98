"""A preview of the observation domains: one frame per domain side by side, as a PNG.

This module sits above the environment registry (it builds environments by name); nothing the
registry imports may import it.
"""

from __future__ import annotations

import os
from pathlib import Path

from videorl.atomic import atomic_path
from videorl.envs.appearance import DOMAINS
from videorl.envs.domain_edits import ACROBOT_DOMAINS
from videorl.envs.registry import GYM_PREFIX, TASKS, UnknownEnvError, expert_policy, make_env
from videorl.errors import UserError


def preview_domains(
    env_name: str,
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    size: int = 128,
    steps: int = 0,
) -> Path:
    """Write one frame per domain side by side, each labelled, as a PNG; return its path.

    Each panel is the episode reset with ``seed`` after ``steps`` steps of the task's scripted
    expert (0: the first frame). The physics is the same in every domain, so the panels show
    one state seen through each domain. The image is ``n_domains * size`` wide (a label strip
    sits above the frames) and is written atomically: a failure leaves no partial file.
    """
    from PIL import Image, ImageDraw

    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UserError(f"preview path must end in .png, got {str(target)!r}")
    if env_name.startswith(GYM_PREFIX) or env_name not in TASKS:
        raise UnknownEnvError(
            f"no domain preview for {env_name!r}: previews exist for the videorl tasks "
            f"({', '.join(TASKS)})"
        )
    if size < 16:
        raise UserError(f"preview size must be at least 16 pixels, got {size}")
    if steps < 0:
        raise UserError(f"preview steps must be 0 or more, got {steps}")
    domains = ACROBOT_DOMAINS if env_name.startswith("acrobot") else DOMAINS
    label_height = 14
    sheet = Image.new("RGB", (size * len(domains), size + label_height), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for i, domain in enumerate(domains):
        env = make_env(env_name, render_size=size, domain=domain)
        try:
            observation, _ = env.reset(seed=seed)
            policy = expert_policy(env)
            for _ in range(steps):
                observation, _, terminated, truncated, _ = env.step(policy(observation))
                if terminated or truncated:
                    break
            frame = env.render()
        finally:
            env.close()
        sheet.paste(Image.fromarray(frame), (i * size, label_height))
        draw.text((i * size + 3, 1), domain, fill=(240, 240, 240))
    with atomic_path(target) as temporary:
        sheet.save(temporary, format="PNG")
    return target
