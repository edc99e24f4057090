#!/bin/sh
# Installs the pinned npm package that ships the official opentelemetry-proto
# definitions (package.json, package-lock.json beside this script) into DIR,
# for the OTLP decode tests. Exit 77 (CTest: skipped) when npm is missing.
#
#   tests/otlp/fetch_protos.sh DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$1
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch_protos: npm not found; the OTLP decode tests are skipped (scripts/setup.sh installs npm)"
  exit 77
fi
mkdir -p "$dir"
# Already installed from this very lock file: nothing to do.
if [ -d "$dir/node_modules" ] && cmp -s "$here/package-lock.json" "$dir/package-lock.json"; then exit 0; fi
cp "$here/package.json" "$here/package-lock.json" "$dir/"
cd "$dir"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
