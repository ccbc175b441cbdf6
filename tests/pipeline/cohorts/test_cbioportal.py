"""The cBioPortal loader on the real crc_msk_2017 study, and on broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw, resolve_source
from pipeline.cohorts.readers.cbioportal import NON_SILENT_CLASSES, read_cbioportal_study, read_clinical_file
from pipeline.errors import CohortDataError
from pipeline.schema import DEFAULT_ACTIONABLE_PANEL, genomic_variant_column

HEADER = "#Patient Identifier\tAge\n#id\tage\n#STRING\tNUMBER\n#1\t1\nPATIENT_ID\tAGE\n"


def _expected_flags(study: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Representative samples and per-gene patient counts, computed from the files with pandas."""
    samples = pd.read_csv(study / "data_clinical_sample.txt", sep="\t", skiprows=4, dtype=str)
    samples["not_primary"] = samples["SAMPLE_TYPE"].str.lower() != "primary"
    chosen = samples.sort_values(["PATIENT_ID", "not_primary", "SAMPLE_ID"]).drop_duplicates("PATIENT_ID")
    maf = pd.read_csv(study / "data_mutations_extended.txt", sep="\t", comment="#", dtype=str)
    maf = maf[maf["Variant_Classification"].isin(NON_SILENT_CLASSES) & (maf["Mutation_Status"] != "GERMLINE")]
    counts = {
        gene: int(chosen["SAMPLE_ID"].isin(maf.loc[maf["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"]).sum())
        for gene in DEFAULT_ACTIONABLE_PANEL
    }
    return chosen, counts


def test_real_study_gives_one_row_per_patient_with_flags_and_msi(crc_study: Path) -> None:
    entry = resolve_source(str(crc_study), registry=None)
    cohort = harmonize_entry(read_raw(entry), entry, salt="s")
    patients = pd.read_csv(crc_study / "data_clinical_patient.txt", sep="\t", skiprows=4)
    assert cohort.height == len(patients) == 1099
    assert cohort["patient_id"].n_unique() == 1099

    chosen, expected = _expected_flags(crc_study)
    observed = {g: int(cohort[genomic_variant_column(g)].sum()) for g in DEFAULT_ACTIONABLE_PANEL}
    assert observed == expected
    assert observed["KRAS"] == 486 and observed["BRAF"] == 118  # as counted from the files by hand

    # MSI: the label, else MSIsensor score >= 10 MSI-H, < 3 MSS (Middha et al. 2017), else null
    score = chosen["MSI_SCORE"].astype(float)
    label = chosen["MSI_STATUS"].map({"MSI": "MSI-H", "MSS": "MSS"})
    derived = label.fillna(pd.Series(np.select([score >= 10, score < 3], ["MSI-H", "MSS"], None), index=chosen.index))
    counts = dict(cohort["msi_status"].value_counts().iter_rows())
    assert counts["MSI-H"] == (derived == "MSI-H").sum() == 103  # 101 labelled + 2 by score
    assert counts["MSS"] == (derived == "MSS").sum()
    assert counts[None] == derived.isna().sum()
    assert cohort["survival_months"].null_count() == 0  # OS_MONTHS, else OS_MONTHS_ADDITIONAL
    assert cohort["vital_status_event"].sum() == (patients["OS_STATUS"] == "DECEASED").sum()
    assert cohort["tumor_mutational_burden"].min() >= 0
    assert "sample_id" not in cohort.columns  # a source identifier never enters the table


def test_tmb_counts_non_silent_somatic_variants_per_megabase(crc_study: Path) -> None:
    raw = read_cbioportal_study(crc_study)
    first = raw.filter(pl.col("PATIENT_ID") == "P-0000119")
    maf = pd.read_csv(crc_study / "data_mutations_extended.txt", sep="\t", comment="#", dtype=str)
    sample = maf[
        (maf["Tumor_Sample_Barcode"] == "P-0000119-T01-IM3")
        & maf["Variant_Classification"].isin(NON_SILENT_CLASSES)
        & (maf["Mutation_Status"] != "GERMLINE")
    ]
    assert first["TMB_NONSYNONYMOUS"][0] == pytest.approx(len(sample) / 0.98)  # IMPACT341


def test_unsequenced_samples_get_null_flags(tmp_path: Path) -> None:
    (tmp_path / "data_clinical_patient.txt").write_text(
        "#a\tb\tc\n#a\tb\tc\n#STRING\tNUMBER\tSTRING\n#1\t1\t1\n"
        "PATIENT_ID\tOS_MONTHS\tOS_STATUS\nP1\t10\tLIVING\nP2\t5\tDECEASED\n"
    )
    (tmp_path / "data_clinical_sample.txt").write_text(
        "#a\tb\n#a\tb\n#STRING\tSTRING\n#1\t1\nPATIENT_ID\tSAMPLE_ID\nP1\tS1\nP2\tS2\n"
    )
    (tmp_path / "data_mutations.txt").write_text(
        "#sequenced_samples: S1\nHugo_Symbol\tVariant_Classification\tTumor_Sample_Barcode\n"
        "KRAS\tMissense_Mutation\tS1\nTP53\tSilent\tS1\n"
    )
    raw = read_cbioportal_study(tmp_path, panel_sizes_mb={"default": 1.0})
    assert raw.sort("PATIENT_ID")["genomic_variant_kras"].to_list() == [True, None]
    assert raw.sort("PATIENT_ID")["genomic_variant_tp53"].to_list() == [False, None]  # silent ignored
    assert raw.sort("PATIENT_ID")["TMB_NONSYNONYMOUS"].to_list() == [1.0, None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("#a\n#b\n#STRING\tNUMBER\n#1\t1\nPATIENT_ID\tAGE\nP1\t3\n", "metadata line 1 has 1 fields"),
        (HEADER.replace("#STRING\tNUMBER", "#STRING\tFLOAT"), r"column 'AGE', value 'FLOAT'"),
        (HEADER, "header but no data rows"),
        (HEADER + "P1\t4O\n", r"column 'AGE', row 1, value '4O': wrong type"),
    ],
)
def test_broken_clinical_files_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "data_clinical_patient.txt"
    path.write_text(content)
    with pytest.raises(CohortDataError, match=message) as error:
        read_clinical_file(path)
    assert str(path) in str(error.value)


def test_clinical_file_is_typed_by_its_header(tmp_path: Path) -> None:
    path = tmp_path / "data_clinical_patient.txt"
    path.write_text(HEADER + "P1\t61.5\nP2\tNA\n")
    frame = read_clinical_file(path)
    assert frame.schema["AGE"] == pl.Float64 and frame["AGE"].to_list() == [61.5, None]


def test_clinical_file_without_hash_lines_is_typed_by_its_values(tmp_path: Path) -> None:
    path = tmp_path / "data_clinical_patient.txt"
    path.write_text("PATIENT_ID\tAGE\tSEX\nP1\t3\tFemale\nP2\tNA\tMale\n")
    frame = read_clinical_file(path)
    assert frame["AGE"].to_list() == [3, None] and frame["SEX"].to_list() == ["Female", "Male"]
