"""Audit chain anchors kept in release manifests, outside the audit log they vouch for."""

from __future__ import annotations

from pathlib import Path

from pipeline.audit import Anchor, ChainProblem, parse_anchor
from pipeline.errors import OncoBenchError
from pipeline.release.manifest import MANIFEST, SEMVER
from pipeline.release.verify import load_manifest


def _anchor_in(directory: Path) -> Anchor | None:
    loaded = load_manifest(directory)
    return parse_anchor(loaded.data.get("audit"), f"release {loaded.version} ({directory / MANIFEST})")


def release_anchors(root: Path) -> tuple[list[Anchor], list[ChainProblem]]:
    """The anchor of every release folder under ``root``; unreadable manifests are reported, not trusted."""
    anchors, notes = [], []
    root = Path(root)
    if not root.is_dir():
        return anchors, notes
    for directory in sorted(p for p in root.iterdir() if SEMVER.match(p.name) and p.is_dir()):
        try:
            anchor = _anchor_in(directory)
        except OncoBenchError as error:
            notes.append(ChainProblem(None, f"cannot read the anchor of release {directory.name}: {error}"))
            continue
        if anchor is not None:
            anchors.append(anchor)
    return anchors, notes


def exported_anchor(exported: Path) -> Anchor | None:
    """The anchor of the release an exported ``audit_log.jsonl`` sits in (None outside a release)."""
    directory = Path(exported).parent
    if not (directory / MANIFEST).exists():
        return None
    return _anchor_in(directory)
