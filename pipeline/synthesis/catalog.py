"""The synthesizers by name, and their parameter profiles (``fast`` for tests/CI, ``full`` for quality)."""

from __future__ import annotations

from typing import Any

from pipeline.settings import current
from pipeline.synthesis.base import SynthesisError, Synthesizer
from pipeline.synthesis.flow import FlowSynthesizer
from pipeline.synthesis.sdv_engines import CTGANEngine, GaussianCopulaEngine

SYNTHESIZERS: dict[str, type[Synthesizer]] = {
    "flow": FlowSynthesizer,
    "ctgan": CTGANEngine,
    "copula": GaussianCopulaEngine,
}
# flow is the default: it trains fastest, samples any condition directly and keeps null rates.
DEFAULT_SYNTHESIZER = "flow"
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "fast": {
        "flow": {"epochs": 15, "transforms": 3, "hidden_features": 64},
        "ctgan": {"epochs": 5, "batch_size": 200},
        "copula": {},
    },
    "full": {
        "flow": {"epochs": 60, "transforms": 4, "hidden_features": 96},
        "ctgan": {"epochs": 300},
        "copula": {},
    },
}


def make_synthesizer(name: str, *, profile: str = "full", **overrides: Any) -> Synthesizer:
    """A new, unfitted synthesizer: profile parameters updated by ``overrides``."""
    if name not in SYNTHESIZERS:
        raise SynthesisError(f"unknown synthesizer {name!r}; choose one of {sorted(SYNTHESIZERS)}")
    if profile not in PROFILES:
        raise SynthesisError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    return SYNTHESIZERS[name](**{**PROFILES[profile][name], **overrides})


PARTITIONED_SYNTHESIZERS = ("copula", "flow")  # what make demo builds; CTGAN takes minutes per cohort


def configured_synthesizers(setting: str | None = None) -> list[str]:
    """Synthesizers that are partitions: ``$ONCOBENCH_SYNTHESIZERS`` (comma-separated, e.g.
    ``flow,copula,ctgan``), else flow and copula. Partitions never built would show every model asset
    as partly missing for ever."""
    raw = current().synthesizers if setting is None else setting
    names = sorted({name.strip() for name in raw.split(",") if name.strip()}) or list(PARTITIONED_SYNTHESIZERS)
    unknown = [name for name in names if name not in SYNTHESIZERS]
    if unknown:
        raise SynthesisError(
            f"ONCOBENCH_SYNTHESIZERS: unknown synthesizer(s) {unknown}; choose from {sorted(SYNTHESIZERS)}"
        )
    return names


def engine_names() -> list[str]:
    """Names of every registered synthesizer (the CLI's choices)."""
    return sorted(SYNTHESIZERS)


def profile_names() -> list[str]:
    """Parameter profiles every engine declares (``fast``, ``full``)."""
    return sorted(PROFILES)
