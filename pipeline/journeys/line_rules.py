"""The line-of-therapy rules file (``config/lines_of_therapy.yaml``): parameters per cancer type."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.settings import CONFIG_DIR
from pipeline.vocabularies import oncotree_codes

LINE_RULES = CONFIG_DIR / "lines_of_therapy.yaml"
_PROFILE_KEYS = {"main_types", "codes", "window_days", "gap_days", "substitutions", "switch_maintenance"}


@dataclass(frozen=True)
class LineRules:
    """The parameters lines are derived with for one cancer type."""

    name: str  # "<profile>@<version>"
    window_days: int
    gap_days: int
    substitutions: tuple[frozenset[str], ...]  # groups of interchangeable drugs
    switch_maintenance: frozenset[str]

    def substitutes(self, agent: str, given: set[str]) -> bool:
        """``agent`` replaces a drug of ``given`` of its substitution group."""
        return any(agent in group and group & given for group in self.substitutions)


@dataclass(frozen=True)
class LineRuleBook:
    """Every profile of the rules file; :meth:`for_cancer` picks one by OncoTree code."""

    version: str
    default: LineRules
    profiles: tuple[tuple[frozenset[str], frozenset[str], LineRules], ...]  # (codes, main types, rules)

    def for_cancer(self, code: str | None) -> LineRules:
        main_type = oncotree_codes().get(code or "", ("", ""))[0]
        for codes, main_types, rules in self.profiles:
            if code in codes or main_type in main_types:
                return rules
        return self.default


def _positive(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"lines_of_therapy: {what} must be a whole number of days >= 0, not {value!r}")
    return value


def _rules(name: str, spec: dict[str, Any], base: LineRules | None) -> LineRules:
    unknown = set(spec) - _PROFILE_KEYS
    if unknown:
        raise ValueError(f"lines_of_therapy: {name}: unknown keys {sorted(unknown)}; allowed {sorted(_PROFILE_KEYS)}")
    groups = [frozenset(g) for g in (spec.get("substitutions") or {}).values()]
    maintenance = frozenset(spec.get("switch_maintenance") or ())
    return LineRules(
        name=name,
        window_days=_positive(spec.get("window_days", base.window_days if base else 28), f"{name}: window_days"),
        gap_days=_positive(spec.get("gap_days", base.gap_days if base else 180), f"{name}: gap_days"),
        substitutions=(*(base.substitutions if base else ()), *groups),
        switch_maintenance=maintenance | (base.switch_maintenance if base else frozenset()),
    )


def parse_line_rules(raw: dict[str, Any]) -> LineRuleBook:
    """The rule book of a parsed rules file; unknown keys and negative days are refused."""
    version = str(raw.get("version") or "")
    if not version:
        raise ValueError("lines_of_therapy: the rules file needs a version")
    default = _rules(f"default@{version}", raw.get("defaults") or {}, None)
    profiles = tuple(
        (frozenset(spec.get("codes") or ()), frozenset(spec.get("main_types") or ()),
         _rules(f"{name}@{version}", spec, default))
        for name, spec in (raw.get("profiles") or {}).items()
    )  # fmt: skip
    return LineRuleBook(version, default, profiles)


@cache
def load_line_rules(path: Path = LINE_RULES) -> LineRuleBook:
    """The parsed rules file (default: ``config/lines_of_therapy.yaml``)."""
    return parse_line_rules(yaml.safe_load(Path(path).read_text()) or {})
