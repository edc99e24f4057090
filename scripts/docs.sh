#!/usr/bin/env bash
# Runs the docs' commands as a reader would, so they cannot rot:
#  - every ```sh block of docs/tutorial.md that follows a `<!-- run -->` line,
#    in order, in one shell, from the root of the checkout;
#  - README's install line, after building what scripts/demo.sh builds.
# Fails when a command fails. scripts/test.sh runs it after the release tests;
# DOCS_KEEP=1 keeps its work directory (the commands' output) to look at.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d /tmp/pivot-docs.XXXXXX)
trap 'rm -rf "$work"' EXIT
[ -n "${DOCS_KEEP:-}" ] && trap - EXIT

# Background jobs a block started (the tutorial's service) end with the run.
printf 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT\n' >"$work/tutorial.sh"
awk '/^<!-- run -->$/ { run = 1; next }
     run && /^```sh$/ { block = 1; next }
     block && /^```$/ { block = 0; run = 0; next }
     block { print }' docs/tutorial.md >>"$work/tutorial.sh"
echo "docs: docs/tutorial.md, $(($(wc -l <"$work/tutorial.sh") - 1)) lines of commands"
mkdir -m 700 "$work/agents"
PIVOT_RUNTIME_DIR="$work/agents" bash -euo pipefail -x "$work/tutorial.sh" >"$work/tutorial.out" 2>&1 ||
  { cat "$work/tutorial.out"; echo "docs: a command of docs/tutorial.md failed"; exit 1; }
# The query saw the service: its table has the three users.
for user in alice bob carol; do
  grep -q "^$user " "$work/tutorial.out" ||
    { cat "$work/tutorial.out"; echo "docs: the tutorial's query did not answer for $user"; exit 1; }
done

echo "docs: README's install line after the demo's build"
cmake --build --preset release --target minidfs pivot_installed >/dev/null
cmake --install build/release --prefix "$work/prefix" >/dev/null
for f in bin/pivot lib/libpivot.a lib/libpivot_preload.so include/pivot/pivot.h lib/pkgconfig/pivot.pc \
  share/bash-completion/completions/pivot; do
  [ -e "$work/prefix/$f" ] || { echo "docs: cmake --install did not install $f"; exit 1; }
done
if command -v help2man >/dev/null; then
  [ -e "$work/prefix/share/man/man1/pivot.1" ] || { echo "docs: cmake --install did not install the man page"; exit 1; }
fi
echo "docs: ok"
