"""Shared fixtures: a release with stress suites (the evaluation tests' builder), request items built by hand,
and a local HTTP endpoint whose behaviour a test chooses."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.evaluation.conftest import build_test_release

Behaviour = Callable[[list[dict[str, Any]]], tuple[int, bytes]]


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Release 0.9.0 (support2_cancer with race, sex, income and education twins; colon), built once."""
    return build_test_release(tmp_path_factory.mktemp("releases"))


def item(pid: str = "p1", code: str | None = "LUAD", *, line: int = 1, lines: list | None = None,
         stage: str | None = "IV", **record: Any) -> dict[str, Any]:  # fmt: skip
    """A request item: genes as keyword flags (egfr=True), other schema columns by name."""
    genes = ("kras", "nras", "braf", "egfr", "erbb2", "pik3ca", "tp53", "apc", "brca1", "brca2", "alk", "kit")
    patient = {"primary_cancer_condition": code, "cancer_stage_group": stage}
    for name, value in record.items():
        patient[f"genomic_variant_{name}" if name in genes else name] = value
    journey = lines or []
    return {"patient_id": pid, "next_line": max([line, *(e["line"] + 1 for e in journey)]), "patient": patient,
            "lines": journey}  # fmt: skip


@contextmanager
def endpoint(behaviour: Behaviour) -> Iterator[tuple[str, list[int]]]:
    """An HTTP server answering each POSTed batch with ``behaviour(patients) -> (status, body)``; yields its URL
    and the list of batch sizes it received."""
    received: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            patients = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["patients"]
            received.append(len(patients))
            status, body = behaviour(patients)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/recommend", received
    finally:
        server.shutdown()
        server.server_close()


def answers(patients: list[dict[str, Any]], therapy: str = "chemotherapy", agents: tuple = ("carboplatin",)) -> bytes:
    """A well-formed response body giving every patient the same answer."""
    return json.dumps({"recommendations": [{"patient_id": p["patient_id"], "therapy_class": therapy,
                                            "agents": list(agents)} for p in patients]}).encode()  # fmt: skip
