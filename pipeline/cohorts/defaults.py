"""What a table without a spec is read with: the schema's names first, then the names registries use.

A registry or trial export rarely names its columns as the schema does. For every schema column,
candidates are tried in order (compared ignoring case, blanks and punctuation, so
``Survival months`` matches ``SURVIVAL_MONTHS``); the first present column wins, and the report
names the source column each schema column came from. A spec's own mapping always wins.
"""

from __future__ import annotations

from pipeline.cohorts.spec import CohortSpec

ID_CANDIDATES = ("patient_id", "PATIENT_ID", "Patient ID", "subject_id", "case_id", "case_submitter_id",
                 "bcr_patient_barcode", "participant_id", "record_id", "id")  # fmt: skip

TABLE_DEFAULT_SPEC = CohortSpec(
    columns={
        "age_at_diagnosis": ["age_at_diagnosis", "AGE_AT_DIAGNOSIS", "Age at Diagnosis", "Diagnosis Age", "AGE",
                             "age_at_dx", "dx_age"],
        "sex": ["sex", "SEX", "GENDER", "Sex at birth"],
        "race": ["race", "RACE", "Race Category", "race_ethnicity"],
        "ethnicity": ["ethnicity", "ETHNICITY", "Ethnicity Category", "Hispanic Origin"],
        "primary_cancer_condition": ["primary_cancer_condition", "ONCOTREE_CODE", "Oncotree Code",
                                     "CANCER_TYPE_ACRONYM", "cancer_type"],
        "cancer_stage_group": ["cancer_stage_group", "STAGE_AT_DIAGNOSIS", "AJCC_PATHOLOGIC_TUMOR_STAGE",
                               "AJCC Stage", "PATH_STAGE", "PATHOLOGIC_STAGE", "CLINICAL_STAGE", "STAGE",
                               "TUMOR_STAGE"],
        "tumor_grade": ["tumor_grade", "GRADE", "TUMOR_GRADE", "Histologic Grade"],
        "msi_status": ["msi_status", "MSI_STATUS", "MSI_TYPE"],
        "tumor_mutational_burden": ["tumor_mutational_burden", "TMB_NONSYNONYMOUS", "TMB"],
        "survival_months": ["survival_months", "OS_MONTHS", "Overall Survival (Months)", "Survival months",
                            "os_time_months", "SURVIVAL_TIME_MONTHS"],
        "vital_status_event": ["vital_status_event", "OS_STATUS", "Overall Survival Status", "VITAL_STATUS",
                               "Vital status recode (study cutoff used)", "os_event", "death_event", "EVENT"],
    },
)  # fmt: skip


def table_spec(spec: CohortSpec, columns: list[str]) -> CohortSpec:
    """``spec`` over the table defaults, its id column the first candidate the table has."""
    from pipeline.cohorts.readers.cbioportal import header_key

    merged = spec.merged_over(TABLE_DEFAULT_SPEC)
    if spec.id_column != "patient_id" or "patient_id" in columns:
        return merged
    keys = {header_key(c): c for c in columns}
    found = next((keys[header_key(c)] for c in ID_CANDIDATES if header_key(c) in keys), None)
    return CohortSpec(**{**merged.__dict__, "id_column": found}) if found else merged
