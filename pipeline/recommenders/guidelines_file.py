"""Reading the therapy table file (``config/therapy_guidelines.yaml``) into a :class:`GuidelineTable`.

Every class and agent is checked against the journeys' drug vocabulary; a malformed row raises a
:class:`GuidelineError` naming the file and the row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.journeys.drugs import DrugVocabulary, load_drug_vocabulary
from pipeline.journeys.schema import AGENT_CLASSES
from pipeline.recommenders.truth import (
    ANY,
    NO_AGENTS,
    Biomarker,
    Contraindication,
    Default,
    GuidelineError,
    GuidelineTable,
    Indication,
    Lines,
    Source,
    TherapyClass,
)
from pipeline.settings import CONFIG_DIR

DEFAULT_GUIDELINES = CONFIG_DIR / "therapy_guidelines.yaml"
DATE = re.compile(r"^(\d{4}(-\d{2}(-\d{2})?)?)?$")


def _source(raw: Any, where: str) -> Source:
    if not isinstance(raw, dict) or not raw.get("document") or "date" not in raw:
        raise GuidelineError(f"{where}: needs a source with kind, document and date, got {raw!r}")
    date = str(raw["date"] or "")
    if not DATE.match(date):
        raise GuidelineError(f"{where}: source date {date!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    return Source(str(raw.get("kind", "")), " ".join(str(raw["document"]).split()), date)


def _lines(raw: Any, where: str) -> Lines:
    raw = raw or {}
    try:
        lines = Lines(int(raw.get("min", 1)), None if raw.get("max") is None else int(raw["max"]))
    except (AttributeError, TypeError, ValueError):
        raise GuidelineError(f"{where}: lines must be {{min: N, max: M}}, got {raw!r}") from None
    if lines.minimum < 1 or (lines.maximum is not None and lines.maximum < lines.minimum):
        raise GuidelineError(f"{where}: lines {raw!r} is empty or starts below 1")
    return lines


class _Reader:
    """Parses the sections, checking every name against what is already known."""

    def __init__(self, path: Path, raw: dict[str, Any], vocabulary: DrugVocabulary) -> None:
        self.path, self.raw, self.vocabulary = path, raw, vocabulary
        self.biomarkers: dict[str, Biomarker] = {}
        self.groups: dict[str, frozenset[str]] = {}
        self.classes: dict[str, TherapyClass] = {}

    def fail(self, message: str) -> GuidelineError:
        return GuidelineError(f"{self.path}: {message}")

    def names(self, values: Any, known: Iterable[str], kind: str, where: str) -> tuple[str, ...]:
        values = [values] if isinstance(values, str) else list(values or ())
        unknown = [v for v in values if v not in set(known)]
        if unknown:
            raise self.fail(f"{where}: unknown {kind} {unknown}; known: {sorted(known)}")
        return tuple(values)

    def cancers(self, value: Any, where: str) -> frozenset[str] | None:
        if value is None or value == ANY:
            return None
        return frozenset(c for g in self.names(value, self.groups, "cancer group", where) for c in self.groups[g])

    def agents(self, values: Any, where: str) -> tuple[str, ...]:
        unknown = [a for a in values or () if a not in self.vocabulary.drugs]
        if unknown:
            raise self.fail(f"{where}: agents {unknown} are not generic names of the drug vocabulary")
        return tuple(values or ())

    def read_biomarkers(self) -> None:
        raw = self.raw.get("biomarkers") or {}
        for name, spec in raw.items():
            spec = spec or {}
            if bool(spec.get("column")) == bool(spec.get("any_of")):
                raise self.fail(f"biomarker {name}: give either column (with positive values) or any_of")
            members = tuple(spec.get("any_of") or ())
            unknown = [m for m in members if m not in raw]
            if unknown:
                raise self.fail(f"biomarker {name}: any_of names unknown biomarkers {unknown}")
            self.biomarkers[str(name)] = Biomarker(str(name), spec.get("column"), tuple(spec.get("positive") or ()),
                                                   members, str(spec.get("proxy_for", "")),
                                                   " ".join(str(spec.get("caveat", "")).split()))  # fmt: skip

    def read_groups(self) -> None:
        owner: dict[str, str] = {}
        for name, spec in (self.raw.get("cancer_groups") or {}).items():
            codes = frozenset(str(c) for c in (spec or {}).get("codes") or ())
            if not codes:
                raise self.fail(f"cancer group {name}: no codes")
            for code in codes:
                if code in owner:
                    raise self.fail(f"OncoTree code {code} is in cancer groups {owner[code]} and {name}")
                owner[code] = name
            self.groups[str(name)] = codes

    def read_classes(self) -> None:
        owner: dict[str, str] = {}
        for name, spec in (self.raw.get("therapy_classes") or {}).items():
            spec = spec or {}
            agent_class = str(spec.get("agent_class", ""))
            if agent_class not in (*AGENT_CLASSES, NO_AGENTS):
                raise self.fail(f"therapy class {name}: agent_class {agent_class!r} is not one of {AGENT_CLASSES}")
            if spec.get("agents") == "all":
                agents = tuple(sorted(d.generic for d in self.vocabulary.drugs.values()
                                      if d.agent_class == agent_class and not d.supportive))  # fmt: skip
            else:
                agents = self.agents(spec.get("agents"), f"therapy class {name}")
            wrong = [a for a in agents if self.vocabulary.drugs[a].agent_class != agent_class]
            if wrong:
                raise self.fail(f"therapy class {name}: agents {wrong} are not of agent class {agent_class}")
            for agent in agents:
                if agent in owner:
                    raise self.fail(f"agent {agent} is in therapy classes {owner[agent]} and {name}")
                owner[agent] = str(name)
            targets = spec.get("targets")
            if targets is not None:
                self.names(targets, self.biomarkers, "biomarker", f"therapy class {name}")
            self.classes[str(name)] = TherapyClass(str(name), agent_class, agents, targets)

    def regimen(self, therapy_class: str, regimen: Any, where: str) -> tuple[str, ...]:
        agents = self.agents(regimen, where)
        members = self.classes[therapy_class].agents
        if members and not set(agents) & set(members):
            raise self.fail(f"{where}: regimen {list(agents)} has no agent of class {therapy_class}")
        return agents

    def read_indications(self) -> tuple[Indication, ...]:
        rows, seen = [], set()
        for i, spec in enumerate(self.raw.get("indications") or []):
            where = f"indication {spec.get('id') or f'#{i + 1}'}"
            if not spec.get("id") or spec["id"] in seen:
                raise self.fail(f"{where}: needs a unique id")
            seen.add(spec["id"])
            markers, classes = self.biomarkers, self.classes
            [therapy] = self.names(spec.get("therapy_class"), classes, "therapy class", where)
            [marker] = self.names(spec.get("biomarker"), markers, "biomarker", where)
            rows.append(Indication(
                id=str(spec["id"]), cancers=self.cancers(spec.get("cancers"), where), biomarker=marker,
                lines=_lines(spec.get("lines"), where), therapy_class=therapy,
                regimen=self.regimen(therapy, spec.get("regimen"), where), source=_source(spec.get("source"), where),
                except_cancers=self.cancers(spec.get("except_cancers"), where) or frozenset(),
                negative=self.names(spec.get("negative"), markers, "biomarker", where),
                unless=self.names(spec.get("unless"), markers, "biomarker", where),
                stages=tuple(str(s) for s in spec.get("stages") or ()),
                not_after=self.names(spec.get("not_after"), classes, "therapy class", where),
                after=self.names(spec.get("after"), classes, "therapy class", where),
                also_concordant=self.names(spec.get("also_concordant"), classes, "therapy class", where),
                note=" ".join(str(spec.get("note", "")).split()),
            ))  # fmt: skip
        return tuple(rows)

    def read_contraindications(self) -> tuple[Contraindication, ...]:
        rows = []
        for i, spec in enumerate(self.raw.get("contraindications") or []):
            where = f"contraindication {spec.get('id') or f'#{i + 1}'}"
            [therapy] = self.names(spec.get("therapy_class"), self.classes, "therapy class", where)
            requires = spec.get("requires")
            if requires is not None:
                self.names(requires, self.biomarkers, "biomarker", where)
            negative = self.names(spec.get("requires_negative"), self.biomarkers, "biomarker", where)
            if requires is None and not negative:
                raise self.fail(f"{where}: needs requires or requires_negative")
            rows.append(Contraindication(
                id=str(spec.get("id") or f"contraindication_{i + 1}"), therapy_class=therapy,
                source=_source(spec.get("source"), where), requires=requires, requires_negative=negative,
                cancers=self.cancers(spec.get("cancers"), where),
                except_cancers=self.cancers(spec.get("except_cancers"), where) or frozenset(),
                except_agents=frozenset(self.agents(spec.get("except_agents"), where)),
                note=" ".join(str(spec.get("note", "")).split()),
            ))  # fmt: skip
        return tuple(rows)

    def read_default(self, spec: dict[str, Any], where: str) -> Default:
        [therapy] = self.names(spec.get("therapy_class"), self.classes, "therapy class", where)
        return Default(
            self.cancers(spec.get("cancers"), where),
            _lines(spec.get("lines"), where),
            therapy,
            self.regimen(therapy, spec.get("regimen"), where),
            _source(spec.get("source"), where),
        )


def parse_guidelines(
    raw: Any, path: Path, vocabulary: DrugVocabulary | None = None, sha256: str = ""
) -> GuidelineTable:
    """The table from its parsed YAML; any unknown name, agent or malformed row raises a GuidelineError."""
    if not isinstance(raw, dict) or not raw.get("version"):
        raise GuidelineError(f"{path}: not a therapy table (YAML with version, biomarkers, indications, ...)")
    reader = _Reader(path, raw, vocabulary or load_drug_vocabulary())
    reader.read_biomarkers()
    reader.read_groups()
    reader.read_classes()
    indications = reader.read_indications()
    contraindications = reader.read_contraindications()
    defaults = tuple(reader.read_default(d, f"default #{i + 1}") for i, d in enumerate(raw.get("defaults") or []))
    if not isinstance(raw.get("fallback"), dict):
        raise GuidelineError(f"{path}: needs a fallback (therapy_class, regimen, source)")
    fallback = reader.read_default({**raw["fallback"], "cancers": ANY}, "fallback")
    return GuidelineTable(path, str(raw["version"]), sha256, reader.biomarkers, reader.groups, reader.classes,
                          indications, contraindications, defaults, fallback, reader.vocabulary)  # fmt: skip


@cache
def load_guidelines(path: Path | str | None = None) -> GuidelineTable:
    """Read the therapy table (default: ``config/therapy_guidelines.yaml``)."""
    path = Path(path or DEFAULT_GUIDELINES)
    try:
        text = path.read_bytes()
        raw = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise GuidelineError(f"cannot read the therapy table {path}: {error}") from None
    return parse_guidelines(raw, path, sha256=hashlib.sha256(text).hexdigest())
