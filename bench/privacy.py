"""Privacy attacks side by side: our DOMIAS against the ``domias`` package, and Anonymeter's risks.

For each cohort (split 70/30 with seed 0 as the pipeline splits it) three synthetic sets are
attacked:

- ``flow``: the default synthesizer fitted on the training part (profile ``full``, seed 0);
- ``flow+20% copies``: the same rows with a fifth replaced by training patients verbatim, a
  planted leak every membership attack should find;
- ``noise floor``: unseen holdout patients in the synthetic role (half the holdout, the other
  half the chance reference), as the validation suite's noise floor does: nothing can leak.

DOMIAS runs on identical rows for both implementations (:func:`pipeline.validation.privacy.domias_sets`:
members, non-members, reference and synthetic rows in the same whitened principal components).
The package (van Breugel et al.'s reference code) estimates densities with SciPy's Gaussian KDE
(``kde``, full covariance) or its block neural autoregressive flow (``bnaf``, 50 epochs; about
two minutes per attack, so only for ``--bnaf-cohorts``). Anonymeter risks are reported with
their 95% intervals: the pessimistic (upper) end is what the release gates judge.

    python bench/privacy.py [--cohorts colon rott2 crc_msk_2017.parquet ...]

Needs the benchmark's reference packages (``make bench-setup``). Writes bench/results/privacy.csv
and bench/results/privacy.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path

import polars as pl

RESULTS = Path(__file__).resolve().parent / "results"
COPIED_SHARE = 0.2


def _package_domias(sets, estimator: str) -> float:
    """AUC of the ``domias`` package's DOMIAS score on ``sets``, computed as its
    ``evaluate_performance`` computes it (``p_G / (p_R + 1e-10)``, scored by its
    ``compute_metrics_baseline``). ``evaluate_performance`` itself no longer runs: its LOGAN
    baseline calls a CTGAN API that ctgan 0.10 removed, and its BNAF scheduler passes
    ``verbose=`` and calls ``is_better``, which torch 2.x removed and renamed (adapted here).
    One difference: its BNAF validates on a second synthetic sample, here on halves of the one."""
    import numpy as np
    import torch
    from domias.baselines import compute_metrics_baseline
    from domias.bnaf import density_estimation
    from scipy import stats

    test = np.vstack([sets.members, sets.non_members])
    labels = np.r_[np.ones(len(sets.members)), np.zeros(len(sets.non_members))].astype(bool)
    if estimator == "kde":
        p_synthetic = stats.gaussian_kde(sets.synthetic.T)(test.T)
        p_reference = stats.gaussian_kde(sets.reference.T)(test.T)
    else:

        class Scheduler(density_estimation.ReduceLROnPlateau):
            def __init__(self, *args, verbose: bool = False, **kwargs) -> None:
                super().__init__(*args, **kwargs)

            def is_better(self, current, best) -> bool:  # torch 2.x renamed it
                return self._is_better(current, best)

        density_estimation.ReduceLROnPlateau = Scheduler  # in the spawned process of one cohort only
        half = len(sets.synthetic) // 2
        with tempfile.TemporaryDirectory() as scratch:
            common = {"workspace": Path(scratch), "save": False, "load": False, "device": "cpu"}
            _, synthetic_model = density_estimation.density_estimator_trainer(
                sets.synthetic, sets.synthetic[:half], sets.synthetic[half:], **common
            )
            _, reference_model = density_estimation.density_estimator_trainer(sets.reference, **common)

        def density(model) -> np.ndarray:
            with torch.no_grad():
                return np.exp(density_estimation.compute_log_p_x(model, torch.as_tensor(test).float()).numpy())

        p_synthetic, p_reference = density(synthetic_model), density(reference_model)
    _, auc = compute_metrics_baseline(p_synthetic / (p_reference + 1e-10), labels)
    return float(auc)


def _attack(name: str, train, holdout, synthetic, kinds, secrets: list[str], bnaf: bool) -> dict[str, object]:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from pipeline.validation import privacy

    row: dict[str, object] = {"synthetic": name}
    sets = privacy.domias_sets(train, holdout, synthetic, kinds, seed=0)
    started = time.perf_counter()
    labels = np.r_[np.ones(len(sets.members)), np.zeros(len(sets.non_members))]
    row["domias_ours"] = roc_auc_score(labels, privacy.domias_scores(sets))
    row["domias_ours_s"] = time.perf_counter() - started
    for estimator in ("kde", "bnaf") if bnaf else ("kde",):
        started = time.perf_counter()
        try:
            row[f"domias_pkg_{estimator}"] = _package_domias(sets, estimator)
        except Exception as error:  # a failing reference is a result, recorded as such
            row[f"domias_pkg_{estimator}"] = float("nan")
            row["note"] = f"{estimator}: {type(error).__name__}: {error}"[:120]
        row[f"domias_pkg_{estimator}_s"] = time.perf_counter() - started
    distance = {m.metric: m for m in privacy.distance_metrics(train, holdout, synthetic, kinds, seed=0)}
    row["mia_auc"] = distance["mia_auc"].value
    risks = privacy.anonymeter_risks(train, holdout, synthetic, kinds, secrets=secrets, seed=0)
    for metric in ("singling_out_risk", "linkability_risk"):
        (risk,) = [m for m in risks if m.metric == metric]
        row[metric], row[f"{metric}_upper"] = risk.value, risk.upper
    inference = [m for m in risks if m.metric == "inference_risk" and m.upper is not None]
    if inference:  # the gate judges the value; the widest interval is shown beside it
        highest = max(inference, key=lambda m: m.value)
        row["inference_risk_max"], row["inference_secret"] = highest.value, highest.target
        row["inference_risk_upper_max"] = max(m.upper for m in inference)
    row["attacks"] = risks[0].rows
    return row


def _run_one(cohort: str, bnaf: bool) -> list[dict[str, object]]:
    import torch
    from benchmark_cohorts import load_split

    from pipeline.synthesis.stage import fit_synthesizer
    from pipeline.validation.columns import column_kinds
    from pipeline.validation.fairness import protected_present

    torch.set_num_threads(1)
    loaded = load_split(cohort)
    train, holdout = loaded.train, loaded.holdout
    model = fit_synthesizer(train, synthesizer="flow", profile="full", seed=0, protected=loaded.protected)
    synthetic = model.sample(train.height, seed=2)
    copies = round(COPIED_SHARE * synthetic.height)
    leaked = pl.concat(
        [train.sample(copies, seed=3).select(synthetic.columns), synthetic.tail(synthetic.height - copies)],
        how="vertical_relaxed",
    )
    half = holdout.sample(fraction=1.0, shuffle=True, seed=0)
    unseen, chance = half.head(half.height // 2), half.tail(half.height - half.height // 2)
    kinds = column_kinds(train, synthetic)
    secrets = protected_present(train, loaded.protected)
    rows = []
    for name, attacked_holdout, attacked in (
        ("flow", holdout, synthetic),
        (f"flow+{COPIED_SHARE:.0%} copies", holdout, leaked),
        ("noise floor", chance, unseen),
    ):
        row = {"cohort": loaded.name, "patients": loaded.real.height}
        row.update(_attack(name, train, attacked_holdout, attacked, kinds, secrets, bnaf))
        rows.append(row)
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cohorts", nargs="+", default=["colon", "rott2", "support2_cancer", "prostate_seer"])
    parser.add_argument(
        "--bnaf-cohorts", nargs="*", default=["colon"], help="cohorts also attacked with BNAF densities (~2 min each)"
    )
    args = parser.parse_args()
    rows = []
    context = multiprocessing.get_context("spawn")
    for cohort in args.cohorts:
        with context.Pool(1) as pool:
            rows += pool.apply(_run_one, (cohort, Path(cohort).stem in args.bnaf_cohorts))
    table = pl.DataFrame(rows, infer_schema_length=None).with_columns(pl.selectors.float().round(3))
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.write_csv(RESULTS / "privacy.csv")
    header = (
        f"# Privacy attack benchmark\n\nMachine: {platform.machine()}, {multiprocessing.cpu_count()} cores, "
        f"Python {platform.python_version()}, one thread per process. Fitted on 70% of each cohort (seed 0). "
        "DOMIAS AUC (0.5: no membership signal) from our implementation and from the `domias` package on "
        "identical rows; seconds per attack. Distance-based MIA AUC. "
        "Anonymeter risks (0: no risk beyond the control patients) with the upper end of their 95% interval; "
        "`inference_risk_max` is the highest inference risk over the secrets (the gate judges the value), "
        "`inference_risk_upper_max` the highest end of their intervals.\n\n"
    )
    (RESULTS / "privacy.md").write_text(header + table.to_pandas().to_markdown(index=False) + "\n")
    print(f"wrote {RESULTS / 'privacy.md'}")


if __name__ == "__main__":
    main()
