"""The OncoTree tissue table the plausibility rules select cancers from."""

from __future__ import annotations

import pytest

from pipeline.cancer_types import CancerTypeError, load_cancer_types
from pipeline.vocabularies import oncotree_codes

TABLE = load_cancer_types()
# Where the ingestion vocabulary (pipeline/cohorts/vocabularies/oncotree.yaml) and OncoTree disagree.
# TT is OncoTree's testicular teratoma (a child of NSGCT); CNS teratomas are BMT, BIMT and BMGT.
VOCABULARY_DISAGREES = {"TT"}


def test_the_table_states_its_version_and_source() -> None:
    assert TABLE.version and "oncotree_2026_05_21" in TABLE.source


def test_the_ovary_holds_hgsoc_and_tcga_ov() -> None:
    ovary = set(TABLE.select(tissues=["Ovary/Fallopian Tube"]))
    assert {"HGSOC", "OV", "SOC", "OVT", "OVARY", "GRCT", "ODYS"} <= ovary
    assert TABLE.types["OV"].section == "aliases" and TABLE.types["HGSOC"].section == "oncotree"


@pytest.mark.parametrize(
    ("tissue", "codes"),
    [
        ("Uterus", {"UCEC", "UEC", "UCS", "USARC", "GTD"}),
        ("Cervix", {"CESC", "CEAD"}),
        ("Vulva/Vagina", {"VSC", "VMM"}),
        ("Testis", {"SEM", "NSGCT", "MGCT", "TGCT"}),
        ("Prostate", {"PRAD", "PRNE"}),
        ("Penis", {"PSCC"}),
        ("CNS/Brain", {"GBM", "GB", "DIFG", "ASTR", "LGG", "MBL", "MNG"}),
    ],
)
def test_each_organ_holds_its_common_codes(tissue: str, codes: set[str]) -> None:
    assert codes <= set(TABLE.select(tissues=[tissue]))


def test_leukaemias_by_main_type_and_breast_nowhere() -> None:
    leukaemia = set(TABLE.select(main_types=["Leukemia"]))
    assert {"AML", "LAML", "ALL", "AMLNPM1", "ALAL"} <= leukaemia
    assert not {"BRCA", "IDC", "BREAST"} & set(TABLE.types)  # no breast rule: male breast cancer is real


def test_the_table_agrees_with_the_ingestion_vocabulary() -> None:
    covered = {"Ovary/Fallopian Tube", "Uterus", "Cervix", "Vulva/Vagina", "Testis", "Prostate", "Penis", "CNS/Brain"}
    vocabulary = oncotree_codes()
    for code, (_, tissue) in vocabulary.items():
        if code in VOCABULARY_DISAGREES:
            continue
        if tissue in covered:
            assert code in TABLE.types and TABLE.types[code].tissue == tissue, code
        elif code in TABLE.types:
            assert TABLE.types[code].tissue not in covered, code


def test_a_malformed_table_is_named(tmp_path) -> None:
    path = tmp_path / "table.yaml"
    path.write_text("version: 1\nsource: s\noncotree: {Testis: {Germ Cell Tumor: [SEM, SEM]}}\n")
    with pytest.raises(CancerTypeError, match="'SEM' is listed twice"):
        load_cancer_types(path)
    path.write_text('version: 1\nsource: s\noncotree: {Testis: {Germ Cell Tumor: ["SEM\'); DROP"]}}\n')
    with pytest.raises(CancerTypeError, match="not an OncoTree code"):
        load_cancer_types(path)
    with pytest.raises(CancerTypeError, match=r"no tissue \['Ovary'\]"):
        TABLE.select(tissues=["Ovary"])
