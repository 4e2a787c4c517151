"""Property tests over real servers: one server and one proxy for the whole session."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness._hypothesis import configure
from harness.replay import ReusableEnv

# Until the plugin registers the profiles itself, register them here, before hypothesis's
# plugin handles --hypothesis-profile (this conftest loads first when tests/property is
# named on the command line).
configure()

# The planted SUT is named "tests.property.planted_sut:make_planted_sut" in replay files
# (importable from the project root, as `nats-harness replay` and `python -m pytest` see it).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture(scope="session")
def reusable_env(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReusableEnv]:
    """A nats-server and a seeded proxy reused by every example of the session."""
    binary = pytestconfig.getoption("nats_server_bin") or os.environ.get("NATS_SERVER_BIN")
    with ReusableEnv(binary=binary, base_dir=tmp_path_factory.mktemp("property")) as env:
        yield env
