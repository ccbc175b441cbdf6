"""The synthesizers by name, and their parameter profiles (``fast`` for tests/CI, ``full`` for quality)."""

from __future__ import annotations

from typing import Any

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
