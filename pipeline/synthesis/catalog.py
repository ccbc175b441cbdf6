"""The registered synthesizers: built-in engines, engines registered in code, and engines other
packages declare under the ``oncobench.synthesizers`` entry point (``name = "module:Class"``).

Everything that lists engines (partitions, the CLI's choices, the model-file allow-list, profiles)
asks this registry, so a new engine is one file plus its registration.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from pipeline.settings import current
from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.errors import SynthesisError
from pipeline.synthesis.flow import FlowSynthesizer
from pipeline.synthesis.sdv_engines import CTGANEngine, GaussianCopulaEngine

ENTRY_POINT_GROUP = "oncobench.synthesizers"
STORAGE_ENCODINGS = ("signed-pickle", "tensors")
# flow is the default: it trains fastest, samples any condition directly and keeps null rates.
DEFAULT_SYNTHESIZER = "flow"
SYNTHESIZERS: dict[str, type[Synthesizer]] = {}
_entry_points_loaded = False


def register(engine: type[Synthesizer]) -> type[Synthesizer]:
    """Register an engine class (usable as a class decorator); its declarations are checked here."""
    name = getattr(engine, "name", None)
    if not isinstance(engine, type) or not issubclass(engine, Synthesizer):
        raise SynthesisError(f"{engine!r} is not a Synthesizer subclass")
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise SynthesisError(f"{engine.__qualname__}: name must be a lower-case identifier, got {name!r}")
    if engine.storage not in STORAGE_ENCODINGS:
        raise SynthesisError(f"synthesizer {name}: storage must be one of {STORAGE_ENCODINGS}, got {engine.storage!r}")
    missing = [profile for profile in ("fast", "full") if profile not in engine.profiles]
    if missing:
        raise SynthesisError(f"synthesizer {name}: declares no parameter profile {missing}")
    known = SYNTHESIZERS.get(name)
    if known is not None and known is not engine:
        raise SynthesisError(f"synthesizer {name!r} is registered twice ({known.__module__}, {engine.__module__})")
    SYNTHESIZERS[name] = engine
    return engine


for _engine in (FlowSynthesizer, CTGANEngine, GaussianCopulaEngine):
    register(_engine)


def engines() -> dict[str, type[Synthesizer]]:
    """Every registered engine by name, with those of installed packages' entry points loaded once."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                engine = point.load()
            except Exception as error:  # a broken plugin is named, not a traceback from deep inside
                raise SynthesisError(f"entry point {ENTRY_POINT_GROUP}:{point.name} = {point.value} cannot be "
                                     f"loaded ({type(error).__name__}: {error})") from None  # fmt: skip
            register(engine)
    return SYNTHESIZERS


def engine_names() -> list[str]:
    """Names of every registered synthesizer (the CLI's choices)."""
    return sorted(engines())


def profile_names() -> list[str]:
    """Parameter profiles every engine declares (``fast``, ``full``)."""
    return sorted(set.intersection(*(set(engine.profiles) for engine in engines().values())))


def engine(name: str) -> type[Synthesizer]:
    """The engine class called ``name``."""
    registered = engines()
    if name not in registered:
        raise SynthesisError(f"unknown synthesizer {name!r}; choose one of {sorted(registered)}")
    return registered[name]


def make_synthesizer(name: str, *, profile: str = "full", **overrides: Any) -> Synthesizer:
    """A new, unfitted synthesizer: profile parameters updated by ``overrides``."""
    kind = engine(name)
    if profile not in kind.profiles:
        raise SynthesisError(f"unknown profile {profile!r}; choose one of {sorted(kind.profiles)}")
    return kind(**{**kind.profiles[profile], **overrides})


def configured_synthesizers(setting: str | None = None) -> list[str]:
    """Synthesizers that are partitions: ``Settings.synthesizers`` (``$ONCOBENCH_SYNTHESIZERS``,
    comma-separated, e.g. ``flow,copula,ctgan``), else the engines that declare ``partition_by_default``
    (flow and copula). Partitions never built would show every model asset as partly missing for ever."""
    raw = current().synthesizers if setting is None else setting
    registered = engines()
    names = sorted({name.strip() for name in raw.split(",") if name.strip()}) or sorted(
        name for name, kind in registered.items() if kind.partition_by_default
    )
    unknown = [name for name in names if name not in registered]
    if unknown:
        raise SynthesisError(
            f"ONCOBENCH_SYNTHESIZERS: unknown synthesizer(s) {unknown}; choose from {sorted(registered)}"
        )
    return names
