"""Property tests over real servers: the plugin's ``reusable_env`` serves every example.

No fixture here: the plugin provides ``reusable_env`` (one server and one proxy for the
session) and registers the hypothesis profiles, as it does in a user's project.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The planted SUT is named "tests.property.planted_sut:make_planted_sut" in replay files
# (importable from the project root, as `nats-harness replay` and `python -m pytest` see it).
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
