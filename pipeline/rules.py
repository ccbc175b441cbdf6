"""Declarative clinical plausibility rules (``config/plausibility_rules.yaml``): check, drop, redraw.

A rule may select cancers by organ (``cancer: {tissues: [...], main_types: [...], except: [...]}``):
the codes come from the versioned OncoTree table the rules file names (``cancer_types:``, default
``config/oncotree_tissues.yaml``) and become ``primary_cancer_condition IN (...)`` before ``when``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from pipeline.cancer_types import DEFAULT_TABLE, CancerTypeTable, load_cancer_types
from pipeline.errors import OncoBenchError
from pipeline.intervals import wilson
from pipeline.settings import default_config

DEFAULT_RULES = default_config("rules")
SUSPECT_REAL_RATE = 0.01  # a rule real patients break more often than this (95% sure) is itself suspect
SUSPECT_MIN_ROWS = 3  # ... and at least this many: one or two odd rows are data errors, not a wrong rule
MAX_REDRAW_ROUNDS = 10
CANCER_COLUMN = "primary_cancer_condition"
SELECTOR_KEYS = {"tissues", "main_types", "except"}


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
    codes: tuple[str, ...] = ()  # the cancer codes a `cancer:` selector chose (empty: none)

    def applies_to(self, frame: pl.DataFrame) -> bool:
        return all(c in frame.columns and frame[c].null_count() < frame.height for c in self.columns)

    def violations(self, frame: pl.DataFrame) -> pl.Series:
        """A boolean per row: True where the row breaks the rule."""
        if not self.applies_to(frame) or frame.is_empty():
            return pl.Series(self.id, [False] * frame.height, dtype=pl.Boolean)
        broken = pl.sql_expr(f"({self.when}) AND NOT ({self.require})").fill_null(False)
        return frame.select(broken.alias(self.id)).to_series()

    def checked(self, frame: pl.DataFrame) -> pl.Series:
        """A boolean per row: True where the rule can judge the row (``when`` holds, ``require`` is known)."""
        if not self.applies_to(frame) or frame.is_empty():
            return pl.Series(self.id, [False] * frame.height, dtype=pl.Boolean)
        judged = pl.sql_expr(self.when).fill_null(False) & pl.sql_expr(f"({self.require})").is_not_null()
        return frame.select(judged.alias(self.id)).to_series()


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """Read the rules (default: ``config/plausibility_rules.yaml``)."""
    path = Path(path or DEFAULT_RULES)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RuleError(f"cannot read plausibility rules {path}: {error}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rules", []), list):
        raise RuleError(f"{path}: not a rules file (YAML with a `rules:` list, like config/plausibility_rules.yaml)")
    table_path = path.parent / raw["cancer_types"] if raw.get("cancer_types") else DEFAULT_TABLE
    rules, seen = [], set()
    for i, item in enumerate(raw.get("rules") or []):
        if not isinstance(item, dict):
            raise RuleError(f"{path}: rule #{i + 1} is not a mapping: {item!r}")
        required = ("id", "description", "source", "columns", "require") + (() if item.get("cancer") else ("when",))
        missing = [k for k in required if not item.get(k)]
        if missing:
            raise RuleError(f"{path}: rule #{i + 1} ({item.get('id', 'no id')}) lacks {missing}")
        if item["id"] in seen:
            raise RuleError(f"{path}: rule id {item['id']!r} is used twice")
        seen.add(item["id"])
        when, codes = str(item.get("when") or ""), ()
        if item.get("cancer"):
            when, codes = _cancer_condition(path, item, table_path)
        rule = Rule(
            str(item["id"]),
            str(item["description"]),
            str(item["source"]),
            tuple(item["columns"]),
            when,
            str(item["require"]),
            codes,
        )
        try:
            pl.sql_expr(f"({rule.when}) AND NOT ({rule.require})")
        except Exception as error:  # polars raises several SQL error types
            raise RuleError(f"{path}: rule {rule.id!r}: invalid SQL: {error}") from None
        rules.append(rule)
    return rules


def _cancer_condition(path: Path, item: dict[str, Any], table_path: Path) -> tuple[str, tuple[str, ...]]:
    """``when`` with the rule's ``cancer:`` selector expanded into the codes of the OncoTree table."""
    selector, rule_id = item["cancer"], item["id"]
    if not isinstance(selector, dict) or set(selector) - SELECTOR_KEYS:
        raise RuleError(f"{path}: rule {rule_id!r}: `cancer:` takes {sorted(SELECTOR_KEYS)}, got {selector!r}")
    if CANCER_COLUMN not in item["columns"]:
        raise RuleError(f"{path}: rule {rule_id!r} selects cancers: list {CANCER_COLUMN} in its columns")
    try:
        table: CancerTypeTable = load_cancer_types(table_path)
        codes = table.select(
            selector.get("tissues") or (), selector.get("main_types") or (), selector.get("except") or ()
        )
    except OncoBenchError as error:
        raise RuleError(f"{path}: rule {rule_id!r}: {error}") from None
    if not codes:
        raise RuleError(f"{path}: rule {rule_id!r}: `cancer:` selects no code of {table_path}")
    quoted = ", ".join(f"'{code}'" for code in codes)
    condition = f"{CANCER_COLUMN} IN ({quoted})"
    when = f"{condition} AND ({item['when']})" if item.get("when") else condition
    return when, codes


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


def is_suspect(violations: int, checked: int) -> bool:
    """At least ``SUSPECT_MIN_ROWS`` real patients break the rule, and more than ``SUSPECT_REAL_RATE`` of
    those it judges by the Wilson 95% lower bound: a wrong rule (or a systematic data problem)."""
    return violations >= SUSPECT_MIN_ROWS and wilson(violations, checked)[0] > SUSPECT_REAL_RATE


def rule_table(rules: list[Rule], frame: pl.DataFrame, dataset: str) -> pl.DataFrame:
    """Per rule: applies?, rows it can judge, violations, their rate among those rows, and whether
    real data makes the rule suspect."""
    _, counts = count_violations(frame, rules)
    rows = []
    for rule in rules:
        applies = rule.applies_to(frame)
        checked = int(rule.checked(frame).sum()) if applies else 0
        rate = counts[rule.id] / checked if checked else None
        rows.append(
            {
                "dataset": dataset,
                "rule_id": rule.id,
                "applies": applies,
                "rows_checked": checked,
                "violations": counts[rule.id],
                "rate": rate,
                "suspect": dataset == "real" and is_suspect(counts[rule.id], checked),
            }
        )
    return pl.DataFrame(rows, schema_overrides={"rate": pl.Float64})
