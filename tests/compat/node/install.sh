#!/usr/bin/env bash
# Install toxiproxy-node-client 4.1.0 into this directory's node_modules/ (git-ignored), exactly
# as pinned by package.json and package-lock.json (version + sha512 integrity), with `npm ci`.
# Used by tests/compat/test_toxiproxy_node.py; called from .ci/run. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: node and npm are required (Node >= 18)" >&2
    exit 1
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 18 ]; then
    echo "install.sh: Node >= 18 is needed (global fetch), found $(node --version)" >&2
    exit 1
fi

npm ci --no-audit --no-fund --loglevel=error

installed="$(node -p 'require("./node_modules/toxiproxy-node-client/package.json").version')"
if [ "$installed" != "4.1.0" ]; then
    echo "install.sh: expected toxiproxy-node-client 4.1.0, got $installed" >&2
    exit 1
fi
echo "install.sh: toxiproxy-node-client $installed installed in $(pwd)/node_modules"
