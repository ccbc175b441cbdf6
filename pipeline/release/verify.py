"""Check a release directory against its manifest: every file present, intact, nothing extra."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.release.manifest import MANIFEST, ReleaseError, sha256_file


def verify_release(directory: Path) -> list[str]:
    """Problems found, each naming a file; empty when the release is intact."""
    manifest_path = Path(directory) / MANIFEST
    if not manifest_path.exists():
        raise ReleaseError(f"{directory} is not a release: {MANIFEST} is missing")
    manifest = json.loads(manifest_path.read_text())
    problems = []
    listed = set()
    for entry in manifest["files"]:
        path = Path(directory) / entry["path"]
        listed.add(entry["path"])
        if not path.exists():
            problems.append(f"{entry['path']}: missing")
        elif path.stat().st_size != entry["bytes"] or sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['path']}: sha256 does not match the manifest (changed or corrupt)")
    for path in sorted(Path(directory).rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and relative != MANIFEST and relative not in listed:
            problems.append(f"{relative}: not in the manifest")
    return problems
