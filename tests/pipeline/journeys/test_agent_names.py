"""Free-text drug names -> generic agents: brands, typos (fuzzy, conservative), combinations, blinded arms."""

from __future__ import annotations

import pytest

from pipeline.journeys.agent_names import resolve_agent
from pipeline.journeys.drugs import load_drug_vocabulary, parse_vocabulary


@pytest.mark.parametrize(
    ("written", "agents", "how"),
    [
        ("TAXOL", ("paclitaxel",), "exact"),
        ("Temodar", ("temozolomide",), "exact"),
        ("5 FU", ("fluorouracil",), "exact"),
        ("5-FU", ("fluorouracil",), "exact"),
        ("GEMCITABINE HCL", ("gemcitabine",), "exact"),  # a salt is noise
        ("CARBOPLATIN #1", ("carboplatin",), "exact"),
        ("PEMETHEXED", ("pemetrexed",), "fuzzy"),
        ("PACILTAXEL", ("paclitaxel",), "fuzzy"),
        ("ERLOTINIB (TARCEVA)", ("erlotinib",), "exact"),  # two names of one drug
        ("LOMUSTINE CCNU", ("lomustine",), "exact"),
        ("IRINOTECAN + CETUXIMAB", ("irinotecan", "cetuximab"), "combination"),
        ("FOLFOX", ("fluorouracil", "leucovorin", "oxaliplatin"), "regimen"),
        ("oxaliplatinum+ 5-FU", ("oxaliplatin", "fluorouracil"), "combination"),  # never one fuzzy drug
        ("Bevacizumab or placebo", ("bevacizumab",), "blinded"),
        ("PLACEBO", ("placebo",), "exact"),
        ("TAXOL OR TAXOTERE", ("taxol or taxotere",), "unknown"),  # either: neither
        ("SNS 595", ("vosaroxin",), "exact"),
        ("RAS INHIBITOR", ("ras inhibitor",), "unknown"),
    ],
)
def test_written_names_resolve(written: str, agents: tuple[str, ...], how: str) -> None:
    resolution = resolve_agent(written)
    assert (resolution.agents, resolution.how) == (agents, how)


def test_fuzzy_match_is_conservative() -> None:
    assert resolve_agent("CCNX").how == "unknown"  # too short to guess
    assert resolve_agent("GEMZET").agents == ("gemcitabine",)  # a listed typo, not a guess
    assert resolve_agent("TAXOTE").agents == ("docetaxel",)
    assert resolve_agent("CISPLATIN/CARBOPLATIN").agents == ("cisplatin", "carboplatin")


def test_vocabulary_classes_and_supportive_care() -> None:
    vocabulary = load_drug_vocabulary()
    assert vocabulary.drug("pembrolizumab").agent_class == "immunotherapy"
    assert vocabulary.drug("olaparib").agent_class == "targeted"
    assert vocabulary.drug("letrozole").agent_class == "hormone"
    assert {"dexamethasone", "pegfilgrastim", "placebo"} <= vocabulary.supportive()
    common = ["cisplatin", "carboplatin", "paclitaxel", "docetaxel", "pemetrexed", "gemcitabine", "fluorouracil",
              "capecitabine", "oxaliplatin", "irinotecan", "bevacizumab", "cetuximab", "panitumumab", "erlotinib",
              "gefitinib", "osimertinib", "crizotinib", "alectinib", "olaparib", "niraparib", "temozolomide",
              "nivolumab", "pembrolizumab", "atezolizumab", "ipilimumab", "tamoxifen", "letrozole"]  # fmt: skip
    assert [d for d in common if vocabulary.drug(d) is None] == []


def test_a_name_claimed_by_two_drugs_or_an_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="listed for"):
        parse_vocabulary({"drugs": {"a": {"class": "chemotherapy", "names": ["x"]}, "b": {"names": ["X"]}}})
    with pytest.raises(ValueError, match="class"):
        parse_vocabulary({"drugs": {"a": {"class": "magic"}}})
    with pytest.raises(ValueError, match="not in the vocabulary"):
        parse_vocabulary({"drugs": {"a": {}}, "regimens": {"ab": ["a", "b"]}})
