"""Temp folders recorded with their owner: swept once the owner is dead, never otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nats_fault_harness import _proc


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NATS_FAULT_HARNESS_STATE", str(tmp_path / "state"))
    return tmp_path / "state"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_live_owner_keeps_its_folder_and_forget_removes_it(state: Path) -> None:
    folder = _proc.own_temp_dir()
    _proc.sweep_orphans()
    assert folder.is_dir()
    _proc.forget_dir(folder)
    assert not folder.exists()
    assert not list((state / "dirs").glob("*.json"))


def test_a_dead_owners_folder_is_swept(state: Path) -> None:
    folder = _proc.own_temp_dir("nfh-test-")
    (folder / "data").write_text("x")
    record = state / "dirs" / f"{folder.name}.json"
    record.write_text(json.dumps({"dir": str(folder), "owner": _dead_pid()}))
    _proc.sweep_orphans()
    assert not folder.exists()
    assert not record.exists()


@pytest.mark.parametrize("where", ["outside the temp folder", "without the nfh- prefix"])
def test_a_record_never_deletes_a_folder_that_is_not_ours(
    state: Path, tmp_path: Path, where: str
) -> None:
    if where == "outside the temp folder":
        victim = tmp_path / "nfh-precious"
    else:
        victim = Path(_proc.tempfile.mkdtemp(prefix="precious-"))
    victim.mkdir(exist_ok=True)
    (state / "dirs").mkdir(parents=True, exist_ok=True)
    record = state / "dirs" / "forged.json"
    record.write_text(json.dumps({"dir": str(victim), "owner": _dead_pid()}))
    try:
        _proc.sweep_orphans()
        assert victim.is_dir()
        assert not record.exists()
    finally:
        _proc.shutil.rmtree(victim, ignore_errors=True)


def test_the_prefix_must_be_ours() -> None:
    with pytest.raises(ValueError, match="must start with 'nfh-'"):
        _proc.own_temp_dir("mine-")
