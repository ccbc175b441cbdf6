"""Build a cohort's stress suite: twins, edge cases and upsampling, every row plausible."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.rules import Rule, RuleReport, enforce_rules, rule_table
from pipeline.stress.edge_cases import cell_dimensions, draw_cells, draw_extremes, rare_cells, upsample_to_parity
from pipeline.stress.tags import TAG_SCHEMA, TWIN_MODES
from pipeline.stress.twins import TwinError, counterfactual_values, make_twins
from pipeline.synthesis.base import Synthesizer

Progress = Callable[[str], None]
STRESS_KINDS = ("twins", "edge", "upsample")


class StressError(OncoBenchError):
    """A stress suite that cannot be built from what was given."""


@dataclass(frozen=True)
class StressSettings:
    """Sizes and seed of one stress suite."""

    base_rows: int = 300  # synthetic patients twins start from
    rare_k: int = 10  # a cell with fewer real patients than this is rare
    max_cells: int = 60  # at most this many rare cells (the rarest) are drawn
    rows_per_cell: int = 20
    extreme_rows: int = 20
    seed: int = 0
    modes: tuple[str, ...] = TWIN_MODES
    kinds: tuple[str, ...] = STRESS_KINDS  # which parts to build: twins, edge, upsample


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

    def dropped_by_rule(self) -> dict[str, int]:
        """Generated rows dropped (or redrawn) per broken rule, over every stress dataset."""
        if self.rules.is_empty():
            return {}
        generated = self.rules.filter((pl.col("dataset") != "real") & (pl.col("violations") > 0))
        return dict(generated.group_by("rule_id").agg(pl.col("violations").sum()).sort("rule_id").iter_rows())


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
    model: Synthesizer | None,
    *,
    protected: Sequence[str],
    descendants: Mapping[str, list[str]],
    rules: list[Rule],
    settings: StressSettings = StressSettings(),
    base: pl.DataFrame | None = None,
    progress: Progress | None = None,
) -> StressSuite:
    """The stress stage: twins for every protected attribute with two or more values, rare cells,
    extremes and upsampling, each kept to the plausibility rules.

    Twins start from ``base`` when given, else from ``settings.base_rows`` rows drawn from ``model``;
    edge cases and upsampling draw from ``model``, which must have been fitted on ``real``'s cohort.
    """
    say = progress or (lambda _: None)
    s = settings
    unknown = sorted(set(s.kinds) - set(STRESS_KINDS))
    if unknown:
        raise StressError(f"unknown stress kinds {unknown}; choose from {list(STRESS_KINDS)}")
    needs_model = [k for k in s.kinds if k != "twins"] + (["twins"] if "twins" in s.kinds and base is None else [])
    if model is None and needs_model:
        raise StressError(f"{', '.join(needs_model)} draw from a fitted model: pass one (`synthesize --save-model`)")
    if model is not None:
        model.check_fits(real, source="the real cohort")
    parts, rule_rows, skipped = [], [], []
    rule_rows += rule_table(rules, real, "real").to_dicts()
    if "twins" in s.kinds:
        parts += _twins(model, base, protected, descendants, rules, s, say, rule_rows, skipped)
    if "edge" in s.kinds:
        say("rare cells")
        cells = rare_cells(real, cell_dimensions(real, model, list(protected)), s.rare_k)
        if cells.height > s.max_cells:
            skipped.append(
                f"{cells.height - s.max_cells} of {cells.height} rare cells (keeping the rarest {s.max_cells})"
            )
            cells = cells.head(s.max_cells)
        if cells.height:
            edge, report = enforce_rules(draw_cells(model, cells, s.rows_per_cell, s.seed + 20_000), rules)
            rule_rows += _report_rows("edge_case", report)
            parts.append(edge)
        extremes = draw_extremes(model, real, s.extreme_rows, s.seed + 30_000)
        if extremes.height:
            extremes, report = enforce_rules(extremes, rules)
            rule_rows += _report_rows("edge_case_extreme", report)
            parts.append(extremes)
    if "upsample" in s.kinds:
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


def _twins(
    model: Synthesizer | None,
    base: pl.DataFrame | None,
    protected: Sequence[str],
    descendants: Mapping[str, list[str]],
    rules: list[Rule],
    s: StressSettings,
    say: Progress,
    rule_rows: list[dict[str, object]],
    skipped: list[str],
) -> list[pl.DataFrame]:
    """Twins of every flippable attribute, in every mode; attributes that cannot be flipped are skipped."""
    if base is None:
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
    parts = []
    for mode in s.modes if attributes else ():
        say(f"counterfactual twins ({mode}): {', '.join(attributes)}")
        twins = make_twins(base, attributes, mode=mode, descendants=dict(descendants), seed=s.seed)
        twins, report = enforce_rules(twins, rules)
        rule_rows += _report_rows(f"twin_{mode}", report)
        parts.append(_drop_incomplete_pairs(twins))
    return parts
