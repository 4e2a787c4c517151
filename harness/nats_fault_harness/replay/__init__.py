"""Cheap repeated runs and exact replays of scenarios (property tests, ``nats-harness replay``).

- :class:`ReusableEnv`: one nats-server and one proxy reused by many runs, each run in a
  fresh history, fault log and service; proxy draws depend only on the scenario's seed.
- :func:`check_scenario`: a property test's body; on a falsifying example it writes
  ``reports/replays/<test>-<hash>.yaml`` (:func:`write_replay`) and fails with the
  commands that replay it. It leaves out the checkers the service cannot feed
  (``_fit``) and never reports an ``unknown`` verdict as a falsifying example
  (``_search``; the plugin fails a test whose every example was unknown). Each run's
  stress (``_stress``: longest outage, retries, ...) goes to ``hypothesis.target()``.
- :func:`replay_main`: ``nats-harness replay FILE [--sut MODULE:FACTORY]``.
"""

from nats_fault_harness.replay._check import PropertyFailure, check_scenario
from nats_fault_harness.replay._cli import replay_main
from nats_fault_harness.replay._env import PROXY_SEED, ReusableEnv
from nats_fault_harness.replay._files import (
    DEFAULT_REPLAY_DIR,
    read_sut,
    replay_commands,
    write_replay,
)
from nats_fault_harness.replay._stress import TARGET_LABELS, stress

__all__ = [
    "DEFAULT_REPLAY_DIR",
    "PROXY_SEED",
    "PropertyFailure",
    "ReusableEnv",
    "TARGET_LABELS",
    "check_scenario",
    "read_sut",
    "replay_commands",
    "replay_main",
    "stress",
    "write_replay",
]
