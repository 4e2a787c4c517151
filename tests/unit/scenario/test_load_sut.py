"""load_sut: a 'module:factory' spec, or a ConfigError that names it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nats_fault_harness.errors import ConfigError
from nats_fault_harness.scenario import ServiceUnderTest, load_sut

NOT_CALLABLE = 42


def not_a_sut() -> object:
    return object()


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("nats_fault_harness.scenario._reference_sut", "must be 'module:factory'"),
        ("no_such_module_xyz:make", "cannot import module 'no_such_module_xyz'"),
        ("nats_fault_harness.scenario._reference_sut:nope", "has no attribute 'nope'"),
        (f"{__name__}:NOT_CALLABLE", "is not callable (a int)"),
    ],
)
def test_bad_spec_is_named(spec: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_sut(spec)
    assert repr(spec) in str(err.value)
    assert problem in str(err.value)
    assert err.value.where == "sut"


def test_factory_result_must_implement_the_protocol() -> None:
    make = load_sut(f"{__name__}:not_a_sut")
    with pytest.raises(ConfigError, match="is not a service under test"):
        make()


def test_reference_factory_by_public_path() -> None:
    sut = load_sut("nats_fault_harness.scenario.reference_sut:make_reference_sut")()
    assert isinstance(sut, ServiceUnderTest)
    assert sut.name == "sut"


def test_a_module_in_the_current_folder_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path
    (folder / "my_local_sut_xyz.py").write_text(
        "from nats_fault_harness.scenario.reference_sut import make_reference_sut as make\n"
    )
    monkeypatch.chdir(folder)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(folder))])
    assert isinstance(load_sut("my_local_sut_xyz:make")(), ServiceUnderTest)
    assert sys.path[0] == str(folder)
    monkeypatch.delitem(sys.modules, "my_local_sut_xyz")
