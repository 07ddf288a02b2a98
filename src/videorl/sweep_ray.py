"""The Ray backend of ``videorl sweep --backend ray [--address HOST:PORT]``.

Each run of a sweep is one Ray task asking for its CPUs (its torch threads, 1 by default) and
a GPU when its device is ``cuda``. Tasks rather than Ray Tune trials: a videorl run already
owns its folder (config.yaml, metrics.csv, checkpoints) and decides from that folder whether to
start, resume or skip; Tune would put its own trial folders, checkpoint API and result
reporting on top of that contract. A task with retries is what a sweep needs: when a worker
or a node dies, Ray runs the task again on another worker, and the run resumes from its last
checkpoint, so its metrics equal an uninterrupted run's.

Run folders must be on a filesystem that every node mounts at the same path as the driver
(the sweep's ``out`` and the datasets it reads); each task runs in the driver's working
directory, so the preset's relative paths mean the same on every node. Before anything is
submitted, one probe per node checks that it sees and can write the sweep's folder.
Without ``--address`` a local Ray instance is started (or the one this process has joined).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from videorl.errors import UserError

RETRIES = 3
"""times a run is started again after its worker or node died (then it counts as failed)"""


def connect(address: str | None) -> None:
    """Join the cluster at ``address`` or start a local Ray instance; one line if Ray is
    missing or the cluster cannot be reached."""
    try:
        import ray
    except ImportError:
        raise UserError(
            "--backend ray needs Ray: pip install 'videorl[ray]' (or drop --backend ray to "
            "run on this machine's process pool)"
        ) from None
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, configure_logging=False, log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or ValueError here
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise UserError(
            f"cannot start or reach {where} ({first}); start a cluster with `ray start --head` "
            "or check --address"
        ) from None


def _probe(folder: str, token_file: str, token: str) -> str | None:
    """On one node: None when it sees the driver's token in ``folder`` and can write there,
    else what is wrong."""
    path = Path(folder)
    try:
        if (path / token_file).read_text() != token:
            return f"sees another {folder}"
    except OSError:
        return f"cannot see {folder}"
    mine = path / f".videorl-probe-{uuid.uuid4().hex}"
    try:
        mine.write_text("ok")
        mine.unlink()
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror})"
    return None


def check_shared_folder(out: Path) -> None:
    """Refuse, naming the node, when a node of the cluster cannot see or write ``out``."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    out.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    token_file = out / f".videorl-probe-{token}"
    token_file.write_text(token)
    probe = ray.remote(_probe)
    nodes = [node for node in ray.nodes() if node["Alive"]]
    try:
        refs = [
            probe.options(
                num_cpus=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
            ).remote(str(out.resolve()), token_file.name, token)
            for node in nodes
        ]
        problems = ray.get(refs, timeout=300)
    finally:
        token_file.unlink(missing_ok=True)
    for node, problem in zip(nodes, problems):
        if problem:
            raise UserError(
                f"Ray node {node['NodeManagerAddress']} {problem}: run folders must be on a "
                "filesystem every node mounts at the driver's path"
            )


def _run_task(job: Any, cwd: str, lines: Any) -> dict[str, Any]:
    import socket

    from videorl.sweep_jobs import run_job

    os.chdir(cwd)  # the preset's relative paths (out, datasets) as the driver sees them
    host = socket.gethostname()
    return run_job(job, announce=lambda line: lines.put(f"{line} (on {host}, pid {os.getpid()})"))


def run_on_ray(jobs: list, out: Path) -> tuple[list[dict[str, Any]], list[BaseException]]:
    """Submit every job as a Ray task, print a line as each ends; returns the summary rows of
    the runs that ended and the errors of those that failed (after their retries)."""
    import ray
    from ray.util.queue import Empty, Queue

    check_shared_folder(out)
    task = ray.remote(_run_task)
    lines = Queue(actor_options={"num_cpus": 0})  # "start"/"resume" lines from the workers
    pending = {}
    for job in jobs:
        ref = task.options(
            num_cpus=max(job.cfg.run.threads, 1),
            num_gpus=1 if job.cfg.run.device == "cuda" else 0,
            max_retries=RETRIES,
            retry_exceptions=False,  # a run's own error (bad data, divergence) is not retried
            name=f"videorl {job.label}/seed{job.seed}",
        ).remote(job, os.getcwd(), lines)
        pending[ref] = job
    rows, failed = [], []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
        while True:
            try:
                print(lines.get_nowait(), flush=True)
            except Empty:
                break
        if not ready:
            continue
        ref = ready[0]
        job = pending.pop(ref)
        try:
            rows.append(ray.get(ref))
            print(f"  done: {rows[-1]['run']} at step {rows[-1]['step']}", flush=True)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None) or exc
            failed.append(cause)
            print(f"  failed: {job.label}/seed{job.seed}: {str(cause).splitlines()[0]}", flush=True)
    lines.shutdown()
    return rows, failed
