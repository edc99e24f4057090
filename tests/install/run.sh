#!/usr/bin/env bash
# Installs the pivot build in BUILD_DIR under WORK_DIR/prefix, builds the
# consumer project (tests/install) against it, runs every consumer, and
# checks what they link: no consumer of pivot::pivot alone needs libnats,
# and against a shared libpivot none needs Zydis, libdw or libelf either.
#
#   tests/install/run.sh BUILD_DIR WORK_DIR
set -euo pipefail
build=$(realpath "$1")
work=$2
src=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
prefix="$work/prefix"

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name pivot.pc -path '*pkgconfig*' | head -n 1)")/..
shared=no
[ -e "$libdir/libpivot.so" ] && shared=yes
nats=OFF
[ -e "$libdir/pkgconfig/pivot-nats.pc" ] && nats=ON
echo "installed: shared=$shared nats=$nats"

PKG_CONFIG_PATH="$libdir/pkgconfig" cmake -S "$src" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release -DPIVOT_CONSUMER_NATS=$nats >/dev/null
cmake --build "$work/build" -j2 >/dev/null

needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' '; }
consumers=(consumer_cmake consumer_pkgconfig)
[ $nats = ON ] && consumers+=(consumer_nats_cmake consumer_nats_pkgconfig)
for c in "${consumers[@]}"; do
  bin="$work/build/$c"
  libs=$(needed "$bin")
  echo "$c: needs $libs"
  case $c in
    consumer_nats_*) ;;
    *) if [[ $libs == *libnats* ]]; then echo "FAIL: $c needs libnats without the NATS component"; exit 1; fi ;;
  esac
  if [ $shared = yes ]; then
    [[ $libs == *libpivot.so* ]] || { echo "FAIL: $c does not use libpivot.so"; exit 1; }
    for dep in libZydis libdw libelf; do
      if [[ $libs == *$dep* ]]; then echo "FAIL: $c needs $dep, libpivot.so's own dependency"; exit 1; fi
    done
  fi
  LD_LIBRARY_PATH="$libdir" "$bin"
done
echo "install consumers passed (shared=$shared nats=$nats)"
