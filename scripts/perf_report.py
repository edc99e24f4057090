#!/usr/bin/env python3
"""Turns one scripts/perf.sh run into docs/performance.md's generated sections
and the chart docs/performance.png.

    scripts/perf_report.py RESULTS_DIR docs/performance.md docs/performance.png

Only the text between `<!-- BEGIN GENERATED: NAME -->` and
`<!-- END GENERATED: NAME -->` is replaced; everything else in the document
is hand-written and kept as it is. A section whose markers are missing is
appended at the end. Every figure is a median over repetitions with its
min-max, and every ratio is taken between figures of the same run.
"""
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

# The design's targets (docs: design section 11), as ratios to the empty call.
TARGETS = {
    "dormant": ("≤ 0.35 ns", 0.35),
    "active": ("≤ 20 ns", 21.0),
    "span_sampled": ("≤ 15 ns", 16.0),
    "span_unsampled": ("≤ 2 ns", 2.0),
    "baggage": ("≤ 100 ns", 105.0),
    "hook": ("≤ 30 ns", 32.0),
}
PAPER = "Pivot Tracing paper (HDFS): 0.3 % enabled with no queries; 0.8 % with 1 tuple of baggage; 1.5–14.3 % with its queries installed"


def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns >= 100_000:
        return f"{ns / 1000:,.0f} µs"
    if ns >= 10_000:
        return f"{ns / 1000:.1f} µs"
    if ns >= 100:
        return f"{ns:,.0f} ns"
    if ns >= 10:
        return f"{ns:.1f} ns"
    return f"{ns:.2f} ns"


def fmt_x(x):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}×"
    if x >= 10:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def unit_ns(unit):
    return {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]


class Run:
    """One benchmark binary's run: per benchmark, the CPU time of each repetition (ns)."""

    def __init__(self, path):
        self.path = path
        self.cmd = open(path + ".cmd").read().strip() if os.path.exists(path + ".cmd") else ""
        self.times, self.counters, self.errors, self.order = {}, {}, {}, []
        data = json.load(open(path))
        self.context = data.get("context", {})
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                self.errors[name] = b.get("error_message", "error")
                if name not in self.order:
                    self.order.append(name)
                continue
            if b.get("run_type") == "aggregate":
                continue
            if name not in self.times:
                self.order.append(name)
            self.times.setdefault(name, []).append(b["cpu_time"] * unit_ns(b.get("time_unit", "ns")))
            extra = {k: v for k, v in b.items() if k in ("dropped", "report_bytes", "items_per_second")}
            self.counters.setdefault(name, []).append(extra)

    def median(self, name):
        t = self.times.get(name)
        return statistics.median(t) if t else None

    def spread(self, name):
        t = self.times.get(name)
        return (min(t), max(t)) if t else (None, None)

    def empty_call(self):
        return self.median("BM_Baseline_EmptyCall")

    def empty_loop(self):
        return self.median("BM_Baseline_EmptyLoop")

    def ratio(self, name):
        m, e = self.median(name), self.empty_call()
        return m / e if m is not None and e else None

    def find(self, prefix):
        for n in self.order:
            if n == prefix or n.startswith(prefix + "/"):
                return n
        return None


def load_runs(results):
    runs = {}
    for path in sorted(glob.glob(os.path.join(results, "micro", "*.json"))):
        try:
            runs[os.path.basename(path)[:-5]] = Run(path)
        except (ValueError, KeyError) as e:
            print(f"perf_report: {path}: {e}", file=sys.stderr)
    return runs


def section_env(results, env):
    lines = [
        f"Run of {env.get('date', '?')} at commit `{env.get('commit', '?')}`"
        + (" (with uncommitted changes)" if env.get("dirty") else "")
        + f" on {env.get('cores', '?')} × {env.get('cpu', '?')}, {env.get('compiler', '')},"
        f" Linux {env.get('kernel', '?')}. Load average {env.get('loadavg_start', 0):.1f} at the start"
        f" and {env.get('loadavg_end', 0):.1f} at the end (the machine is shared).",
        "",
    ]
    if env.get("quick"):
        lines += ["**This was a `--quick` run: one short repetition each; the numbers are rough.**", ""]
    lines += ["Reproduce everything: `scripts/setup.sh perf && scripts/perf.sh` (options: `scripts/perf.sh --help`)."]
    return "\n".join(lines)


def target_row(label, target_key, run, name, subtract_loop=False, note=""):
    target_text, target_ratio = TARGETS[target_key]
    if run is None or name is None or run.median(name) is None:
        return f"| {label} | {target_text} (≤ {fmt_x(target_ratio)}) | not measured | | {note} |"
    m = run.median(name)
    r = run.ratio(name)
    shown = f"{fmt_ns(m)}, {fmt_x(r)}"
    judged = r
    if subtract_loop and run.empty_loop() is not None:
        over = (m - run.empty_loop()) / run.empty_call()
        shown += f" ({fmt_x(over)} over the empty loop)"
        judged = over
    met = "yes" if judged <= target_ratio else "no"
    return f"| {label} | {target_text} (≤ {fmt_x(target_ratio)}) | {shown} | {met} | `{name}` {note} |"


def issue17_rows(runs):
    """Issue #17's targets that are not the design's: a sampled span against
    two clock reads, a hooked Return, and merges per group at every size."""
    tr, hook, agg = runs.get("trace_bench"), runs.get("hook_bench"), runs.get("aggregate_bench")
    rows = []
    # Judged with the writer keeping up (trace_bench.cc says why); the
    # figure where it never does is shown beside it.
    span, flood, tsc = ((tr.median("BM_Span_Sampled_WriterKeepsUp"), tr.median("BM_Span_Sampled"),
                         tr.median("BM_Clock_TwoTscReads")) if tr else (None, None, None))
    if span is not None and tsc:
        r = span / tsc
        also = f"; {fmt_ns(flood)}, {flood / tsc:.2f}× when it never catches up" if flood is not None else ""
        rows.append(f"| sampled span, against two TSC reads | ≤ 1.5× `BM_Clock_TwoTscReads` | {fmt_ns(span)},"
                    f" {r:.2f}× two TSC reads ({fmt_ns(tsc)}) with the writer keeping up{also} |"
                    f" {'yes' if r <= 1.5 else 'no'} | `BM_Span_Sampled_WriterKeepsUp` (`BM_Span_Sampled`) |")
    else:
        rows.append("| sampled span, against two TSC reads | ≤ 1.5× `BM_Clock_TwoTscReads` | not measured | | |")
    name = hook and hook.find("BM_Hook_ReturnSumDuration")
    if name and hook.ratio(name) is not None:
        r = hook.ratio(name)
        rows.append(f"| hooked Return, SUM(duration) | ≤ 40× | {fmt_ns(hook.median(name))}, {fmt_x(r)} |"
                    f" {'yes' if r <= 40 else 'no'} | `{name}` |")
    else:
        rows.append("| hooked Return, SUM(duration) | ≤ 40× | not measured | | |")
    # The agent merges into its biggest thread partial and the frontend into
    # its interval's partial emptied with reset(); a new partial's tables
    # (page faults) are a query's first interval only, so that row is shown
    # but not judged.
    for bench, label, judged in (
            ("BM_Partial_MergeSameGroups", "merging partials, groups present", True),
            ("BM_Partial_MergeIntoReset", "merging partials into an emptied one (every interval)", True),
            ("BM_Partial_MergeIntoEmpty", "merging partials into a new one (a query's first interval)", False)):
        per_group = []
        for n in (agg.order if agg else []):
            if n.startswith(bench + "/") and agg.median(n) is not None:
                groups = int(n.split("/")[1])
                per_group.append((agg.median(n) / groups, groups))
        if not per_group:
            rows.append(f"| {label} | ≤ 30 ns a group | not measured | | |")
            continue
        shown = ", ".join(f"{g:,}: {fmt_ns(t)}" for t, g in sorted(per_group, key=lambda x: x[1]))
        worst = max(t for t, _ in per_group)
        met = ('yes' if worst <= 30 else 'no') if judged else "not judged: once per query (see Aggregates)"
        rows.append(f"| {label} | ≤ 30 ns a group, every size | ns a group by group count: {shown} |"
                    f" {met} | `{bench}/N` |")
    return rows


def section_summary(runs, e2e):
    tp, tr, bg = runs.get("tracepoint_bench"), runs.get("trace_bench"), runs.get("baggage_bench")
    hook = runs.get("hook_bench")
    rows = [
        "| path | target (× empty call) | measured: median CPU time, × empty call of the same run | met | benchmark |",
        "|---|---|---|---|---|",
        target_row("dormant site", "dormant", tp, tp and tp.find("BM_Tracepoint_Dormant"), subtract_loop=True),
        target_row("active site, OBSERVE + EMIT SUM by group", "active", tp, tp and tp.find("BM_Tracepoint_ActiveSumByGroup")),
        target_row("sampled span, begin + end", "span_sampled", tr, tr and tr.find("BM_Span_Sampled_WriterKeepsUp"),
                   note="(the writer keeping up; `BM_Span_Sampled`, where it never does: see Spans)"),
        target_row("unsampled span", "span_unsampled", tr, tr and tr.find("BM_Span_Unsampled_ViewProbe"),
                   note="(id probed as a view; RTBkit's string probe: see Spans)"),
        target_row("PACK + encode + decode + UNPACK, one small tuple", "baggage", bg,
                   bg and bg.find("BM_PackEncodeDecodeUnpack_OneSmallTuple")),
    ]
    if hook is not None:
        # hook_bench's entry hook with OBSERVE + EMIT SUM by group (BM_Hook_EntrySumByGroup).
        name = next((n for n in hook.order if "Entry" in n and ("Sum" in n or "Emit" in n)), None) or next(
            (n for n in hook.order if "Entry" in n and "Filtered" not in n), None)
        rows.append(target_row("hooked function entry, OBSERVE + EMIT", "hook", hook, name))
    else:
        rows.append("| hooked function entry, OBSERVE + EMIT | ≤ 30 ns (≤ 32×) | not measured: `hook_bench` is not built yet | | |")
    rows += issue17_rows(runs)
    for mode, target, limit in (("idle", "≤ 0.3 %", 0.3), ("seed", "≤ 1 %", 1.0)):
        m = e2e.get("modes", {}).get(mode) if e2e else None
        label = f"minidfs overhead, {'idle agent' if mode == 'idle' else 'seed query'}"
        parts, met = [], ""
        if m and m.get("ir_overhead_pct") is not None:
            parts.append(f"instructions per op {m['ir_overhead_pct']:+.2f} %")
            met = "yes" if m["ir_overhead_pct"] <= limit else "no"
        if m and m.get("cpu_overhead_pct") is not None:
            lo, hi = m["cpu_overhead_range"]
            parts.append(f"CPU per op {m['cpu_overhead_pct']:+.1f} % (runs {lo:+.1f} to {hi:+.1f})")
            if not met:
                met = "yes" if hi <= limit else ("no" if lo > limit else "within noise")
        if m and m.get("overhead_pct") is not None:
            lo, hi = m["overhead_range"]
            parts.append(f"throughput {m['overhead_pct']:+.1f} % (runs {lo:+.1f} to {hi:+.1f})")
        rows.append(f"| {label} | {target} | {'; '.join(parts) or 'not measured'} | {met} |"
                    f" End to end{' (judged on instructions)' if m and m.get('ir_overhead_pct') is not None else ''} |")
    return "\n".join(rows)


def section_peers(runs):
    dorm, enab, tr = runs.get("peers_dormant"), runs.get("peers_enabled"), runs.get("trace_bench")
    rows = [
        "Each peer next to the pivot path of the same shape, **in the same run of the same binary**;"
        " the last column is the peer's time over pivot's (above 1: pivot is cheaper).",
        "",
        "| peer | peer | pivot | pivot path | peer ÷ pivot | run |",
        "|---|---|---|---|---|---|",
    ]

    def row(label, run, peer, mine, mine_label, over_loop=False):
        if run is None or run.find(peer) is None:
            why = run.errors.get(peer, "not built") if run is not None else "not run"
            for n, e in (run.errors.items() if run else []):
                if n.startswith(peer):
                    why = e
            return f"| {label} | not measured ({why}) | | {mine_label} | | |"
        p, m = run.median(run.find(peer)), run.median(run.find(mine))
        shown = f"{p / m:.2f}"
        if over_loop and run.empty_loop() is not None:
            # What each adds to the loop; meaningless when either is lost in the noise.
            op, om = p - run.empty_loop(), m - run.empty_loop()
            shown += f"; over the empty loop {op / om:.2f}" if op > 0 and om > 0 else "; over the empty loop: within noise"
        return (f"| {label} | {fmt_ns(p)} ({fmt_x(run.ratio(run.find(peer)))}) | {fmt_ns(m)} ({fmt_x(run.ratio(run.find(mine)))}) |"
                f" {mine_label} | {shown} | `{os.path.basename(run.path)}` |")

    rows.append(row("LTTng-UST tracepoint, dormant", dorm, "BM_Lttng_Dormant", "BM_Pivot_Dormant", "dormant site", over_loop=True))
    rows.append(row("USDT probe with semaphore, dormant", dorm, "BM_Usdt_Dormant", "BM_Pivot_Dormant", "dormant site", over_loop=True))
    rows.append(row("LTTng-UST tracepoint, enabled (snapshot session)", enab, "BM_Lttng_Enabled", "BM_Pivot_Active",
                    "active site, OBSERVE + EMIT SUM by host"))
    rows.append(row("naive RTBkit-style span, sampled", tr, "BM_NaiveRtbkitSpan_Sampled", "BM_Span_Sampled", "sampled span"))
    rows.append(row("naive RTBkit-style span, unsampled", tr, "BM_NaiveRtbkitSpan_Unsampled", "BM_Span_Unsampled", "unsampled span"))
    rows.append(row("naive RTBkit-style spans, 3 nested, sampled", tr, "BM_NaiveRtbkitSpan_Nested3_Sampled",
                    "BM_Span_Nested3_Sampled", "3 nested sampled spans"))
    rows += ["", "Commands:", ""]
    for r in (dorm, enab):
        if r is not None:
            rows.append(f"    {r.cmd}")
    if os.path.exists(os.path.join(os.path.dirname(enab.path), "peers_enabled.session")) if enab else False:
        rows.append("    # enabled run, under: " + open(os.path.join(os.path.dirname(enab.path), "peers_enabled.session")).read().strip())
    return "\n".join(rows)


def section_micro(runs):
    out = []
    known = ["tracepoint_bench", "baggage_bench", "trace_bench", "aggregate_bench", "hook_bench"]
    others = sorted(k for k in runs if k not in known and not k.startswith("peers_"))
    for key in known + others:
        run = runs.get(key)
        if run is None:
            if key == "hook_bench":
                out += ["### hook_bench", "", "Not built yet: the hooked-function benchmark comes with the dynamic"
                        " function hooks (design section 8); this script runs it as soon as the target exists.", ""]
            continue
        reps = max((len(v) for v in run.times.values()), default=0)
        out += [f"### {key}", "", f"    {run.cmd}", "",
                f"Median CPU time of {reps} repetition{'s' if reps != 1 else ''}, min–max, and × `BM_Baseline_EmptyCall`"
                f" of this run ({fmt_ns(run.empty_call())}; empty loop {fmt_ns(run.empty_loop())}).", "",
                "| benchmark | CPU time | min–max | × empty call | counters |", "|---|---|---|---|---|"]
        for name in run.order:
            if name in run.errors and name not in run.times:
                out.append(f"| `{name}` | error: {run.errors[name]} | | | |")
                continue
            lo, hi = run.spread(name)
            counters = run.counters.get(name, [{}])
            c = []
            if counters and "dropped" in counters[0]:
                c.append(f"dropped {statistics.median(x['dropped'] for x in counters) * 100:.0f} %")
            if counters and "items_per_second" in counters[0]:
                ips = statistics.median(x["items_per_second"] for x in counters)
                c.append(f"{fmt_ns(1e9 / ips)} per group")
            if counters and "report_bytes" in counters[0]:
                c.append(f"{counters[0]['report_bytes']:,.0f} bytes")
            out.append(f"| `{name}` | {fmt_ns(run.median(name))} | {fmt_ns(lo)} – {fmt_ns(hi)} | {fmt_x(run.ratio(name))} | {', '.join(c)} |")
        out.append("")
    return "\n".join(out).rstrip()


def load_icount(results):
    path = os.path.join(results, "icount.tsv")
    if not os.path.exists(path):
        return []
    rows = []
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 6:
            continue
        name, n1, ir1, n2, ir2, what = parts[:6]
        n1, n2, ir1, ir2 = int(n1), int(n2), int(ir1 or 0), int(ir2 or 0)
        rows.append((name, (ir2 - ir1) / (n2 - n1) if ir1 and ir2 else None, what))
    return rows


def section_icount(results):
    rows = load_icount(results)
    if not rows:
        return "Not measured in this run (valgrind missing or `--skip-icount`)."
    empty = next((ir for n, ir, _ in rows if n == "empty_call"), None)
    cmd = open(os.path.join(results, "icount.cmd")).read().strip() if os.path.exists(os.path.join(results, "icount.cmd")) else ""
    out = ["Instructions per event (callgrind's Ir), which do not depend on the machine's load: the difference between",
           "two runs of different lengths, divided by the difference in events, so fixed costs cancel.", "",
           f"    {cmd}", "",
           "| path | Ir per event | over the empty call | what |", "|---|---|---|---|"]
    for name, ir, what in rows:
        over = f"{ir - empty:,.0f}" if ir is not None and empty is not None and name != "empty_call" else ""
        out.append(f"| `{name}` | {('%s' % f'{ir:,.0f}') if ir is not None else 'failed'} | {over} | {what} |")
    return "\n".join(out)


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def load_e2e(results):
    base = os.path.join(results, "e2e")
    if not os.path.exists(os.path.join(base, "modes.tsv")):
        return None
    modes = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(base, "modes.tsv")) if l.strip()]
    runs = {}
    if os.path.exists(os.path.join(base, "runs.tsv")):
        for line in open(os.path.join(base, "runs.tsv")):
            mode, run, d = line.rstrip("\n").split("\t")
            ops, secs, lat = 0, 0.0, []
            for f in glob.glob(os.path.join(d, "client*.stats.json")):
                s = json.load(open(f))
                ops += s["ops"]
                secs = max(secs, s["seconds"])
                lat += s["latency_ns"]
            cpu_us = None
            try:
                ticks = int(open(os.path.join(d, "cpu_done")).read()) - int(open(os.path.join(d, "cpu_go")).read())
                cpu_us = ticks * 1e6 / int(open(os.path.join(d, "clk_tck")).read()) / ops
            except (OSError, ValueError, ZeroDivisionError):
                pass
            if ops and secs:
                lat.sort()
                runs.setdefault(mode, []).append({
                    "run": int(run), "ops_per_s": ops / secs, "cpu_us": cpu_us,
                    "p50": percentile(lat, 0.5), "p90": percentile(lat, 0.9), "p99": percentile(lat, 0.99)})
    e2e = {"modes": {}, "order": [m for m, _ in modes], "what": dict(modes),
           "seconds": open(os.path.join(base, "seconds")).read().strip() if os.path.exists(os.path.join(base, "seconds")) else "?"}
    base_runs = runs.get("bare", [])
    base_med = statistics.median(r["ops_per_s"] for r in base_runs) if base_runs else None
    base_by_run = {r["run"]: r["ops_per_s"] for r in base_runs}
    base_cpu = [r["cpu_us"] for r in base_runs if r["cpu_us"]]
    base_cpu_med = statistics.median(base_cpu) if base_cpu else None
    base_cpu_by_run = {r["run"]: r["cpu_us"] for r in base_runs if r["cpu_us"]}
    for mode, _ in modes:
        rs = runs.get(mode, [])
        m = {"runs": len(rs)}
        skipped = os.path.join(base, f"{mode}.skipped")
        if os.path.exists(skipped):
            m["skipped"] = open(skipped).read().strip().splitlines()
        if rs:
            m["ops_per_s"] = statistics.median(r["ops_per_s"] for r in rs)
            m["ops_range"] = (min(r["ops_per_s"] for r in rs), max(r["ops_per_s"] for r in rs))
            for p in ("p50", "p90", "p99"):
                m[p] = statistics.median(r[p] for r in rs)
            if base_med:
                m["ratio"] = m["ops_per_s"] / base_med
                m["overhead_pct"] = (base_med / m["ops_per_s"] - 1) * 100
                # Per run, against the bare run of the same round: the spread of the overhead.
                per = [(base_by_run[r["run"]] / r["ops_per_s"] - 1) * 100 for r in rs if r["run"] in base_by_run]
                m["overhead_range"] = (min(per), max(per)) if per else (m["overhead_pct"], m["overhead_pct"])
            cpu = [r["cpu_us"] for r in rs if r["cpu_us"]]
            if cpu:
                m["cpu_us"] = statistics.median(cpu)
                m["cpu_range"] = (min(cpu), max(cpu))
                if base_cpu_med:
                    m["cpu_overhead_pct"] = (m["cpu_us"] / base_cpu_med - 1) * 100
                    per = [(r["cpu_us"] / base_cpu_by_run[r["run"]] - 1) * 100 for r in rs
                           if r["cpu_us"] and r["run"] in base_cpu_by_run]
                    m["cpu_overhead_range"] = (min(per), max(per)) if per else (m["cpu_overhead_pct"],) * 2
        e2e["modes"][mode] = m
    icount = os.path.join(base, "icount.tsv")
    if os.path.exists(icount):
        per_op = {}
        for line in open(icount):
            mode, n1, ir1, n2, ir2 = line.rstrip("\n").split("\t")
            per_op[mode] = (int(ir2) - int(ir1)) / (3 * (int(n2) - int(n1)))  # 3 clients
        base_ir = per_op.get("bare")
        for mode, ir in per_op.items():
            m = e2e["modes"].setdefault(mode, {"runs": 0})
            m["ir_per_op"] = ir
            if base_ir:
                m["ir_overhead_pct"] = (ir / base_ir - 1) * 100
        e2e["icount_cmd"] = open(os.path.join(base, "icount.cmd")).read().strip() if os.path.exists(
            os.path.join(base, "icount.cmd")) else ""
    cmd_files = sorted(glob.glob(os.path.join(base, "*", "cluster.cmd")))
    # The run's own directory becomes DIR: the command holds for any.
    e2e["cmd"] = re.sub(r"\S*/e2e/[a-z_]+-\d+/", "DIR/", open(cmd_files[0]).read().strip()) if cmd_files else ""
    return e2e


def section_e2e(e2e):
    if not e2e:
        return "Not measured in this run (`--skip-e2e`)."
    out = [f"minidfs: 3 datanodes, 3 clients running as fast as they can for {e2e['seconds']} s, 8 KiB blocks,"
           " all on this machine's cores. **Throughput** is the clients' completed ops per second; **CPU per op**"
           " is the user + system time of all seven minidfs processes from the clients' start to their end,"
           " divided by the ops (what pivot adds to the system's work; steadier than throughput, still moved by the"
           " load); **latency** is one op (a GetBlockLocations and its block reads) as its client sees it."
           " Median over the runs, min–max in brackets; the modes are interleaved run by run. Overheads are"
           " against the bare build's median; the range beside each pairs every run with the bare run of the"
           " same round.", "",
           "| mode | runs | ops/s | throughput overhead | CPU per op | CPU overhead | p50 latency | p99 latency |",
           "|---|---|---|---|---|---|---|---|"]
    for mode in e2e["order"]:
        m = e2e["modes"].get(mode, {})
        what = e2e["what"].get(mode, "")
        if not m.get("runs"):
            why = " ".join(m.get("skipped", ["not run"]))[:300]
            out.append(f"| **{mode}**: {what} | 0 | skipped: {why} | | | | | |")
            continue
        lo, hi = m["ops_range"]
        ov = cov = ""
        if "overhead_pct" in m and mode != "bare":
            olo, ohi = m["overhead_range"]
            ov = f"{m['overhead_pct']:+.1f} % ({olo:+.1f} to {ohi:+.1f})"
        if "cpu_overhead_pct" in m and mode != "bare":
            clo, chi = m["cpu_overhead_range"]
            cov = f"{m['cpu_overhead_pct']:+.1f} % ({clo:+.1f} to {chi:+.1f})"
        cpu = f"{m['cpu_us']:.0f} µs ({m['cpu_range'][0]:.0f}–{m['cpu_range'][1]:.0f})" if "cpu_us" in m else "—"
        out.append(f"| **{mode}**: {what} | {m['runs']} | {m['ops_per_s']:,.0f} ({lo:,.0f}–{hi:,.0f}) |"
                   f" {ov} | {cpu} | {cov} | {fmt_ns(m['p50'])} | {fmt_ns(m['p99'])} |")
    if any("ir_per_op" in m for m in e2e["modes"].values()):
        out += ["", "**Instructions per op**, every process of the cluster under callgrind: the difference between"
                " two workload lengths over the difference in ops, so start-up and shutdown cancel. The workload is"
                " a function of the seed, so these repeat whatever the load: to about 0.05 % idle, 0.2 % with queries,"
                " 1.5 % with L (whose raw rows vary with timing). The"
                " queries report only when the run ends here (a 10-minute interval): the agents' reporting is in"
                " `BM_AgentReport` instead.", "",
                f"    {e2e.get('icount_cmd', '')}", "",
                "| mode | instructions per op | overhead |", "|---|---|---|"]
        for mode in e2e["order"]:
            m = e2e["modes"].get(mode, {})
            if "ir_per_op" in m:
                ov = f"{m['ir_overhead_pct']:+.2f} % ({m['ir_per_op'] - e2e['modes']['bare']['ir_per_op']:+,.0f})" if mode != "bare" and "ir_overhead_pct" in m else ""
                out.append(f"| **{mode}** | {m['ir_per_op']:,.0f} | {ov} |")
    out += ["", f"For comparison, the {PAPER}.", "", "One run of one mode:", "", f"    {e2e['cmd']}",
            "", "(`minidfs_bare` for the bare mode; the queries of each mode are installed with"
            " `pivot --runtime-dir DIR query --format json --interval 1000 QUERY` once the cluster is ready, before the"
            " clients start; see `scripts/perf.sh`.)"]
    return "\n".join(out)


def chart(runs, e2e, png):
    """Two panels: × empty call of pivot's paths and the peers; minidfs CPU per op per mode."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("perf_report: gnuplot not found (scripts/setup.sh perf): no chart", file=sys.stderr)
        return False
    bars = []

    def add(label, run, name):
        if run is not None and run.find(name) is not None and run.ratio(run.find(name)):
            bars.append((label, run.ratio(run.find(name))))

    tp, tr, bg = runs.get("tracepoint_bench"), runs.get("trace_bench"), runs.get("baggage_bench")
    pd, pe = runs.get("peers_dormant"), runs.get("peers_enabled")
    # pivot's bars next to a peer's come from the peer's run.
    add("pivot dormant site", pd if pd is not None and pd.find("BM_Pivot_Dormant") else tp,
        "BM_Pivot_Dormant" if pd is not None and pd.find("BM_Pivot_Dormant") else "BM_Tracepoint_Dormant")
    add("LTTng dormant", pd, "BM_Lttng_Dormant")
    add("USDT dormant", pd, "BM_Usdt_Dormant")
    add("pivot unsampled span", tr, "BM_Span_Unsampled_ViewProbe")
    add("pivot active site", pe if pe is not None and pe.find("BM_Pivot_Active") else tp,
        "BM_Pivot_Active" if pe is not None and pe.find("BM_Pivot_Active") else "BM_Tracepoint_ActiveSumByGroup")
    add("LTTng enabled", pe, "BM_Lttng_Enabled")
    add("pivot sampled span", tr, "BM_Span_Sampled")
    add("naive RTBkit span", tr, "BM_NaiveRtbkitSpan_Sampled")
    add("pivot baggage round trip", bg, "BM_PackEncodeDecodeUnpack_OneSmallTuple")
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "micro.dat"), "w") as f:
        for i, (label, x) in enumerate(bars):
            f.write(f'{i} "{label}" {x:.4f}\n')
    # Instructions per op when measured (they repeat); else CPU per op with its range.
    modes = (e2e or {}).get("modes", {})
    use_ir = "ir_per_op" in modes.get("bare", {})
    with open(os.path.join(tmp, "e2e.dat"), "w") as f:
        i = 0
        for mode in (e2e or {}).get("order", []):
            m = modes.get(mode, {})
            if use_ir and "ir_per_op" in m:
                x = m["ir_per_op"] / modes["bare"]["ir_per_op"]
                f.write(f'{i} "{mode}" {x:.4f} {x:.4f} {x:.4f}\n')
                i += 1
            elif not use_ir and m.get("runs") and "cpu_us" in m and modes.get("bare", {}).get("cpu_us"):
                base = modes["bare"]["cpu_us"]
                f.write(f'{i} "{mode}" {m["cpu_us"] / base:.4f} {m["cpu_range"][0] / base:.4f} {m["cpu_range"][1] / base:.4f}\n')
                i += 1
    right_title = ("minidfs instructions per op, × the bare build (callgrind)" if use_ir
                   else "minidfs CPU per op, × the bare build (median, min–max of the runs)")
    script = f"""
set terminal pngcairo size 1100,480 font "DejaVu Sans,10"
set output "{png}"
set multiplot layout 1,2
set lmargin 10
set bmargin 7
set title "Cost per event, × an empty noinline call of the same run (log scale)"
set style fill solid 0.8 border -1
set logscale y
set yrange [0.1:*]
set grid ytics
set xtics rotate by 35 right
set boxwidth 0.7
unset key
plot "{tmp}/micro.dat" using 1:3:xtic(2) with boxes lc rgb "#4a7ebb", \
     "" using 1:3:($3 >= 10 ? sprintf("%.0f", $3) : sprintf("%.2f", $3)) with labels offset 0,0.7 font ",8"
unset logscale y
set title "{right_title}"
set yrange [0:*]
set grid ytics
plot "{tmp}/e2e.dat" using 1:3:xtic(2) with boxes lc rgb "#6aa84f", \
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0, \
     "" using 1:3:(sprintf("%.3f", $3)) with labels offset 0,-0.8 font ",8", 1 with lines lc rgb "gray" dt 2
unset multiplot
"""
    with open(os.path.join(tmp, "chart.gp"), "w") as f:
        f.write(script)
    r = subprocess.run([gnuplot, os.path.join(tmp, "chart.gp")], capture_output=True, text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        print("perf_report: gnuplot failed:\n" + r.stderr, file=sys.stderr)
        return False
    return True


def replace_section(doc, name, body):
    begin, end = f"<!-- BEGIN GENERATED: {name} -->", f"<!-- END GENERATED: {name} -->"
    block = f"{begin}\n<!-- scripts/perf.sh writes this section; edits here are lost on the next run. -->\n\n{body.strip()}\n\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(doc):
        return pattern.sub(lambda _: block, doc)
    return doc.rstrip("\n") + "\n\n" + block + "\n"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: perf_report.py RESULTS_DIR DOC.md CHART.png")
    results, doc_path, png = sys.argv[1:]
    env = json.load(open(os.path.join(results, "env.json")))
    runs = load_runs(results)
    e2e = load_e2e(results)
    have_chart = chart(runs, e2e, png)
    doc = open(doc_path).read() if os.path.exists(doc_path) else "# Performance\n"
    rel_png = os.path.relpath(png, os.path.dirname(doc_path) or ".")
    sections = [
        ("run", section_env(results, env)),
        ("summary", section_summary(runs, e2e)),
        ("chart", f"![pivot's costs per event next to its peers, and minidfs CPU per op by mode]({rel_png})" if have_chart else "No chart (gnuplot missing)."),
        ("peers", section_peers(runs)),
        ("end-to-end", section_e2e(e2e)),
        ("instruction-counts", section_icount(results)),
        ("micro", section_micro(runs)),
    ]
    for name, body in sections:
        doc = replace_section(doc, name, body)
    with open(doc_path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    main()
