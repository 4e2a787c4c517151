#!/usr/bin/env bash
# Install the nats.js adapter's packages (@nats-io/transport-node and @nats-io/jetstream
# 3.4.0) into this directory's node_modules/ (git-ignored), exactly as pinned by
# package.json and package-lock.json (versions + sha512 integrity), with `npm ci`.
# Used by the nats.js client preset (nats_fault_harness.services:natsjs_client) and
# tests/process; called by `make clients` (part of `make test`). Safe to run repeatedly.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../npm-ci-pinned.sh" "$here" @nats-io/transport-node 3.4.0
