#!/usr/bin/env bash
# npm-ci-pinned.sh DIR PACKAGE VERSION
# Install DIR's node packages exactly as pinned by its package.json and package-lock.json
# (versions + sha512 integrity) into DIR/node_modules (git-ignored) with `npm ci`, then
# check that PACKAGE is at VERSION. Needs Node >= 18 and npm. Safe to run repeatedly.
# Shared by clients/node/install.sh and tests/compat/node/install.sh.
set -euo pipefail
dir="$1" package="$2" version="$3"
cd "$dir"

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

installed="$(node -p "require('./node_modules/$package/package.json').version")"
if [ "$installed" != "$version" ]; then
    echo "install.sh: expected $package $version, got $installed" >&2
    exit 1
fi
echo "install.sh: $package $installed installed in $(pwd)/node_modules"
