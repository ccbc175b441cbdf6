"""Check a release directory against its manifest, and the manifest against a reference hash.

Nothing in the directory is trusted: the manifest is parsed as untrusted JSON (a broken one is a
:class:`ReleaseError` naming the file and entry), every path it lists must stay inside the
release (see :mod:`pipeline.release.confine`), sizes are compared before hashing, and
``manifest.json`` itself is covered by a sha256 recorded outside the release (the ``.dvc``
file and git tag, the warehouse ``releases`` row, or ``--manifest-sha256``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.release.confine import RefusedPath, open_member, read_member, sha256_descriptor, size_of, walk_tree
from pipeline.release.manifest import MANIFEST, ReleaseError

MAX_MANIFEST_BYTES = 64 << 20
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class LoadedManifest:
    """A parsed manifest and the sha256 of its bytes as read."""

    data: dict[str, Any]
    sha256: str

    @property
    def version(self) -> str:
        return self.data["release"]


def load_manifest(directory: Path | str) -> LoadedManifest:
    """Read and check the shape of ``directory/manifest.json``; raise ReleaseError naming what is wrong."""
    directory = Path(directory)
    where = directory / MANIFEST
    if not directory.is_dir():
        raise ReleaseError(f"{directory} is not a release directory")
    try:
        raw = read_member(directory.resolve(), MANIFEST, MAX_MANIFEST_BYTES)
    except RefusedPath as refused:
        raise ReleaseError(f"{where}: {refused}; {directory} is not a readable release") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReleaseError(f"{where}: not valid JSON ({error})") from None
    _check_shape(data, where)
    return LoadedManifest(data, hashlib.sha256(raw).hexdigest())


def _check_shape(data: object, where: Path) -> None:
    if not isinstance(data, dict):
        raise ReleaseError(f"{where}: must be a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("release"), str):
        raise ReleaseError(f"{where}: 'release' must be a version string, got {data.get('release')!r}")
    files = data.get("files")
    if not isinstance(files, list):
        raise ReleaseError(f"{where}: 'files' must be a list, got {type(files).__name__}")
    for index, entry in enumerate(files):
        if not isinstance(entry, dict):
            raise ReleaseError(f"{where}: files entry {index} must be an object, got {entry!r}")
        name = entry.get("path")
        if not isinstance(name, str):
            raise ReleaseError(f"{where}: files entry {index}: 'path' must be a string, got {name!r}")
        digest, size = entry.get("sha256"), entry.get("bytes")
        if not isinstance(digest, str) or not SHA256.match(digest):
            raise ReleaseError(f"{where}: files entry {index} ({name!r}): 'sha256' is not 64 hex digits: {digest!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ReleaseError(f"{where}: files entry {index} ({name!r}): 'bytes' must be a size >= 0, got {size!r}")


def _check_entry(root: Path, entry: dict[str, Any]) -> str | None:
    with open_member(root, entry["path"]) as descriptor:
        size = size_of(descriptor)
        if size != entry["bytes"]:
            return f"size {size} bytes, the manifest says {entry['bytes']} (changed or corrupt)"
        if sha256_descriptor(descriptor, size) != entry["sha256"]:
            return "sha256 does not match the manifest (changed or corrupt)"
    return None


def verify_release(
    directory: Path | str, manifest_sha256: str | None = None, reference: str = "reference"
) -> list[str]:
    """Problems found, each naming a file; empty when the release is intact.

    ``manifest_sha256`` (from ``reference``) covers ``manifest.json`` itself; without it only the
    files listed in the manifest are checked.
    """
    directory = Path(directory)
    loaded = load_manifest(directory)
    root = directory.resolve()
    problems = []
    if manifest_sha256 is not None and loaded.sha256 != manifest_sha256:
        problems.append(
            f"{MANIFEST}: sha256 {loaded.sha256} does not match {manifest_sha256} recorded in {reference} (edited)"
        )
    listed: set[str] = set()
    for entry in loaded.data["files"]:
        name = entry["path"]
        if name in listed or name == MANIFEST:
            problems.append(f"{name}: listed twice in the manifest")
            continue
        listed.add(name)
        try:
            problem = _check_entry(root, entry)
        except RefusedPath as refused:
            problem = str(refused)
        if problem:
            problems.append(f"{name}: {problem}")
    for name, problem in walk_tree(root):
        if problem and name not in listed:
            problems.append(f"{name}: {problem}")
        elif problem is None and name != MANIFEST and name not in listed:
            problems.append(f"{name}: not in the manifest")
    return problems
