"""Clinical plausibility: synthetic patients that break a rule real patients keep.

The rules are ``config/plausibility_rules.yaml`` (the ones synthesis enforces when it samples).
A synthetic set built elsewhere, or a synthesizer whose sampler lets them through, shows here: the
share of synthetic rows breaking any rule, against the real holdout's own share (real data has
defects too), with Newcombe's interval of the difference.
"""

from __future__ import annotations

import polars as pl

from pipeline.intervals import rate_difference
from pipeline.rules import Rule, count_violations
from pipeline.validation.metrics import OVERALL, Metric

FAMILY = "fidelity"


def implausible_rows(holdout: pl.DataFrame, synthetic: pl.DataFrame, rules: list[Rule]) -> list[Metric]:
    """The excess share of synthetic rows breaking a rule, and each rule's synthetic count."""
    applicable = [r for r in rules if r.applies_to(synthetic)]
    if not applicable or synthetic.is_empty() or holdout.is_empty():
        return [Metric(FAMILY, "implausible_excess", 0.0, "(no rule applies)")]
    synthetic_broken, per_rule = count_violations(synthetic, applicable)
    holdout_broken, _ = count_violations(holdout, applicable)
    k1, k2 = int(synthetic_broken.sum()), int(holdout_broken.sum())
    low, high = rate_difference(k1, synthetic.height, k2, holdout.height)
    rate, chance = k1 / synthetic.height, k2 / holdout.height
    metrics = [
        Metric(FAMILY, "implausible_rate", rate, OVERALL, baseline=chance, rows=synthetic.height),
        Metric(FAMILY, "implausible_excess", rate - chance, OVERALL, lower=low, upper=high,
               rows=min(synthetic.height, holdout.height)),
    ]  # fmt: skip
    metrics += [Metric(FAMILY, "implausible_rows", float(n), rule) for rule, n in per_rule.items() if n]
    return metrics
