"""Validation settings and release gates from the versioned ``config/validation.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import OncoBenchError
from pipeline.settings import default_config

DEFAULT_CONFIG = default_config("validation")


class ValidationConfigError(OncoBenchError):
    """The validation config is malformed: names the file and the key."""


@dataclass(frozen=True)
class ValidationSettings:
    """Sample sizes, seeds and task definitions; see ``config/validation.yaml``."""

    holdout_fraction: float = 0.3
    split_seed: int = 0
    seed: int = 0
    c2st_max_rows: int = 20_000
    privacy_max_rows: int = 10_000
    utility_max_rows: int = 20_000
    horizon_months: float = 12.0
    min_subgroup_rows: int = 30
    min_representation_rows: int = 10
    anonymeter_attacks: int = 300
    min_gate_rows: int = 30  # fewest rows behind a gated value unless its gate says otherwise
    family_alpha: float = 0.05  # chance that the gates withhold a synthesizer meeting every bound (Holm)
    noise_floor: bool = True  # also score real holdout patients against training (the best possible)


JUDGES = ("value", "pessimistic")
ANONYMETER_METRICS = ("singling_out_risk", "linkability_risk", "inference_risk")  # computed only with attacks > 0


@dataclass(frozen=True)
class Gate:
    """A bound on every row of one metric: ``value <= threshold`` (max) or ``>=`` (min).

    A gate judges only with evidence (:mod:`pipeline.validation.verdicts`): pass, fail or
    inconclusive. A row backed by fewer than ``min_rows`` rows is inconclusive, and a
    ``pessimistic`` gate (the default for privacy) passes only when the attack has the power to
    tell: at the ``ideal`` (what a generator that leaks nothing scores) the end of its one-sided
    95% interval lies within the bound (without an ideal: the realized end does).
    """

    family: str
    metric: str
    bound: str
    threshold: float
    why: str = ""
    off: bool = False  # a cohort's way to switch a default gate off (with a reason in `why`)
    min_rows: int | None = None  # None: the settings' min_gate_rows
    judge: str | None = None  # None: pessimistic for privacy, the value otherwise
    ideal: float | None = None  # what a generator that leaks nothing scores (a pessimistic gate's power)
    target: str | None = None  # None: every row of the metric; else only that row, e.g. "(all)" (the whole cohort)

    @property
    def judges(self) -> str:
        return self.judge or ("pessimistic" if self.family == "privacy" else "value")

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What a gate covers: a cohort's own gate of the same key replaces the default."""
        return self.family, self.metric, self.target

    def describe(self) -> str:
        where = f"[{self.target}]" if self.target else ""
        return f"{self.family}.{self.metric}{where} {'<=' if self.bound == 'max' else '>='} {self.threshold:g}"


@dataclass(frozen=True)
class ValidationConfig:
    """The parsed config file."""

    version: str
    settings: ValidationSettings
    gates: tuple[Gate, ...]
    cohort_gates: dict[str, tuple[Gate, ...]] = field(default_factory=dict)
    path: str = ""

    def gates_for(self, cohort: str) -> list[Gate]:
        """Default gates, with the cohort's own bounds replacing those of the same metric."""
        own = {g.key: g for g in self.cohort_gates.get(cohort, ())}
        chosen = [own.pop(g.key, g) for g in self.gates]
        return [
            g if g.min_rows is not None else replace(g, min_rows=self.settings.min_gate_rows)
            for g in chosen + list(own.values())
            if not g.off
        ]


def _gate(raw: Any, where: str) -> Gate:
    if not isinstance(raw, dict) or "metric" not in raw or "family" not in raw:
        raise ValidationConfigError(f"{where}: a gate needs 'family' and 'metric', got {raw!r}")
    unknown = set(raw) - {"family", "metric", "max", "min", "why", "disabled", "min_rows", "judge", "ideal", "target"}
    target = raw.get("target")
    if target is not None and not (isinstance(target, str) and target):
        raise ValidationConfigError(f"{where}: gate {raw['metric']}: target must be a row's target, e.g. '(all)'")
    if raw.get("disabled") is True and not unknown:
        why = str(raw.get("why", ""))
        return Gate(str(raw["family"]), str(raw["metric"]), "off", float("nan"), why, off=True, target=target)
    bounds = [k for k in ("max", "min") if k in raw]
    if unknown or len(bounds) != 1:
        raise ValidationConfigError(
            f"{where}: gate {raw.get('family')}.{raw.get('metric')} needs exactly one of 'max' or 'min'"
            " (or disabled: true)" + (f" and has unknown keys {sorted(unknown)}" if unknown else "")
        )
    try:
        threshold = float(raw[bounds[0]])
    except (TypeError, ValueError):
        raise ValidationConfigError(
            f"{where}: gate {raw['metric']}: bound {raw[bounds[0]]!r} is not a number"
        ) from None
    judge = raw.get("judge")
    if judge is not None and judge not in JUDGES:
        raise ValidationConfigError(
            f"{where}: gate {raw['metric']}: judge must be one of {list(JUDGES)}, got {judge!r}"
        )
    min_rows = raw.get("min_rows")
    if min_rows is not None and (not isinstance(min_rows, int) or min_rows < 1):
        raise ValidationConfigError(f"{where}: gate {raw['metric']}: min_rows must be a positive integer")
    ideal = raw.get("ideal")
    if ideal is not None and not isinstance(ideal, int | float):
        raise ValidationConfigError(f"{where}: gate {raw['metric']}: ideal must be a number, got {ideal!r}")
    return Gate(
        str(raw["family"]), str(raw["metric"]), bounds[0], threshold, str(raw.get("why", "")),
        min_rows=min_rows, judge=judge, ideal=None if ideal is None else float(ideal), target=target,
    )  # fmt: skip


def load_validation_config(path: Path | str | None = None) -> ValidationConfig:
    """Read and check the config (default: ``config/validation.yaml``)."""
    path = Path(path or DEFAULT_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ValidationConfigError(f"cannot read validation config {path}: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("settings") or {}, dict):
        raise ValidationConfigError(
            f"{path}: not a validation config (YAML with `version`, `settings` and `gates`,"
            " like config/validation.yaml)"
        )
    known = {f.name: f.type for f in fields(ValidationSettings)}
    settings = raw.get("settings") or {}
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise ValidationConfigError(f"{path}: unknown settings {unknown}; known: {sorted(known)}")
    if "version" not in raw:
        raise ValidationConfigError(f"{path}: missing 'version'")
    cohort_gates = {
        cohort: tuple(_gate(g, f"{path}: cohort_gates.{cohort}") for g in gates or [])
        for cohort, gates in (raw.get("cohort_gates") or {}).items()
    }
    config = ValidationConfig(
        version=str(raw["version"]),
        settings=ValidationSettings(**settings),
        gates=tuple(_gate(g, f"{path}: gates") for g in raw.get("gates") or []),
        cohort_gates=cohort_gates,
        path=str(path),
    )
    _check_anonymeter_gates(config, path)
    return config


def _check_anonymeter_gates(config: ValidationConfig, path: Path) -> None:
    """Gates on Anonymeter risks need Anonymeter on, with at least as many attacks as they need rows."""
    attacks = config.settings.anonymeter_attacks
    gates = [*config.gates, *(g for gs in config.cohort_gates.values() for g in gs)]
    needing = {
        g.metric: g.min_rows or config.settings.min_gate_rows
        for g in gates
        if g.family == "privacy" and g.metric in ANONYMETER_METRICS and not g.off
    }
    if needing and attacks <= 0:
        raise ValidationConfigError(
            f"{path}: settings.anonymeter_attacks is {attacks} (Anonymeter off) but gates need its risks: "
            f"{sorted(needing)}; remove those gates or set anonymeter_attacks > 0"
        )
    short = sorted(metric for metric, rows in needing.items() if attacks < rows)
    if short:
        raise ValidationConfigError(
            f"{path}: settings.anonymeter_attacks is {attacks}, fewer than the rows the gates on {short} need "
            f"({max(needing[m] for m in short)}): they could only fail; raise anonymeter_attacks or lower min_rows"
        )
