"""Fixtures for the reference-service tests (helpers live in ``reference_support``)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from reference_support import Recorder


@pytest.fixture
def recorder() -> Recorder:
    """A fresh event recorder to pass to ``service.add_observer``."""
    return Recorder()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A URL whose port is bound but not listening: connects are refused at once.

    Binding without ``listen()`` reserves the port for the test, so no other process can
    take it (a killed server's port could be reused).
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"nats://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
