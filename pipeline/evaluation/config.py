"""Evaluation settings and finding thresholds from the versioned ``config/evaluation.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TypeVar

import yaml

from pipeline.evaluation.errors import EvaluationError
from pipeline.settings import default_config

DEFAULT_EVALUATION_CONFIG = default_config("evaluation")
WHEN = ("value", "ci_low", "ci_high")  # accepted for older config files; findings are judged on the interval
CLINICAL_ATTRIBUTES = ("age*",)  # default patterns of protected attributes a clinical model may use
VALUE_SCORES = ("adversarial.change", "recommendations.contraindicated")  # a search result, a count of cases:
# not estimates, judged on their value


T = TypeVar("T")


@dataclass(frozen=True)
class EvaluationSettings:
    """Seeds, bootstrap sizes and search budgets; see ``config/evaluation.yaml``."""

    seed: int = 0
    bootstrap: int = 200
    bootstrap_small: int = 100
    min_group_rows: int = 30
    min_group_events: int = 10
    max_cases: int = 10
    adversarial_patients: int = 5
    adversarial_budget: int = 300
    proxy_nmi: float = 0.5
    survival_bins: int = 20
    explain_rows: int = 100  # test rows explained (seeded sample); 0: no explanations
    explain_background: int = 50  # train rows whose values stand in for a masked feature
    explain_draws: int = 10  # background rows (each with its own feature order) per explained row
    explain_top_k: int = 5  # "top features": the k of largest mean |attribution|
    emissions_country: str = "DEU"  # ISO 3166 alpha-3 of the grid for codecarbon (offline); empty: not measured


@dataclass(frozen=True)
class FindingRule:
    """One score against a bound [min, max], judged on its 95% interval (see ``pipeline/evaluation/findings.py``).

    ``when`` is kept for config files written before findings had verdicts; it no longer changes the judgment.
    """

    id: str
    score: str
    why: str
    minimum: float | None = None
    maximum: float | None = None
    when: str = "value"

    def beyond(self, x: float) -> bool:
        """True when ``x`` lies outside the bounds."""
        return (self.maximum is not None and x > self.maximum) or (self.minimum is not None and x < self.minimum)

    def within(self, low: float, high: float) -> bool:
        """True when the whole interval [low, high] lies within the bounds."""
        return (self.maximum is None or high <= self.maximum) and (self.minimum is None or low >= self.minimum)

    def describe(self) -> str:
        """The rule in one line, e.g. ``subgroups.gap <= 0.1 (95% interval)``."""
        bounds = ([f">= {self.minimum:g}"] if self.minimum is not None else []) + (
            [f"<= {self.maximum:g}"] if self.maximum is not None else []
        )
        judged = "value" if self.score in VALUE_SCORES else "95% interval"
        return f"{self.score} {' and '.join(bounds)} ({judged})"


@dataclass(frozen=True)
class EvaluationConfig:
    """The parsed config file."""

    path: Path
    version: str
    settings: EvaluationSettings
    findings: tuple[FindingRule, ...]
    clinical_attributes: tuple[str, ...] = CLINICAL_ATTRIBUTES

    def clinical(self, attributes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """The protected ``attributes`` a clinical model may use (they match a ``clinical_attributes`` pattern)."""
        return tuple(a for a in attributes if any(fnmatchcase(a, p) for p in self.clinical_attributes))


def load_evaluation_config(path: Path | str | None = None) -> EvaluationConfig:
    """Read ``path`` (default: ``config/evaluation.yaml``); a malformed file names the key."""
    path = Path(path or DEFAULT_EVALUATION_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"cannot read evaluation config {path}: {error}") from None
    if not isinstance(raw, dict) or "version" not in raw:
        raise EvaluationError(f"{path}: needs a mapping with 'version', 'settings' and 'findings'")
    parsed = parse_settings(EvaluationSettings, raw.get("settings"), path, EvaluationError)
    rules = parse_findings(raw.get("findings"), path)
    clinical = raw.get("clinical_attributes", [])  # a file written before 1.3.0 exempts nothing, as it did
    if not isinstance(clinical, list) or not all(isinstance(c, str) and c for c in clinical):
        raise EvaluationError(f"{path}: clinical_attributes must be a list of column-name patterns, got {clinical!r}")
    return EvaluationConfig(path=path, version=str(raw["version"]), settings=parsed, findings=rules,
                            clinical_attributes=tuple(clinical))  # fmt: skip


def parse_settings(kind: type[T], settings: object, path: Path, error: type[Exception]) -> T:
    """The ``settings:`` mapping of a config file as ``kind`` (a dataclass of float, int and str fields);
    an unknown key or a value of the wrong type raises ``error`` naming it."""
    known = {f.name: f.type for f in fields(kind)}
    settings = settings or {}
    if not isinstance(settings, dict):
        raise error(f"{path}: settings must be a mapping, got {settings!r}")
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise error(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    cast = {"float": float, "int": int, "str": lambda v: "" if v is None else str(v)}
    try:
        return kind(**{k: cast[known[k]](v) for k, v in settings.items()})
    except (TypeError, ValueError) as problem:
        raise error(f"{path}: settings: {problem}") from None


def parse_findings(items: object, path: Path) -> tuple[FindingRule, ...]:
    """The ``findings:`` list of a config file as rules; a malformed one names the finding."""
    rules, seen = [], set()
    for i, item in enumerate(items or []):
        if not isinstance(item, dict) or not item.get("id") or not item.get("score"):
            raise EvaluationError(f"{path}: finding #{i + 1} needs 'id' and 'score', got {item!r}")
        if item["id"] in seen:
            raise EvaluationError(f"{path}: finding id {item['id']!r} is used twice")
        if item.get("when", "value") not in WHEN:
            raise EvaluationError(f"{path}: finding {item['id']!r}: 'when' must be one of {WHEN}")
        if item.get("min") is None and item.get("max") is None:
            raise EvaluationError(f"{path}: finding {item['id']!r} needs 'min' or 'max'")
        seen.add(item["id"])
        rules.append(
            FindingRule(
                id=str(item["id"]),
                score=str(item["score"]),
                why=" ".join(str(item.get("why", "")).split()),
                minimum=None if item.get("min") is None else float(item["min"]),
                maximum=None if item.get("max") is None else float(item["max"]),
                when=str(item.get("when", "value")),
            )
        )
    return tuple(rules)
