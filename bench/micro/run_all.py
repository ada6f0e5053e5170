#!/usr/bin/env python3
"""Runs every *_bench executable of a bench/micro build and summarizes the rates.

Writes <out-dir>/micro.json (Google Benchmark's JSON, all executables merged) and
<out-dir>/micro.md (benchmark | rate), and prints the same table. Used by `make bench-micro`.
"""

import argparse
import json
import os
import subprocess
import sys

# Codec, rate limit and router first: the cases the performance issue asks about.
ORDER = ["codec_bench", "ratelimit_bench", "router_bench", "metrics_bench"]
# What one "item" is, per executable (benchmarks that count bytes are shown in bytes/s instead).
ITEM_NAMES = {"ratelimit_bench": "decisions/s", "router_bench": "lookups/s", "header_plan_bench": "heads/s"}
# User counters that are rates themselves (Counter::kIsRate; the JSON does not keep the flag).
RATE_COUNTERS = {"chunks": "chunks/s"}
NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def si(value, unit):
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g} {prefix} {unit}"
    return f"{value:.3g} {unit}"


def binary_bytes(value):
    for factor, prefix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}/s"
    return f"{value:.3g} B/s"


def rate_text(executable, bench):
    if bench.get("error_occurred"):
        return "ERROR: " + bench.get("error_message", "")
    if "bytes_per_second" in bench:
        text = binary_bytes(bench["bytes_per_second"])
    elif "items_per_second" in bench:
        text = si(bench["items_per_second"], ITEM_NAMES.get(executable, "items/s"))
    else:
        # No items counted: one iteration is one operation (CPU time unless the case measures wall time).
        per_op = bench["real_time"] if "/real_time" in bench["name"] else bench["cpu_time"]
        text = si(1e9 / (per_op * NS_PER_UNIT[bench["time_unit"]]), "ops/s")
    extras = [si(bench[c], unit) for c, unit in RATE_COUNTERS.items() if c in bench]
    return text + (f" ({', '.join(extras)})" if extras else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin-dir", required=True, help="directory holding the *_bench executables")
    parser.add_argument("--out-dir", required=True, help="where micro.json and micro.md go")
    parser.add_argument("--min-time", default="0.2", help="--benchmark_min_time, seconds per benchmark")
    args = parser.parse_args()

    found = sorted(f for f in os.listdir(args.bin_dir)
                   if f.endswith("_bench") and os.access(os.path.join(args.bin_dir, f), os.X_OK))
    executables = [e for e in ORDER if e in found] + [e for e in found if e not in ORDER]
    if not executables:
        sys.exit(f"no *_bench executables in {args.bin_dir}")

    merged = {"context": None, "benchmarks": []}
    for executable in executables:
        print(f"running {executable} ...", flush=True)
        run = subprocess.run([os.path.join(args.bin_dir, executable), f"--benchmark_min_time={args.min_time}",
                              "--benchmark_format=json"], capture_output=True, text=True)
        if run.returncode != 0:
            sys.stderr.write(run.stderr)
            sys.exit(f"{executable} failed (exit {run.returncode})")
        result = json.loads(run.stdout)
        if merged["context"] is None:
            merged["context"] = result["context"]
            merged["context"]["executable"] = "bench/micro/*_bench"
            merged["context"]["benchmark_min_time"] = args.min_time
        for bench in result["benchmarks"]:
            bench["executable"] = executable
            merged["benchmarks"].append(bench)

    rows = [(b["name"], rate_text(b["executable"], b)) for b in merged["benchmarks"]]
    context = merged["context"]
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "micro.json"), "w") as out:
        json.dump(merged, out, indent=2)
        out.write("\n")
    with open(os.path.join(args.out_dir, "micro.md"), "w") as out:
        load = ", ".join(f"{x:.2f}" for x in context.get("load_avg", []))
        out.write(f"# Micro-benchmarks\n\n{context['date']}, {context['num_cpus']} CPUs, load average {load}, "
                  f"--benchmark_min_time={args.min_time}. Rates use CPU time, except `real_time` "
                  f"cases (all threads together, wall clock).\n\n")
        out.write("| benchmark | rate |\n|---|---:|\n")
        for name, rate in rows:
            out.write(f"| {name} | {rate} |\n")

    width = max(len(name) for name, _ in rows)
    print(f"\n{'benchmark':<{width}}  rate")
    for name, rate in rows:
        print(f"{name:<{width}}  {rate}")
    print(f"\nwrote {os.path.join(args.out_dir, 'micro.json')} and micro.md (load average {load})")
    if any(b.get("error_occurred") for b in merged["benchmarks"]):
        sys.exit("some benchmarks reported errors")


if __name__ == "__main__":
    main()
