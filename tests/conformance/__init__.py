"""Black-box conformance of nats_fault_harness.proxy to Toxiproxy 2.12 (the toxiproxy-contract.md
§3 list).

Where each item of the contract's §3 checklist lives:

* items 1-3, 18, 34 (``/metrics`` absent → 404), routing, error format: ``test_proxy_api.py``
* items 4, 9-13, 22, 23, disable/delete closing live connections, PATCH vs POST:
  ``test_proxy_proxies.py``
* items 5-8, ``/populate`` partial-failure body, ``[]`` deviation: ``test_proxy_populate.py``
* items 14-17, 19, validation 400s (our deviations): ``test_proxy_toxics_api.py``
* items 20, 21, 26, 27, half-close, upstream-speaks-first: ``test_proxy_pipeline.py``
* item 24 (no data dropped while toxics churn): ``test_proxy_integrity.py``
* items 28, 29, 32, jitter distribution, slow_close: ``test_proxy_toxics_timing.py``
* items 25, 30, 31, 33, toxicity statistics, reset_peer deviation: ``test_proxy_toxics_close.py``
* extensions (seed, events, connections, ``/extensions``) and the CLI: ``test_proxy_extensions.py``
* ``ProxyProcess`` / ``ProxyServer``: ``test_proxy_interface.py``

Not ported: item 34's Prometheus metrics and item 35's ``toxiproxy-cli`` e2e script (we
implement neither).
"""
