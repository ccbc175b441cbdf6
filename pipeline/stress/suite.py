"""Build a cohort's stress suite: twins, edge cases and upsampling, every row plausible."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from pipeline.stress.edge_cases import cell_dimensions, draw_cells, draw_extremes, rare_cells, upsample_to_parity
from pipeline.stress.rules import Rule, RuleReport, enforce_rules, rule_table
from pipeline.stress.tags import TAG_SCHEMA, TWIN_MODES
from pipeline.stress.twins import TwinError, counterfactual_values, make_twins
from pipeline.synthesis.base import Synthesizer

Progress = Callable[[str], None]


@dataclass(frozen=True)
class StressSettings:
    """Sizes and seed of one stress suite."""

    base_rows: int = 300  # synthetic patients twins start from
    rare_k: int = 10  # a cell with fewer real patients than this is rare
    rows_per_cell: int = 20
    extreme_rows: int = 20
    upsample: bool = True
    seed: int = 0
    modes: tuple[str, ...] = TWIN_MODES


@dataclass
class StressSuite:
    """The tagged rows, and what was made, skipped and dropped on the way."""

    frame: pl.DataFrame
    rules: pl.DataFrame  # per dataset and rule: rows checked, violations
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> pl.DataFrame:
        """Rows per stress type and attribute or cell."""
        target = pl.coalesce(pl.col("changed_attribute"), pl.col("stress_cell")).alias("target")
        rows = self.frame.filter(pl.col("twin_role").is_null() | (pl.col("twin_role") == "twin"))
        return rows.group_by("stress_type", target).len("rows").sort("stress_type", "target")


def _report_rows(dataset: str, report: RuleReport) -> list[dict[str, object]]:
    return [
        {"dataset": dataset, "rule_id": rule, "applies": True, "rows_checked": report.rows_checked,
         "violations": n, "rate": n / report.rows_checked if report.rows_checked else None, "suspect": False}
        for rule, n in report.violations.items()
    ]  # fmt: skip


def _drop_incomplete_pairs(twins: pl.DataFrame) -> pl.DataFrame:
    """After rule drops, keep pairs that still have their base and at least one twin."""
    complete = twins.group_by("pair_id").agg(
        ((pl.col("twin_role") == "base").sum() == 1) & ((pl.col("twin_role") == "twin").sum() >= 1)
    )
    keep = complete.filter(pl.col(complete.columns[1]))["pair_id"]
    return twins.filter(pl.col("pair_id").is_in(keep.implode()))


def build_stress_suite(
    real: pl.DataFrame,
    model: Synthesizer,
    *,
    protected: Sequence[str],
    descendants: Mapping[str, list[str]],
    rules: list[Rule],
    settings: StressSettings = StressSettings(),
    progress: Progress | None = None,
) -> StressSuite:
    """Twins for every protected attribute with two or more values, rare cells, extremes, upsampling."""
    say = progress or (lambda _: None)
    s = settings
    parts, rule_rows, skipped = [], [], []
    rule_rows += rule_table(rules, real, "real").to_dicts()

    say(f"base patients: {s.base_rows}")
    base, report = enforce_rules(
        model.sample(s.base_rows, seed=s.seed),
        rules,
        redraw=lambda n, r: model.sample(n, seed=s.seed + 10_000 + r),
    )
    rule_rows += _report_rows("base", report)
    attributes = []
    for attribute in protected:
        try:
            counterfactual_values(base, attribute)  # raises with the reason the attribute cannot be flipped
            attributes.append(attribute)
        except TwinError as error:
            skipped.append(f"twins for {attribute}: {error}")
    for mode in s.modes:
        say(f"counterfactual twins ({mode}): {', '.join(attributes) or 'none'}")
        if not attributes:
            break
        twins = make_twins(base, attributes, mode=mode, descendants=dict(descendants), seed=s.seed)
        twins, report = enforce_rules(twins, rules)
        rule_rows += _report_rows(f"twin_{mode}", report)
        parts.append(_drop_incomplete_pairs(twins))

    say("rare cells")
    cells = rare_cells(real, cell_dimensions(real, model, list(protected)), s.rare_k)
    if cells.height:
        edge = draw_cells(model, cells, s.rows_per_cell, s.seed + 20_000)
        edge, report = enforce_rules(edge, rules)
        rule_rows += _report_rows("edge_case", report)
        parts.append(edge)
    extremes = draw_extremes(model, real, s.extreme_rows, s.seed + 30_000)
    if extremes.height:
        extremes, report = enforce_rules(extremes, rules)
        rule_rows += _report_rows("edge_case_extreme", report)
        parts.append(extremes)
    if s.upsample:
        say("upsampling protected subgroups to parity")
        upsampled = upsample_to_parity(model, real, list(protected), s.seed + 40_000)
        if upsampled.height:
            upsampled, report = enforce_rules(upsampled, rules)
            rule_rows += _report_rows("upsample", report)
            parts.append(upsampled)
    schema = {**dict(real.schema), **dict(TAG_SCHEMA)}
    frame = pl.concat([p.select(list(schema)) for p in parts], how="vertical") if parts else pl.DataFrame(schema=schema)
    rules_frame = pl.DataFrame(rule_rows, schema_overrides={"rate": pl.Float64}) if rule_rows else pl.DataFrame()
    return StressSuite(frame=frame, rules=rules_frame, skipped=skipped)
