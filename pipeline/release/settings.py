"""The next release's settings, from the versioned ``config/release.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from pipeline.release.manifest import ReleaseError, check_version
from pipeline.release.tasks import TaskRules
from pipeline.settings import default_config

DEFAULT_RELEASE_CONFIG = default_config("release")


@dataclass(frozen=True)
class ReleaseSettings:
    version: str
    synthesizer: str = "flow"
    test_fraction: float = 0.2
    seed: int = 0
    dvc_track: bool = True
    tasks: TaskRules = field(default_factory=TaskRules)


def task_rules(raw: Any, where: Path | str) -> TaskRules:
    """The ``tasks:`` mapping as :class:`TaskRules` (defaults for missing keys); unknown keys and bad values refused."""
    if raw is None:
        return TaskRules()
    known = {f.name for f in fields(TaskRules)}
    if not isinstance(raw, dict) or set(raw) - known:
        unknown = sorted(set(raw) - known) if isinstance(raw, dict) else raw
        raise ReleaseError(f"{where}: tasks: unknown keys {unknown}; known: {sorted(known)}")
    values = dict(raw)
    try:
        if "horizons" in values:
            if not isinstance(values["horizons"], list):
                raise TypeError(f"horizons must be a list of months, got {values['horizons']!r}")
            values["horizons"] = tuple(sorted(float(h) for h in values["horizons"]))
        rules = TaskRules(**values)
        valid = (
            rules.horizons and all(h > 0 for h in rules.horizons) and 0 <= rules.min_event_share < 0.5
            and 0 <= rules.min_known_share <= 1 and int(rules.max_binary) >= 0 and int(rules.min_events) >= 0
            and float(rules.max_factor) >= 1 and float(rules.margin) >= 1
        )  # fmt: skip
    except (TypeError, ValueError) as error:
        raise ReleaseError(f"{where}: tasks: {error}") from None
    if not valid:
        raise ReleaseError(
            f"{where}: tasks: horizons must be positive months, 0 <= min_event_share < 0.5, 0 <= min_known_share "
            "<= 1, max_binary and min_events >= 0, max_factor and margin >= 1"
        )
    return rules


def load_release_settings(path: Path | str | None = None) -> ReleaseSettings:
    """Read ``path`` (default: ``config/release.yaml``); the version must be semantic."""
    path = Path(path or DEFAULT_RELEASE_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ReleaseError(f"cannot read release config {path}: {error}") from None
    known = {f.name for f in fields(ReleaseSettings)}
    unknown = sorted(set(raw) - known)
    if unknown or "version" not in raw:
        raise ReleaseError(f"{path}: needs 'version'; unknown keys {unknown}; known: {sorted(known)}")
    settings = ReleaseSettings(**{**raw, "version": str(raw["version"]), "tasks": task_rules(raw.get("tasks"), path)})
    check_version(settings.version)
    return settings
