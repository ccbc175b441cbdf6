"""How a recommender is reached: a Python object, a command speaking JSON lines, or an HTTP endpoint.

Specs: ``reference:guideline|insurance_biased|random|agent``; ``MODULE:OBJECT`` or ``path/to/file.py:OBJECT`` (an
object, or a class instantiated without arguments, with ``recommend(items) -> answers``); ``cmd:COMMAND``
(request items on stdin, one JSON object a line; answers on stdout, one a line, in any order);
``http://HOST:PORT/PATH`` (POST ``{"patients": [items]}``, answer ``{"recommendations": [answers]}``).

Calls go in batches (``batch_size`` items a request; a command gets ``concurrency`` shards, one process
each) on a thread pool of ``concurrency`` workers (one for a Python object, which runs in this process and
has no timeout). A connection error, a timeout (``timeout`` seconds per socket operation or per answer
line), HTTP 429 or 5xx, or a command that dies is retried ``retries`` times with exponential backoff;
anything else fails at once. The first failing patient (in request order) is named.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib
import importlib.util
import inspect
import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.recommenders.cache import AnswerCache, item_key
from pipeline.recommenders.interface import Recommendation, RecommenderError, parse_answer
from pipeline.recommenders.truth import GuidelineTable

REFERENCE_PREFIX, COMMAND_PREFIX = "reference:", "cmd:"
HTTP_PREFIXES = ("http://", "https://")


@dataclass(frozen=True)
class CallOptions:
    """How calls are made (see the module's docstring)."""

    timeout: float = 30.0
    concurrency: int = 4
    retries: int = 2
    batch_size: int = 8
    backoff: float = 0.2  # seconds before the first retry, doubled each time


class CallError(Exception):
    """A batch that failed: why, whether a retry may help, and the position in the batch of the patient named."""

    def __init__(self, message: str, *, retryable: bool = False, offset: int = 0) -> None:
        super().__init__(message)
        self.retryable, self.offset = retryable, offset


@dataclass
class LoadedRecommender:
    """A spec resolved to a batch call."""

    name: str
    fingerprint: str
    kind: str  # reference, python, command, http
    call: Callable[[list[dict[str, Any]], CallOptions], list[Any]]
    close: Callable[[], None] = lambda: None

    def batches(self, todo: list[int], options: CallOptions) -> list[list[int]]:
        """Item positions per call: ``batch_size`` each; a command's ``concurrency`` shards."""
        if self.kind == "command":
            size = max(1, -(-len(todo) // max(1, options.concurrency)))
        else:
            size = max(1, options.batch_size)
        return [todo[i : i + size] for i in range(0, len(todo), size)]

    def workers(self, options: CallOptions) -> int:
        return 1 if self.kind in ("reference", "python") else max(1, options.concurrency)


@dataclass
class Answers:
    """Checked answers in request order, and what they cost."""

    recommendations: list[Recommendation]
    new: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (item sha256, patient, answer)
    asked: int = 0
    cached: int = 0
    calls: int = 0
    seconds: float = 0.0


def _digest(path: str | Path) -> str:
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _raises(target: Any, item: dict[str, Any]) -> bool:
    """Whether the recommender raises on ``item`` alone."""
    try:
        target.recommend([item])
    except Exception:
        return True
    return False


def _python_call(target: Any) -> Callable[[list[dict[str, Any]], CallOptions], list[Any]]:
    def call(batch: list[dict[str, Any]], options: CallOptions) -> list[Any]:
        try:
            return list(target.recommend(batch))
        except Exception as error:
            offset = next((i for i, item in enumerate(batch) if _raises(target, item)), 0)
            raise CallError(f"recommend raised {type(error).__name__}: {error}", offset=offset) from None

    return call


def import_recommender(spec: str) -> tuple[Any, str]:
    """The recommender object of a Python spec, and the sha256 of its source file."""
    module_name, _, object_path = spec.rpartition(":")
    if not module_name or not object_path:
        raise RecommenderError(f"recommender {spec}: expected reference:NAME, MODULE:OBJECT, path/to/file.py:OBJECT, "
                               "cmd:COMMAND or http://HOST:PORT/PATH")  # fmt: skip
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            loader = importlib.util.spec_from_file_location(f"oncobench_recommender_{path.stem}", path)
            if loader is None or not path.is_file():
                raise FileNotFoundError(f"no file {module_name}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
        target: Any = module
        for part in object_path.split("."):
            target = getattr(target, part)
    except Exception as error:
        raise RecommenderError(f"recommender {spec}: cannot load it: {type(error).__name__}: {error}") from None
    try:
        obj = target() if inspect.isclass(target) else target
    except Exception as error:
        raise RecommenderError(f"recommender {spec}: raised when created: {type(error).__name__}: {error}") from None
    if not callable(getattr(obj, "recommend", None)):
        raise RecommenderError(f"recommender {spec}: has no recommend(items) method")
    try:
        source = inspect.getsourcefile(target if inspect.isclass(target) else type(target))
    except TypeError:  # defined in a module loaded from its path, not registered in sys.modules
        source = None
    return obj, _digest(source or getattr(module, "__file__", None) or module_name)


class HttpClient:
    """POSTs batches to one URL over keep-alive connections, one per worker thread."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RecommenderError(f"recommender {url}: not an http(s)://HOST[:PORT]/PATH address")
        self.url, self.parts = url, parts
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.local = threading.local()
        self.opened: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(self.parts.hostname, self.parts.port, timeout=timeout)
            self.local.connection = connection
            with self.lock:
                self.opened.append(connection)
        return connection

    def _reset(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
        self.local.connection = None

    def call(self, batch: list[dict[str, Any]], options: CallOptions) -> list[Any]:
        body = json.dumps({"patients": batch}, allow_nan=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        try:
            connection = self._connection(options.timeout)
            connection.request("POST", self.path, body, headers)
            response = connection.getresponse()
            data = response.read()
        except TimeoutError:
            self._reset()
            raise CallError(f"no response within {options.timeout:g} s", retryable=True) from None
        except (OSError, http.client.HTTPException) as error:
            self._reset()
            raise CallError(f"{type(error).__name__}: {error}", retryable=True) from None
        excerpt = data[:200].decode("utf-8", "replace")
        if response.status == 429 or response.status >= 500:
            raise CallError(f"HTTP {response.status} {response.reason}: {excerpt}", retryable=True)
        if response.status != 200:
            raise CallError(f"HTTP {response.status} {response.reason}: {excerpt}")
        try:
            payload = json.loads(data)
        except ValueError as error:
            raise CallError(f"the response is not JSON ({error}): {excerpt!r}") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("recommendations"), list):
            raise CallError(f'the response is not {{"recommendations": [...]}}: {excerpt!r}')
        return payload["recommendations"]

    def close(self) -> None:
        with self.lock:
            for connection in self.opened:
                connection.close()
            self.opened.clear()


def _first_unanswered(batch: list[dict[str, Any]], answers: list[Any]) -> int:
    answered = {str(a.get("patient_id")) for a in answers if isinstance(a, dict)}
    return next((i for i, item in enumerate(batch) if item["patient_id"] not in answered), 0)


def _command_call(argv: list[str]) -> Callable[[list[dict[str, Any]], CallOptions], list[Any]]:
    def call(batch: list[dict[str, Any]], options: CallOptions) -> list[Any]:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, bufsize=1)  # fmt: skip
        except OSError as error:
            raise CallError(f"cannot start {argv[0]}: {error}") from None
        lines: queue.Queue[str | None] = queue.Queue()
        errors: list[str] = []

        def write() -> None:
            try:
                for item in batch:
                    process.stdin.write(json.dumps(item, allow_nan=False) + "\n")
                process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass

        def read() -> None:
            for line in process.stdout:
                lines.put(line)
            lines.put(None)

        def drain() -> None:
            errors.extend(process.stderr)

        threads = [threading.Thread(target=t, daemon=True) for t in (write, read, drain)]
        for thread in threads:
            thread.start()
        answers: list[Any] = []
        try:
            while len(answers) < len(batch):
                try:
                    line = lines.get(timeout=options.timeout)
                except queue.Empty:
                    raise CallError(f"no answer line within {options.timeout:g} s", retryable=True,
                                    offset=_first_unanswered(batch, answers)) from None  # fmt: skip
                if line is None:
                    status = process.wait()
                    tail = "".join(errors[-5:]).strip()[-300:]
                    raise CallError(f"the command ended (exit status {status}) after {len(answers)} of {len(batch)} "
                                    f"answers{': ' + tail if tail else ''}", retryable=status != 0,
                                    offset=_first_unanswered(batch, answers))  # fmt: skip
                if not line.strip():
                    continue
                try:
                    answers.append(json.loads(line))
                except ValueError:
                    raise CallError(f"answer line {len(answers) + 1} is not JSON: {line.strip()[:120]!r}",
                                    offset=_first_unanswered(batch, answers)) from None  # fmt: skip
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        return answers

    return call


def load_recommender(spec: str, seed: int = 0) -> LoadedRecommender:
    """Resolve a spec (see the module's docstring); an unknown or unloadable one raises a RecommenderError."""
    if spec.startswith(REFERENCE_PREFIX):
        from pipeline.recommenders import references, truth

        kind = spec.removeprefix(REFERENCE_PREFIX)
        if kind not in references.REFERENCES:
            raise RecommenderError(f"recommender {spec}: unknown reference; available: "
                                   + ", ".join(references.REFERENCES))  # fmt: skip
        target = references.reference_recommender(kind, seed)
        source = sys.modules[type(target).__module__].__file__  # the agent lives in its own module
        digest = _fingerprint(spec, str(seed), _digest(references.__file__), _digest(source), _digest(truth.__file__),
                              target.table.sha256)  # fmt: skip
        return LoadedRecommender(spec, digest, "reference", _python_call(target))
    if spec.startswith(COMMAND_PREFIX):
        argv = shlex.split(spec.removeprefix(COMMAND_PREFIX))
        if not argv:
            raise RecommenderError(f"recommender {spec}: no command after {COMMAND_PREFIX}")
        return LoadedRecommender(spec, _fingerprint(spec, *(_digest(a) for a in argv)), "command", _command_call(argv))
    if spec.startswith(HTTP_PREFIXES):
        client = HttpClient(spec)
        return LoadedRecommender(spec, _fingerprint(spec), "http", client.call, client.close)
    target, digest = import_recommender(spec)
    return LoadedRecommender(spec, _fingerprint(spec, digest), "python", _python_call(target))


def _run_batch(
    recommender: LoadedRecommender, batch: list[dict[str, Any]], table: GuidelineTable, options: CallOptions
) -> tuple[list[Recommendation], tuple[int, str] | None]:
    """(checked answers, (offset, problem) of the first failure) for one batch, retrying."""
    for attempt in range(options.retries + 1):
        try:
            raw = recommender.call(batch, options)
            break
        except CallError as error:
            if not error.retryable or attempt == options.retries:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                return [], (error.offset, f"{error}{tries}")
            time.sleep(options.backoff * 2**attempt)
    by_id: dict[str, Any] = {}
    for answer in raw:
        pid = str(answer.get("patient_id")) if isinstance(answer, dict) else None
        if pid is None:
            return [], (0, f"an answer is not an object with a patient_id: {str(answer)[:120]!r}")
        if pid in by_id:
            offset = next((i for i, item in enumerate(batch) if item["patient_id"] == pid), 0)
            return [], (offset, "two answers for this patient")
        by_id[pid] = answer
    checked: list[Recommendation] = []
    for offset, item in enumerate(batch):
        pid = item["patient_id"]
        if pid not in by_id:
            return [], (offset, "no answer for this patient")
        try:
            checked.append(parse_answer(by_id.pop(pid), pid, table))
        except ValueError as error:
            return [], (offset, str(error))
    if by_id:
        return [], (0, f"answers for patients not asked: {sorted(by_id)[:3]}")
    return checked, None


def recommend(
    recommender: LoadedRecommender,
    items: list[dict[str, Any]],
    table: GuidelineTable,
    options: CallOptions | None = None,
    cache: AnswerCache | None = None,
    where: str = "",
) -> Answers:
    """Checked answers for every item, from the cache where it holds them; a RecommenderError names the first
    failing patient (``where``: e.g. " of cohort colon")."""
    options = options or CallOptions()
    started = time.perf_counter()
    keys = [item_key(item) for item in items]
    cached = cache.lookup(recommender.fingerprint, keys) if cache is not None else {}
    found: dict[int, Recommendation] = {}
    for i, (item, key) in enumerate(zip(items, keys, strict=True)):
        if key in cached:
            with contextlib.suppress(ValueError):  # answered under an older vocabulary: ask again
                found[i] = parse_answer(cached[key], item["patient_id"], table)
    todo = [i for i in range(len(items)) if i not in found]
    batches = recommender.batches(todo, options)
    failures: list[tuple[int, str]] = []
    new: list[tuple[str, str, dict[str, Any]]] = []
    with ThreadPoolExecutor(recommender.workers(options)) as pool:
        futures = {pool.submit(_run_batch, recommender, [items[i] for i in b], table, options): b for b in batches}
        for future in as_completed(futures):
            if future.cancelled():
                continue
            batch = futures[future]
            checked, failure = future.result()
            if failure is not None:
                failures.append((batch[failure[0]], failure[1]))
                for other in futures:
                    other.cancel()
                continue
            for i, recommendation in zip(batch, checked, strict=True):
                found[i] = recommendation
                new.append((keys[i], recommendation.patient_id, recommendation.as_dict()))
    recommender.close()
    if failures:
        index, problem = min(failures)
        raise RecommenderError(f"recommender {recommender.name}: patient {items[index]['patient_id']}{where}: "
                               f"{problem}; nothing was scored or recorded")  # fmt: skip
    ordered = [found[i] for i in range(len(items))]
    return Answers(ordered, new, asked=len(todo), cached=len(items) - len(todo), calls=len(batches),
                   seconds=time.perf_counter() - started)  # fmt: skip
