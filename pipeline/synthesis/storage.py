"""Model files that cannot run code when loaded.

A model file is a ZIP archive whose ``header.json`` names the synthesizer, the cohort and the
schema fingerprint it was fitted on, and how the body is stored:

- ``tensors`` (the flow and any engine that declares ``storage = "tensors"``): the attributes as
  JSON, NumPy arrays in ``arrays.npz`` (``allow_pickle=False``), frames as Arrow IPC, network weights
  as a torch state dict read with ``weights_only=True``; only classes that a registered engine
  declares (itself and its ``stored_classes``) are rebuilt.
- ``signed-pickle`` (SDV engines, which can only pickle): ``model.pkl`` plus an HMAC-SHA256 over
  the header and the body, with a per-project key kept outside git (``$ONCOBENCH_MODEL_KEY``, or
  ``~/.config/oncobench/keys/<project>.key`` created on first use, mode 0600). The HMAC is
  checked *before* a byte is unpickled: an unsigned, altered or foreign file is refused unread.

A caller that passes the cohort or schema it is about to use gets a file fitted on another one
refused from its header, before the body is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import importlib
import io
import json
import os
import pickle
import secrets
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipeline.io import write_bytes_atomic
from pipeline.settings import current
from pipeline.synthesis.catalog import engines
from pipeline.synthesis.errors import ModelFileError

MAGIC = "oncobench-model"
FORMAT_VERSION = 3  # 3: the flow models missingness in its context
MAX_MEMBER_BYTES = 4 << 30
# classes every tensors file may rebuild (module:qualname); engines add theirs (``stored_classes``)
REPORT_CLASSES = frozenset({"pipeline.synthesis.base:TrainingReport", "pipeline.synthesis.base:SampleReport"})


def tensor_engines() -> dict[str, type]:
    """Registered engines stored as tensors, by class name (module:qualname)."""
    return {_class_name(kind): kind for kind in engines().values() if kind.storage == "tensors"}


def allowed_classes() -> frozenset[str]:
    """Classes a tensors file may rebuild: the tensors engines, what they declare, the reports."""
    allowed = set(REPORT_CLASSES)
    for name, kind in tensor_engines().items():
        allowed |= {name, *kind.stored_classes}
    return frozenset(allowed)


class _Unsupported(Exception):
    """State that cannot be stored without pickling."""


def schema_fingerprint(schema: pl.Schema | dict[str, Any] | None) -> str | None:
    """sha256 over the column names and dtypes (``None`` for an unfitted model)."""
    if schema is None:
        return None
    return hashlib.sha256(json.dumps([[c, str(t)] for c, t in schema.items()]).encode()).hexdigest()


# -- the signing key --------------------------------------------------------------------------
def key_path() -> Path:
    """``$ONCOBENCH_MODEL_KEY``, else a per-project file under ``~/.config/oncobench/keys/``."""
    return current().model_key_path


def signing_key(create: bool = True) -> bytes:
    """The project's HMAC key; created (0600) on first use when ``create``."""
    path = key_path()
    if not path.exists() and create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
        except FileExistsError:
            pass  # another process created it first
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise ModelFileError(f"model signing key {path} cannot be read ({error.strerror}); "
                             "set ONCOBENCH_MODEL_KEY to the project's key file") from None  # fmt: skip
    if len(text) < 32:
        raise ModelFileError(f"model signing key {path} is too short ({len(text)} characters)")
    return text.encode()


def _mac(key: bytes, header: dict[str, Any], body: bytes) -> str:
    unsigned = {k: v for k, v in header.items() if k != "hmac"}
    message = json.dumps(unsigned, sort_keys=True).encode() + b"\0" + hashlib.sha256(body).digest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# -- encoding plain state ---------------------------------------------------------------------
def _class_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


class _Encoder:
    def __init__(self) -> None:
        self.allowed = allowed_classes()
        self.arrays: dict[str, np.ndarray] = {}
        self.blobs: dict[str, bytes] = {}

    def encode(self, value: Any, where: str) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return {"__np__": value.dtype.str, "value": value.item()}
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise _Unsupported(f"{where}: object array")
            name = f"a{len(self.arrays)}"
            self.arrays[name] = value
            return {"__array__": name}
        if isinstance(value, list | tuple):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, set | frozenset):
            return {"__set__": [self.encode(v, f"{where}{{}}") for v in sorted(value, key=repr)]}
        if isinstance(value, pl.Schema):  # before dict: a Schema is a mapping
            return {"__schema__": self._ipc(pl.DataFrame(schema=value))}
        if isinstance(value, dict):
            return {"__items__": [[self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                                  for k, v in value.items()]}  # fmt: skip
        if isinstance(value, pl.DataFrame):
            return {"__frame__": self._ipc(value)}
        name = _class_name(type(value))
        if name in self.allowed:
            state = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)} if dataclasses.is_dataclass(
                value) else vars(value)  # fmt: skip
            return {"__object__": name, "state": self.encode(state, where)}
        raise _Unsupported(f"{where}: {name}")

    def _ipc(self, frame: pl.DataFrame) -> str:
        buffer = io.BytesIO()
        frame.write_ipc(buffer)
        name = f"frames/f{len(self.blobs)}.arrow"
        self.blobs[name] = buffer.getvalue()
        return name


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], blobs: dict[str, bytes]) -> None:
        self.arrays, self.blobs = arrays, blobs

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__np__" in value:
            return np.dtype(value["__np__"]).type(value["value"])
        if "__array__" in value:
            return self.arrays[value["__array__"]]
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__set__" in value:
            return {self.decode(v) for v in value["__set__"]}
        if "__items__" in value:
            return {self.decode(k): self.decode(v) for k, v in value["__items__"]}
        if "__frame__" in value:
            return pl.read_ipc(io.BytesIO(self.blobs[value["__frame__"]]))
        if "__schema__" in value:
            return pl.read_ipc(io.BytesIO(self.blobs[value["__schema__"]])).schema
        if "__object__" in value:
            return _rebuild(value["__object__"], self.decode(value["state"]))
        raise ValueError(f"unknown encoded value {sorted(value)}")


def _rebuild(name: str, state: dict[str, Any]) -> Any:
    if name not in allowed_classes():
        raise ValueError(f"class {name} is not allowed in a model file")
    module, _, qualname = name.partition(":")
    kind = getattr(importlib.import_module(module), qualname)
    if dataclasses.is_dataclass(kind):
        return kind(**state)
    instance = kind.__new__(kind)
    instance.__dict__.update(state)
    return instance


# -- writing and reading files ----------------------------------------------------------------
def _header(model: Any, encoding: str) -> dict[str, Any]:
    return {
        "format": MAGIC,
        "version": FORMAT_VERSION,
        "encoding": encoding,
        "synthesizer": model.name,
        "class": _class_name(type(model)),
        "cohort": getattr(model, "_cohort", None),
        "schema_fingerprint": schema_fingerprint(getattr(model, "schema", None)),
    }


def _tensor_members(model: Any) -> dict[str, bytes]:
    import torch

    encoder = _Encoder()
    state, modules = {}, {}
    for attribute, value in vars(model).items():
        if isinstance(value, torch.nn.Module):
            if attribute not in type(model).tensor_modules:
                raise _Unsupported(f"{attribute}: a torch module with no builder")
            buffer = io.BytesIO()
            torch.save(value.state_dict(), buffer)
            modules[attribute] = buffer.getvalue()
        else:
            state[attribute] = encoder.encode(value, attribute)
    arrays = io.BytesIO()
    np.savez(arrays, **encoder.arrays)
    members = {"state.json": json.dumps(state).encode(), "arrays.npz": arrays.getvalue(), **encoder.blobs}
    members |= {f"weights/{a}.pt": blob for a, blob in modules.items()}
    return members


def save_model(model: Any, path: Path | str) -> Path:
    """Write ``model`` to ``path``: as tensors when its engine declares so, else as a signed pickle."""
    if _class_name(type(model)) in tensor_engines():
        try:
            header, members = _header(model, "tensors"), _tensor_members(model)
        except _Unsupported as error:  # never fall back to a pickle for a class meant to be stored as data
            raise ModelFileError(f"{path}: cannot store {model.name} without pickling ({error})") from None
    else:
        body = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        header = _header(model, "signed-pickle")
        header["hmac"] = _mac(signing_key(), header, body)
        members = {"model.pkl": body}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("header.json", json.dumps(header, indent=2, sort_keys=True))
        for name, data in members.items():
            archive.writestr(name, data)
    return write_bytes_atomic(buffer.getvalue(), path)


def _open(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file (or not a regular file)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ModelFileError(f"{path} is not an OncoBench model file (format {FORMAT_VERSION}); it was not "
                             "unpickled. Re-create it (e.g. re-materialize synthesizer_model)") from None  # fmt: skip
    for info in archive.infolist():
        if info.file_size > MAX_MEMBER_BYTES:
            raise ModelFileError(f"{path}: member {info.filename} is {info.file_size} bytes; refused")
    return archive


def _member(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    try:
        return archive.read(name)
    except KeyError:
        raise ModelFileError(f"{path}: member {name} is missing") from None


def read_header(path: Path | str) -> dict[str, Any]:
    """The header of a model file (what it is, cohort, schema fingerprint), without reading its body."""
    path = Path(path)
    with _open(path) as archive:
        try:
            header = json.loads(_member(archive, path, "header.json"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ModelFileError(f"{path}: header.json is not JSON ({error})") from None
    if isinstance(header, dict) and header.get("format") == MAGIC and header.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in model format {header.get('version')!r}; this OncoBench reads format "
            f"{FORMAT_VERSION}. Re-create it (e.g. re-materialize synthesizer_model)"
        )
    if not isinstance(header, dict) or header.get("format") != MAGIC:
        raise ModelFileError(f"{path} is not an OncoBench model file (format {FORMAT_VERSION})")
    return header


def check_fitted_on(header: dict[str, Any], path: Path, cohort: str | None, schema: pl.Schema | None) -> None:
    """Refuse a model fitted on another cohort or schema than the caller's."""
    if cohort is not None and header.get("cohort") not in (None, cohort):
        raise ModelFileError(f"{path}: fitted on cohort {header.get('cohort')!r}, not {cohort!r}; refused")
    if schema is not None and header.get("schema_fingerprint") != schema_fingerprint(schema):
        raise ModelFileError(f"{path}: fitted on another schema (fingerprint {header.get('schema_fingerprint')}, "
                             f"the data's is {schema_fingerprint(schema)}); refused")  # fmt: skip


def load_model(path: Path | str, *, cohort: str | None = None, schema: pl.Schema | None = None) -> Any:
    """Read a model written by :func:`save_model`; refuse anything that could run code or was altered."""
    path = Path(path)
    header = read_header(path)
    check_fitted_on(header, path, cohort, schema)
    with _open(path) as archive:
        if header.get("encoding") == "signed-pickle":
            model = _load_signed(archive, path, header)
        elif header.get("encoding") == "tensors":
            model = _load_tensors(archive, path, header)
        else:
            raise ModelFileError(f"{path}: unknown encoding {header.get('encoding')!r}")
    if _class_name(type(model)) != header.get("class"):
        raise ModelFileError(f"{path}: holds {_class_name(type(model))}, the header says {header.get('class')}")
    return model


def _load_signed(archive: zipfile.ZipFile, path: Path, header: dict[str, Any]) -> Any:
    body = _member(archive, path, "model.pkl")
    recorded = header.get("hmac")
    if not isinstance(recorded, str):
        raise ModelFileError(f"{path}: unsigned pickle; refused without unpickling")
    if not hmac.compare_digest(recorded, _mac(signing_key(create=False), header, body)):
        raise ModelFileError(f"{path}: HMAC does not match this project's key ({key_path()}): altered or signed "
                             "elsewhere; refused without unpickling")  # fmt: skip
    return pickle.loads(body)  # authenticated: written by this project


def _load_tensors(archive: zipfile.ZipFile, path: Path, header: dict[str, Any]) -> Any:
    import torch

    engine = tensor_engines().get(header.get("class"))
    if engine is None:
        raise ModelFileError(f"{path}: class {header.get('class')!r} may not be rebuilt from a model file")
    try:
        state = json.loads(_member(archive, path, "state.json"))
        with np.load(io.BytesIO(_member(archive, path, "arrays.npz")), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        blobs = {n: archive.read(n) for n in archive.namelist() if n.startswith("frames/")}
        decoder = _Decoder(arrays, blobs)
        model = _rebuild(header["class"], {k: decoder.decode(v) for k, v in state.items()})
        for name in (n for n in archive.namelist() if n.startswith("weights/")):
            attribute = name.removeprefix("weights/").removesuffix(".pt")
            if attribute not in engine.tensor_modules:
                raise ValueError(f"weights for unknown module {attribute!r}")
            weights = torch.load(io.BytesIO(archive.read(name)), weights_only=True, map_location="cpu")
            module = getattr(model, engine.tensor_modules[attribute])()
            module.load_state_dict(weights)
            module.eval()
            setattr(model, attribute, module)
    except ModelFileError:
        raise
    except Exception as error:  # torch's UnpicklingError, numpy's "allow_pickle", bad JSON, wrong shapes
        raise ModelFileError(f"{path}: refused ({type(error).__name__}: {str(error).splitlines()[0][:300]})") from None
    return model
