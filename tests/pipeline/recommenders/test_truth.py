"""The therapy table: cited rows, vocabulary checks, indications by biomarker and line, contraindications, and a
guideline reference that is concordant and never contraindicated on any patient."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from pipeline.recommenders.guidelines_file import DEFAULT_GUIDELINES, load_guidelines, parse_guidelines
from pipeline.recommenders.references import GuidelineReference
from pipeline.recommenders.truth import GuidelineError
from tests.pipeline.recommenders.conftest import item

TABLE = load_guidelines()


def _indicated(entry: dict) -> list[str]:
    return [row.id for row in TABLE.indicated(TABLE.patient(entry))]


def _forbidden(entry: dict, *agents: str) -> list[str]:
    return [c["rule"] for c in TABLE.contraindicated(TABLE.patient(entry), agents)]


def test_every_row_is_cited_and_every_agent_is_in_the_vocabulary() -> None:
    for row in (*TABLE.indications, *TABLE.contraindications, *TABLE.defaults):
        assert row.source.kind in ("fda", "guideline") and row.source.date[:2] in ("19", "20"), row
    for therapy in TABLE.classes.values():
        assert all(TABLE.vocabulary.drugs[a].agent_class == therapy.agent_class for a in therapy.agents)
    assert TABLE.version and len(TABLE.sha256) == 64


def test_indications_follow_biomarker_cancer_line_and_history() -> None:
    assert _indicated(item(egfr=True)) == ["nsclc_egfr"]
    assert _indicated(item(code="LUNG", egfr=True, stage="I")) == ["nsclc_egfr"]  # any stage: adjuvant too
    assert _indicated(item(egfr=False)) == []
    assert _indicated(item(egfr=None)) == []
    after_tki = [{"line": 1, "regimen": ["osimertinib"]}]
    assert _indicated(item(egfr=True, lines=after_tki)) == []  # progressed on the EGFR TKI: chemotherapy next
    after_alk = [{"line": 1, "regimen": ["alectinib"]}]
    assert _indicated(item(alk=True, lines=after_alk)) == ["nsclc_alk_after_alk"]
    assert _indicated(item(kras=True)) == []  # sotorasib after a prior therapy only
    assert _indicated(item(kras=True, line=2)) == ["nsclc_kras_g12c"]
    assert _indicated(item(code="COAD", braf=True)) == []  # RAS not documented wild-type
    assert _indicated(item(code="COAD", braf=True, kras=False, nras=False)) == ["colorectal_braf_first_line"]
    assert _indicated(item(code="COAD", braf=True, line=2)) == []  # not the tissue-agnostic BRAF row either
    assert _indicated(item(code="COAD", msi_status="MSI-H", stage="III")) == []
    assert _indicated(item(code="COADREAD", msi_status="MSI-H")) == ["colorectal_msi"]
    assert _indicated(item(code="CUP", msi_status="MSI-H", line=2)) == ["solid_msi"]
    both = item(code="IDC", stage="II", tumor_marker_her2_status="Positive", tumor_marker_er_status="Positive")
    assert _indicated(both) == ["breast_her2", "breast_hr"]
    assert TABLE.concordant_classes(TABLE.indicated(TABLE.patient(both))) == {"anti_her2", "endocrine"}
    assert _indicated(item(code="HGSOC", brca2=True)) == []  # maintenance after first-line platinum
    assert _indicated(item(code="HGSOC", brca2=True, line=2)) == ["ovarian_brca"]


def test_contraindications_name_the_rule() -> None:
    assert _forbidden(item(egfr=False), "osimertinib") == ["egfr_tki_without_egfr"]
    assert _forbidden(item(egfr=None), "osimertinib") == ["egfr_tki_without_egfr"]  # untested counts
    assert _forbidden(item(egfr=True), "osimertinib", "carboplatin") == []
    crc = {"code": "COAD", "braf": True}
    assert _forbidden(item(**crc, kras=True, nras=False), "cetuximab") == ["anti_egfr_antibody_without_ras_wild_type"]
    assert _forbidden(item(**crc, kras=False), "cetuximab") == ["anti_egfr_antibody_without_ras_wild_type"]
    assert _forbidden(item(**crc, kras=False, nras=False), "cetuximab", "encorafenib") == []
    assert _forbidden(item(code="LUSC", kras=True), "cetuximab") == []  # the RAS rule is colorectal only
    her2_negative = item(code="IDC", tumor_marker_her2_status="Negative")
    assert _forbidden(her2_negative, "trastuzumab deruxtecan") == []  # HER2-low cannot be told apart
    assert _forbidden(her2_negative, "trastuzumab") == ["anti_her2_without_her2"]
    assert _forbidden(item(code="HGSOC", brca1=False), "niraparib") == []
    assert _forbidden(item(code="IDC", brca1=False), "olaparib") == ["parp_inhibitor_without_brca"]
    assert _forbidden(item(code="IDC", tumor_marker_er_status="Negative"), "letrozole") == [
        "endocrine_without_hormone_receptor"
    ]
    assert _forbidden(item(code="UCEC"), "letrozole") == []  # endocrine rule: breast only


def _random_item(rng: random.Random, i: int) -> dict:
    codes = [sorted(codes)[0] for codes in TABLE.groups.values()] + ["CUP", "LUNG", None]
    genes = {g: rng.choice([True, False, None]) for g in ("egfr", "alk", "braf", "kras", "nras", "erbb2", "brca1",
                                                          "brca2", "kit")}  # fmt: skip
    status = {c: rng.choice(["Positive", "Negative", None]) for c in ("tumor_marker_er_status",
                                                                      "tumor_marker_pr_status",
                                                                      "tumor_marker_her2_status")}  # fmt: skip
    agents = [a for c in TABLE.classes.values() for a in c.agents[:2]]
    lines = [{"line": n + 1, "regimen": rng.sample(agents, 2)} for n in range(rng.choice([0, 0, 1, 2, 3]))]
    return item(f"p{i}", rng.choice(codes), stage=rng.choice(["I", "II", "III", "IV", None]), lines=lines,
                msi_status=rng.choice(["MSI-H", "MSS", None]), **genes, **status)  # fmt: skip


def test_the_guideline_reference_is_concordant_and_never_contraindicated() -> None:
    rng, reference = random.Random(0), GuidelineReference(TABLE)
    entries = [_random_item(rng, i) for i in range(4000)]
    actionable = 0
    for entry, answer in zip(entries, reference.recommend(entries), strict=True):
        patient = TABLE.patient(entry)
        rows = TABLE.indicated(patient)
        actionable += bool(rows)
        assert TABLE.contraindicated(patient, answer["agents"]) == [], (entry, answer)
        assert not rows or answer["therapy_class"] in TABLE.concordant_classes(rows)
    assert actionable > 500


def _table_with(change) -> dict:
    raw = yaml.safe_load(DEFAULT_GUIDELINES.read_text())
    change(raw)
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["indications"][0].update(regimen=["osimertinibb"]), "not generic names"),
        (lambda raw: raw["indications"][0].update(regimen=["carboplatin"]), "has no agent of class egfr_tki"),
        (lambda raw: raw["indications"][0].update(biomarker="ROS1"), "unknown biomarker"),
        (lambda raw: raw["indications"][0]["source"].update(date="April 2018"), "is not YYYY"),
        (lambda raw: raw["indications"][0].pop("source"), "needs a source"),
        (lambda raw: raw["therapy_classes"]["egfr_tki"]["agents"].append("cetuximab"), "is in therapy classes"),
        (lambda raw: raw["therapy_classes"]["endocrine"]["agents"].append("cisplatin"), "not of agent class"),
        (lambda raw: raw["contraindications"][0].pop("requires"), "needs requires"),
    ],
)
def test_a_malformed_table_is_refused(change, message: str) -> None:
    with pytest.raises(GuidelineError, match=message):
        parse_guidelines(_table_with(change), Path("therapy_guidelines.yaml"))
