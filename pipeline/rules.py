"""Declarative clinical plausibility rules (``config/plausibility_rules.yaml``): check, drop, redraw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from pipeline.errors import OncoBenchError
from pipeline.settings import default_config

DEFAULT_RULES = default_config("rules")
SUSPECT_REAL_RATE = 0.01  # a rule more than 1% of real patients break is itself suspect
MAX_REDRAW_ROUNDS = 10


class RuleError(OncoBenchError):
    """The rules file is malformed: names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    """A row breaks the rule when ``when`` holds and ``require`` does not (unknowns never break it)."""

    id: str
    description: str
    source: str
    columns: tuple[str, ...]
    when: str
    require: str

    def applies_to(self, frame: pl.DataFrame) -> bool:
        return all(c in frame.columns and frame[c].null_count() < frame.height for c in self.columns)

    def violations(self, frame: pl.DataFrame) -> pl.Series:
        """A boolean per row: True where the row breaks the rule."""
        if not self.applies_to(frame) or frame.is_empty():
            return pl.Series(self.id, [False] * frame.height, dtype=pl.Boolean)
        broken = pl.sql_expr(f"({self.when}) AND NOT ({self.require})").fill_null(False)
        return frame.select(broken.alias(self.id)).to_series()


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """Read the rules (default: ``config/plausibility_rules.yaml``)."""
    path = Path(path or DEFAULT_RULES)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RuleError(f"cannot read plausibility rules {path}: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rules", []), list):
        raise RuleError(f"{path}: not a rules file (YAML with a `rules:` list, like config/plausibility_rules.yaml)")
    rules, seen = [], set()
    for i, item in enumerate(raw.get("rules") or []):
        if not isinstance(item, dict):
            raise RuleError(f"{path}: rule #{i + 1} is not a mapping: {item!r}")
        missing = [k for k in ("id", "description", "source", "columns", "when", "require") if not item.get(k)]
        if missing:
            raise RuleError(f"{path}: rule #{i + 1} ({item.get('id', 'no id')}) lacks {missing}")
        if item["id"] in seen:
            raise RuleError(f"{path}: rule id {item['id']!r} is used twice")
        seen.add(item["id"])
        rule = Rule(
            str(item["id"]),
            str(item["description"]),
            str(item["source"]),
            tuple(item["columns"]),
            str(item["when"]),
            str(item["require"]),
        )
        try:
            pl.sql_expr(f"({rule.when}) AND NOT ({rule.require})")
        except Exception as error:  # polars raises several SQL error types
            raise RuleError(f"{path}: rule {rule.id!r}: invalid SQL: {error}") from None
        rules.append(rule)
    return rules


@dataclass
class RuleReport:
    """Rows checked, and rows that broke each rule (a row can break several)."""

    rows_checked: int = 0
    violations: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    redrawn: int = 0
    unfilled: int = 0

    def add(self, counts: dict[str, int]) -> None:
        for rule, n in counts.items():
            self.violations[rule] = self.violations.get(rule, 0) + n


def count_violations(frame: pl.DataFrame, rules: list[Rule]) -> tuple[pl.Series, dict[str, int]]:
    """(any rule broken per row, rows breaking each rule)."""
    broken = [rule.violations(frame) for rule in rules]
    any_broken = pl.Series([False] * frame.height, dtype=pl.Boolean)
    for column in broken:
        any_broken = any_broken | column
    return any_broken, {rule.id: int(column.sum()) for rule, column in zip(rules, broken, strict=True)}


def enforce_rules(
    frame: pl.DataFrame,
    rules: list[Rule],
    *,
    redraw: Callable[[int, int], pl.DataFrame] | None = None,
    report: RuleReport | None = None,
) -> tuple[pl.DataFrame, RuleReport]:
    """Drop rows that break a rule; with ``redraw(n, round)`` replace them, re-checking each draw."""
    report = report or RuleReport()
    kept_parts, pending = [], frame
    for round_number in range(MAX_REDRAW_ROUNDS + 1):
        broken, counts = count_violations(pending, rules)
        report.rows_checked += pending.height
        report.add(counts)
        kept_parts.append(pending.filter(~broken))
        missing = int(broken.sum())
        if round_number == 0:
            report.dropped = missing
        if not missing or redraw is None or round_number == MAX_REDRAW_ROUNDS:
            report.unfilled = missing if redraw is not None else 0
            break
        pending = redraw(missing, round_number)
        report.redrawn += pending.height
    return pl.concat(kept_parts, how="vertical"), report


def rule_table(rules: list[Rule], frame: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """Per rule: applies?, rows checked, violations, rate, and whether real data makes it suspect."""
    _, counts = count_violations(frame, rules)
    rows = []
    for rule in rules:
        applies = rule.applies_to(frame)
        rate = counts[rule.id] / frame.height if frame.height and applies else None
        rows.append(
            {
                "dataset": dataset,
                "rule_id": rule.id,
                "applies": applies,
                "rows_checked": frame.height if applies else 0,
                "violations": counts[rule.id],
                "rate": rate,
                "suspect": bool(dataset == "real" and rate is not None and rate > SUSPECT_REAL_RATE),
            }
        )
    return pl.DataFrame(rows, schema_overrides={"rate": pl.Float64})
