"""The drug vocabulary (``vocabularies/drugs.yaml``): generic names, classes, brand names, typos.

Names are looked up by :func:`name_key`, which ignores case, blanks and punctuation, so that
``5-FU``, ``5 FU`` and ``5fu`` are one name. A key that would name two drugs is an error at load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipeline.journeys.schema import AGENT_CLASSES

VOCABULARY = Path(__file__).resolve().parent / "vocabularies" / "drugs.yaml"


@dataclass(frozen=True)
class Drug:
    """One generic drug and how sources name it."""

    generic: str
    agent_class: str
    supportive: bool  # supportive care or placebo: an event, never part of a line of therapy
    names: tuple[str, ...]
    typos: tuple[str, ...]


@dataclass(frozen=True)
class DrugVocabulary:
    """Every drug, regimen acronym and noise pattern, with the name index."""

    version: str
    drugs: dict[str, Drug]
    regimens: dict[str, tuple[str, ...]]  # name key -> generic names
    noise: tuple[re.Pattern[str], ...]
    index: dict[str, str]  # name key -> generic name

    def drug(self, generic: str) -> Drug | None:
        return self.drugs.get(generic)

    def supportive(self) -> frozenset[str]:
        """Generic names that never enter a line of therapy."""
        return frozenset(d.generic for d in self.drugs.values() if d.supportive)


def name_key(text: str) -> str:
    """A name as a lookup key: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def parse_vocabulary(raw: dict, *, source: str = "drugs.yaml") -> DrugVocabulary:
    """Build the vocabulary and its index; refuse unknown classes and names claimed by two drugs."""
    drugs: dict[str, Drug] = {}
    index: dict[str, str] = {}
    for generic, spec in (raw.get("drugs") or {}).items():
        spec = spec or {}
        agent_class = spec.get("class", "other")
        if agent_class not in AGENT_CLASSES:
            raise ValueError(f"{source}: {generic}: class {agent_class!r} is not one of {AGENT_CLASSES}")
        drug = Drug(str(generic), agent_class, bool(spec.get("supportive", False)),
                    tuple(map(str, spec.get("names", ()))), tuple(map(str, spec.get("typos", ()))))  # fmt: skip
        drugs[drug.generic] = drug
        for name in (drug.generic, *drug.names, *drug.typos):
            key = name_key(name)
            if index.get(key, drug.generic) != drug.generic:
                raise ValueError(f"{source}: the name {name!r} is listed for {index[key]!r} and {drug.generic!r}")
            index[key] = drug.generic
    regimens = {}
    for acronym, agents in (raw.get("regimens") or {}).items():
        unknown = [a for a in agents if a not in drugs]
        if unknown:
            raise ValueError(f"{source}: regimen {acronym!r} names drugs not in the vocabulary: {unknown}")
        regimens[name_key(str(acronym))] = tuple(agents)
    noise = tuple(re.compile(rf"(?<![0-9a-z]){p}(?![0-9a-z])", re.IGNORECASE) for p in raw.get("noise") or ())
    return DrugVocabulary(str(raw.get("version", "")), drugs, regimens, noise, index)


@cache
def load_drug_vocabulary(path: Path = VOCABULARY) -> DrugVocabulary:
    """The parsed drug vocabulary file."""
    return parse_vocabulary(yaml.safe_load(Path(path).read_text()) or {}, source=str(path))
