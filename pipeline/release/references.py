"""Where a release's ``manifest.json`` sha256 is recorded outside the release itself.

Three places: the ``meta`` block of ``<version>.dvc`` (committed and tagged with the release),
the annotated git tag's message, and the warehouse ``releases`` row. ``verify`` compares
``manifest.json`` with every reference it can find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pipeline.release.manifest import ReleaseError
from pipeline.release.verify import load_manifest, verify_release
from pipeline.warehouse import Warehouse

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reference:
    """A recorded manifest sha256 and where it was found."""

    source: str
    sha256: str


def read_dvc_meta(dvc_file: Path) -> dict[str, Any]:
    """The ``meta`` block of a ``.dvc`` file (empty when it has none); a broken file is a ReleaseError."""
    try:
        data = yaml.safe_load(dvc_file.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ReleaseError(f"{dvc_file}: cannot read the DVC file ({error})") from None
    meta = data.get("meta") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


def write_dvc_meta(dvc_file: Path, meta: dict[str, Any]) -> None:
    """Merge ``meta`` into the ``.dvc`` file's ``meta`` block (DVC keeps it on later ``dvc add``)."""
    data = yaml.safe_load(dvc_file.read_text()) or {}
    data["meta"] = {**(data.get("meta") or {}), **meta}
    temporary = dvc_file.with_name(f".{dvc_file.name}.tmp")
    temporary.write_text(yaml.safe_dump(data, sort_keys=False))
    temporary.replace(dvc_file)


def dvc_reference(dvc_file: Path) -> Reference | None:
    """The manifest sha256 recorded in a ``.dvc`` file, if any."""
    if not dvc_file.is_file():
        return None
    value = read_dvc_meta(dvc_file).get("manifest_sha256")
    if value is None:
        return None
    if not isinstance(value, str) or not SHA256.match(value):
        raise ReleaseError(f"{dvc_file}: meta.manifest_sha256 must be 64 hex digits, got {value!r}")
    return Reference(str(dvc_file), value)


def warehouse_reference(store: Warehouse, version: str) -> Reference | None:
    """The manifest sha256 recorded in the warehouse ``releases`` row of ``version``, if any."""
    if "releases" not in store.tables():
        return None
    rows = store.query("SELECT manifest_sha256 FROM releases WHERE version = ?", [version])
    if not rows.height:
        return None
    return Reference(f"{store.path} (releases row {version})", rows["manifest_sha256"][0])


def find_references(directory: Path, version: str, store: Warehouse | None) -> list[Reference]:
    """Every recorded manifest sha256 for the release in ``directory`` (claimed ``version``)."""
    found = [dvc_reference(directory.parent / f"{directory.name}.dvc")]
    if store is not None:
        found.append(warehouse_reference(store, version))
    return [r for r in found if r is not None]


def tag_message(version: str, manifest_sha256: str) -> str:
    """The annotated git tag message of a release: it records the manifest sha256."""
    return f"OncoBench release {version}; manifest.json sha256 {manifest_sha256}"


@dataclass(frozen=True)
class ReleaseCheck:
    """A release folder checked file by file and its manifest against every reference found."""

    manifest: dict[str, Any]
    sha256: str
    references: list[Reference]
    problems: list[str]


def check_release(
    directory: Path | str, store: Warehouse | None = None, extra: tuple[Reference, ...] = ()
) -> ReleaseCheck:
    """The one release check of ``verify``, evaluation and any reader: every file against ``manifest.json``
    and ``manifest.json``'s sha256 against the ``.dvc`` file beside it, the warehouse row and ``extra``."""
    directory = Path(directory)
    loaded = load_manifest(directory)
    usable = store if store is not None and store.path.exists() else None
    references = [*find_references(directory, loaded.version, usable), *extra]
    problems = verify_release(directory)
    problems += [f"manifest.json: sha256 {loaded.sha256} does not match {r.sha256} recorded in {r.source} (edited)"
                 for r in references if r.sha256 != loaded.sha256]  # fmt: skip
    return ReleaseCheck(loaded.data, loaded.sha256, references, problems)
