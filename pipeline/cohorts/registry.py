"""The cohort registry: a version-controlled YAML file, one entry per cohort.

Adding a cohort is adding an entry; the Dagster partitions follow this file.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.cohorts.spec import CohortSpec
from pipeline.errors import RegistryError
from pipeline.schema import CORE_COLUMNS, PROTECTED_COLUMNS
from pipeline.settings import default_config

SCHEMA_NAMES = frozenset(c.name for c in CORE_COLUMNS)

SOURCE_KINDS = ("survset", "cbioportal", "table")
DEFAULT_REGISTRY = default_config("registry")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_ENTRY_KEYS = {"description", "source", "spec", "protected", "causal_graph", "options", "public"}


@dataclass(frozen=True)
class CohortEntry:
    """One registered cohort: where it comes from and how it maps onto the schema."""

    name: str
    kind: str
    location: str
    description: str = ""
    spec: CohortSpec = field(default_factory=CohortSpec)
    protected: tuple[str, ...] = ()
    causal_graph: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # parent -> direct children
    options: Mapping[str, Any] = field(default_factory=dict)
    # A public source (its ids are published) may use the public default salt; others get a
    # private random salt. SurvSet datasets are public; other kinds must say `public: true`.
    public: bool = False

    def descendants(self, column: str) -> list[str]:
        """Every column the causal graph says depends on ``column``, directly or not."""
        found: list[str] = []
        stack = list(self.causal_graph.get(column, ()))
        while stack:
            child = stack.pop(0)
            if child not in found:
                found.append(child)
                stack.extend(self.causal_graph.get(child, ()))
        return found


@dataclass(frozen=True)
class CohortRegistry:
    """All registered cohorts, in file order."""

    path: Path
    entries: tuple[CohortEntry, ...]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def get(self, name: str) -> CohortEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise RegistryError(f"no cohort {name!r} in {self.path}; registered: {self.names}")


def load_registry(path: Path | None = None) -> CohortRegistry:
    """Parse and validate the registry file."""
    path = Path(path) if path else DEFAULT_REGISTRY
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"cannot read cohort registry {path}: {exc}") from exc
    cohorts = (raw or {}).get("cohorts")
    if not isinstance(cohorts, dict) or not cohorts:
        raise RegistryError(f"{path}: expected a non-empty 'cohorts:' mapping")
    entries = tuple(_parse_entry(name, body or {}, path) for name, body in cohorts.items())
    return CohortRegistry(path=path, entries=entries)


def _parse_entry(name: str, body: Mapping[str, Any], path: Path) -> CohortEntry:
    where = f"{path}: cohort {name!r}"
    if not _NAME.match(str(name)):
        raise RegistryError(f"{where}: names are lower_snake_case, starting with a letter")
    unknown = set(body) - _ENTRY_KEYS
    if unknown:
        raise RegistryError(f"{where}: unknown keys {sorted(unknown)}")
    source = body.get("source") or {}
    kind = source.get("kind")
    if kind not in SOURCE_KINDS:
        raise RegistryError(f"{where}: source.kind must be one of {SOURCE_KINDS}, got {kind!r}")
    location = source.get("dataset") if kind == "survset" else source.get("path")
    if not location:
        key = "dataset" if kind == "survset" else "path"
        raise RegistryError(f"{where}: source.{key} is required for kind {kind!r}")
    if kind != "survset" and not Path(location).is_absolute():
        location = str((path.parent / location).resolve())
    protected = tuple(body.get("protected") or ())
    bad = [p for p in protected if not _NAME.match(str(p))]
    if bad:
        raise RegistryError(
            f"{where}: protected attributes {bad} must be harmonized column names, e.g. {list(PROTECTED_COLUMNS)}"
        )
    spec = CohortSpec.from_dict(body.get("spec") or {}, origin=where)
    return CohortEntry(
        name=name,
        kind=kind,
        location=str(location),
        description=str(body.get("description", "")).strip(),
        spec=spec,
        protected=protected,
        causal_graph=_causal_graph(body.get("causal_graph") or {}, known={*SCHEMA_NAMES, *spec.columns}, where=where),
        options=dict(body.get("options") or {}),
        public=bool(body.get("public", kind == "survset")),
    )


def _causal_graph(raw: Any, *, known: set[str], where: str) -> dict[str, tuple[str, ...]]:
    """``parent: [children]`` edges; every node a known column, no cycles."""
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: causal_graph maps a column to the list of columns that depend on it")
    graph = {str(parent): tuple(str(c) for c in (children or ())) for parent, children in raw.items()}
    unknown = sorted({n for parent, children in graph.items() for n in (parent, *children)} - known)
    if unknown:
        raise RegistryError(f"{where}: causal_graph names unknown columns {unknown}")
    try:
        tuple(graphlib.TopologicalSorter({c: {p for p, cs in graph.items() if c in cs} for c in known}).static_order())
    except graphlib.CycleError as error:
        raise RegistryError(f"{where}: causal_graph has a cycle: {' -> '.join(error.args[1])}") from None
    return graph
