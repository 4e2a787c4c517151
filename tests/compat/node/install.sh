#!/usr/bin/env bash
# Install toxiproxy-node-client 4.1.0 into this directory's node_modules/ (git-ignored), exactly
# as pinned by package.json and package-lock.json (version + sha512 integrity), with `npm ci`.
# Used by tests/compat/test_toxiproxy_node.py (it needs Node >= 18 for the global fetch);
# called by `make test`. Safe to run repeatedly.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../../clients/npm-ci-pinned.sh" "$here" toxiproxy-node-client 4.1.0
