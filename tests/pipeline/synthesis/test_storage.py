"""Model files cannot run code when loaded: tensors for the flow, an HMAC checked before unpickling
for SDV engines; a model fitted on another cohort or schema is refused from its header."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.cohorts.load import harmonize_entry, read_raw
from pipeline.cohorts.registry import load_registry
from pipeline.synthesis.base import Synthesizer
from pipeline.synthesis.catalog import make_synthesizer
from pipeline.synthesis.storage import ModelFileError, key_path, load_model, read_header, save_model, schema_fingerprint

MARKER = Path("/tmp/oncobench-storage-test-payload-ran")


class Payload:
    """Unpickling this creates MARKER: proof that code ran."""

    def __reduce__(self):
        return (open, (str(MARKER), "w"))


@pytest.fixture(autouse=True)
def project_key(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path_factory.getbasetemp() / "model.key"
    monkeypatch.setenv("ONCOBENCH_MODEL_KEY", str(key))
    MARKER.unlink(missing_ok=True)
    yield key
    assert not MARKER.exists(), "a model file ran code while being loaded"


@cache
def colon() -> pl.DataFrame:
    entry = load_registry().get("colon")
    return harmonize_entry(read_raw(entry), entry, salt="s").head(200)


@cache
def fitted(name: str) -> Synthesizer:
    params = {"epochs": 2} if name == "flow" else {}
    return make_synthesizer(name, profile="fast", **params).fit(colon(), seed=5)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n) for n in archive.namelist()}


def _rewrite(path: Path, **replace: bytes) -> None:
    members = {**_members(path), **{k.replace("__", "/"): v for k, v in replace.items()}}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _header(path: Path, **changes: object) -> bytes:
    return json.dumps({**json.loads(_members(path)["header.json"]), **changes}).encode()


@pytest.mark.parametrize("name", ["flow", "copula"])
def test_a_model_round_trips_and_records_what_it_was_fitted_on(name: str, tmp_path: Path) -> None:
    path = save_model(fitted(name), tmp_path / f"{name}.pkl")
    header = read_header(path)
    assert header["cohort"] == "colon" and header["schema_fingerprint"] == schema_fingerprint(colon().schema)
    assert header["encoding"] == ("tensors" if name == "flow" else "signed-pickle")
    assert ("model.pkl" in _members(path)) == (name != "flow")  # the flow is never pickled
    loaded = load_model(path, cohort="colon", schema=colon().schema)
    assert loaded.schema == fitted(name).schema and type(loaded) is type(fitted(name))
    assert loaded.sample(50, seed=1).equals(fitted(name).sample(50, seed=1))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_project_key_is_created_once_private(tmp_path: Path, project_key: Path) -> None:
    save_model(fitted("copula"), tmp_path / "m.pkl")
    assert key_path() == project_key and stat.S_IMODE(project_key.stat().st_mode) == 0o600


def test_a_plain_pickle_with_a_payload_is_refused_unread(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "colon__flow.pkl"
    path.write_bytes(pickle.dumps({"format": 1, "synthesizer": Payload()}))
    with pytest.raises(ModelFileError, match=r"is not an OncoBench model file .* it was not unpickled"):
        load_model(path)


def test_an_unsigned_pickle_is_refused_unread(tmp_path: Path) -> None:
    import pickle

    path = save_model(fitted("copula"), tmp_path / "m.pkl")
    header = json.loads(_members(path)["header.json"])
    header.pop("hmac")
    _rewrite(path, **{"header.json": json.dumps(header).encode(), "model.pkl": pickle.dumps(Payload())})
    with pytest.raises(ModelFileError, match="unsigned pickle; refused without unpickling"):
        load_model(path)


@pytest.mark.parametrize("change", ["body", "header", "key"])
def test_an_altered_or_foreign_signed_pickle_is_refused_unread(
    tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    path = save_model(fitted("copula"), tmp_path / "m.pkl")
    if change == "body":
        _rewrite(path, **{"model.pkl": pickle.dumps(Payload())})
    elif change == "header":
        _rewrite(path, **{"header.json": _header(path, cohort="rott2")})
    else:
        other = tmp_path / "other.key"
        other.write_text("f" * 64)
        monkeypatch.setenv("ONCOBENCH_MODEL_KEY", str(other))
    with pytest.raises(ModelFileError, match="HMAC does not match this project's key"):
        load_model(path)


def test_flow_weights_that_carry_a_pickle_payload_are_refused(tmp_path: Path) -> None:
    import torch

    path = save_model(fitted("flow"), tmp_path / "flow.pkl")
    crafted = io.BytesIO()
    torch.save({"weight": Payload()}, crafted)
    _rewrite(path, **{"weights/_flow.pt": crafted.getvalue()})
    with pytest.raises(ModelFileError, match=r"refused .*UnpicklingError"):
        load_model(path)


def test_flow_arrays_that_need_pickle_are_refused(tmp_path: Path) -> None:
    path = save_model(fitted("flow"), tmp_path / "flow.pkl")
    arrays = io.BytesIO()
    np.savez(arrays, a0=np.array([Payload()], dtype=object))
    _rewrite(path, **{"arrays.npz": arrays.getvalue()})
    with pytest.raises(ModelFileError, match="allow_pickle"):
        load_model(path)


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "pipeline.synthesis.sdv_engines:CTGANEngine"])
def test_a_class_outside_the_allow_list_is_never_built(tmp_path: Path, name: str) -> None:
    path = save_model(fitted("flow"), tmp_path / "flow.pkl")
    state = json.loads(_members(path)["state.json"])
    state["report"] = {"__object__": name, "state": {"__items__": []}}
    _rewrite(path, **{"state.json": json.dumps(state).encode()})
    with pytest.raises(ModelFileError, match="is not allowed in a model file"):
        load_model(path)
    _rewrite(path, **{"header.json": _header(path, **{"class": name})})
    with pytest.raises(ModelFileError, match="may not be rebuilt"):
        load_model(path)


@pytest.mark.parametrize("name", ["flow", "copula"])
def test_a_model_for_another_cohort_or_schema_is_refused_by_its_caller(name: str, tmp_path: Path) -> None:
    path = save_model(fitted(name), tmp_path / "m.pkl")
    with pytest.raises(ModelFileError, match="fitted on cohort 'colon', not 'rott2'; refused"):
        load_model(path, cohort="rott2")
    with pytest.raises(ModelFileError, match="fitted on another schema"):
        load_model(path, schema=colon().drop("sex").schema)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 broken", b"text model"])
def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=f"{path} is not an OncoBench model file"):
        load_model(path)


def test_a_model_file_of_an_older_format_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = save_model(fitted("flow"), tmp_path / "flow.pkl")
    _rewrite(path, **{"header.json": _header(path, version=2)})
    with pytest.raises(ModelFileError, match=r"written in model format 2; this OncoBench reads format 3\. Re-create"):
        load_model(path)
