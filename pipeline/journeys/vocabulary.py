"""The event vocabulary (``vocabularies/events.yaml``): timeline event types, details, indications."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

VOCABULARY = Path(__file__).resolve().parent / "vocabularies" / "events.yaml"


@cache
def event_vocabulary() -> dict[str, Any]:
    """The parsed event vocabulary."""
    return yaml.safe_load(VOCABULARY.read_text()) or {}


def indication_map() -> dict[str, str]:
    """Source indications (lower case) -> indication."""
    return {str(k).lower(): str(v) for k, v in event_vocabulary()["indications"].items()}
