"""Privacy: how much the synthetic rows reveal about the patients they were trained on.

Attacks first, distances second. Replay attacks count what an adversary who knows a patient's
quasi-identifiers (demographics, disease, biomarkers including every ``genomic_variant_*``
flag, and the event) or one rare value learns, always against the chance rate of unseen real
patients (the holdout): quasi-identifier replay, rare-value replay, identifier-column copies.
Membership is attacked by density (DOMIAS, van Breugel et al. 2023) and by distance; Anonymeter
runs singling-out, linkability (demographics linked to disease and biomarkers) and inference
(event and protected attributes from the quasi-identifiers). Every estimated rate carries a 95%
interval, so a gate can judge its pessimistic end.

Distances are Euclidean in the :class:`MixedEncoder` space (numbers scaled by the training
range, categories one-hot) and found with scikit-learn's nearest-neighbour index. Rows are
subsampled to ``max_rows`` per role, with a seed; exact copies are counted on every row.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from pipeline.dtypes import as_labels
from pipeline.schema import GENOMIC_VARIANT_PREFIX
from pipeline.subgroups import subgroup_labels
from pipeline.validation.columns import SURVIVAL_EVENT, ColumnKinds
from pipeline.validation.encoding import MixedEncoder
from pipeline.validation.intervals import auc_interval, rate_difference, wilson
from pipeline.validation.metrics import Metric

FAMILY = "privacy"
DEMOGRAPHIC_QI = ("age_at_diagnosis", "sex", "race", "ethnicity", "income_band", "insurance", "education_band")
CLINICAL_QI = (
    "primary_cancer_condition", "cancer_stage_group", "tumor_grade", "msi_status",
    "tumor_marker_er_status", "tumor_marker_pr_status", "tumor_marker_her2_status",
)  # fmt: skip
IDENTIFIER_DISTINCT_SHARE = 0.9  # a column whose training values are this unique identifies patients
MIN_IDENTIFIER_VALUES = 20
DOMIAS_COMPONENTS = 8


def _sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    return frame if frame.height <= rows else frame.sample(rows, seed=seed)


def exact_copies(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Synthetic rows equal to a training row on every compared column.

    ``unique_record_copies`` counts synthetic rows equal to a training record no other
    training patient shares: each such row may disclose one patient. In coarse cohorts
    (few categorical columns) an honest sample hits such records by chance, so the same rate
    for unseen holdout patients is the baseline of ``unique_record_copy_rate``, and
    ``unique_record_copy_excess`` is the rate above that chance level.
    """
    columns = list(kinds.all)
    training_rows = train.select(columns)
    unique_train = training_rows.group_by(columns).len().filter(pl.col("len") == 1).drop("len")
    distinct_train = training_rows.unique()

    def matches(rows: pl.DataFrame, records: pl.DataFrame) -> int:
        return rows.select(columns).join(records, on=columns, how="semi", nulls_equal=True).height

    copies = matches(synthetic, unique_train)
    rate = copies / max(synthetic.height, 1)
    chance = matches(holdout, unique_train) / max(holdout.height, 1)
    return [
        Metric(
            FAMILY,
            "exact_copy_share",
            matches(synthetic, distinct_train) / max(synthetic.height, 1),
            baseline=matches(holdout, distinct_train) / max(holdout.height, 1),
        ),
        Metric(FAMILY, "unique_record_copies", float(copies)),
        Metric(FAMILY, "unique_record_copy_rate", rate, baseline=chance),
        Metric(FAMILY, "unique_record_copy_excess", rate - chance),
    ]


def quasi_identifiers(kinds: ColumnKinds) -> tuple[list[str], list[str]]:
    """(demographic, clinical) quasi-identifiers present: what an adversary plausibly knows of a patient.

    Clinical ones are disease, biomarkers (every ``genomic_variant_*`` flag) and the event.
    """
    demographic = [c for c in DEMOGRAPHIC_QI if c in kinds.all]
    clinical = [c for c in CLINICAL_QI if c in kinds.all]
    clinical += [c for c in kinds.categorical if c.startswith(GENOMIC_VARIANT_PREFIX)]
    clinical += [SURVIVAL_EVENT] if SURVIVAL_EVENT in kinds.all else []
    return demographic, clinical


def _qi_labels(frame: pl.DataFrame, columns: list[str], reference: pl.DataFrame) -> pl.DataFrame:
    """Quasi-identifiers as text; numbers (age) in the bands an adversary would know."""
    return pl.DataFrame([subgroup_labels(frame, c, reference).fill_null("<null>").alias(c) for c in columns])


def _rate_metrics(name: str, hits: int, n: int, chance_hits: int, n_chance: int, target: str) -> list[Metric]:
    """A synthetic rate beside the holdout's chance rate, and their difference (the gated excess)."""
    rate, chance = hits / max(n, 1), chance_hits / max(n_chance, 1)
    low, high = wilson(hits, n)
    d_low, d_high = rate_difference(hits, n, chance_hits, n_chance)
    rows = min(n, n_chance)
    return [
        Metric(FAMILY, f"{name}_rate", rate, target, baseline=chance, lower=low, upper=high, rows=rows),
        Metric(FAMILY, f"{name}_excess", rate - chance, target, lower=d_low, upper=d_high, rows=rows),
    ]


def qi_replay(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    protected: list[str] = (),
    min_rows: int = 30,
) -> list[Metric]:
    """Share of synthetic rows whose quasi-identifiers equal those of a training patient no other
    training patient shares, against the same share for unseen holdout patients (chance).

    A match singles that patient out: the adversary learns the patient was in the training data
    and the rest of the row (the event among it). The excess over chance is the disclosure.
    Computed overall and inside every protected subgroup with ``min_rows`` rows on both sides.
    """
    demographic, clinical = quasi_identifiers(kinds)
    columns = demographic + clinical
    if not columns:
        return []
    keys = [_qi_labels(f, columns, train) for f in (train, holdout, synthetic)]
    unique = keys[0].group_by(columns).len().filter(pl.col("len") == 1).drop("len").with_columns(hit=pl.lit(True))

    def hits(frame: pl.DataFrame) -> pl.Series:
        return frame.join(unique, on=columns, how="left").get_column("hit").fill_null(False)

    holdout_hits, synthetic_hits = hits(keys[1]), hits(keys[2])
    metrics = _rate_metrics(
        "qi_replay", int(synthetic_hits.sum()), synthetic.height, int(holdout_hits.sum()), holdout.height, "(all)"
    )
    metrics.append(Metric(FAMILY, "qi_columns", float(len(columns)), ", ".join(columns)))
    for column in [c for c in protected if c in kinds.all]:
        real_groups = subgroup_labels(holdout, column, train)
        synthetic_groups = subgroup_labels(synthetic, column, train)
        for level in real_groups.drop_nulls().unique().sort().to_list():
            in_real, in_synthetic = (
                (real_groups == level).fill_null(False),
                (synthetic_groups == level).fill_null(False),
            )
            if in_real.sum() < min_rows or in_synthetic.sum() < min_rows:
                continue
            metrics += _rate_metrics(
                "qi_replay", int(synthetic_hits.filter(in_synthetic).sum()), int(in_synthetic.sum()),
                int(holdout_hits.filter(in_real).sum()), int(in_real.sum()), f"{column}={level}",
            )  # fmt: skip
    return metrics


def rare_value_replay(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Per categorical column: synthetic rows carrying a value seen exactly once in training,
    against the holdout's rate (a rare value reappearing points at its one patient)."""
    metrics = []
    for column in kinds.categorical:
        counts = as_labels(train[column]).drop_nulls().value_counts()
        once = counts.filter(pl.col("count") == 1).get_column(column)
        if once.is_empty():
            continue
        synthetic_hits = int(as_labels(synthetic[column]).is_in(once.implode()).sum())
        holdout_hits = int(as_labels(holdout[column]).is_in(once.implode()).sum())
        metrics += _rate_metrics(
            "rare_value_replay", synthetic_hits, synthetic.height, holdout_hits, holdout.height, column
        )
    if not metrics:  # no value seen once: record that the check ran
        metrics.append(Metric(FAMILY, "rare_value_replay_excess", 0.0, "(no value seen once in training)"))
    return metrics


def identifier_copies(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Columns whose training values (nearly) identify patients: the share of synthetic rows that
    carry a training value verbatim, against the holdout's share (a real identifier: 0).

    One copied identifier column (a patient code let through at ingestion) discloses every row
    it appears in, whatever the distances of the other columns say.
    """
    metrics = []
    for column in kinds.all:
        values = train[column].drop_nulls()
        distinct = values.n_unique()
        if column in kinds.numerical and not values.dtype.is_integer():
            continue  # measurements: equal values are chance, rare-value replay and distances cover them
        if distinct < MIN_IDENTIFIER_VALUES or distinct < IDENTIFIER_DISTINCT_SHARE * values.len():
            continue
        known = as_labels(values).unique().implode()
        synthetic_hits = int(as_labels(synthetic[column]).is_in(known).sum())
        holdout_hits = int(as_labels(holdout[column]).is_in(known).sum())
        metrics += _rate_metrics(
            "identifier_copy", synthetic_hits, synthetic.height, holdout_hits, holdout.height, column
        )
    if not metrics:  # nothing identifier-like: record that the check ran
        metrics.append(Metric(FAMILY, "identifier_copy_excess", 0.0, "(no identifier-like column)"))
    return metrics


@dataclass(frozen=True)
class DomiasSets:
    """The four row sets of a DOMIAS attack, projected to the same whitened principal components."""

    reference: np.ndarray  # unseen real patients: the population density
    synthetic: np.ndarray
    members: np.ndarray  # training patients
    non_members: np.ndarray  # unseen patients (members are sampled to as many)


def domias_sets(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 5_000,
) -> DomiasSets:
    """The rows a DOMIAS attack compares, in the first whitened principal components of the mixed encoding.

    Half of the holdout is the reference, the other half the non-members; as many training
    patients are the members."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    order = rng.permutation(holdout.height)
    reference, non_members = holdout[order[: holdout.height // 2]], holdout[order[holdout.height // 2 :]]
    members = _sample(train, non_members.height, seed)
    synthetic = _sample(synthetic, max_rows, seed + 1)
    encoder = MixedEncoder.fit(kinds, train, holdout, synthetic)
    x_train = encoder.transform(train)
    components = min(DOMIAS_COMPONENTS, x_train.shape[1], x_train.shape[0] - 1)
    pca = PCA(n_components=components, whiten=True, random_state=seed).fit(x_train)
    return DomiasSets(*(pca.transform(encoder.transform(f)) for f in (reference, synthetic, members, non_members)))


def domias_scores(sets: DomiasSets) -> np.ndarray:
    """log p_synthetic(x) - log p_reference(x) for members then non-members (Gaussian KDEs, Scott's bandwidth)."""
    from sklearn.neighbors import KernelDensity

    def density(rows: np.ndarray) -> KernelDensity:
        return KernelDensity(bandwidth="scott").fit(rows)

    test = np.vstack([sets.members, sets.non_members])
    return density(sets.synthetic).score_samples(test) - density(sets.reference).score_samples(test)


def domias_auc(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 5_000,
) -> list[Metric]:
    """DOMIAS (van Breugel et al., AISTATS 2023): membership score p_synthetic(x) / p_reference(x).

    A generator that memorises puts density on its training patients beyond what the population
    has; dividing by a reference density (unseen real patients) removes what is merely typical.
    Densities are Gaussian kernel estimates in the first principal components of the mixed
    encoding (:func:`domias_sets`). AUC 0.5 is no leakage. ``bench/privacy.py`` compares it with
    the ``domias`` package on the same rows.
    """
    sets = domias_sets(train, holdout, synthetic, kinds, seed=seed, max_rows=max_rows)
    n_members, n_non_members = len(sets.members), len(sets.non_members)
    labels = np.r_[np.ones(n_members), np.zeros(n_non_members)]
    auc = float(roc_auc_score(labels, domias_scores(sets)))
    low, high = auc_interval(auc, n_members, n_non_members)
    return [Metric(FAMILY, "domias_auc", auc, lower=low, upper=high, rows=min(n_members, n_non_members))]


def _nearest(index_rows: np.ndarray, query_rows: np.ndarray, k: int) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest index rows, shape (queries, k)."""
    index = NearestNeighbors(n_neighbors=k, algorithm="auto", n_jobs=-1).fit(index_rows)
    distances, _ = index.kneighbors(query_rows)
    return distances


def distance_metrics(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 10_000,
) -> list[Metric]:
    """Distance to closest record (DCR), DCR share, nearest-neighbour distance ratio, MIA AUC."""
    holdout = _sample(holdout, max_rows, seed)
    synthetic = _sample(synthetic, max_rows, seed + 1)
    encoder = MixedEncoder.fit(kinds, train, holdout, synthetic)
    x_train, x_holdout, x_synthetic = (encoder.transform(f) for f in (train, holdout, synthetic))
    # train rows the size of the holdout, so "closer to train than to holdout" is 50% when private
    same_size = np.random.default_rng(seed).choice(len(x_train), size=min(len(x_train), len(x_holdout)), replace=False)
    x_train_same = x_train[same_size]

    synthetic_to_train = _nearest(x_train, x_synthetic, 2)
    holdout_to_train = _nearest(x_train, x_holdout, 2)
    synthetic_to_train_same = _nearest(x_train_same, x_synthetic, 1)[:, 0]
    synthetic_to_holdout = _nearest(x_holdout, x_synthetic, 1)[:, 0]
    closer = (synthetic_to_train_same < synthetic_to_holdout) + 0.5 * (synthetic_to_train_same == synthetic_to_holdout)

    def nndr(distances: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(distances[:, 1] > 0, distances[:, 0] / distances[:, 1], 0.0)
        return float(np.median(ratio))

    # membership inference: training rows lie closer to the synthetic rows than unseen rows do
    to_synthetic = _nearest(x_synthetic, np.vstack([x_train_same, x_holdout]), 1)[:, 0]
    membership = np.r_[np.ones(len(x_train_same)), np.zeros(len(x_holdout))]
    n_closer = len(closer)
    compared = min(n_closer, len(x_holdout))  # the holdout side bounds the evidence, not the synthetic rows
    share_low, share_high = wilson(float(closer.mean()) * compared, compared)
    mia = float(roc_auc_score(membership, -to_synthetic))
    mia_low, mia_high = auc_interval(mia, len(x_train_same), len(x_holdout))
    return [
        Metric(
            FAMILY,
            "dcr_median",
            float(np.median(synthetic_to_train[:, 0])),
            baseline=float(np.median(holdout_to_train[:, 0])),
        ),
        Metric(FAMILY, "dcr_share", float(closer.mean()), lower=share_low, upper=share_high, rows=compared),
        Metric(FAMILY, "nndr_median", nndr(synthetic_to_train), baseline=nndr(holdout_to_train)),
        Metric(FAMILY, "mia_auc", mia, lower=mia_low, upper=mia_high, rows=min(len(x_train_same), len(x_holdout))),
    ]


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
    singling-out varies by about 0.02 between runs (anonymeter 1.1 builds its queries from an
    unordered polars ``group_by``).
    """
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    logging.getLogger("anonymeter").setLevel(logging.ERROR)
    columns = list(kinds.all)
    attacks = min(attacks, holdout.height, train.height)
    demographic, clinical = quasi_identifiers(kinds)
    quasi = demographic + clinical

    def frame(rows: pl.DataFrame, n: int, offset: int):
        return (
            _sample(rows.select(columns), n, seed + offset)
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
        singling = SinglingOutEvaluator(ori, syn, n_attacks=attacks, control=control, seed=seed).evaluate("univariate")
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
