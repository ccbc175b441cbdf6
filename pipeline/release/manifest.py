"""What a manifest records: file hashes and row counts, package versions, code revision."""

from __future__ import annotations

import hashlib
import re
import subprocess
from importlib import metadata
from pathlib import Path

import polars as pl

from pipeline.errors import OncoBenchError

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
PACKAGES = ("oncobench", "dagster", "polars", "duckdb", "sdv", "ctgan", "torch", "zuko", "great-expectations", "dvc",
            "sdmetrics", "scikit-learn", "lifelines", "fairlearn", "anonymeter")  # fmt: skip
MANIFEST = "manifest.json"


class ReleaseError(OncoBenchError):
    """A release cannot be written or does not verify; names the version, cohort or file."""


def check_version(version: str) -> str:
    """A semantic version such as 1.2.0 (optionally with a pre-release suffix)."""
    if not SEMVER.match(version):
        raise ReleaseError(f"release version {version!r} is not a semantic version such as 1.0.0")
    return version


def version_key(version: str) -> tuple | None:
    """Semantic Versioning precedence (semver.org, item 11) as a sortable key; None for a non-version.
    A pre-release sorts before its release; its identifiers compare numerically when both are numbers,
    numbers before words, and a longer list of equal identifiers after a shorter one."""
    found = SEMVER.match(version)
    if found is None:
        return None
    core = tuple(int(part) for part in found.groups()[:3])
    if found.group(4) is None:
        return (core, 1, ())
    identifiers = tuple((0, int(i), "") if i.isdigit() else (1, 0, i) for i in found.group(4)[1:].split("."))
    return (core, 0, identifiers)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: Path, root: Path) -> dict[str, object]:
    """Relative path, sha256, bytes, and rows for Parquet files."""
    entry: dict[str, object] = {"path": path.relative_to(root).as_posix(), "sha256": sha256_file(path),
                                "bytes": path.stat().st_size}  # fmt: skip
    if path.suffix == ".parquet":
        entry["rows"] = pl.scan_parquet(path).select(pl.len()).collect().item()
    return entry


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def code_revision(root: Path) -> str:
    """The git commit of the code (with ``-dirty`` when files changed), or ``unknown``."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")
