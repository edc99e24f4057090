#!/bin/sh
# CTest's way into the dashboard's browser test (tests/CMakeLists.txt, builds
# with PIVOT_HEAVY_TESTS): installs playwright-core as package-lock.json pins
# it, then runs dashboard.test.mjs against BUILD_DIR's pivot and minidfs.
# Exits 77 (CTest: skipped), saying what is missing, without node, npm or
# Chromium; a failing `npm ci` is a failure, not a skip.
#
#   tests/browser/run.sh BUILD_DIR SCREENSHOT.png
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SCREENSHOT.png" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
screenshot=$2
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP dashboard.test: $tool is missing (Debian packages nodejs and npm; scripts/setup.sh installs them)"
    exit 77
  fi
done
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "SKIP dashboard.test: $chromium is missing (Debian package chromium; scripts/setup.sh installs it)"
  exit 77
fi
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
PIVOT_BUILD=$build SCREENSHOT=$screenshot CHROMIUM=$chromium exec node dashboard.test.mjs
