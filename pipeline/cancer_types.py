"""OncoTree codes by tissue and main type (``config/oncotree_tissues.yaml``), for plausibility rules.

A rule names tissues or main types; :meth:`CancerTypeTable.select` turns them into the codes of a
versioned table, so a rule fires for every code of an organ and never for a code it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipeline.errors import OncoBenchError
from pipeline.settings import CONFIG_DIR

DEFAULT_TABLE = CONFIG_DIR / "oncotree_tissues.yaml"
SECTIONS = ("oncotree", "retired", "aliases")  # the first section listing a code wins
CODE = re.compile(r"^[A-Z][A-Z0-9_/-]*$")  # OncoTree codes, some with '/' or '-' (MDS/MPN, HCL-V)


class CancerTypeError(OncoBenchError):
    """The cancer-type table is malformed, or a selection names what it does not hold."""


@dataclass(frozen=True)
class CancerType:
    """One code: its main type and tissue, and the section of the table it comes from."""

    code: str
    main_type: str
    tissue: str
    section: str


@dataclass(frozen=True)
class CancerTypeTable:
    """The table's codes, its version and source."""

    path: Path
    version: str
    source: str
    types: dict[str, CancerType]

    def tissues(self) -> set[str]:
        return {t.tissue for t in self.types.values()}

    def main_types(self) -> set[str]:
        return {t.main_type for t in self.types.values()}

    def select(
        self, tissues: Iterable[str] = (), main_types: Iterable[str] = (), exclude: Iterable[str] = ()
    ) -> tuple[str, ...]:
        """Codes of any of ``tissues`` or ``main_types``, less ``exclude``; names it lacks raise."""
        tissues, main_types, exclude = set(tissues), set(main_types), set(exclude)
        for kind, asked, known in (
            ("tissue", tissues, self.tissues()),
            ("main type", main_types, self.main_types()),
            ("code", exclude, set(self.types)),
        ):
            if asked - known:
                raise CancerTypeError(
                    f"{self.path}: no {kind} {sorted(asked - known)} in the table; it has {sorted(known)}"
                )
        picked = [
            t.code
            for t in self.types.values()
            if (t.tissue in tissues or t.main_type in main_types) and t.code not in exclude
        ]
        return tuple(sorted(picked))


@cache
def load_cancer_types(path: Path | str | None = None) -> CancerTypeTable:
    """Read the table (default: ``config/oncotree_tissues.yaml``)."""
    path = Path(path or DEFAULT_TABLE)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise CancerTypeError(f"cannot read the cancer-type table {path}: {error}") from None
    if not isinstance(raw, dict) or not raw.get("version") or not raw.get("source"):
        raise CancerTypeError(f"{path}: not a cancer-type table (YAML with version, source and `oncotree:`)")
    types: dict[str, CancerType] = {}
    for section in SECTIONS:
        seen: set[str] = set()
        for tissue, by_main_type in (raw.get(section) or {}).items():
            for main_type, codes in (by_main_type or {}).items():
                for code in codes or []:
                    if not isinstance(code, str) or not CODE.match(code):
                        raise CancerTypeError(f"{path}: {code!r} in `{section}` is not an OncoTree code")
                    if code in seen:
                        raise CancerTypeError(f"{path}: code {code!r} is listed twice in `{section}`")
                    seen.add(code)
                    types.setdefault(code, CancerType(code, str(main_type), str(tissue), section))
    unknown = set(raw.get("ambiguous") or {}) - set(types)
    if unknown:
        raise CancerTypeError(f"{path}: ambiguous codes {sorted(unknown)} are not in the table")
    return CancerTypeTable(path, str(raw["version"]), " ".join(str(raw["source"]).split()), types)
