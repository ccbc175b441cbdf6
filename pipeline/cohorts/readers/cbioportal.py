"""cBioPortal study folders -> one row per patient, with mutation flags and TMB from the MAF.

Clinical files have four ``#`` metadata lines (display names, descriptions, datatypes,
priorities) and then the header row; ``NA`` and blanks are null; columns are typed by the
datatype line (``NUMBER`` -> Float64, ``BOOLEAN`` -> Boolean, otherwise text).

The sample that represents a patient is the first primary-tumour sample by sample id, or,
when the patient has no primary sample, the first sample by id. Mutation flags and TMB
come from that sample only, so that every biomarker of a row describes one tumour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from pipeline.errors import CohortDataError
from pipeline.schema import DEFAULT_ACTIONABLE_PANEL, genomic_variant_column

CLINICAL_TYPES = {"STRING", "NUMBER", "BOOLEAN"}
NULL_VALUES = ["NA", "", "[Not Available]", "[Unknown]", "[Not Applicable]"]
# Non-silent (protein-changing or splice) MAF classes, as cBioPortal and maftools count them.
NON_SILENT_CLASSES = (
    "Frame_Shift_Del", "Frame_Shift_Ins", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
    "Nonsense_Mutation", "Nonstop_Mutation", "Splice_Site", "Translation_Start_Site",
)  # fmt: skip
# Coding territory of the MSK-IMPACT panels in Mb (Samstein et al., Nat Genet 2019).
DEFAULT_PANEL_SIZES_MB: Mapping[str, float] = {
    "IMPACT341": 0.98,
    "IMPACT410": 1.06,
    "IMPACT468": 1.22,
}
COMPUTED_TMB_COLUMN = "TMB_NONSYNONYMOUS"


def read_clinical_file(path: Path) -> pl.DataFrame:
    """Parse one cBioPortal clinical file, typed by its ``#`` datatype line."""
    lines = _header_lines(path)
    header = lines[4].rstrip("\n").split("\t")
    meta = [line.rstrip("\n").lstrip("#").split("\t") for line in lines[:4]]
    for number, fields in enumerate(meta, start=1):
        if len(fields) != len(header):
            raise CohortDataError(
                f"unparseable cBioPortal header: metadata line {number} has {len(fields)} "
                f"fields but the header row has {len(header)}",
                file=str(path),
            )
    types = [t.strip().upper() for t in meta[2]]
    for column, kind in zip(header, types, strict=True):
        if kind not in CLINICAL_TYPES:
            raise CohortDataError(
                f"unparseable cBioPortal header: datatype (line 3) must be one of {sorted(CLINICAL_TYPES)}",
                file=str(path),
                column=column,
                value=kind,
            )
    if len(set(header)) != len(header):
        dupes = sorted({c for c in header if header.count(c) > 1})
        raise CohortDataError(f"duplicate header columns {dupes}", file=str(path))
    frame = pl.read_csv(
        path,
        separator="\t",
        skip_rows=4,
        infer_schema=False,
        null_values=NULL_VALUES,
        quote_char=None,
        truncate_ragged_lines=False,
    )
    if frame.height == 0:
        raise CohortDataError("the file has a header but no data rows", file=str(path))
    return frame.with_columns(
        _typed(frame.get_column(c), kind, path) for c, kind in zip(header, types, strict=True) if kind != "STRING"
    )


def _header_lines(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8") as handle:
            lines = [handle.readline() for _ in range(5)]
    except OSError as exc:
        raise CohortDataError(f"cannot read: {exc}", file=str(path)) from exc
    if not lines[0]:
        raise CohortDataError("the file is empty", file=str(path))
    if not all(line.startswith("#") for line in lines[:4]) or lines[4].startswith("#"):
        raise CohortDataError(
            "unparseable cBioPortal header: expected four '#' metadata lines, then the header row",
            file=str(path),
        )
    return lines


def _typed(values: pl.Series, kind: str, path: Path) -> pl.Series:
    text = values.str.strip_chars()
    if kind == "NUMBER":
        parsed = text.cast(pl.Float64, strict=False)
    else:
        lowered = text.str.to_lowercase()
        parsed = pl.select(
            pl.when(lowered.is_in(["true", "yes"])).then(True)
            .when(lowered.is_in(["false", "no"])).then(False)
        ).to_series()  # fmt: skip
    bad = text.is_not_null() & parsed.is_null()
    if bad.any():
        index = bad.arg_true()[0]
        raise CohortDataError(
            f"wrong type: the header declares {kind}",
            file=str(path),
            column=values.name,
            row=index + 1,
            value=values[index],
        )
    return parsed.alias(values.name)


def representative_samples(samples: pl.DataFrame) -> pl.DataFrame:
    """One sample per patient: primary tumour first, then the lowest sample id."""
    is_primary = (
        pl.col("SAMPLE_TYPE").str.to_lowercase().eq("primary").fill_null(False)
        if "SAMPLE_TYPE" in samples.columns
        else pl.lit(False)
    )
    return (
        samples.with_columns(_not_primary=~is_primary)
        .sort("PATIENT_ID", "_not_primary", "SAMPLE_ID")
        .unique("PATIENT_ID", keep="first", maintain_order=True)
        .drop("_not_primary")
    )


def read_maf(path: Path) -> tuple[pl.DataFrame, set[str] | None]:
    """Non-silent somatic variants (sample, gene) and the sequenced samples if listed."""
    sequenced: set[str] | None = None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            if line.startswith("#sequenced_samples:"):
                sequenced = set(line.split(":", 1)[1].split())
    maf = pl.read_csv(
        path,
        separator="\t",
        comment_prefix="#",
        infer_schema=False,
        quote_char=None,
        columns=None,
    )
    required = {"Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode"}
    missing = required - set(maf.columns)
    if missing:
        raise CohortDataError(f"MAF lacks required columns {sorted(missing)}", file=str(path))
    somatic = (
        ~pl.col("Mutation_Status").str.to_uppercase().eq("GERMLINE").fill_null(False)
        if "Mutation_Status" in maf.columns
        else pl.lit(True)
    )
    variants = maf.filter(pl.col("Variant_Classification").is_in(NON_SILENT_CLASSES) & somatic)
    return variants.select(sample=pl.col("Tumor_Sample_Barcode"), gene=pl.col("Hugo_Symbol")), sequenced


def mutation_features(
    samples: pl.DataFrame,
    variants: pl.DataFrame,
    sequenced: set[str] | None,
    *,
    panel: Sequence[str],
    panel_sizes_mb: Mapping[str, float],
) -> pl.DataFrame:
    """Per sample: a flag per panel gene (null if unsequenced) and TMB (mutations per Mb)."""
    ids = samples.get_column("SAMPLE_ID")
    is_sequenced = ids.is_in(list(sequenced)) if sequenced is not None else pl.Series([True] * len(ids))
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


def read_cbioportal_study(
    folder: Path,
    *,
    panel: Sequence[str] = DEFAULT_ACTIONABLE_PANEL,
    panel_sizes_mb: Mapping[str, float] = DEFAULT_PANEL_SIZES_MB,
) -> pl.DataFrame:
    """One row per patient: patient attributes, its representative sample and biomarkers."""
    folder = Path(folder)
    patient_file = folder / "data_clinical_patient.txt"
    sample_file = folder / "data_clinical_sample.txt"
    if not patient_file.exists():
        raise CohortDataError("not a cBioPortal study folder (no patient file)", file=str(patient_file))
    patients = read_clinical_file(patient_file)
    _require(patients, "PATIENT_ID", patient_file)
    if not sample_file.exists():
        return patients
    samples = read_clinical_file(sample_file)
    _require(samples, "PATIENT_ID", sample_file)
    _require(samples, "SAMPLE_ID", sample_file)
    chosen = representative_samples(samples)
    maf_files = sorted(folder.glob("data_mutations*.txt"))
    if maf_files:
        variants, sequenced = read_maf(maf_files[0])
        features = mutation_features(chosen, variants, sequenced, panel=panel, panel_sizes_mb=panel_sizes_mb)
        if COMPUTED_TMB_COLUMN in chosen.columns:  # the study gives TMB: keep it
            features = features.drop(COMPUTED_TMB_COLUMN)
        chosen = chosen.join(features, on="SAMPLE_ID", how="left")
    shared = (set(chosen.columns) & set(patients.columns)) - {"PATIENT_ID"}
    return patients.join(chosen.drop(shared), on="PATIENT_ID", how="left")


def _require(frame: pl.DataFrame, column: str, path: Path) -> None:
    if column not in frame.columns:
        raise CohortDataError("missing required column", file=str(path), column=column)
