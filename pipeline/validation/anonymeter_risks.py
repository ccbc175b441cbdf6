"""Anonymeter (Giomi et al. 2023): singling-out, linkability and attribute-inference risks, with 95% intervals."""

from __future__ import annotations

import logging
import warnings

import polars as pl

from pipeline.validation.adversary import FAMILY, quasi_identifiers, sample_rows
from pipeline.validation.anonymeter_order import ordered_singling_out
from pipeline.validation.columns import SURVIVAL_EVENT, ColumnKinds
from pipeline.validation.metrics import Metric


def anonymeter_risks(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    secrets: list[str],
    seed: int = 0,
    attacks: int = 300,
    max_rows: int = 5_000,
) -> list[Metric]:
    """Singling-out, linkability and attribute-inference risks with anonymeter (Giomi et al. 2023).

    Linkability links what is known of a patient's demographics to what is known of the disease
    and biomarkers; inference guesses the event and each protected attribute (``secrets``) from
    the other quasi-identifiers. Each risk carries anonymeter's 95% interval. Targets are drawn
    with ``seed`` before anonymeter sees them, so linkability and inference are reproducible;
    singling-out too, with its query pools ordered (:mod:`pipeline.validation.anonymeter_order`).
    """
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    logging.getLogger("anonymeter").setLevel(logging.ERROR)
    columns = list(kinds.all)
    attacks = min(attacks, holdout.height, train.height)
    demographic, clinical = quasi_identifiers(kinds)
    quasi = demographic + clinical

    def frame(rows: pl.DataFrame, n: int, offset: int):
        return (
            sample_rows(rows.select(columns), n, seed + offset)
            .with_columns(pl.col(c).cast(pl.String) for c in kinds.categorical)
            .to_pandas()
        )

    def risk(name: str, result, target: str = "(all)") -> Metric:
        value, (low, high) = result.value, result.ci
        return Metric(FAMILY, name, value, target, lower=low, upper=high, rows=attacks)

    ori, control = frame(train, attacks, 0), frame(holdout, attacks, 1)
    syn = frame(synthetic, max_rows, 2)
    metrics = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ordered_singling_out():  # the same queries in every process
            singling = SinglingOutEvaluator(ori, syn, n_attacks=attacks, control=control, seed=seed).evaluate(
                "univariate"
            )
        metrics.append(risk("singling_out_risk", singling.risk()))
        if demographic and clinical:
            halves = (demographic, clinical)
        else:
            half = len(columns) // 2
            halves = (columns[:half], columns[half:])
        linkability = LinkabilityEvaluator(
            ori, syn, aux_cols=halves, n_attacks=attacks, control=control, n_neighbors=10
        ).evaluate(n_jobs=1)
        metrics.append(risk("linkability_risk", linkability.risk(n_neighbors=10)))
        for secret in dict.fromkeys([*([SURVIVAL_EVENT] if SURVIVAL_EVENT in columns else []), *secrets]):
            aux = [c for c in (quasi if len(quasi) > 1 else columns) if c != secret]
            if not aux:
                continue
            inference = InferenceEvaluator(
                ori,
                syn,
                aux_cols=aux,
                secret=secret,
                regression=secret in kinds.numerical,
                n_attacks=attacks,
                control=control,
            ).evaluate(n_jobs=1)
            metrics.append(risk("inference_risk", inference.risk(), target=secret))
    if not any(m.metric == "inference_risk" for m in metrics):  # said, so a gate on it fails for this reason
        metrics.append(Metric(FAMILY, "inference_risk", float("nan"), "(no event or protected attribute to infer)"))
    return metrics
