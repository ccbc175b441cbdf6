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

The attacks live in :mod:`~pipeline.validation.replay`, :mod:`~pipeline.validation.membership` and
:mod:`~pipeline.validation.anonymeter_risks`, on the quasi-identifiers of
:mod:`~pipeline.validation.adversary`; this module is their one door.
"""

from __future__ import annotations

from pipeline.validation.adversary import CLINICAL_QI, DEMOGRAPHIC_QI, FAMILY, qi_labels, quasi_identifiers
from pipeline.validation.anonymeter_risks import anonymeter_risks
from pipeline.validation.membership import DomiasSets, distance_metrics, domias_auc, domias_scores, domias_sets
from pipeline.validation.replay import exact_copies, identifier_copies, qi_replay, rare_value_replay

__all__ = [
    "CLINICAL_QI",
    "DEMOGRAPHIC_QI",
    "FAMILY",
    "DomiasSets",
    "anonymeter_risks",
    "distance_metrics",
    "domias_auc",
    "domias_scores",
    "domias_sets",
    "exact_copies",
    "identifier_copies",
    "qi_labels",
    "qi_replay",
    "quasi_identifiers",
    "rare_value_replay",
]

_qi_labels = qi_labels  # the quasi-identifiers as an adversary knows them (bands for numbers)
