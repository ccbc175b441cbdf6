"""Real services for distributed runs (tests and bench/parallel.py): a throwaway PostgreSQL cluster and a
Redis server, each on a free port of 127.0.0.1, started from Debian's binaries and removed afterwards; a
Dagster instance on that PostgreSQL; Celery workers (dagster-celery) in their own processes. ``missing()``
says why they cannot run here (the test skips with that reason)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

POSTGRES_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
REDIS = shutil.which("redis-server")
INSTALL = "apt-get install -y postgresql redis-server"


def missing() -> str | None:
    """Why the services cannot start here, or None."""
    if not POSTGRES_BIN or not (POSTGRES_BIN[-1] / "initdb").exists():
        return f"PostgreSQL is not installed (`{INSTALL}`)"
    if REDIS is None:
        return f"redis-server is not installed (`{INSTALL}`)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL refuses to run as root"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds:.0f} s")


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the ``postgres`` system user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A new cluster with a ``dagster`` database; yields its URL (trust authentication, 127.0.0.1 only)."""
    binaries = POSTGRES_BIN[-1]
    folder = Path(tempfile.mkdtemp(prefix="oncobench-pg-"))  # not under pytest's root-only tmp folder
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    subprocess.run(_as_postgres([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "-E", "UTF8"]), check=True, capture_output=True)  # fmt: skip
    server = subprocess.Popen(
        _as_postgres([str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
                      "-h", "127.0.0.1", "-c", "max_connections=200", "-c", "fsync=off"]),
        stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
    )  # fmt: skip
    try:
        _wait_for_port(port, server, "postgres")
        for _ in range(50):  # the port opens a moment before connections are accepted
            made = subprocess.run(_as_postgres([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                                "-U", "postgres", "dagster"]), capture_output=True)  # fmt: skip
            if made.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"createdb failed: {made.stderr.decode()}")
        yield f"postgresql://postgres@127.0.0.1:{port}/dagster"
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        if server.poll() is None:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A Redis server without persistence; yields its URL."""
    port = free_port()
    server = subprocess.Popen([str(REDIS), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for_port(port, server, "redis-server")
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
        if server.poll() is None:
            server.kill()


def on_postgres(dagster_home: Path, url: str) -> None:
    """Point the instance of ``dagster_home`` at ``url`` for its run, event and schedule storage."""
    path = Path(dagster_home) / "dagster.yaml"
    instance = yaml.safe_load(path.read_text()) if path.exists() else {}
    instance["storage"] = {"postgres": {"postgres_url": url.replace("postgresql://", "postgresql+psycopg2://")}}
    path.write_text(yaml.safe_dump(instance))


def celery_environment(environment: dict[str, str], broker: str) -> dict[str, str]:
    """``environment`` with every step a Celery task on ``broker`` (Redis: queue 0, results 1)."""
    bin_dir = str(Path(sys.executable).parent)  # dagster-celery starts `celery` from PATH
    return {**environment, "PATH": f"{bin_dir}:{environment.get('PATH', '')}", "ONCOBENCH_EXECUTOR": "celery",
            "ONCOBENCH_CELERY_BROKER": f"{broker}/0", "ONCOBENCH_CELERY_BACKEND": f"{broker}/1"}  # fmt: skip


@contextlib.contextmanager
def celery_workers(environment: dict[str, str], folder: Path, names: tuple[str, ...] = ("w1", "w2")) -> Iterator[
    list[Path]
]:  # fmt: skip
    """Workers of ``environment``'s broker, one process each taking one step at a time (``--concurrency=1``,
    the thread budget of ``environment``); yields their log files and stops them afterwards."""
    config = folder / "worker.yaml"
    queues = {"broker": environment["ONCOBENCH_CELERY_BROKER"], "backend": environment["ONCOBENCH_CELERY_BACKEND"]}
    config.write_text(yaml.safe_dump({"execution": {"config": queues}}))
    command = [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
               "-y", str(config)]  # fmt: skip
    workers, logs = [], [folder / f"{name}.log" for name in names]
    try:
        for name, log in zip(names, logs, strict=True):
            workers.append(subprocess.Popen([*command, "-n", name, "--", "--concurrency=1"], env=environment,
                                            cwd=Path(__file__).resolve().parents[2], stdout=log.open("w"),
                                            stderr=subprocess.STDOUT))  # fmt: skip
        yield logs
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()


RECORDS_OF_MAKING = {"manifest.json", "datasheet.md", "datasheet.html", "audit_log.jsonl"}  # created_at, run ids


def release_contents(release: Path) -> dict[str, str]:
    """sha256 of every file of a release but those that record its making (dates, run ids); the metric
    table's rows without the id of the Dagster run that computed them."""
    import polars as pl

    found = {str(p.relative_to(release)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(release.rglob("*")) if p.is_file() and p.name not in RECORDS_OF_MAKING}  # fmt: skip
    metrics = pl.read_parquet(release / "metrics.parquet").drop("run_id")
    found["metrics.parquet"] = hashlib.sha256(metrics.write_csv().encode()).hexdigest()
    return found
