#!/usr/bin/env bash
# Measures what pivot costs and writes the generated sections of
# docs/performance.md and the chart docs/performance.png. Not part of CI:
# a full run takes about 15 minutes on 2 shared cores.
#
#   scripts/perf.sh              everything, then rewrite the docs
#   scripts/perf.sh --quick      every step, briefly (checks the script; rough numbers)
#
# Options:
#   --reps N          repetitions of each micro-benchmark (default 5; --quick 1)
#   --min-time S      --benchmark_min_time of each (default 0.2; --quick 0.01)
#   --e2e-runs N      runs of each end-to-end mode (default 7; --quick 1)
#   --e2e-seconds S   seconds the minidfs clients run in each (default 8; --quick 2)
#   --modes "M..."    end-to-end modes to run (default: bare idle baggage seed aggregates paper hooked)
#   --skip-micro, --skip-peers, --skip-icount, --skip-e2e
#   --no-docs         keep the results, leave docs/ alone
#   --results DIR     where raw results go (default build/release/perf/<UTC time>)
#
# Steps, each recorded with the command that reproduces it:
#   1. micro-benchmarks: every bench/*_bench binary (and hook_bench once the
#      hooks work adds it), each also running the empty-loop and empty-call
#      baselines, so every figure is a ratio to the empty call of its own run;
#   2. peers (bench/peers): LTTng-UST dormant, then enabled under an LTTng
#      snapshot session this script starts; USDT with a semaphore, dormant;
#   3. instruction counts: callgrind over bench/icount_driver, per event;
#   4. end to end: minidfs throughput, CPU per op and latency in each mode
#      (below), the modes interleaved run by run so that load drift spreads
#      over all; then instructions per op in each mode, every process under
#      callgrind (unless --skip-icount).
#
# Needs the release preset's build and, for steps 2-3 and the chart,
# `scripts/setup.sh perf` (LTTng, USDT headers, valgrind, gnuplot).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

reps=5 min_time=0.2 e2e_runs=7 e2e_seconds=8 quick=0
skip_micro=0 skip_peers=0 skip_icount=0 skip_e2e=0 write_docs=1
results="" only_modes=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 reps=1 min_time=0.01 e2e_runs=1 e2e_seconds=2 ;;
    --reps) reps="$2"; shift ;;
    --min-time) min_time="$2"; shift ;;
    --e2e-runs) e2e_runs="$2"; shift ;;
    --e2e-seconds) e2e_seconds="$2"; shift ;;
    --modes) only_modes="$2"; shift ;;
    --skip-micro) skip_micro=1 ;;
    --skip-peers) skip_peers=1 ;;
    --skip-icount) skip_icount=1 ;;
    --skip-e2e) skip_e2e=1 ;;
    --no-docs) write_docs=0 ;;
    --results) results="$2"; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "perf.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
  shift
done

build=build/release
bench="$build/bench"
results="${results:-$build/perf/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$results/micro" "$results/e2e"
log() { echo "perf: $*" >&2; }
# What this run could not measure, said again, loudly, at the end.
skipped=()
skip() {
  skipped+=("$*")
  log "SKIPPED: $*"
}

# --- build -----------------------------------------------------------------
[ -f "$build/build.ninja" ] || cmake --preset release >/dev/null
# The configure cache remembers a missing peer: when `scripts/setup.sh perf`
# installed it after this build directory was configured, look again
# (otherwise peers_bench silently goes without USDT or LTTng).
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
recheck=()
if [ -f /usr/include/x86_64-linux-gnu/sys/sdt.h ] || [ -f /usr/include/sys/sdt.h ]; then
  [ "$(cached PIVOT_HAVE_SYS_SDT_H)" = 1 ] || recheck+=(-U PIVOT_HAVE_SYS_SDT_H)
fi
if pkg-config --exists lttng-ust 2>/dev/null; then
  [ "$(cached LTTNG_UST_FOUND)" = 1 ] || recheck+=(-U 'LTTNG_UST*' -U '__pkg_config_checked_LTTNG_UST')
fi
if [ ${#recheck[@]} -gt 0 ]; then
  log "peers installed since the build was configured: reconfiguring (${recheck[*]})"
  cmake --preset release "${recheck[@]}" >/dev/null
fi
# Every benchmark target there is (peers_bench only with its packages,
# hook_bench once the hooks work adds it), the driver and minidfs.
benches=$(ninja -C "$build" -t targets all 2>/dev/null | sed -n 's/^\([a-z_]*_bench\): .*/\1/p' | grep -v ^cmake_ | sort -u)
targets=($benches icount_driver minidfs minidfs_bare pivot_cli)
log "building ${targets[*]}"
ninja -C "$build" "${targets[@]}" >/dev/null

# What the figures were measured on.
python3 - "$results/env.json" "$quick" <<'EOF'
import json, os, platform, subprocess, sys, time
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return ""
model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "commit": sh("git rev-parse --short HEAD"), "dirty": bool(sh("git status --porcelain --untracked-files=no")),
           "cpu": model, "cores": os.cpu_count(), "kernel": platform.release(),
           "compiler": sh("g++ --version | head -1"), "loadavg_start": os.getloadavg()[0],
           "quick": sys.argv[2] == "1"}, open(sys.argv[1], "w"), indent=1)
EOF

gbench_flags=(--benchmark_repetitions="$reps" --benchmark_display_aggregates_only=true
              --benchmark_min_time="$min_time")
run_bench() {  # NAME OUTFILE [extra flags]: one benchmark binary, every repetition in JSON
  local name="$1" out="$2"; shift 2
  local cmd=("$bench/$name" "${gbench_flags[@]}" "$@")
  log "${cmd[*]}"
  echo "${cmd[*]}" >"$out.cmd"
  "${cmd[@]}" --benchmark_out="$out" --benchmark_out_format=json >"$out.txt" 2>&1 ||
    { log "$name failed (see $out.txt)"; return 1; }
}

# --- 1. micro-benchmarks ---------------------------------------------------
if [ "$skip_micro" = 0 ]; then
  grep -qx hook_bench <<<"$benches" || skip "hook_bench is not a target"
  for b in $benches; do
    [ "$b" = peers_bench ] && continue  # step 2
    # The fixed-iteration and BM_Callgrind_* variants exist for callgrind only.
    run_bench "$b" "$results/micro/$b.json" --benchmark_filter='-(iterations:|BM_Callgrind)' || true
  done
fi

# --- 2. peers --------------------------------------------------------------
started_sessiond=""
lttng_session="pivotperf-$$"
cleanup_lttng() {
  lttng destroy "$lttng_session" >/dev/null 2>&1 || true
  if [ -n "$started_sessiond" ]; then kill "$started_sessiond" 2>/dev/null || true; fi
}
if [ "$skip_peers" = 0 ] && [ -x "$bench/peers_bench" ]; then
  run_bench peers_bench "$results/micro/peers_dormant.json" --benchmark_filter='Dormant|Baseline|Pivot_Active' || true
  if command -v lttng >/dev/null && "$bench/peers_bench" --benchmark_list_tests | grep -q Lttng_Enabled; then
    if ! lttng list >/dev/null 2>&1; then
      lttng-sessiond --daemonize >/dev/null 2>&1 && sleep 1
      started_sessiond=$(cat /var/run/lttng/lttng-sessiond.pid 2>/dev/null || cat "$HOME/.lttng/lttng-sessiond.pid" 2>/dev/null || true)
    fi
    trap cleanup_lttng EXIT
    # Snapshot (flight-recorder) mode: events go to in-memory ring buffers
    # and nothing is written to disk, the closest to pivot's in-process work.
    if lttng create "$lttng_session" --snapshot >/dev/null &&
       lttng enable-event -u 'pivot_bench:*' -s "$lttng_session" >/dev/null &&
       lttng start "$lttng_session" >/dev/null; then
      run_bench peers_bench "$results/micro/peers_enabled.json" --benchmark_filter='Enabled|Baseline|Pivot_Active' || true
      echo "lttng-sessiond --daemonize; lttng create $lttng_session --snapshot; lttng enable-event -u 'pivot_bench:*'; lttng start" \
        >"$results/micro/peers_enabled.session"
    else
      skip "BM_Lttng_Enabled: could not start an LTTng session"
    fi
    cleanup_lttng
    trap - EXIT
  fi
fi

# --- 3. instruction counts -------------------------------------------------
if [ "$skip_peers" = 0 ]; then
  if [ ! -x "$bench/peers_bench" ]; then
    skip "peers (LTTng-UST, USDT): peers_bench not built; scripts/setup.sh perf installs them"
  else
    "$bench/peers_bench" --benchmark_list_tests | grep -q Lttng || skip "LTTng-UST peer: liblttng-ust-dev missing (scripts/setup.sh perf)"
    "$bench/peers_bench" --benchmark_list_tests | grep -q Usdt || skip "USDT peer: sys/sdt.h missing (scripts/setup.sh perf)"
    command -v lttng >/dev/null || skip "BM_Lttng_Enabled: lttng-tools missing (scripts/setup.sh perf)"
  fi
fi
[ "$skip_icount" = 1 ] || command -v valgrind >/dev/null ||
  skip "instruction counts (step 3 and end to end): valgrind missing (scripts/setup.sh perf)"
if [ "$skip_icount" = 0 ] && command -v valgrind >/dev/null; then
  n1=20000 n2=40000
  [ "$quick" = 1 ] && n1=2000 n2=4000
  : >"$results/icount.tsv"
  for path in $("$bench/icount_driver" --list | awk '{print $1}'); do
    counts=()
    for n in $n1 $n2; do
      cmd=(valgrind --tool=callgrind --callgrind-out-file=/dev/null "--toggle-collect=pivot_bench_run*"
           "$bench/icount_driver" "$path" "$n")
      ir=$("${cmd[@]}" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1)
      counts+=("${ir:-0}")
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$path" "$n1" "${counts[0]}" "$n2" "${counts[1]}" \
      "$("$bench/icount_driver" --list | awk -v p="$path" '$1 == p { $1 = ""; print substr($0, 2) }')" \
      >>"$results/icount.tsv"
    log "icount $path: $(( (counts[1] - counts[0]) / (n2 - n1) )) Ir/event"
  done
  echo "valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='pivot_bench_run*' $bench/icount_driver PATH N  (N = $n1 and $n2)" \
    >"$results/icount.cmd"
fi

# --- 4. end to end -----------------------------------------------------------
# Modes, each a binary and the queries installed before the clients start.
# The paper's queries come from minidfs itself (`minidfs truth --text`).
minidfs="$build/examples/minidfs/minidfs"
pivot_cli="$build/tools/pivot"
query_of() { "$minidfs" truth --text --query "$1"; }
latency_query='From response In SendResponse Join request In MostRecent(ReceiveRequest) On request -> response Select response.timestamp - request.timestamp'
# One tuple of baggage on every request (the client's procName, packed at
# ClientProtocols and carried through the namenode and the datanodes), and no
# output: the filter at incrBytesRead is never true.
baggage_query='From incr In DataNodeMetrics.incrBytesRead Join cl In First(ClientProtocols) On cl -> incr Where incr.delta < 0 GroupBy cl.procName Select cl.procName, SUM(incr.delta)'
# The runtime-defined tracepoint mode (design section 8): an Entry hook on the
# datanode's send_block (the function query H1 hooks with Return), counted per
# host. Agents of processes without that function skip the definition. Until
# pivot installs `Tracepoint ... = Entry(...)`, the mode is skipped with
# pivot's own reason.
hook_query='Tracepoint sent = Entry("minidfs::DataNode::send_block") Exports block = arg2
From s In sent GroupBy s.host Select s.host, COUNT'

modes=(bare idle baggage seed aggregates paper hooked)
[ -n "$only_modes" ] && read -r -a modes <<<"$only_modes"
declare -A mode_what=(
  [bare]="minidfs_bare: tracepoints compiled out, no agent, no baggage (bare.h)"
  [idle]="minidfs with its agents, no query"
  [baggage]="1 tuple of baggage on every request (PACK at the client, UNPACK at the datanode), no output"
  [seed]="the seed query (Q2) installed"
  [aggregates]="the paper's aggregating queries installed (Q1-Q8, RR: 9 queries)"
  [paper]="all paper queries installed (Q1-Q8, RR and L, which ships a row per RPC: 10 queries)"
  [hooked]="a runtime-defined Entry tracepoint installed (COUNT by host)"
)

e2e_queries() {  # MODE -> one query per line (newlines inside a query as \n)
  case "$1" in
    bare|idle) ;;
    baggage) echo "$baggage_query" ;;
    seed) query_of Q2 ;;
    aggregates) for q in Q1 Q2 Q3 Q4 Q5 Q6 Q7 Q8 RR; do query_of "$q"; done ;;
    paper) e2e_queries aggregates; echo "$latency_query" ;;
    hooked) printf '%s\n' "${hook_query//$'\n'/\\n}" ;;
  esac
}

cpu_ticks() {  # PID...: user + system clock ticks of those processes, all threads
  local p
  for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0; done | awk '{ s += $1 } END { print s + 0 }'
}

wait_file() {  # FILE SECONDS
  local i
  for ((i = 0; i < $2 * 20; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done
  return 1
}

# Runs one cluster in MODE; writes $out/{client*.stats.json,cpu_*}. With
# OPS, each client runs OPS ops under callgrind instead (every process, via
# --trace-children) and $out/collected holds the instructions of each.
e2e_run() {
  local mode="$1" out="$2" ops="${3:-}" bin="$minidfs"
  [ "$mode" = bare ] && bin="$build/examples/minidfs/minidfs_bare"
  rm -rf "$out"; mkdir -p "$out"
  local wrap=() workload=(--duration "$e2e_seconds") interval=1000 slack=60
  if [ -n "$ops" ]; then
    wrap=(valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null)
    # Hooks patch file-backed code, which valgrind checks for changes only when told.
    [ "$mode" = hooked ] && wrap+=(--smc-check=all)
    # No report during the workload: under valgrind an interval spans far fewer
    # ops, which would charge the agents' reporting to every op many times over
    # (aggregate_bench measures a report).
    workload=(--ops "$ops" --startup-timeout-ms 300000) interval=600000 slack=900
  fi
  local cluster_cmd=("${wrap[@]}" "$bin" cluster --datanodes 3 --clients 3 --seed 1 --files 12 --block-size 8192
                     --max-blocks 4 "${workload[@]}" --stay --go-file "$out/go"
                     --done-file "$out/done" --ready-file "$out/ready.json" --run-dir "$out/run"
                     --runtime-dir "$out/agents")
  echo "${cluster_cmd[*]}" >"$out/cluster.cmd"
  "${cluster_cmd[@]}" >"$out/cluster.log" 2>&1 &
  local cluster=$!
  local frontends=() ok=1 i=0 q
  if ! wait_file "$out/ready.json" "$slack"; then ok=0; echo "cluster did not start" >"$out/error"; fi
  if [ "$ok" = 1 ]; then
    while IFS= read -r q; do
      [ -z "$q" ] && continue
      q="${q//\\n/$'\n'}"
      printf '%s\n\n' "$q" >>"$out/queries.txt"
      "$pivot_cli" --runtime-dir "$out/agents" query --format json --interval "$interval" "$q" \
        >"$out/frontend$i.out" 2>"$out/frontend$i.err" &
      frontends+=($!)
      i=$((i + 1))
    done < <(e2e_queries "$mode")
    for ((i = 0; i < ${#frontends[@]}; i++)); do
      local waited=0
      until grep -q "query installed" "$out/frontend$i.err" 2>/dev/null; do
        if ! kill -0 "${frontends[$i]}" 2>/dev/null || [ $waited -ge $((slack * 20)) ]; then
          ok=0; { echo "query not installed:"; cat "$out/frontend$i.err"; } >"$out/error"; break 2
        fi
        sleep 0.05; waited=$((waited + 1))
      done
    done
  fi
  if [ "$ok" = 1 ]; then
    # CPU time of every cluster process over the workload: robust to other
    # load on a shared machine, unlike throughput.
    local pids
    pids=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(" ".join(str(e["pid"]) for e in [j["namenode"]] + j["datanodes"] + j["clients"]))' "$out/ready.json")
    cpu_ticks $pids >"$out/cpu_go"
    cpu_ticks "${frontends[@]}" >"$out/frontend_cpu_go"
    for p in $pids; do echo "$p $(cpu_ticks "$p")"; done >"$out/cpu_go.by_pid"
    touch "$out/go"
    wait_file "$out/done" $((e2e_seconds + slack)) || { ok=0; echo "clients did not finish" >"$out/error"; }
    cpu_ticks $pids >"$out/cpu_done"
    cpu_ticks "${frontends[@]}" >"$out/frontend_cpu_done"
    for p in $pids; do echo "$p $(cpu_ticks "$p")"; done >"$out/cpu_done.by_pid"
    getconf CLK_TCK >"$out/clk_tck"
    [ -z "$ops" ] && sleep 1.2  # one more reporting interval, so the frontends' totals hold every op
  fi
  local f
  for f in "${frontends[@]}"; do kill -INT "$f" 2>/dev/null || true; done
  for f in "${frontends[@]}"; do wait "$f" 2>/dev/null || true; done
  kill -TERM "$cluster" 2>/dev/null || true
  wait "$cluster" 2>/dev/null || true
  cp "$out"/run/client*.stats.json "$out"/ 2>/dev/null || true
  if [ -n "$ops" ]; then
    # The seven processes' totals; not the launcher's, whose polling follows
    # the clock rather than the ops.
    cat "$out"/run/*.log 2>/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' >"$out/collected"
    [ "$(wc -l <"$out/collected")" -ge 7 ] || { ok=0; echo "callgrind totals missing" >>"$out/error"; }
  fi
  rm -rf "$out/run" "$out/agents"
  [ "$ok" = 1 ]
}

if [ "$skip_e2e" = 0 ]; then
  skipped_modes=" "
  # Without agents explain knows no tracepoints, so only "not supported" skips
  # the mode here; any other failure shows when a run tries to install it.
  if reason=$("$pivot_cli" --runtime-dir "$results/e2e/no-agents" explain "$hook_query" 2>&1 >/dev/null) ||
     ! grep -qi "not supported" <<<"$reason"; then
    :
  else
    head -1 <<<"$reason" >"$results/e2e/hooked.skipped"
    skipped_modes+="hooked "
    skip "end-to-end mode hooked: $(head -1 <<<"$reason")"
  fi
  : >"$results/e2e/runs.tsv"
  for ((run = 1; run <= e2e_runs; run++)); do
    # Rotate the order each run, so no mode always runs first or last.
    for ((k = 0; k < ${#modes[@]}; k++)); do
      mode="${modes[$(((k + run - 1) % ${#modes[@]}))]}"
      [[ "$skipped_modes" == *" $mode "* ]] && continue
      dir="$results/e2e/$mode-$run"
      log "e2e run $run/$e2e_runs: $mode"
      if e2e_run "$mode" "$dir"; then
        printf '%s\t%s\t%s\n' "$mode" "$run" "$dir" >>"$results/e2e/runs.tsv"
      else
        log "e2e $mode run $run failed: $(head -3 "$dir/error" 2>/dev/null)"
        if [ "$mode" = hooked ]; then cp "$dir/error" "$results/e2e/hooked.skipped"; skipped_modes+="hooked "; fi
      fi
    done
  done
  for mode in "${modes[@]}"; do echo -e "$mode\t${mode_what[$mode]}"; done >"$results/e2e/modes.tsv"
  echo "$e2e_seconds" >"$results/e2e/seconds"

  # Instructions per op, end to end: every process under callgrind, two
  # workload lengths, so start-up and shutdown cancel. Load does not move
  # these, so they resolve what the timed runs above cannot.
  if [ "$skip_icount" = 0 ] && command -v valgrind >/dev/null; then
    ops1=15 ops2=45
    [ "$quick" = 1 ] && ops1=10 ops2=30
    : >"$results/e2e/icount.tsv"
    for mode in "${modes[@]}"; do
      [[ "$skipped_modes" == *" $mode "* ]] && continue
      totals=()
      for ops in $ops1 $ops2; do
        dir="$results/e2e/icount-$mode-$ops"
        log "e2e instructions: $mode, $ops ops per client, under callgrind"
        if e2e_run "$mode" "$dir" "$ops"; then
          totals+=("$(awk '{ s += $1 } END { print s }' "$dir/collected")")
        else
          log "e2e instructions $mode failed: $(head -3 "$dir/error" 2>/dev/null)"
        fi
      done
      [ ${#totals[@]} -eq 2 ] && printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$ops1" "${totals[0]}" "$ops2" "${totals[1]}" \
        >>"$results/e2e/icount.tsv"
    done
    echo "valgrind --tool=callgrind --trace-children=yes --callgrind-out-file=/dev/null BIN cluster ... --ops N (N = $ops1 and $ops2 per client; queries with --interval 600000)" \
      >"$results/e2e/icount.cmd"
  fi
fi

python3 -c 'import json,os,sys; e=json.load(open(sys.argv[1])); e["loadavg_end"]=os.getloadavg()[0]; json.dump(e,open(sys.argv[1],"w"),indent=1)' "$results/env.json"
command -v gnuplot >/dev/null || [ "$write_docs" = 0 ] || skip "the chart: gnuplot missing (scripts/setup.sh perf)"
log "results in $results"
if [ ${#skipped[@]} -gt 0 ]; then
  log "this run SKIPPED ${#skipped[@]} measurement(s); their figures in the docs are missing or stale:"
  for s in "${skipped[@]}"; do log "  - $s"; done
  printf '%s\n' "${skipped[@]}" >"$results/skipped.txt"
fi
if [ "$write_docs" = 1 ]; then
  python3 scripts/perf_report.py "$results" docs/performance.md docs/performance.png
  log "wrote docs/performance.md and docs/performance.png"
fi
