#!/usr/bin/env python3
"""Turns the raw output of bench/run.sh (or, with --protocols, bench/protocols.sh) into a Markdown table.

Input: a directory with index.tsv (one line per measured wrk run: scenario, target, round, CPU
ticks of the target's processes during the run, their peak RSS in KiB, the wrk output file, wrk's
exit status) and meta.txt (key=value lines: machine and settings). Python standard library only.
"""

import argparse
import csv
import os
import re
import statistics
import sys

PEERS = ("nginx", "haproxy")
TARGET_ORDER = ("direct", "flexgate", "nginx", "haproxy", "flexgate-policies", "flexgate-logged", "flexgate-rl-memory",
                "flexgate-rl-redis", "flexgate-headers")
COST_ORDER = ("flexgate", "flexgate-policies", "flexgate-headers", "nginx", "haproxy", "flexgate-h2c", "nginx-h2c",
              "haproxy-h2c")
RATE_LIMITED = ("flexgate-rl-memory", "flexgate-rl-redis")
LATENCY_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(text):
    """requests, req/s, p50/p99 in ms and error count from `wrk --latency` output (None if absent)."""
    result = {"requests": None, "rps": None, "p50": None, "p99": None, "errors": 0}
    m = re.search(r"^\s*(\d+) requests in", text, re.M)
    if m:
        result["requests"] = int(m.group(1))
    m = re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M)
    if m:
        result["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s*%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, text, re.M)
        if m:
            result[key] = float(m.group(1)) * LATENCY_UNITS_MS[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        result["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        result["errors"] += int(m.group(1))
    return result


def parse_h2load(text):
    """The same fields from h2load output; p50/p99 from the "latency p50 ... p99 ..." line that
    bench/protocols.sh appends (computed from h2load's per-request log)."""
    result = {"requests": None, "rps": None, "p50": None, "p99": None, "errors": 0}
    m = re.search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", text, re.M)
    if m:
        result["rps"] = float(m.group(1))
    m = re.search(r"^requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored, "
                  r"(\d+) timeout", text, re.M)
    if m:
        result["requests"] = int(m.group(1))
        result["errors"] += int(m.group(2))  # "failed" includes the errored and timed-out ones
    m = re.search(r"^status codes: \d+ 2xx, \d+ 3xx, (\d+) 4xx, (\d+) 5xx", text, re.M)
    if m:
        result["errors"] += int(m.group(1)) + int(m.group(2))
    m = re.search(r"^latency p50 ([\d.]+) ms p99 ([\d.]+) ms", text, re.M)
    if m:
        result["p50"], result["p99"] = float(m.group(1)), float(m.group(2))
    return result


def parse_s_time(text):
    """Full handshakes from the summary line bench/protocols.sh writes after its `openssl s_time` batch."""
    result = {"requests": None, "rps": None, "p50": None, "p99": None, "errors": 0}
    m = re.search(r"^full handshakes: (\d+) in [\d.]+ s wall, ([\d.]+)/s \(\d+ processes, (\d+) failed", text, re.M)
    if m:
        result["requests"], result["rps"], result["errors"] = int(m.group(1)), float(m.group(2)), int(m.group(3))
    return result


def read_meta(path):
    meta = {"skipped": []}
    if not os.path.exists(path):
        return meta
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            if key == "skipped":
                meta["skipped"].append(value)
            elif key:
                meta[key] = value
    return meta


def collect(raw_dir, clk_tck):
    """{(scenario, target): [run dicts]} in the order scenarios first appear."""
    runs = {}
    with open(os.path.join(raw_dir, "index.tsv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = os.path.join(raw_dir, row["wrk_output"])
            text = open(path, encoding="utf-8", errors="replace").read() if os.path.exists(path) else ""
            parse = {"h2load": parse_h2load, "s_time": parse_s_time}.get(row.get("tool"), parse_wrk)
            run = parse(text)
            run["round"] = int(row["round"])
            run["wrk_status"] = int(row["wrk_status"])
            run["rss_kb"] = int(row["peak_rss_kb"])
            ticks = int(row["cpu_ticks"])
            run["cpu_us"] = (ticks / clk_tck * 1e6 / run["requests"]) if run["requests"] else None
            run["other_cpu"] = other_load(raw_dir, row, ticks, clk_tck)
            runs.setdefault((row["scenario"], row["target"]), []).append(run)
    return runs


def other_load(raw_dir, row, target_ticks, clk_tck):
    """CPU used during the run by processes outside the benchmark, in % of one CPU (None if unknown).

    Machine busy time minus the target's, the echo upstream's (when it is not the target) and wrk's.
    """
    time_path = os.path.join(raw_dir, row["wrk_output"] + ".time")
    if not row.get("machine_ticks") or not os.path.exists(time_path):
        return None
    fields = open(time_path, encoding="utf-8").read().strip().splitlines()[-1:]
    try:
        elapsed, user, system = (float(x) for x in fields[0].split())
    except (IndexError, ValueError):
        return None
    if elapsed <= 0:
        return None
    ours = target_ticks + (int(row["echo_ticks"]) if row["target"] != "direct" else 0)
    other = int(row["machine_ticks"]) - ours - (user + system) * clk_tck
    return max(other, 0) / clk_tck / elapsed * 100


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    rows = {}
    for key, items in runs.items():
        rps = [r["rps"] for r in items if r["rps"] is not None]
        rows[key] = {
            "rps": median_of(rps),
            "spread": (max(rps) - min(rps)) / statistics.median(rps) if len(rps) > 1 else None,
            "p50": median_of(r["p50"] for r in items),
            "p99": median_of(r["p99"] for r in items),
            "cpu_us": median_of(r["cpu_us"] for r in items),
            "rss_mb": max(r["rss_kb"] for r in items) / 1024.0,
            "other_cpu": median_of(r["other_cpu"] for r in items),
            "errors": sum(r["errors"] for r in items),
            "failed": sum(1 for r in items if r["wrk_status"] != 0 or r["rps"] is None),
            "runs": len(items),
        }
    return rows


def rss_by_round(runs):
    """{target: [peak RSS MB of each round, the largest over that round's scenarios]}, rounds in order.

    The same processes serve every round, so a proxy that keeps memory per request or per
    connection shows it here as a climb from round to round."""
    by_target = {}
    for (_, target), items in runs.items():
        for run in items:
            rounds = by_target.setdefault(target, {})
            rounds[run["round"]] = max(rounds.get(run["round"], 0), run["rss_kb"] / 1024.0)
    return {target: [rounds[r] for r in sorted(rounds)] for target, rounds in by_target.items()}


def rss_growth_lines(by_round):
    """The 'peak RSS across rounds' table: each round's peak and the last round against round 2."""
    widest = max((len(v) for v in by_round.values()), default=0)
    if widest < 3:
        return []
    lines = ["", "Peak RSS across rounds (MB; each round's largest over its scenarios; the same processes serve "
             "every round; round 1 also fills the upstream pools, so growth is the last round against round 2):",
             "", "| proxy | " + " | ".join("round %d" % (i + 1) for i in range(widest)) + " | last vs round 2 |",
             "|---|" + "---:|" * (widest + 1)]
    targets = [t for t in TARGET_ORDER if t in by_round] + sorted(t for t in by_round if t not in TARGET_ORDER)
    for target in targets:
        values = by_round[target]
        cells = ["%.1f" % v for v in values] + [""] * (widest - len(values))
        growth = "—"
        if len(values) >= 3 and values[1]:
            mb, percent = values[-1] - values[1], (values[-1] / values[1] - 1) * 100
            mb_text = "%+.1f" % mb if round(mb, 1) else "0.0"  # no "-0.0"
            percent_text = "%+.0f" % percent if round(percent) else "0"
            growth = "%s MB (%s%%)" % (mb_text, percent_text)
        lines.append("| %s | %s | %s |" % (target, " | ".join(cells), growth))
    return lines


def fmt(value, spec, suffix=""):
    return "—" if value is None else format(value, spec) + suffix


def render(rows, meta, cost=None, by_round=None):
    scenarios = []
    for scenario, _ in rows:
        if scenario not in scenarios:
            scenarios.append(scenario)
    lines = [
        "# FlexGate benchmark — %s" % meta.get("date", "?"),
        "",
        "Machine: %s CPU(s) (%s), %s. Proxies: %s workers each, %s idle upstream connections kept per "
        "worker (nginx, FlexGate); echo upstream: %s worker(s); "
        "wrk: 1 thread, %s s per run after a %s s warm-up, median of %s round(s)."
        % (meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"), meta.get("workers", "?"),
           meta.get("keepalive", "?"), meta.get("echo_workers", "?"), meta.get("duration", "?"),
           meta.get("warmup", "?"), meta.get("rounds", "?")),
        "",
        "Versions: flexgate %s; %s; %s; %s."
        % (meta.get("flexgate", "?"), meta.get("nginx", "?"), meta.get("haproxy", "?"), meta.get("wrk", "?")),
        "",
        "| scenario | proxy | req/s | spread | p50 ms | p99 ms | peak RSS MB | CPU µs/req | req/s vs best peer "
        "| CPU/req vs best peer | other load | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        targets = [t for t in TARGET_ORDER if (scenario, t) in rows]
        targets += sorted(t for s, t in rows if s == scenario and t not in TARGET_ORDER)
        peers = [rows[(scenario, p)] for p in PEERS if (scenario, p) in rows]
        best_rps = max((p["rps"] for p in peers if p["rps"]), default=None)
        best_cpu = min((p["cpu_us"] for p in peers if p["cpu_us"]), default=None)
        for target in targets:
            r = rows[(scenario, target)]
            rps_ratio = r["rps"] / best_rps if r["rps"] and best_rps else None
            cpu_ratio = r["cpu_us"] / best_cpu if r["cpu_us"] and best_cpu else None
            errors = str(r["errors"])
            if r["failed"]:
                errors += " (%d/%d runs failed)" % (r["failed"], r["runs"])
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                scenario, target, fmt(r["rps"], ",.0f"), fmt(r["spread"] * 100 if r["spread"] is not None else None,
                                                            ".0f", "%"),
                fmt(r["p50"], ".3f"), fmt(r["p99"], ".3f"), fmt(r["rss_mb"], ".1f"), fmt(r["cpu_us"], ".1f"),
                fmt(rps_ratio, ".2f", "×"), fmt(cpu_ratio, ".2f", "×"), fmt(r["other_cpu"], ".0f", "%"),
                errors))
    lines += [
        "",
        "req/s, latency and CPU are medians over the rounds; spread = (max − min) / median of req/s. "
        "Peak RSS is the largest VmHWM sum over the proxy's processes (reset before each run; pages shared by "
        "nginx's master and workers count once per process). CPU µs/req is the proxy's own utime+stime during "
        "the run (all its processes and threads; not the echo upstream's, not wrk's) divided by the requests "
        "wrk completed. Best peer = the better of nginx and HAProxy (higher req/s, lower CPU/req); direct = the "
        "echo upstream measured without a proxy, for reference. Other load = CPU used during the run by "
        "processes outside the benchmark (machine busy time minus the proxy's, the echo upstream's and wrk's), "
        "in %% of one CPU: everything shares the same %s CPU(s), so rows with high other load are slowed by it."
        % meta.get("nproc", "?"),
        "",
        "Load average: %s at the start, %s at the end."
        % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")),
    ]
    cost_lines = []
    for scenario in scenarios:
        base = rows.get((scenario, "flexgate"))
        logged = rows.get((scenario, "flexgate-logged"))
        if base and logged and logged["cpu_us"] and base["cpu_us"] and logged["rps"] and base["rps"]:
            cost_lines.append("- %s, access log on: %+.1f µs CPU per request (%.1f vs %.1f), req/s %.2f× of FlexGate "
                              "without it (metrics are always on in both)." % (
                                  scenario, logged["cpu_us"] - base["cpu_us"], logged["cpu_us"], base["cpu_us"],
                                  logged["rps"] / base["rps"]))
        for target in RATE_LIMITED:
            r = rows.get((scenario, target))
            if not base or not r or not r["cpu_us"] or not base["cpu_us"] or not r["rps"] or not base["rps"]:
                continue
            cost_lines.append("- %s, %s backend: %+.1f µs CPU per request (%.1f vs %.1f), req/s %.2f× of "
                              "FlexGate without a limit, p99 %s ms vs %s ms." % (
                                  scenario, target.rsplit("-", 1)[1], r["cpu_us"] - base["cpu_us"], r["cpu_us"],
                                  base["cpu_us"], r["rps"] / base["rps"], fmt(r["p99"], ".3f"),
                                  fmt(base["p99"], ".3f")))
        headers = rows.get((scenario, "flexgate-headers"))
        if base and headers and headers["cpu_us"] and base["cpu_us"] and headers["rps"] and base["rps"]:
            cost_lines.append("- %s, five header operations (request set x2, remove, rename; response set): "
                              "%+.1f µs CPU per request (%.1f vs %.1f), req/s %.2f× of FlexGate without them "
                              "(goal: at least 0.97×)." % (
                                  scenario, headers["cpu_us"] - base["cpu_us"], headers["cpu_us"], base["cpu_us"],
                                  headers["rps"] / base["rps"]))
    if cost_lines:
        lines += ["", "Cost of logging, of a rate-limit decision (every request takes a token; the Redis "
                  "figure is the gateway's CPU only, Redis's own is not counted) and of header operations:"] + cost_lines
    for scenario in scenarios:
        policies = rows.get((scenario, "flexgate-policies"))
        peers = [rows[(scenario, p)] for p in PEERS if (scenario, p) in rows]
        best_rps = max((p["rps"] for p in peers if p["rps"]), default=None)
        if policies and policies["rps"] and best_rps:
            lines += ["", "%s with API-key auth, a memory rate limit (never hit), the access log sampled at 10%% "
                      "and metrics (`flexgate-policies`): %.2f× the best peer's plain-proxy req/s." % (
                          scenario, policies["rps"] / best_rps)]
    if by_round:
        lines += rss_growth_lines(by_round)
    if cost:
        lines += cost_table(cost)
    if meta["skipped"]:
        lines += ["", "Skipped: " + "; ".join(meta["skipped"]) + "."]
    return "\n".join(lines) + "\n"


PROTOCOL_NOTES = {
    "tls-get-small": "HTTPS GET of a small body, wrk, 64 keep-alive connections (HTTP/1.1 over TLS 1.3)",
    "tls-handshakes": "wrk, 32 connections, `Connection: close`: one TCP connection and TLS 1.3 handshake per "
                      "request, so req/s = handshakes/s (wrk offers the previous session again: resumed "
                      "handshakes where the server issues tickets)",
    "tls-full-handshakes": "32 `openssl s_time -new -www /` processes at once: a full TLS 1.3 handshake "
                           "(certificate, ECDSA P-256 signature, X25519) and one HTTP/1.0 GET per connection; "
                           "handshakes/s = connections completed / wall time",
    "h2-get-small": "h2load over TLS 1.3 with ALPN h2",
    "h2c-get-small": "h2load over plaintext HTTP/2 with prior knowledge (h2c)",
}


def render_protocols(rows, meta):
    """The table of bench/protocols.sh: TLS and HTTP/2 scenarios, FlexGate against nginx and HAProxy."""
    scenarios = []
    for scenario, _ in rows:
        if scenario not in scenarios:
            scenarios.append(scenario)
    lines = [
        "# FlexGate TLS and HTTP/2 benchmark — %s" % meta.get("date", "?"),
        "",
        "Machine: %s CPU(s) (%s), %s. Proxies: %s workers each, %s idle upstream connections kept per worker "
        "(nginx, FlexGate), HTTP/1.1 to the echo upstream (%s worker(s)); %s s per run after a %s s warm-up, "
        "median of %s round(s); h2load: %s connections x %s concurrent streams."
        % (meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("kernel", "?"), meta.get("workers", "?"),
           meta.get("keepalive", "?"), meta.get("echo_workers", "?"), meta.get("duration", "?"),
           meta.get("warmup", "?"), meta.get("rounds", "?"), meta.get("h2_clients", "?"),
           meta.get("h2_streams", "?")),
        "",
        "Versions: flexgate %s; %s; %s; %s; %s; %s."
        % (meta.get("flexgate", "?"), meta.get("nginx", "?"), meta.get("haproxy", "?"), meta.get("wrk", "?"),
           meta.get("h2load", "?"), meta.get("openssl", "?")),
    ]
    probes = sorted((k[4:], v) for k, v in meta.items() if k.startswith("tls_"))
    if probes:
        lines += ["", "Negotiated by each TLS listener (a client offering h2 and http/1.1; resumed = later "
                  "connections that offered the previous session and resumed it):"]
        lines += ["- %s: %s" % (name, value) for name, value in probes]
    lines += [
        "",
        "| scenario | proxy | req/s | spread | p50 ms | p99 ms | peak RSS MB | CPU µs/req | req/s vs best peer "
        "| CPU/req vs best peer | other load | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in scenarios:
        targets = [t for t in TARGET_ORDER if (scenario, t) in rows]
        targets += sorted(t for s, t in rows if s == scenario and t not in TARGET_ORDER)
        peers = [rows[(scenario, p)] for p in PEERS if (scenario, p) in rows]
        best_rps = max((p["rps"] for p in peers if p["rps"]), default=None)
        best_cpu = min((p["cpu_us"] for p in peers if p["cpu_us"]), default=None)
        for target in targets:
            r = rows[(scenario, target)]
            rps_ratio = r["rps"] / best_rps if r["rps"] and best_rps else None
            cpu_ratio = r["cpu_us"] / best_cpu if r["cpu_us"] and best_cpu else None
            errors = str(r["errors"])
            if r["failed"]:
                errors += " (%d/%d runs failed)" % (r["failed"], r["runs"])
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                scenario, target, fmt(r["rps"], ",.0f"),
                fmt(r["spread"] * 100 if r["spread"] is not None else None, ".0f", "%"),
                fmt(r["p50"], ".3f"), fmt(r["p99"], ".3f"), fmt(r["rss_mb"], ".1f"), fmt(r["cpu_us"], ".1f"),
                fmt(rps_ratio, ".2f", "×"), fmt(cpu_ratio, ".2f", "×"), fmt(r["other_cpu"], ".0f", "%"), errors))
    lines += [""] + ["- %s: %s." % (s, PROTOCOL_NOTES[s]) for s in scenarios if s in PROTOCOL_NOTES]
    lines += [
        "",
        "req/s, latency and CPU are medians over the rounds; spread = (max − min) / median of req/s. Latency: "
        "wrk's percentiles; for h2load the percentiles of its per-request log (a request's time includes waiting "
        "behind the other streams of its connection). CPU µs/req is the proxy's own utime+stime during the run "
        "divided by the requests completed (for the handshake rows: per handshake). Best peer = the better of nginx and "
        "HAProxy. Other load = CPU used during the run by processes outside the benchmark, in %% of one CPU; "
        "the load generator, the echo upstream and the proxy share the same %s CPU(s)." % meta.get("nproc", "?"),
        "",
        "Load average: %s at the start, %s at the end."
        % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")),
    ]
    if meta["skipped"]:
        lines += ["", "Skipped: " + "; ".join(meta["skipped"]) + "."]
    return "\n".join(lines) + "\n"


def read_cost(path):
    """{target: {instructions, syscalls, mix}} per request, from bench/cost.sh's TSV (empty if absent)."""
    cost = {}
    if not os.path.exists(path):
        return cost
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            requests = int(row["requests"] or 0)
            if requests <= 0 or int(row["instructions"] or 0) <= 0:
                continue
            cost[row["target"]] = {"instructions": int(row["instructions"]) / requests,
                                   "syscalls": int(row["syscalls"] or 0) / requests,
                                   "mix": row.get("syscall_mix", "")}
    return cost


def cost_table(cost):
    lines = ["", "Instructions and syscalls per request (bench/cost.sh: one worker each, `ab -k -c1` small GETs "
             "after a warm-up, or for the h2c rows `h2load -c4 -m10` over HTTP/2 with prior knowledge, each "
             "compared with nginx on the same protocol; user-space instructions of every thread counted by "
             "callgrind, syscalls by `strace -c -f`; within a few percent between runs, far steadier than "
             "req/s):", "",
             "| proxy | instructions/req | vs nginx | syscalls/req | syscalls by kind (per request) |",
             "|---|---:|---:|---:|---|"]
    targets = [t for t in COST_ORDER if t in cost] + sorted(t for t in cost if t not in COST_ORDER)
    for target in targets:
        c = cost[target]
        nginx = cost.get("nginx-h2c" if target.endswith("-h2c") else "nginx")
        ratio = c["instructions"] / nginx["instructions"] if nginx else None
        mix = ", ".join(part.replace("=", " ") for part in c["mix"].split(",")
                        if part and not part.endswith("=0.00"))
        lines.append("| %s | %s | %s | %.2f | %s |" % (target, format(c["instructions"], ",.0f"),
                                                        fmt(ratio, ".2f", "×"), c["syscalls"], mix))
    return lines


def kept_name(meta):
    """The file name of a run's kept copy: the run's own date and commit (meta.txt), so a copy
    written after the checkout moved on still names the code that was measured."""
    digits = "".join(ch for ch in meta.get("date", "") if ch.isdigit())
    stamp = "%s-%s" % (digits[:8], digits[8:14]) if len(digits) >= 14 else "unknown-date"
    commit = re.sub(r"[^A-Za-z0-9.-]", "_", meta.get("flexgate", "")) or "unknown"
    return "%s-%s.md" % (stamp, commit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw_dir", help="directory with index.tsv, meta.txt and the wrk outputs")
    parser.add_argument("--out", help="also write the Markdown here")
    parser.add_argument("--keep-in", metavar="DIR",
                        help="also keep a copy in DIR, named after the run's date and commit (for bench/runs.py)")
    parser.add_argument("--protocols", action="store_true",
                        help="the directory comes from bench/protocols.sh (TLS and HTTP/2 table)")
    args = parser.parse_args()
    meta = read_meta(os.path.join(args.raw_dir, "meta.txt"))
    clk_tck = int(meta.get("clk_tck") or os.sysconf("SC_CLK_TCK"))
    runs = collect(args.raw_dir, clk_tck)
    rows = summarize(runs)
    if not rows:
        print("no measurements", file=sys.stderr)
        return 1
    if args.protocols:
        text = render_protocols(rows, meta)
    else:
        text = render(rows, meta, read_cost(os.path.join(args.raw_dir, "cost.tsv")), rss_by_round(runs))
    sys.stdout.write(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    if args.keep_in:
        os.makedirs(args.keep_in, exist_ok=True)
        kept = os.path.join(args.keep_in, kept_name(meta))
        with open(kept, "w", encoding="utf-8") as f:
            f.write(text)
        print("kept a copy in %s (all runs side by side: python3 bench/runs.py)" % kept, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
