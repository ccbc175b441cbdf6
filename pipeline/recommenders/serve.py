"""Serve a Python recommender over HTTP on localhost (standard library only), as an agent service would be reached.

``POST /recommend`` with ``{"patients": [items]}`` answers ``{"recommendations": [answers]}``; a body that is not
such JSON gets 400, a recommender that raises 500. Keep-alive (HTTP/1.1), one thread per connection.

    python -m pipeline.recommenders.serve reference:guideline --port 8765
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecommenderHandler(BaseHTTPRequestHandler):
    """Answers POSTed batches with the server's ``recommender``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms wait for a delayed ACK
    wbufsize = 64 * 1024  # buffered, flushed after each request

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
        pass

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        try:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            patients = request["patients"]
            if not isinstance(patients, list):
                raise TypeError("patients must be a list")
        except (ValueError, KeyError, TypeError) as error:
            self._send(400, {"error": f"expected {{'patients': [...]}}: {error}"})
            return
        try:
            answers = self.server.recommender.recommend(patients)
        except Exception as error:
            self._send(500, {"error": f"{type(error).__name__}: {error}"})
            return
        self._send(200, {"recommendations": answers})


class RecommenderServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, recommender: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), RecommenderHandler)
        self.recommender = recommender

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/recommend"


@contextmanager
def serving(recommender: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``recommender`` in a daemon thread for the block; yields its URL."""
    server = RecommenderServer(recommender, host, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    from pipeline.recommenders.adapters import import_recommender
    from pipeline.recommenders.interface import RecommenderError
    from pipeline.recommenders.references import REFERENCES, reference_recommender

    parser = argparse.ArgumentParser(prog="python -m pipeline.recommenders.serve", description=__doc__.split("\n")[0])
    parser.add_argument("spec", help=f"reference:{'|'.join(REFERENCES)} or MODULE:OBJECT (with recommend(items))")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the URL is printed)")
    args = parser.parse_args(argv)
    try:
        if args.spec.startswith("reference:"):
            recommender = reference_recommender(args.spec.removeprefix("reference:"))
        else:
            recommender, _ = import_recommender(args.spec)
    except (RecommenderError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    server = RecommenderServer(recommender, args.host, args.port)
    print(server.url, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
