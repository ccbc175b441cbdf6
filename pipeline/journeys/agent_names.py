"""Free-text drug names as written -> generic agents, conservatively.

In order: the whole name, exactly (also after removing the vocabulary's noise words: salts,
routes, trial wording); a blinded arm ("bevacizumab or placebo") read as its active drug; a regimen acronym
(FOLFOX); a combination split on ``/ + , ; ( )`` and "and"/"with", one agent per part (parts
that name one drug twice, "Tarceva (erlotinib)", are one agent); words that all name the same
drug ("lomustine CCNU"); and last, per part, a fuzzy match: difflib ratio >= 0.85 to the closest listed
name, names of at least 5 characters, and only when the closest names belong to one drug. What
matches none of these is an unknown agent (its cleaned name, class other), never dropped.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.journeys.drugs import DrugVocabulary, load_drug_vocabulary, name_key

FUZZY_RATIO = 0.85
FUZZY_MIN_LENGTH = 5
_ALTERNATIVES = re.compile(r"\b(?:or|vs\.?|versus)\b", re.IGNORECASE)
_PARTS = re.compile(r"[/+,;()&]|\band\b|\bwith\b", re.IGNORECASE)
_PLACEBO = re.compile(r"\bplacebo\b", re.IGNORECASE)


@dataclass(frozen=True)
class Resolution:
    """The agents a written name stands for and how they were found."""

    agents: tuple[str, ...]  # generic names, or the cleaned name of an unknown agent
    how: str  # exact, fuzzy, regimen, combination, blinded, unknown
    unknown: tuple[str, ...] = ()  # the agents that are not in the vocabulary


def clean_name(text: str) -> str:
    """A written name as an unknown agent: lower case, single blanks, no edge punctuation."""
    return re.sub(r"\s+", " ", text.lower()).strip(" ,;:/+-()[].")


def _without_noise(text: str, vocabulary: DrugVocabulary) -> str:
    for pattern in vocabulary.noise:
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def _exact(text: str, vocabulary: DrugVocabulary) -> tuple[str, ...] | None:
    key = name_key(text)
    if key in vocabulary.index:
        return (vocabulary.index[key],)
    return vocabulary.regimens.get(key)


def _same_drug_words(text: str, vocabulary: DrugVocabulary) -> tuple[str, ...] | None:
    """``lomustine CCNU``: every word names the same drug."""
    found = {_exact(word, vocabulary) for word in text.split()}
    return found.pop() if len(found) == 1 and None not in found and len(text.split()) > 1 else None


def _fuzzy(text: str, vocabulary: DrugVocabulary) -> str | None:
    key = name_key(text)
    if len(key) < FUZZY_MIN_LENGTH:
        return None
    matcher = difflib.SequenceMatcher(b=key, autojunk=False)
    best, generics = 0.0, set()
    for name, generic in vocabulary.index.items():
        if len(name) < FUZZY_MIN_LENGTH:
            continue
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() < FUZZY_RATIO or matcher.quick_ratio() < FUZZY_RATIO:
            continue
        ratio = matcher.ratio()
        if ratio > best + 1e-9:
            best, generics = ratio, {generic}
        elif abs(ratio - best) <= 1e-9:
            generics.add(generic)
    return generics.pop() if best >= FUZZY_RATIO and len(generics) == 1 else None


def _one_part(text: str, vocabulary: DrugVocabulary, *, fuzzy: bool = True) -> tuple[tuple[str, ...], str] | None:
    """The agents of one name without separators, and how, or None."""
    cleaned = _without_noise(text, vocabulary)
    found = _exact(text, vocabulary) or _exact(cleaned, vocabulary) or _same_drug_words(cleaned, vocabulary)
    if found:
        return found, "regimen" if len(found) > 1 else "exact"
    generic = _fuzzy(cleaned, vocabulary) if fuzzy else None
    return ((generic,), "fuzzy") if generic else None


def _blinded(text: str, vocabulary: DrugVocabulary) -> Resolution | None:
    """``X or placebo``, ``X/placebo``: the active drug X when it is one known drug."""
    rest = _PLACEBO.sub(" ", _ALTERNATIVES.sub(" ", text))
    if not name_key(rest):
        return Resolution(("placebo",), "exact")
    parts = [p for p in _PARTS.split(rest) if name_key(p)]
    found = [_one_part(p, vocabulary) for p in parts]
    agents = {a for f in found if f for a in f[0]}
    return Resolution((agents.pop(),), "blinded") if all(found) and len(agents) == 1 else None


def _unknown(text: str) -> Resolution:
    return Resolution((clean_name(text),), "unknown", (clean_name(text),))


def _resolve(text: str, vocabulary: DrugVocabulary) -> Resolution:
    whole = _one_part(text, vocabulary, fuzzy=False)
    if whole:
        return Resolution(*whole)
    cleaned = _without_noise(text, vocabulary)
    if _PLACEBO.search(cleaned):
        return _blinded(cleaned, vocabulary) or _unknown(text)
    if _ALTERNATIVES.search(cleaned):  # "taxol or taxotere": either drug, so neither
        return _unknown(text)
    parts = [p for p in _PARTS.split(text) if name_key(_without_noise(p, vocabulary))]
    matches = [_one_part(p, vocabulary) for p in parts]
    if len(parts) <= 1:
        return Resolution(*matches[0]) if parts and matches[0] else _unknown(text)
    if not any(matches):
        return _unknown(text)
    agents: list[str] = []
    unknown: list[str] = []
    for part, match in zip(parts, matches, strict=True):
        names = match[0] if match else (clean_name(part),)
        unknown += [] if match else [clean_name(part)]
        agents += [a for a in names if a not in agents]
    hows = {m[1] for m in matches if m}
    how = "combination" if len(agents) > 1 else "fuzzy" if "fuzzy" in hows else "exact"
    return Resolution(tuple(agents), how, tuple(unknown))


@lru_cache(maxsize=8192)
def resolve_agent(text: str) -> Resolution:
    """The generic agents a written drug name stands for (module docstring)."""
    return _resolve(text, load_drug_vocabulary())
