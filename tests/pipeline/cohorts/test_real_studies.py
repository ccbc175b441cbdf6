"""Every real study in ../shared/cohorts ingests as published, and its counts match the files.

The expected numbers are computed here from the raw files with pandas, independently of the
loader (its own parsing, its own token list, its own sample choice), and the headline ones
are also written out as counted by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from pipeline.cohorts.load import ingest, resolve_source

TOKENS = {"", "NA", "N/A", "UNKNOWN", "Unknown", "null", "[Not Available]", "Not Applicable", "Inconclusive"}
NON_SILENT = {
    "Frame_Shift_Del", "Frame_Shift_Ins", "In_Frame_Del", "In_Frame_Ins", "Missense_Mutation",
    "Nonsense_Mutation", "Nonstop_Mutation", "Splice_Site", "Translation_Start_Site",
}  # fmt: skip
DEATH = {"DECEASED", "1:DECEASED", "1"}


def read(path: Path) -> pd.DataFrame:
    """A clinical file as strings: '#' lines skipped, tokens -> NaN, blank rows and nameless columns dropped."""
    lines = path.read_text().splitlines()
    skip = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    frame = pd.read_csv(path, sep="\t", skiprows=skip, dtype=str, keep_default_na=False, quoting=3)
    frame = frame.loc[:, [c for c in frame.columns if c.strip() and not c.startswith("Unnamed")]]
    frame = frame.apply(lambda c: c.str.strip())
    frame = frame.mask(frame.isin(TOKENS))
    return frame.dropna(how="all")


def survivors(patients: pd.DataFrame) -> pd.DataFrame:
    """Patients with both an overall-survival time and a status (the others are left out)."""
    months = patients["OS_MONTHS"]
    if "OS_MONTHS_ADDITIONAL" in patients:
        months = months.fillna(patients["OS_MONTHS_ADDITIONAL"])
    return patients[months.notna() & patients["OS_STATUS"].notna()]


def carriers(study: Path, chosen: pd.DataFrame, gene: str, *, classification: str = "Variant_Classification") -> int:
    maf_path = next(study.glob("data_mutations*.txt"))
    maf = pd.read_csv(maf_path, sep="\t", dtype=str, comment="#", skip_blank_lines=True)
    maf = maf[maf[classification].isin(NON_SILENT) & (maf.get("Mutation_Status", "") != "GERMLINE")]
    return int(chosen["SAMPLE_ID"].isin(maf.loc[maf["Hugo_Symbol"] == gene, "Tumor_Sample_Barcode"]).sum())


def harmonized(study: Path) -> tuple[pl.DataFrame, dict]:
    frame, report = ingest(resolve_source(str(study), registry=None), salt="t")
    return frame, report.to_dict()


def test_crc_msk_2017(shared_study) -> None:
    study = shared_study("crc_msk_2017")
    frame, report = harmonized(study)
    patients = survivors(read(study / "data_clinical_patient.txt"))
    samples = read(study / "data_clinical_sample.txt")
    samples["rank"] = samples["SAMPLE_TYPE"] != "Primary"
    chosen = samples.sort_values(["PATIENT_ID", "rank", "SAMPLE_ID"]).drop_duplicates("PATIENT_ID")
    assert frame.height == len(patients) == 1099
    assert frame["vital_status_event"].sum() == patients["OS_STATUS"].isin(DEATH).sum() == 349
    assert frame["genomic_variant_kras"].sum() == carriers(study, chosen, "KRAS") == 486
    assert frame["genomic_variant_tp53"].sum() == carriers(study, chosen, "TP53")
    assert frame["primary_cancer_condition"].cast(pl.String).to_list() == ["COADREAD"] * 1099
    assert frame["race"].null_count() == 1099  # the study has no race
    assert "VITAL_STATUS" in report["outcome_proxies"] and "vital_status" not in frame.columns
    assert report["left_out"] == {}


def test_csf_ctdna_failed_tests_give_null_flags(shared_study) -> None:
    study = shared_study("csf_ctdna_msk")
    frame, report = harmonized(study)
    patients = read(study / "data_clinical_patient.txt")
    kept = survivors(patients)
    samples = read(study / "data_clinical_sample.txt")
    samples["failed"] = samples["CTDNA_STATUS"] == "Negative"  # "negative status indicate test failures"
    chosen = samples.sort_values(["PATIENT_ID", "failed", "SAMPLE_ID"]).drop_duplicates("PATIENT_ID")
    chosen = chosen[chosen["PATIENT_ID"].isin(kept["PATIENT_ID"])]
    good = chosen[~chosen["failed"]]
    assert frame.height == len(kept) == 649
    assert sum(report["left_out"].values()) == len(patients) - len(kept) == 62
    assert frame["vital_status_event"].sum() == kept["OS_STATUS"].isin(DEATH).sum() == 427
    # a failed test gives null flags and null TMB, never all-False and 0
    assert frame["genomic_variant_kras"].null_count() == chosen["failed"].sum() == 217
    assert frame["tumor_mutational_burden"].null_count() == 217
    assert frame["genomic_variant_kras"].sum() == carriers(study, good, "KRAS")
    assert frame["genomic_variant_tp53"].sum() == carriers(study, good, "TP53")
    # every published OncoTree code is kept (43 distinct ones among these patients)
    expected = chosen["ONCOTREE_CODE"].value_counts().to_dict()
    observed = dict(frame["primary_cancer_condition"].cast(pl.String).value_counts().iter_rows())
    assert observed == expected and len(observed) == 43
    assert frame["oncotree_main_type"].null_count() == 0  # the curated table knows every code here


def test_summit_shifted_maf_normal_samples_and_unknown_labels(shared_study) -> None:
    study = shared_study("summit_btc_neratinib_msk")
    frame, report = harmonized(study)
    patients = read(study / "data_clinical_patient.txt")
    kept = survivors(patients)
    samples = read(study / "data_clinical_sample.txt")
    samples = samples[samples["SAMPLE_TYPE"] != "Normal"]  # a blood normal never represents a tumour
    samples["rank"] = samples["SAMPLE_TYPE"] != "Primary"
    chosen = samples.sort_values(["PATIENT_ID", "rank", "SAMPLE_ID"]).drop_duplicates("PATIENT_ID")
    chosen = chosen[chosen["PATIENT_ID"].isin(kept["PATIENT_ID"])]
    assert len(patients) == 25 and frame.height == len(kept) == 4  # OS_STATUS is UNKNOWN for 21
    assert report["left_out"] == {"no vital status (overall survival event)": 21}
    assert frame["vital_status_event"].sum() == kept["OS_STATUS"].isin(DEATH).sum() == 3
    assert dict(frame["race"].cast(pl.String).value_counts().iter_rows()) == {"White": 4}
    assert frame["ethnicity"].cast(pl.String).to_list() == ["Not Hispanic or Latino"] * 4
    # the MAF's rows are shifted one column: classes sit under Consequence (header column 9)
    raw = pd.read_csv(study / "data_mutations_extended.txt", sep="\t", dtype=str)
    assert set(raw["Variant_Classification"]) <= {"SNP", "DNP", "INS", "DEL"}
    for gene, column in (("TP53", "genomic_variant_tp53"), ("ERBB2", "genomic_variant_erbb2")):
        assert frame[column].sum() == carriers(study, chosen, gene, classification="Consequence")
    assert frame["genomic_variant_erbb2"].sum() == 4  # HER2-mutant basket: every kept patient
    assert any("shifted one column" in w for w in report["warnings"])
    assert any("trailing tabs" in w for w in report["warnings"])
    assert {"DATE_ADDED", "MSK_SLIDE_ID"} <= set(report["dropped_identifiers"])


def test_luad_tcga_without_hash_lines(shared_study) -> None:
    study = shared_study("luad_tcga_pan_can_atlas_2018")
    frame, report = harmonized(study)
    patients = read(study / "data_clinical_patient.txt")
    kept = survivors(patients)
    assert len(patients) == 566 and frame.height == len(kept) == 505
    assert frame["vital_status_event"].sum() == kept["OS_STATUS"].isin(DEATH).sum() == 182
    race = kept["RACE"].map({"White": "White", "Black or African American": "Black", "Asian": "Asian",
                             "American Indian or Alaska Native": "American Indian or Alaska Native"})  # fmt: skip
    observed = dict(frame["race"].cast(pl.String).value_counts().iter_rows())
    assert observed == {**race.value_counts().to_dict(), None: race.isna().sum()}
    assert observed["Black"] == 52 and observed["White"] == 388
    assert frame["primary_cancer_condition"].cast(pl.String).unique().to_list() == ["LUAD"]  # TCGA acronym
    stage = kept["AJCC_PATHOLOGIC_TUMOR_STAGE"].str.extract(r"STAGE (I{1,3}V?|IV)", expand=False)
    assert dict(frame["cancer_stage_group"].cast(pl.String).value_counts().drop_nulls().iter_rows()) == {
        k: v for k, v in stage.value_counts().items()
    }
    # identifiers and dates are dropped, outcome restatements too
    assert {"OTHER_PATIENT_ID", "FORM_COMPLETION_DATE"} <= set(report["dropped_identifiers"])
    assert {"DSS_STATUS", "DSS_MONTHS", "PFS_STATUS", "PFS_MONTHS", "DFS_STATUS", "DFS_MONTHS"} <= set(
        report["outcome_proxies"]
    )
    uuid = r"^[0-9a-f]{8}-[0-9a-f]{4}-"
    for column in frame.columns:
        values = frame[column].cast(pl.String).drop_nulls()
        assert not values.str.contains(uuid).any(), column
        assert not values.str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$").any(), column
    assert frame["genomic_variant_kras"].null_count() == 505  # no MAF: flags unknown, not False


def test_brca_metabric_single_file(shared_study) -> None:
    study = shared_study("brca_metabric")
    frame, report = harmonized(study)
    table = read(study / "data_clinical.txt")
    kept = survivors(table)
    assert frame.height == len(kept) == 1980
    assert frame["vital_status_event"].sum() == kept["OS_STATUS"].isin(DEATH).sum() == 1143
    er = kept["ER_STATUS"].map({"+": "Positive", "-": "Negative"}).value_counts().to_dict()
    assert dict(frame["tumor_marker_er_status"].cast(pl.String).value_counts().iter_rows()) == er
    grade = kept["GRADE"].map({"1": "G1", "2": "G2", "3": "G3"})
    assert frame["tumor_grade"].cast(pl.String).value_counts().sort("tumor_grade").rows() == sorted(
        [*grade.value_counts().items(), (None, grade.isna().sum())], key=lambda r: (r[0] is not None, r[0] or "")
    )
    assert frame["cancer_stage_group"].null_count() == kept["TUMOR_STAGE"].isna().sum() == 514
    assert frame["primary_cancer_condition"].cast(pl.String).unique().to_list() == ["IDC"]
    assert {"DFS_MONTHS", "DFS_STATUS"} <= set(report["outcome_proxies"])  # DFS equals OS for every death
    warnings = " ".join(report["warnings"])
    assert "blank line" in warnings and "5 '#' metadata lines" in warnings
    assert "source_cohort" in frame.columns  # the study's COHORT column, renamed away from the schema's


STUDIES = [
    "crc_msk_2017",
    "csf_ctdna_msk",
    "summit_btc_neratinib_msk",
    "luad_tcga_pan_can_atlas_2018",
    "brca_metabric",
    "nsclc_tcga_broad_2016",
    "tcga_biotab_coad",
    "tcga_biotab_gbm",
    "tcga_biotab_ov",
]


@pytest.mark.parametrize("name", STUDIES)
def test_every_study_passes_the_harmonized_suite(shared_study, name: str) -> None:
    from pipeline.expectations import load_suite, validate_frame

    frame, _ = harmonized(shared_study(name))
    outcome = validate_frame(frame, load_suite("harmonized_cohort"))
    assert outcome.success, outcome.describe()


def test_nsclc_spreadsheet_error_value_is_missing_not_a_refusal(shared_study) -> None:
    """OS_MONTHS holds Excel "#VALUE!" errors in 11 rows: read as missing (and counted); the study still ingests."""
    frame, report = harmonized(shared_study("nsclc_tcga_broad_2016"))
    assert frame.height > 900
    assert report["missing_tokens"]["OS_MONTHS"]["#VALUE!"] == 11


@pytest.mark.parametrize(("name", "project", "patients"), [("tcga_biotab_coad", "COAD", 458),
                                                           ("tcga_biotab_ov", "OV", 584),
                                                           ("tcga_biotab_gbm", "GBM", 596)])  # fmt: skip
def test_tcga_biotab_folders_ingest_with_survival_from_the_follow_up(shared_study, name, project, patients) -> None:
    """GDC Biotab tables (two extra header lines, bracketed tokens): one row per patient, survival from the
    latest of the patient and follow-up tables, clinical stage where the pathologic one does not apply (OV)."""
    folder = shared_study(name)
    frame, report = harmonized(folder)
    assert frame.height == patients
    raw = pd.read_csv(next(folder.glob("*clinical_patient_*.txt")), sep="\t", dtype=str, skiprows=[1, 2])
    dead_in_patient_table = (raw["vital_status"] == "Dead").sum()
    assert frame["vital_status_event"].sum() >= dead_in_patient_table - (len(raw) - patients)
    assert frame["survival_months"].min() >= 0 and frame["survival_months"].max() < 400
    assert frame["cancer_stage_group"].is_not_null().any() or project == "GBM"  # GBM has no staging
    assert any("clinical_drug" in f for f in report["unused_files"])  # listed, not silently ignored


def test_tcga_biotab_coad_biomarkers_from_the_patient_table(shared_study) -> None:
    """COAD's patient table records the MSI test, mismatch-repair immunohistochemistry and KRAS and BRAF
    results: MSI-H from a positive test or a protein not expressed, flags true/false only where tested."""
    folder = shared_study("tcga_biotab_coad")
    frame, _ = harmonized(folder)
    raw = pd.read_csv(next(folder.glob("*clinical_patient_*.txt")), sep="\t", dtype=str, skiprows=[1, 2])
    msi = frame["msi_status"].cast(pl.String)
    assert (msi == "MSI-H").sum() >= (raw["microsatellite_instability"] == "YES").sum()  # the test, plus dMMR
    assert (msi == "MSS").sum() >= (raw["microsatellite_instability"] == "NO").sum() - (
        raw["mismatch_rep_proteins_loss_ihc"].str.contains("Not Expressed", na=False)
    ).sum()
    assert frame["genomic_variant_kras"].sum() == (raw["kras_mutation_found"] == "YES").sum()
    assert frame["genomic_variant_kras"].is_not_null().sum() == raw["kras_mutation_found"].isin(["YES", "NO"]).sum()
    assert frame["genomic_variant_braf"].sum() == (raw["braf_gene_analysis_result"] == "Abnormal").sum()
