"""Fixtures for the checker tests."""

from __future__ import annotations

import pytest
from chk_records import Rec


@pytest.fixture
def rec() -> Rec:
    return Rec()
