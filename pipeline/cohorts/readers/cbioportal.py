"""cBioPortal study folders -> one row per patient, with mutation flags and TMB from the MAF.

Clinical files normally have four ``#`` metadata lines (display names, descriptions,
datatypes, priorities) and then the header row; files without them (TCGA PanCancer and GDC
exports), the legacy single ``data_clinical.txt`` with a fifth line, and study-view downloads
(display-name headers) are read too. Columns are typed by the datatype line (``NUMBER`` ->
Float64, ``BOOLEAN`` -> Boolean, otherwise text) or, without one, by their values.

The sample that represents a patient is never a normal sample; among the others it is the
first, by sample id, of: a successful test before a failed one, then a primary tumour before
any other. Mutation flags and TMB come from that sample only, so that every biomarker of a
row describes one tumour, and they are null when its test failed or it was not sequenced.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from pipeline.cohorts.readers.text import ROW, infer_numbers, read_text_table, type_columns
from pipeline.cohorts.report import IngestReport
from pipeline.errors import CohortDataError
from pipeline.schema import DEFAULT_ACTIONABLE_PANEL, genomic_variant_column
from pipeline.vocabularies import load

NON_SILENT_CLASSES: tuple[str, ...] = tuple(load("maf")["non_silent"])
MAF_CLASSES: frozenset[str] = frozenset([*NON_SILENT_CLASSES, *load("maf")["other"]])
VARIANT_TYPES: frozenset[str] = frozenset(load("maf")["variant_types"])
# Coding territory of the MSK-IMPACT panels in Mb (Samstein et al., Nat Genet 2019).
DEFAULT_PANEL_SIZES_MB: Mapping[str, float] = {
    "IMPACT341": 0.98,
    "IMPACT410": 1.06,
    "IMPACT468": 1.22,
}
COMPUTED_TMB_COLUMN = "TMB_NONSYNONYMOUS"
TEST_FAILED = "__test_failed"
ID_COLUMNS = {"PATIENT_ID", "SAMPLE_ID", "OTHER_PATIENT_ID", "OTHER_SAMPLE_ID"}
PATIENT_FILE, SAMPLE_FILE, SINGLE_FILE = "data_clinical_patient.txt", "data_clinical_sample.txt", "data_clinical.txt"


def read_clinical_file(path: Path, report: IngestReport | None = None) -> pl.DataFrame:
    """Parse one clinical file (module docstring); ``__row`` holds each row's data-row number."""
    frame, header = read_text_table(Path(path), report=report)
    display = {header_key(name): attribute for name, attribute in load("cbioportal_display_names")["names"].items()}
    renamed = {c: display[header_key(c)] for c in frame.columns if header_key(c) in display}
    if "PATIENT_ID" not in frame.columns and "PATIENT_ID" in renamed.values():
        frame = frame.rename({c: a for c, a in renamed.items() if a not in frame.columns and c != a})
        if report is not None:
            report.warn(f"{Path(path).name}: display-name header (a study-view download) mapped onto attribute ids")
    if header.types is None:
        return infer_numbers(frame, keep_text=ID_COLUMNS, report=report)
    return type_columns(frame, dict(zip(header.names, header.types, strict=True)), path=Path(path), report=report)


def header_key(name: str) -> str:
    """A header as a key that ignores case, blanks and punctuation.

    ``Overall Survival (Months)`` -> ``OVERALL_SURVIVAL_MONTHS``.
    """
    return re.sub(r"[^0-9A-Za-z]+", "_", str(name)).strip("_").upper()


def _upper_in(column: str, values: Sequence[str]) -> pl.Expr:
    return pl.col(column).str.to_uppercase().is_in([v.upper() for v in values]).fill_null(False)


def mark_failed_tests(samples: pl.DataFrame, report: IngestReport | None = None) -> pl.DataFrame:
    """Add ``__test_failed``: the sample's test-status column says the test gave no result."""
    rules = load("sample_tests")["columns"]
    failed = pl.lit(False)
    for column, rule in rules.items():
        if column in samples.columns:
            failed = failed | _upper_in(column, rule["failed"])
    marked = samples.with_columns(failed.alias(TEST_FAILED))
    n_failed = int(marked[TEST_FAILED].sum())
    if n_failed and report is not None:
        report.warn(f"{n_failed} sample(s) with a failed test: their mutation flags and TMB are null")
    return marked


def representative_samples(samples: pl.DataFrame) -> pl.DataFrame:
    """One sample per patient: never normal; successful test, then primary tumour, then lowest id."""
    vocab = load("sample_tests")
    if TEST_FAILED not in samples.columns:
        samples = mark_failed_tests(samples)
    has_type = "SAMPLE_TYPE" in samples.columns
    is_normal = _upper_in("SAMPLE_TYPE", vocab["normal_sample_types"]) if has_type else pl.lit(False)
    is_primary = _upper_in("SAMPLE_TYPE", vocab["primary_sample_types"]) if has_type else pl.lit(False)
    return (
        samples.filter(~is_normal)
        .with_columns(_not_primary=~is_primary)
        .sort("PATIENT_ID", TEST_FAILED, "_not_primary", "SAMPLE_ID")
        .unique("PATIENT_ID", keep="first", maintain_order=True)
        .drop("_not_primary")
    )


def _maf_header_line(path: Path) -> tuple[int, set[str] | None]:
    sequenced: set[str] | None = None
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for index, line in enumerate(handle):
                if line.startswith("#sequenced_samples:"):
                    sequenced = set(line.split(":", 1)[1].split())
                if line.strip() and not line.startswith("#"):
                    return index, sequenced
    except OSError as exc:
        raise CohortDataError(f"cannot read: {exc}", file=str(path)) from exc
    raise CohortDataError("the MAF is empty (no header row)", file=str(path))


def read_maf(path: Path, report: IngestReport | None = None) -> tuple[pl.DataFrame, set[str] | None]:
    """Non-silent somatic variants (sample, gene) and the sequenced samples if listed.

    A ``Variant_Classification`` holding values that are not MAF classes is an error naming
    the values, except for one unambiguous defect: data rows shifted one column left (the
    column holds Variant_Type values and ``Consequence`` holds only MAF classes), which is
    read from ``Consequence`` with a warning.
    """
    path = Path(path)
    skip, sequenced = _maf_header_line(path)
    try:
        maf = pl.read_csv(path, separator="\t", skip_lines=skip, infer_schema=False, quote_char=None,
                          truncate_ragged_lines=True)  # fmt: skip
    except pl.exceptions.PolarsError as exc:
        raise CohortDataError(f"cannot read MAF: {exc}", file=str(path)) from exc
    required = {"Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode"}
    missing = required - set(maf.columns)
    if missing:
        raise CohortDataError(f"MAF lacks required columns {sorted(missing)}", file=str(path))
    maf = maf.filter(pl.col("Hugo_Symbol").is_not_null() | pl.col("Tumor_Sample_Barcode").is_not_null())
    classification = _checked_classification(maf, path, report)
    somatic = (
        ~pl.col("Mutation_Status").str.to_uppercase().eq("GERMLINE").fill_null(False)
        if "Mutation_Status" in maf.columns
        else pl.lit(True)
    )
    variants = maf.with_columns(classification.alias("__class")).filter(
        pl.col("__class").is_in(NON_SILENT_CLASSES) & somatic
    )
    return variants.select(sample=pl.col("Tumor_Sample_Barcode"), gene=pl.col("Hugo_Symbol")), sequenced


def _checked_classification(maf: pl.DataFrame, path: Path, report: IngestReport | None) -> pl.Series:
    values = maf.get_column("Variant_Classification")
    unknown = values.is_not_null() & ~values.is_in(sorted(MAF_CLASSES))
    if not unknown.any():
        return values
    counts = values.filter(unknown).value_counts(sort=True)
    listing = ", ".join(f"{v!r} x{n}" for v, n in counts.head(10).iter_rows())
    shifted = (
        "Consequence" in maf.columns
        and values.drop_nulls().is_in(sorted(VARIANT_TYPES)).all()
        and maf["Consequence"].drop_nulls().is_in(sorted(MAF_CLASSES)).all()
        and maf["Consequence"].null_count() == 0
    )
    if shifted:
        if report is not None:
            report.warn(
                f"{path.name}: Variant_Classification holds Variant_Type values ({listing}) and Consequence "
                "holds MAF classes: the data rows are shifted one column; classes read from Consequence"
            )
        return maf.get_column("Consequence")
    first = int(unknown.arg_true()[0])
    raise CohortDataError(
        f"Variant_Classification holds values that are not MAF variant classes: {listing} "
        f"({int(unknown.sum())} of {values.len()} rows; are the columns shifted?). Allowed: {sorted(MAF_CLASSES)}",
        file=str(path),
        column="Variant_Classification",
        row=first + 1,
        value=values[first],
    )


def mutation_features(
    samples: pl.DataFrame,
    variants: pl.DataFrame,
    sequenced: set[str] | None,
    *,
    panel: Sequence[str],
    panel_sizes_mb: Mapping[str, float],
) -> pl.DataFrame:
    """Per sample: a flag per panel gene and TMB (mutations per Mb); null if unsequenced or failed."""
    ids = samples.get_column("SAMPLE_ID")
    is_sequenced = ids.is_in(list(sequenced)) if sequenced is not None else pl.Series([True] * len(ids))
    if TEST_FAILED in samples.columns:
        is_sequenced = is_sequenced & ~samples.get_column(TEST_FAILED)
    mutated = variants.group_by("gene").agg(pl.col("sample").unique())
    by_gene = dict(zip(mutated["gene"].to_list(), mutated["sample"].to_list(), strict=True))
    counts = variants.group_by("sample").len()
    count_of = dict(zip(counts["sample"].to_list(), counts["len"].to_list(), strict=True))
    columns: dict[str, pl.Series] = {"SAMPLE_ID": ids}
    for gene in panel:
        flag = ids.is_in(by_gene.get(gene, []))
        columns[genomic_variant_column(gene)] = pl.select(pl.when(is_sequenced).then(flag)).to_series()
    if "GENE_PANEL" in samples.columns:
        size = samples.get_column("GENE_PANEL").replace_strict(
            dict(panel_sizes_mb), default=None, return_dtype=pl.Float64
        )
    else:
        size = pl.Series([panel_sizes_mb.get("default")] * len(ids), dtype=pl.Float64)
    n_mutations = ids.replace_strict(count_of, default=0, return_dtype=pl.Float64)
    columns[COMPUTED_TMB_COLUMN] = pl.select(pl.when(is_sequenced).then(n_mutations / size)).to_series()
    return pl.DataFrame(columns)


def _mutation_file(folder: Path, report: IngestReport | None) -> Path | None:
    found = sorted(folder.glob("data_mutations*.txt"))
    if not found:
        return None
    chosen = next((f for f in found if f.name == "data_mutations_extended.txt"), found[0])
    if len(found) > 1 and report is not None:
        report.warn(f"several MAF files {[f.name for f in found]}; read {chosen.name}")
    return chosen


def attach_samples(
    patients: pl.DataFrame,
    samples: pl.DataFrame,
    maf_file: Path | None,
    *,
    panel: Sequence[str],
    panel_sizes_mb: Mapping[str, float],
    report: IngestReport | None,
    sample_file: str,
) -> pl.DataFrame:
    """Join each patient's representative sample and its MAF-derived biomarkers."""
    for column in ("PATIENT_ID", "SAMPLE_ID"):
        _require(samples, column, sample_file)
    chosen = representative_samples(mark_failed_tests(samples.drop(ROW, strict=False), report))
    if maf_file is not None:
        variants, sequenced = read_maf(maf_file, report)
        unknown = set(variants["sample"].unique().to_list()) - set(samples["SAMPLE_ID"].to_list())
        if unknown and report is not None:
            report.warn(f"{maf_file.name}: {len(unknown)} sample(s) in the MAF are not in {sample_file}")
        features = mutation_features(chosen, variants, sequenced, panel=panel, panel_sizes_mb=panel_sizes_mb)
        if COMPUTED_TMB_COLUMN in chosen.columns:  # the study gives TMB: keep it
            features = features.drop(COMPUTED_TMB_COLUMN)
        chosen = chosen.join(features, on="SAMPLE_ID", how="left")
    if COMPUTED_TMB_COLUMN in chosen.columns:  # a failed test has no TMB, whoever computed it
        chosen = chosen.with_columns(
            pl.when(pl.col(TEST_FAILED)).then(None).otherwise(pl.col(COMPUTED_TMB_COLUMN)).alias(COMPUTED_TMB_COLUMN)
        )
    chosen = chosen.drop(TEST_FAILED)
    shared = (set(chosen.columns) & set(patients.columns)) - {"PATIENT_ID"}
    return patients.join(chosen.drop(shared), on="PATIENT_ID", how="left")


def is_cbioportal_folder(folder: Path) -> bool:
    """A folder holding cBioPortal clinical files."""
    return (folder / PATIENT_FILE).exists() or (folder / SINGLE_FILE).exists()


def read_cbioportal_study(
    folder: Path,
    *,
    panel: Sequence[str] = DEFAULT_ACTIONABLE_PANEL,
    panel_sizes_mb: Mapping[str, float] = DEFAULT_PANEL_SIZES_MB,
    report: IngestReport | None = None,
) -> pl.DataFrame:
    """One row per patient: patient attributes, its representative sample and biomarkers."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CohortDataError("not a readable study folder", file=str(folder))
    patient_file, sample_file, single_file = folder / PATIENT_FILE, folder / SAMPLE_FILE, folder / SINGLE_FILE
    maf_file = _mutation_file(folder, report)
    if report is not None:
        _note_other_files(folder, report)
    if patient_file.exists():
        patients = read_clinical_file(patient_file, report)
        _require(patients, "PATIENT_ID", patient_file)
        used = [patient_file]
        if sample_file.exists():
            samples = read_clinical_file(sample_file, report)
            patients = attach_samples(patients, samples, maf_file, panel=panel, panel_sizes_mb=panel_sizes_mb,
                                      report=report, sample_file=str(sample_file))  # fmt: skip
            used += [sample_file, *([maf_file] if maf_file else [])]
    elif single_file.exists():
        combined = read_clinical_file(single_file, report)
        _require(combined, "PATIENT_ID", single_file)
        used = [single_file]
        if "SAMPLE_ID" in combined.columns:
            rows = combined.select("SAMPLE_ID", ROW)
            patients = attach_samples(combined.select("PATIENT_ID").unique(maintain_order=True), combined,
                                      maf_file, panel=panel, panel_sizes_mb=panel_sizes_mb, report=report,
                                      sample_file=str(single_file))  # fmt: skip
            patients = patients.join(rows, on="SAMPLE_ID", how="left")
            used += [maf_file] if maf_file else []
        else:
            patients = combined
    else:
        raise CohortDataError(
            f"not a cBioPortal study folder (no {PATIENT_FILE} or {SINGLE_FILE})", file=str(patient_file)
        )
    if report is not None:
        report.files += [str(f) for f in used]
    return patients


def _note_other_files(folder: Path, report: IngestReport) -> None:
    for timeline in sorted(folder.glob("data_timeline*.txt")):
        try:
            frame, _ = read_text_table(timeline, report=None, cbioportal_header=False)
            report.timelines[timeline.name] = frame.height
        except CohortDataError as exc:
            report.warn(f"{timeline.name}: timeline not readable ({exc})")
    known = {PATIENT_FILE, SAMPLE_FILE, SINGLE_FILE, "PROVENANCE.tsv", "LICENSE", "README.md"}
    for path in sorted(folder.iterdir()):
        skipped = path.name.startswith(("data_mutations", "data_timeline", "meta_"))
        if path.is_file() and path.name not in known and not skipped:
            report.unused_files.append(path.name)


def _require(frame: pl.DataFrame, column: str, path: Path | str) -> None:
    if column not in frame.columns:
        raise CohortDataError("missing required column", file=str(path), column=column)
