"""The journal of a release commit: which steps are planned, which are done, which failed.

One JSON file per version under ``<releases>/.journal/`` (a directory that ignores itself in
git), rewritten atomically after every step. A release is complete only when every planned
step is recorded as done; ``oncobench list`` shows the others as incomplete, naming the steps
that remain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.io import write_text_atomic
from pipeline.release.manifest import ReleaseError

JOURNAL_DIR = ".journal"
STEPS = ("build", "record", "audit", "dvc_add", "dvc_push")
LOCAL_STEPS = STEPS[:3]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def journal_dir(root: Path) -> Path:
    folder = Path(root) / JOURNAL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")  # local state, never versioned
    return folder


def journal_path(root: Path, version: str) -> Path:
    return Path(root) / JOURNAL_DIR / f"{version}.json"


@dataclass
class Journal:
    """Planned and completed steps of one release commit."""

    path: Path
    version: str
    plan: list[str]
    done: dict[str, str] = field(default_factory=dict)
    manifest_sha256: str | None = None
    started_at: str = field(default_factory=_now)
    failure: dict[str, str] | None = None

    @property
    def remaining(self) -> list[str]:
        return [step for step in self.plan if step not in self.done]

    @property
    def complete(self) -> bool:
        return not self.remaining

    def status(self) -> str:
        return "complete" if self.complete else "incomplete: missing " + ", ".join(self.remaining)

    def plan_also(self, steps: list[str]) -> None:
        """Add planned steps (kept in commit order)."""
        wanted = set(self.plan) | set(steps)
        self.plan = [s for s in STEPS if s in wanted]

    def mark(self, step: str, **extra: Any) -> None:
        self.done[step] = _now()
        for key, value in extra.items():
            setattr(self, key, value)
        self.failure = None
        self.save()

    def fail(self, step: str, error: BaseException) -> None:
        self.failure = {"step": step, "error": f"{type(error).__name__}: {error}", "at": _now()}
        self.save()

    def save(self) -> None:
        journal_dir(self.path.parent.parent)
        body = {
            "version": self.version,
            "plan": self.plan,
            "done": self.done,
            "manifest_sha256": self.manifest_sha256,
            "started_at": self.started_at,
            "failure": self.failure,
        }
        write_text_atomic(json.dumps(body, indent=2, sort_keys=True) + "\n", self.path)

    @classmethod
    def start(cls, root: Path, version: str, plan: list[str]) -> Journal:
        journal = cls(journal_path(root, version), version, [s for s in STEPS if s in plan])
        journal.save()
        return journal

    @classmethod
    def load(cls, root: Path, version: str) -> Journal | None:
        """The journal of ``version``, None when there is none; a broken one is a ReleaseError naming it."""
        path = journal_path(root, version)
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
            journal = cls(path, raw["version"], list(raw["plan"]), dict(raw["done"]), raw.get("manifest_sha256"),
                          raw.get("started_at") or _now(), raw.get("failure"))  # fmt: skip
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            raise ReleaseError(f"{path}: the release journal is unreadable ({error}); fix or remove it") from None
        unknown = [s for s in [*journal.plan, *journal.done] if s not in STEPS]
        if journal.version != version or unknown:
            raise ReleaseError(f"{path}: journal of {journal.version!r}, steps unknown {unknown}; expected {version}")
        return journal


def read_journals(root: Path) -> dict[str, Journal]:
    """Every release journal under ``root`` by version (unreadable ones raise ReleaseError)."""
    folder = Path(root) / JOURNAL_DIR
    if not folder.is_dir():
        return {}
    journals = {}
    for path in sorted(folder.glob("*.json")):
        journal = Journal.load(Path(root), path.stem)
        if journal is not None:
            journals[journal.version] = journal
    return journals
