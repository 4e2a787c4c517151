"""The Toxiproxy-compatible fault proxy: server, client, and child-process runner.

The server speaks Toxiproxy 2.12's HTTP API (so ``toxiproxy-python``, the Node client and the
Go client work against it) and adds extensions that a real Toxiproxy answers with 404, so
the harness can feature-detect them:

* **seed** (``--seed N``): the same seed and the same traffic give the same toxicity rolls
  and jitter; without a seed one is chosen and reported. ``GET /extensions``.
* **events**: ``GET /events?since=N`` - connections opened/closed (with byte counts),
  toxics added/updated/removed, every toxicity roll, toxics firing (reset, timeout,
  limit reached).
* **connections**: ``GET /proxies/{proxy}/connections`` - live connections with bytes, the
  toxics active on each, and their NATS ``connect_name`` and ``kind`` once known.
* **validation**: attribute values that make Toxiproxy hang or crash are refused with 400.
* **nats**: the ``nats`` toxic acts on whole NATS protocol frames (drop, delay, hold,
  duplicate, close) by verb, subject pattern and count (:mod:`nats_fault_harness.toxics._nats`).
* **connect_name**: ``attributes.connect_name`` on any toxic targets it at connections whose
  NATS ``CONNECT`` name matches a glob (route connections carry the dialling server's id).
* **connection_reset**: ``POST /proxies/{proxy}/connections/reset`` closes chosen live
  connections now, with RST or FIN.
* **reset_after**: ``limit_data``'s budget ended by an RST instead of a FIN.
* **blackhole**: a toxic that holds every byte and closes nothing, releasing them in order
  when removed. The proxy stops reading the sender's socket as soon as it is active, so
  the sender's writes block after the kernel's buffers, as against a peer that stops
  reading; ``buffer_bytes`` (at most 8 MiB) lets the proxy read and hold that much first.
* **batch**: ``POST /toxics/batch`` adds and removes toxics on several proxies all or
  nothing, in one step for connections: a connection accepted meanwhile gets all of the
  batch or none of it (a two-toxic fault is never half there). The clients' ``batch()``.

Clients: :class:`ToxiproxyClient` (async) and :class:`SyncToxiproxyClient` (blocking, one
keep-alive connection) have the same methods and raise the same exceptions.

Deliberate differences from Toxiproxy 2.12 (all listed here once):

* 400 for negative attributes, ``bandwidth.rate < 1``, ``slicer.average_size < 1``,
  ``slicer.size_variation > average_size``, toxicity outside [0, 1]; a failed toxic update
  changes nothing (Go applies the valid fields before reporting the bad one).
* ``/populate`` with an empty array answers ``{"proxies": []}``, not ``null``.
* ``reset_peer`` sets ``SO_LINGER(0)`` when it fires, so it resets connections opened
  before it was added and leaves alone connections where it rolled noop (issue #603);
  cancelled after its first byte was dropped, it resets at once instead of blocking.
* Toxicity is rolled when a toxic starts on a link (connection start, add, update of that
  toxic), never when *other* toxics are added or removed.
* Removing a ``timeout`` toxic closes only the connections where it was active.
* A ``timeout`` toxic drops a peer's FIN but not the proxy's own teardown; when both peers
  have sent FIN the connection is torn down; a graceful close that cannot flush in 10 s is
  aborted. The upstream dial has a 10 s timeout and does not block other accepts.
* ``slow_close`` cancelled during its wait forwards the EOF instead of swallowing it.
* The API binds 127.0.0.1 (``localhost``: 127.0.0.1 and ::1); ``/metrics`` is not offered.
* A proxy created, populated or updated with no (or an empty) ``listen`` binds
  ``127.0.0.1:0``, loopback only; Toxiproxy binds every interface (``[::]:port``), which
  would expose the loopback-only servers behind the proxy to the network. Ask for
  ``0.0.0.0:0``, ``[::]:0`` or ``:0`` to listen everywhere. The harness itself always
  passes ``listen``, so it behaves the same against a real Toxiproxy.
* ``"stream": ""`` counts as omitted (``downstream``), as the Go client's ``omitempty`` does.
* A failed proxy update restores the previous listen/upstream/enabled state, and a failed
  ``/populate`` entry restarts the proxy it was replacing (Toxiproxy leaves them stopped);
  the proxies a failed ``/populate`` created before the failure stay and are listed in the
  answer, as in Toxiproxy.
* Bodies over 16 MiB answer 413 ``request body too large``; JSON nested deeper than
  Python's recursion limit (about 900 levels; Go: 10 000) answers 400 ``exceeded max
  depth``; ``connect_name`` globs are at most 1024 characters. Text is cleaned as Go's
  decoder does: lone surrogates and invalid UTF-8 become U+FFFD; NUL, control characters
  and BOMs are kept. Names in paths match any segment (``[^/]+``, as gorilla/mux).
* Go's JSON *syntax* error texts are approximated (``EOF``, ``unexpected EOF`` and
  ``invalid character 'x' looking for beginning of value`` match; deeper errors differ).
* A bad ``--config`` file stops the server (Toxiproxy logs it and serves without it).
* A disabled proxy keeps its port: connections are refused as in Toxiproxy, but no other
  socket can be given the port (a placeholder stays bound, never listening), so the
  re-enable cannot fail because someone took it meanwhile. Deleting the proxy or changing
  its listen address frees the port (:mod:`nats_fault_harness.proxy._listen`).

Byte-level fidelity kept on purpose: ``"Logger": {}`` in proxy objects (Toxiproxy >= 2.5
leaks it), error bodies with a trailing newline and ``text/plain``, ``/version`` with a
newline, 201/200/204 exactly as Toxiproxy answers.
"""

from nats_fault_harness.errors import ProxyStartError
from nats_fault_harness.proxy._client import EventsPage, ProxyInfo, ToxicInfo, ToxiproxyClient
from nats_fault_harness.proxy._collection import ProxyInput
from nats_fault_harness.proxy._config import load_config
from nats_fault_harness.proxy._process import ProxyProcess
from nats_fault_harness.proxy._server import ProxyServer, serve, serve_forever
from nats_fault_harness.proxy._sync_client import SyncToxiproxyClient

__all__ = [
    "EventsPage",
    "ProxyInfo",
    "ProxyInput",
    "ProxyProcess",
    "ProxyServer",
    "ProxyStartError",
    "SyncToxiproxyClient",
    "ToxicInfo",
    "ToxiproxyClient",
    "load_config",
    "serve",
    "serve_forever",
]
