#!/usr/bin/env bash
# Builds pivot and runs every test: the release build (g++), the clang-14
# build, AddressSanitizer+UBSan, ThreadSanitizer, and each libFuzzer target
# for a bounded time. This is what CI runs (.ci/run).
#
#   scripts/test.sh            everything
#   scripts/test.sh release    only the named presets (release shared clang asan tsan fuzz)
#
# The install-consumer test (tests/install) is a CTest test: against the
# static library in release, against the shared one in the shared preset.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release shared clang asan tsan fuzz)
fuzz_seconds="${PIVOT_FUZZ_SECONDS:-30}"

for preset in "${presets[@]}"; do
  echo "=== $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  if [ "$preset" = fuzz ]; then
    for fuzzer in build/fuzz/fuzz/*_fuzzer; do
      name=$(basename "$fuzzer" _fuzzer)
      corpus="fuzz/corpus/$name"
      work=$(mktemp -d)
      cp -r "$corpus"/. "$work"/ 2>/dev/null || true
      echo "--- fuzzing $name for ${fuzz_seconds}s"
      "$fuzzer" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" 2>&1 | tail -n 4
      rm -rf "$work"
    done
  else
    ctest --preset "$preset" -j2
  fi
  if [ "$preset" = release ]; then
    echo "--- the docs' commands: the tutorial as a reader runs it, README's install line"
    scripts/docs.sh
  fi
done
echo "=== all passed: ${presets[*]}"
