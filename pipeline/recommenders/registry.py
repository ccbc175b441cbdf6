"""Registered recommenders (``recommenders:`` in ``config/models.yaml``): what the ``recommender_scores``
asset scores, one partition each. Recommenders are the second kind of model, so they share the models file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.recommenders.interface import RecommenderError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class RecommenderEntry:
    """One registered recommender: its partition name, spec (``reference:guideline``, ``MODULE:OBJECT``,
    ``cmd:COMMAND``, ``http://...``) and a description."""

    name: str
    recommender: str
    description: str = ""


def load_recommenders_registry(path: Path | str) -> tuple[RecommenderEntry, ...]:
    """The ``recommenders:`` of a models file; none when it lists none. Names are lower_snake_case."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise RecommenderError(f"cannot read models registry {path}: {error}") from None
    section = raw.get("recommenders") if isinstance(raw, dict) else None
    if section is None:
        return ()
    if not isinstance(section, dict):
        raise RecommenderError(f"{path}: `recommenders:` must map name -> {{recommender: SPEC}}")
    entries = []
    for name, item in section.items():
        if not NAME.match(str(name)):
            raise RecommenderError(f"{path}: recommender name {name!r} must be lower_snake_case (it names a partition)")
        if not isinstance(item, dict) or not isinstance(item.get("recommender"), str):
            raise RecommenderError(f"{path}: recommender {name!r} needs `recommender: SPEC` (e.g. reference:guideline)")
        entries.append(
            RecommenderEntry(str(name), item["recommender"], " ".join(str(item.get("description", "")).split()))
        )
    return tuple(entries)
