#!/usr/bin/env bash
# The main job: builds pivot, starts a minidfs cluster (a namenode, three
# datanodes, three clients, each its own process) on the local transport,
# and asks it the seed query of Pivot Tracing — bytes read on the datanodes,
# grouped by the client application that started each request — showing the
# live answer, then stops the cluster.
#
#   scripts/demo.sh              10 seconds
#   DEMO_SECONDS=30 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --preset release >/dev/null
# pivot_installed: what `cmake --install build/release` needs, as README says.
cmake --build --preset release --target minidfs pivot_installed

seconds="${DEMO_SECONDS:-10}"
run=$(mktemp -d /tmp/pivot-demo.XXXXXX)
export PIVOT_RUNTIME_DIR="$run/agents"
cluster_pid=""
cleanup() {
  if [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null; then
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT

echo "=== starting minidfs: 1 namenode, 3 datanodes, 3 clients (MapReduce, HBase, FSread)"
build/release/examples/minidfs/minidfs cluster --datanodes 3 --clients 3 --rate 200 \
  --runtime-dir "$PIVOT_RUNTIME_DIR" --ready-file "$run/ready" --run-dir "$run/logs" >"$run/cluster.out" 2>&1 &
cluster_pid=$!
for _ in $(seq 200); do
  [ -f "$run/ready" ] && break
  kill -0 "$cluster_pid" 2>/dev/null || { cat "$run/cluster.out"; exit 1; }
  sleep 0.1
done
[ -f "$run/ready" ] || { echo "minidfs did not start"; cat "$run/cluster.out"; exit 1; }

echo "=== the processes pivot can see"
build/release/tools/pivot ps

query='From incr In DataNodeMetrics.incrBytesRead
Join cl In First(ClientProtocols) On cl -> incr
GroupBy cl.procName
Select cl.procName, SUM(incr.delta)'
echo "=== the seed query, and the advice it compiles to"
echo "$query"
echo
build/release/tools/pivot explain "$query"
echo
echo "=== its answer, live, for ${seconds}s"
build/release/tools/pivot query --duration "$seconds" "$query"
echo "=== stopping the cluster"
