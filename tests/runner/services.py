"""Real services for distributed runs (tests and bench/): a throwaway PostgreSQL cluster and a Redis
server, each on a free port of 127.0.0.1, started from Debian's binaries and removed afterwards; a
Dagster instance on that PostgreSQL; Celery workers (dagster-celery) in their own process groups,
stopped with everything they started. ``missing()`` says why they cannot run here (the test skips
with that reason)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

REDIS = shutil.which("redis-server")
INSTALL = "apt-get install -y postgresql redis-server"
ROOT = Path(__file__).resolve().parents[2]


def _postgres_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL server installed (one with ``initdb``), by version number."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    numbered = [(tuple(int(x) for x in p.parent.name.split(".") if x.isdigit()), p) for p in found]
    return max(numbered)[1] if numbered else None


def _postgres_user() -> pwd.struct_passwd | None:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam("postgres")
    return None


def missing() -> str | None:
    """Why the services cannot start here, or None."""
    if _postgres_bin() is None:
        return f"PostgreSQL is not installed (`{INSTALL}`)"
    if REDIS is None:
        return f"redis-server is not installed (`{INSTALL}`)"
    if os.geteuid() == 0 and _postgres_user() is None:
        return "running as root without a postgres user: PostgreSQL refuses to run as root"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path | None, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text()[-2000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on {port}:\n{said}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {seconds:.0f} s")


def _stop(process: subprocess.Popen, how: int = signal.SIGTERM, seconds: float = 30) -> None:
    """Signal ``process``'s whole process group (it was started in its own session), then kill what is left."""
    for sent in (how, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sent)
        try:
            process.wait(timeout=seconds)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A new cluster with a ``dagster`` database; yields its URL (trust authentication, 127.0.0.1 only).
    As root it runs as the ``postgres`` system user (PostgreSQL refuses root); stopped with a fast shutdown."""
    binaries = _postgres_bin()
    if binaries is None:
        raise RuntimeError(missing() or "PostgreSQL is not installed")
    account = _postgres_user() if os.geteuid() == 0 else None
    as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []} if account else {}
    folder = Path(tempfile.mkdtemp(prefix="oncobench-pg-"))  # not under pytest's root-only tmp folder; its cwd
    server = None
    try:
        if account is not None:
            os.chown(folder, account.pw_uid, account.pw_gid)
        data, port, log = folder / "data", free_port(), folder / "server.log"
        made = subprocess.run([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E",
                               "UTF8"], capture_output=True, text=True, cwd=folder, **as_user)  # fmt: skip
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed ({made.returncode}):\n{made.stderr[-2000:]}")
        with log.open("w") as out:
            server = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder), "-h", "127.0.0.1",
                 "-c", "max_connections=200", "-c", "fsync=off"],
                stdout=subprocess.DEVNULL, stderr=out, start_new_session=True, cwd=folder, **as_user,
            )  # fmt: skip
        _wait_for_port(port, server, "postgres", log)
        for _ in range(50):  # the port opens a moment before connections are accepted
            made = subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                   "dagster"], capture_output=True, text=True)  # fmt: skip
            if made.returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"createdb failed: {made.stderr[-2000:]}")
        yield f"postgresql://postgres@127.0.0.1:{port}/dagster"
    finally:
        if server is not None:
            _stop(server, signal.SIGINT)  # SIGINT: fast shutdown (clients disconnected, shared memory freed)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A Redis server without persistence; yields its URL."""
    if REDIS is None:
        raise RuntimeError(missing() or "redis-server is not installed")
    port = free_port()
    server = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        _wait_for_port(port, server, "redis-server", None)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(server)


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
def celery_workers(
    environment: dict[str, str], folder: Path, names: tuple[str, ...] = ("w1", "w2")
) -> Iterator[list[Path]]:
    """Workers of ``environment``'s broker, one process group each taking one step at a time
    (``--concurrency=1``, the thread budget of ``environment``); yields their log files. Each group (the
    ``dagster-celery`` wrapper, the ``celery`` worker it starts and its pool) is stopped afterwards."""
    config = folder / "worker.yaml"
    queues = {"broker": environment["ONCOBENCH_CELERY_BROKER"], "backend": environment["ONCOBENCH_CELERY_BACKEND"]}
    config.write_text(yaml.safe_dump({"execution": {"config": queues}}))
    command = [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
               "-y", str(config)]  # fmt: skip
    workers, logs = [], [folder / f"{name}.log" for name in names]
    try:
        for name, log in zip(names, logs, strict=True):
            with log.open("w") as out:
                workers.append(subprocess.Popen([*command, "-n", name, "--", "--concurrency=1"], env=environment,
                                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True))  # fmt: skip
        yield logs
    finally:
        for worker in workers:
            _stop(worker, seconds=60)


def steps_done(log: Path) -> int:
    """Steps a Celery worker finished, from its log."""
    return sum(1 for line in log.read_text().splitlines() if "Task execute_plan[" in line and "] succeeded" in line)


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


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL ``process`` and every process under it (a demo's daemon and runs)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(process.pid)
        tree = [root, *root.children(recursive=True)]
        for member in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                member.kill()
        psutil.wait_procs(tree, timeout=30)
