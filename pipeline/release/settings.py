"""The next release's settings, from the versioned ``config/release.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from pipeline.release.manifest import ReleaseError, check_version
from pipeline.settings import default_config

DEFAULT_RELEASE_CONFIG = default_config("release")


@dataclass(frozen=True)
class ReleaseSettings:
    version: str
    synthesizer: str = "flow"
    test_fraction: float = 0.2
    seed: int = 0
    dvc_track: bool = True


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
    settings = ReleaseSettings(**{**raw, "version": str(raw["version"])})
    check_version(settings.version)
    return settings
