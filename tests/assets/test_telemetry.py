"""Nothing leaves the machine: the daemon started by `runner.launch.daemon` runs no telemetry upload.

Dagster's telemetry-upload thread runs in every daemon whatever `telemetry.enabled` says: it
renames `$DAGSTER_HOME/logs` to `.logs_queue`, POSTs each file to Dagster's telemetry address and
deletes it. The project keeps its own logs elsewhere (`Settings.logs_dir`) and starts the daemon
with `DAGSTER_DISABLE_TELEMETRY=1`, which stops that thread. Here a real daemon runs on a
temporary instance whose `logs` folder already holds a file (what the thread would upload first),
with the telemetry address pointed at a local server, so even a regression sends nothing away.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from pipeline.settings import Settings
from runner.launch import daemon
from tests.conftest import PROJECT_ROOT

SEEDED = b'{"action": "seeded by the test: the upload thread would send this first"}\n'


@dataclass
class Endpoint:
    url: str
    received: list[str] = field(default_factory=list)  # the paths POSTed to it


@pytest.fixture
def telemetry_endpoint() -> Iterator[Endpoint]:
    """A local stand-in for Dagster's telemetry address."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Endpoint(f"http://127.0.0.1:{server.server_address[1]}/actions", received)
    finally:
        server.shutdown()
        server.server_close()


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode(errors="replace").split("\0") if "=" in entry)


def _wait_until_live(process, log_file: Path, seconds: float = 300) -> None:
    """Poll until every daemon the instance requires has sent a heartbeat (each runs its upload thread
    by then); fail if the daemon exits first or nothing comes within ``seconds``."""
    import dagster as dg
    from dagster._daemon.controller import all_daemons_live

    deadline = time.monotonic() + seconds
    with dg.DagsterInstance.get() as instance:
        while not all_daemons_live(instance):
            log = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
            assert process.poll() is None, f"dagster-daemon exited ({process.returncode}):\n{log}"
            assert time.monotonic() < deadline, f"the daemons sent no heartbeat within {seconds}s:\n{log}"
            time.sleep(0.5)


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the daemon's environment from /proc")
def test_the_daemon_uploads_nothing_and_logs_outside_the_telemetry_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telemetry_endpoint: Endpoint
) -> None:
    home = tmp_path / "dagster_home"
    (home / "logs").mkdir(parents=True)
    shutil.copyfile(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    (home / "logs" / "event.log").write_bytes(SEEDED)
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_TELEMETRY_URL": telemetry_endpoint.url,  # a regression would POST here, not to telemetry.dagster.io
        "no_proxy": "127.0.0.1",
        "NO_PROXY": "127.0.0.1",
        "ONCOBENCH_DATA_DIR": str(tmp_path / "data"),
        "ONCOBENCH_CONCURRENT_RUNS": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_DISABLE_TELEMETRY", raising=False)  # `daemon` sets it, not the caller

    log_file = Settings.from_environment().logs_dir / "daemon.log"  # where `make demo` logs the daemon
    assert log_file == home / "oncobench-logs" / "daemon.log"
    with daemon(log_file) as process:
        _wait_until_live(process, log_file)
        # read once the daemon is live: right after Popen the child may still be between fork and exec,
        # when /proc shows the parent's environment (or none)
        assert _environ(process.pid).get("DAGSTER_DISABLE_TELEMETRY") == "1"
    # stopped on SIGTERM: each daemon joined its upload thread on the way out, so this is the final state
    assert process.returncode == 0, log_file.read_text(errors="replace")[-3000:]

    assert telemetry_endpoint.received == []  # nothing POSTed
    assert not (home / ".logs_queue").exists(), "the upload thread moved $DAGSTER_HOME/logs away"
    assert [p.name for p in (home / "logs").iterdir()] == ["event.log"]  # nothing of ours in the telemetry folder
    assert (home / "logs" / "event.log").read_bytes() == SEEDED  # not renamed, uploaded or deleted
    assert log_file.stat().st_size > 0
