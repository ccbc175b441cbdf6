"""Evaluation settings and finding thresholds from the versioned ``config/evaluation.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from pipeline.evaluation.errors import EvaluationError
from pipeline.settings import default_config

DEFAULT_EVALUATION_CONFIG = default_config("evaluation")
WHEN = ("value", "ci_low", "ci_high")


@dataclass(frozen=True)
class EvaluationSettings:
    """Seeds, bootstrap sizes and search budgets; see ``config/evaluation.yaml``."""

    seed: int = 0
    bootstrap: int = 200
    bootstrap_small: int = 100
    min_group_rows: int = 30
    max_cases: int = 10
    adversarial_patients: int = 5
    adversarial_budget: int = 300
    proxy_nmi: float = 0.5
    survival_bins: int = 20
    emissions_country: str = "DEU"  # ISO 3166 alpha-3 of the grid for codecarbon (offline); empty: not measured


@dataclass(frozen=True)
class FindingRule:
    """One score against a bound: a finding when the chosen statistic leaves [min, max]."""

    id: str
    score: str
    why: str
    minimum: float | None = None
    maximum: float | None = None
    when: str = "value"

    def breached(self, value: float | None, ci_low: float | None = None, ci_high: float | None = None) -> bool:
        """True when the statistic named by ``when`` is known and outside the bounds."""
        statistic = {"value": value, "ci_low": ci_low, "ci_high": ci_high}[self.when]
        if statistic is None or statistic != statistic:  # unknown or NaN: nothing to judge
            return False
        too_high = self.maximum is not None and statistic > self.maximum
        too_low = self.minimum is not None and statistic < self.minimum
        return too_high or too_low

    def describe(self) -> str:
        bounds = ([f">= {self.minimum:g}"] if self.minimum is not None else []) + (
            [f"<= {self.maximum:g}"] if self.maximum is not None else []
        )
        return f"{self.score} ({self.when}) {' and '.join(bounds)}"


@dataclass(frozen=True)
class EvaluationConfig:
    """The parsed config file."""

    path: Path
    version: str
    settings: EvaluationSettings
    findings: tuple[FindingRule, ...]


def load_evaluation_config(path: Path | str | None = None) -> EvaluationConfig:
    """Read ``path`` (default: ``config/evaluation.yaml``); a malformed file names the key."""
    path = Path(path or DEFAULT_EVALUATION_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise EvaluationError(f"cannot read evaluation config {path}: {error}") from None
    if not isinstance(raw, dict) or "version" not in raw:
        raise EvaluationError(f"{path}: needs a mapping with 'version', 'settings' and 'findings'")
    known = {f.name: f.type for f in fields(EvaluationSettings)}
    settings = raw.get("settings") or {}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise EvaluationError(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    try:
        cast = {"float": float, "int": int, "str": lambda v: "" if v is None else str(v)}
        parsed = EvaluationSettings(**{k: cast[known[k]](v) for k, v in settings.items()})
    except (TypeError, ValueError) as error:
        raise EvaluationError(f"{path}: settings: {error}") from None
    rules, seen = [], set()
    for i, item in enumerate(raw.get("findings") or []):
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
    return EvaluationConfig(path=path, version=str(raw["version"]), settings=parsed, findings=tuple(rules))
