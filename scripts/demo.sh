#!/usr/bin/env bash
# The main job: builds pivot, starts a minidfs cluster (a namenode, three
# datanodes, three clients, each its own process) on the local transport,
# and asks it the seed query of Pivot Tracing — bytes read on the datanodes,
# grouped by the client application that started each request — showing the
# live answer, then stops the cluster.
#
#   scripts/demo.sh              10 seconds
#   DEMO_SECONDS=30 scripts/demo.sh
#   scripts/demo.sh --serve      the same cluster under `pivot serve` with the
#                                seed query installed: its dashboard, live,
#                                until Ctrl-C (DEMO_LISTEN, default 127.0.0.1:9464)
set -euo pipefail
cd "$(dirname "$0")/.."

serve=false
case "${1:-}" in
  "") ;;
  --serve) serve=true ;;
  *) echo "usage: $0 [--serve]" >&2; exit 2 ;;
esac

scripts/setup.sh
cmake --preset release >/dev/null
# pivot_installed: what `cmake --install build/release` needs, as README says.
cmake --build --preset release --target minidfs pivot_installed

seconds="${DEMO_SECONDS:-10}"
run=$(mktemp -d /tmp/pivot-demo.XXXXXX)
export PIVOT_RUNTIME_DIR="$run/agents"
cluster_pid="" serve_pid=""
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$serve_pid"  # first: it uninstalls its query from the agents
  stop "$cluster_pid"
  rm -rf "$run"
}
trap cleanup EXIT
trap 'echo; echo "=== stopping"; exit 130' INT TERM

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

query='From incr In DataNodeMetrics.incrBytesRead
Join cl In First(ClientProtocols) On cl -> incr
GroupBy cl.procName
Select cl.procName, SUM(incr.delta)'

if $serve; then
  listen="${DEMO_LISTEN:-127.0.0.1:9464}"
  echo "=== starting pivot serve on $listen"
  build/release/tools/pivot serve --listen "$listen" --state "$run/serve-state.json" >"$run/serve.out" 2>&1 &
  serve_pid=$!
  url=""
  for _ in $(seq 100); do
    url=$(grep -o 'listening on http://[^ ]*' "$run/serve.out" | sed 's/^listening on //') && [ -n "$url" ] && break
    kill -0 "$serve_pid" 2>/dev/null || { cat "$run/serve.out"; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { echo "pivot serve did not start"; cat "$run/serve.out"; exit 1; }
  echo "=== installing the seed query as 'seed'"
  build/release/tools/pivot query --server "$url" --detach seed "$query"
  echo
  echo "=== the dashboard: $url/"
  echo "    (the seed query's chart and totals, the agents, an editor for more queries;"
  echo "     Prometheus metrics at $url/metrics; Ctrl-C stops serve and the cluster)"
  wait "$serve_pid"
  exit 0
fi

echo "=== the processes pivot can see"
build/release/tools/pivot ps

echo "=== the seed query, and the advice it compiles to"
echo "$query"
echo
build/release/tools/pivot explain "$query"
echo
echo "=== its answer, live, for ${seconds}s"
build/release/tools/pivot query --duration "$seconds" "$query"
echo "=== stopping the cluster"
