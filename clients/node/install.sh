#!/usr/bin/env bash
# Install the nats.js adapter's packages (@nats-io/transport-node and @nats-io/jetstream
# 3.4.0) into this directory's node_modules/ (git-ignored), exactly as pinned by
# package.json and package-lock.json (versions + sha512 integrity), with `npm ci`.
# Used by the nats.js client preset (nats_fault_harness.services:natsjs_client) and
# tests/process; called by `make clients` (part of `make test`). Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: node and npm are required (Node >= 18)" >&2
    exit 1
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
    echo "install.sh: Node >= 18 is needed, found $(node --version)" >&2
    exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

installed="$(node -p 'require("./node_modules/@nats-io/transport-node/package.json").version')"
if [ "$installed" != "3.4.0" ]; then
    echo "install.sh: expected @nats-io/transport-node 3.4.0, got $installed" >&2
    exit 1
fi
echo "install.sh: @nats-io/transport-node $installed installed in $(pwd)/node_modules"
