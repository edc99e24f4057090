#!/usr/bin/env bash
# Installs every Debian package that building, testing, fuzzing and benchmarking
# pivot needs. Safe to run again: it installs only what is missing.
#
#   scripts/setup.sh         what the build and the tests need
#   scripts/setup.sh perf    also the peers and tools of scripts/perf.sh: LTTng-UST and
#                            lttng-tools, USDT headers, valgrind, gnuplot (no recommends)
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-14 libclang-rt-14-dev pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libnats-dev nats-server libzydis-dev
  libdw-dev  # elfutils' libdw and libelf: debug information (DWARF) for runtime hooks
  libc6-dbg  # the C library's full symbol table: IFUNC implementations for runtime hooks
  libcpp-httplib-dev  # pivot serve's HTTP server (and the client of `pivot queries`, `pivot stop`)
  prometheus          # the real Prometheus that scrapes pivot serve in the release tests
  libjs-chart.js      # Chart.js, bundled with serve's dashboard (web/dashboard)
  chromium nodejs npm # the dashboard's browser test (tests/browser; CTest runs npm ci there)
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc  # examples/grpc (release preset)
  help2man            # the man page, from each command's --help
  libcurl4-openssl-dev  # OTLP/HTTP export (src/otlp); the OTLP tests also use protoc and npm, above
)
perf_packages=()
[ "${1:-}" = perf ] && perf_packages=(liblttng-ust-dev lttng-tools systemtap-sdt-dev valgrind gnuplot-nox)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=() perf_missing=()
# NodeSource's nodejs carries its own npm and conflicts with Debian's.
provided() { [ "$1" = npm ] && command -v npm >/dev/null 2>&1; }
for p in "${packages[@]}"; do installed "$p" || provided "$p" || missing+=("$p"); done
for p in "${perf_packages[@]}"; do installed "$p" || perf_missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && [ ${#perf_missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "setup: installing ${missing[*]} ${perf_missing[*]}"
$sudo apt-get update -qq
[ ${#missing[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
[ ${#perf_missing[@]} -eq 0 ] ||
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${perf_missing[@]}" >/dev/null
