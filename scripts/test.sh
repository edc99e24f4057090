#!/usr/bin/env bash
# Builds pivot and runs every test: the release build (g++), AddressSanitizer
# +UBSan (built with clang-14, so it is also the clang build of everything),
# ThreadSanitizer (g++), and each libFuzzer target for a bounded time. This
# is what CI runs (.ci/run).
#
#   scripts/test.sh            everything
#   scripts/test.sh release    only the named presets (release shared asan tsan fuzz)
#
# The install-consumer test (tests/install) is a CTest test: against the
# static library in release, against the shared one in the shared preset.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

presets=("$@")
[ ${#presets[@]} -eq 0 ] && presets=(release shared asan tsan fuzz)
fuzz_seconds="${PIVOT_FUZZ_SECONDS:-30}"

for preset in "${presets[@]}"; do
  echo "=== $preset"
  cmake --preset "$preset" >/dev/null
  if [ "$preset" = fuzz ]; then
    # Only the fuzzers and what they link: not the CLI or pivot serve.
    targets=()
    for src in fuzz/*_fuzzer.cc; do targets+=("$(basename "$src" .cc)"); done
    cmake --build --preset fuzz --target "${targets[@]}"
    # Two at a time, one a core; each prints its last lines when it ends.
    fuzz_one() {
      local fuzzer=$1 name work log status=0
      name=$(basename "$fuzzer" _fuzzer)
      work=$(mktemp -d)
      log=$(mktemp)
      cp -r "fuzz/corpus/$name"/. "$work"/ 2>/dev/null || true
      "$fuzzer" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" >"$log" 2>&1 || status=$?
      echo "--- fuzzed $name for ${fuzz_seconds}s (exit $status)"
      if [ "$status" -eq 0 ]; then tail -n 4 "$log"; else tail -n 60 "$log"; fi
      rm -rf "$work" "$log"
      return "$status"
    }
    pids=()
    for target in "${targets[@]}"; do
      fuzz_one "build/fuzz/fuzz/$target" &
      pids+=($!)
      if [ ${#pids[@]} -eq 2 ]; then
        wait "${pids[0]}"
        pids=("${pids[@]:1}")
      fi
    done
    for pid in "${pids[@]}"; do wait "$pid"; done
  else
    cmake --build --preset "$preset"
    ctest --preset "$preset" -j2
  fi
  if [ "$preset" = release ]; then
    echo "--- the docs' commands: the tutorial as a reader runs it, README's install line"
    scripts/docs.sh
  fi
done
echo "=== all passed: ${presets[*]}"
