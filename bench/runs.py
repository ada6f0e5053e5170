#!/usr/bin/env python3
"""Puts several `make bench` reports side by side against the targets of the performance issue.

One run on a shared 2-core machine says little: the c64 req/s of one configuration moves by more
than 10% between rounds. `make bench` keeps a copy of each report in bench/results/runs/; this
prints one line per report (the ratios the targets are about: the report's own ratio columns,
which it rounds to 0.01, so 0.85× counts as ≤ 0.85×), the median of each column, and in how many
runs each target was met. Python standard library only.

Usage: python3 bench/runs.py [REPORT.md ...]   (default: bench/results/runs/*.md)
"""

import glob
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import PEERS  # noqa: E402  (the peers the report compares against)


def number(cell):
    cell = cell.strip().replace(",", "").rstrip("×")
    try:
        return float(cell)
    except ValueError:
        return None


def parse_report(path):
    """{'date', 'commit', 'rows': {(scenario, proxy): {...}}, 'cost': {proxy: {...}}} of one latest.md."""
    text = open(path, encoding="utf-8").read()
    report = {"path": path, "rows": {}, "cost": {}, "rss_growth": {}}
    m = re.search(r"^# FlexGate benchmark — (\d{4}-\d\d-\d\d \d\d:\d\d)", text, re.M)
    report["date"] = m.group(1) if m else os.path.basename(path)
    m = re.search(r"flexgate ([0-9a-f]{7,40})", text)
    report["commit"] = m.group(1)[:7] if m else "?"
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("scenario", "proxy"):
            header = cells
            continue
        if header is None or set(cells[0]) <= set("-: "):
            continue
        fields = dict(zip(header, cells))
        if header[0] == "scenario":
            report["rows"][(cells[0], cells[1])] = {
                "rps": number(fields.get("req/s", "")),
                "p99": number(fields.get("p99 ms", "")),
                "rss": number(fields.get("peak RSS MB", "")),
                "cpu": number(fields.get("CPU µs/req", "")),
                # The report's own ratios, from its unrounded medians (None in a report without them).
                "rps_vs_best": number(fields.get("req/s vs best peer", "")),
                "cpu_vs_best": number(fields.get("CPU/req vs best peer", "")),
            }
        elif "last vs round 2" in header:  # peak RSS across rounds: "+0.2 MB (+1%)"
            m = re.search(r"\(([+-]?[\d.]+)%\)", fields["last vs round 2"])
            report["rss_growth"][cells[0]] = float(m.group(1)) if m else None
        elif "instructions/req" in header:
            report["cost"][cells[0]] = {
                "instructions": number(fields["instructions/req"]),
                "vs_nginx": number(fields.get("vs nginx", "")),
                "syscalls": number(fields.get("syscalls/req", "")),
            }
    return report


def best_peer(report, scenario, key, pick):
    values = [report["rows"].get((scenario, p), {}).get(key) for p in PEERS]
    values = [v for v in values if v is not None]
    return pick(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


# (column title, target text, function of a report -> value, is the target met for a value)
def columns():
    def rows(r, scenario, proxy, key):
        return r["rows"].get((scenario, proxy), {}).get(key)

    # The report's ratio column when it has one: recomputed from its rounded figures, a ratio can
    # differ from the report's by 0.01 and flip a target. Only a report without the column gets
    # computed(r), the ratio of its figures.
    def reported_or_computed(reported, computed):
        def value(r):
            return reported(r) if reported(r) is not None else computed(r)
        return value

    def vs_best_peer(scenario, key, pick, proxy="flexgate"):
        return reported_or_computed(
            lambda r: rows(r, scenario, proxy, key + "_vs_best"),
            lambda r: ratio(rows(r, scenario, proxy, key), best_peer(r, scenario, key, pick)))

    def rps_vs_best(scenario, proxy="flexgate"):
        return vs_best_peer(scenario, "rps", max, proxy)

    def instructions_vs_nginx(proxy):
        def instructions(r, of):
            return r["cost"].get(of, {}).get("instructions")
        return reported_or_computed(
            lambda r: r["cost"].get(proxy, {}).get("vs_nginx"),
            lambda r: ratio(instructions(r, proxy), instructions(r, "nginx")))

    def worst_rss_vs_nginx(r):
        scenarios = {s for (s, p) in r["rows"] if p == "flexgate"}
        pairs = [(rows(r, s, "flexgate", "rss"), rows(r, s, "nginx", "rss")) for s in scenarios]
        pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
        return max(a / b for a, b in pairs) if pairs else None

    return [
        ("c64 req/s", "≥ 1.1×", rps_vs_best("get-small-c64"), lambda v: v >= 1.1),
        ("c64 CPU/req", "≤ 0.85×", vs_best_peer("get-small-c64", "cpu", min), lambda v: v <= 0.85),
        ("policies", "≥ 1.0×", rps_vs_best("get-small-c64", "flexgate-policies"), lambda v: v >= 1.0),
        ("c256 p99", "≤ 1.0×",
         lambda r: ratio(rows(r, "get-small-c256", "flexgate", "p99"), best_peer(r, "get-small-c256", "p99", min)),
         lambda v: v <= 1.0),
        ("RSS vs nginx", "≤ 1.0×", worst_rss_vs_nginx, lambda v: v <= 1.0),
        # No growth across repeated runs: round-to-round noise is about ±2%.
        ("RSS growth", "≤ +5%", lambda r: r["rss_growth"].get("flexgate"), lambda v: v <= 5.0),
        ("4 KiB", "≥ 1.0×", rps_vs_best("bytes-4k"), lambda v: v >= 1.0),
        ("64 KiB", "≥ 1.0×", rps_vs_best("bytes-64k"), lambda v: v >= 1.0),
        ("POST 16 KiB", "≥ 1.0×", rps_vs_best("post-16k"), lambda v: v >= 1.0),
        ("instr plain", "≤ 0.5×", instructions_vs_nginx("flexgate"), lambda v: v <= 0.5),
        ("instr policies", "≤ 0.8×", instructions_vs_nginx("flexgate-policies"), lambda v: v <= 0.8),
        ("syscalls plain", "≤ 6", lambda r: r["cost"].get("flexgate", {}).get("syscalls"), lambda v: v <= 6.0),
        ("syscalls policies", "≤ 6", lambda r: r["cost"].get("flexgate-policies", {}).get("syscalls"),
         lambda v: v <= 6.0),
    ]


def fmt(value, title):
    if value is None:
        return "–"
    if title == "RSS growth":
        return "%+.0f%%" % value if round(value) else "0%"
    return "%.2f" % value if title.startswith("syscalls") else "%.2f×" % value


def render(reports):
    cols = columns()
    lines = ["| run (UTC) | commit | " + " | ".join(c[0] for c in cols) + " |",
             "|---|---|" + "---:|" * len(cols),
             "| target | | " + " | ".join(c[1] for c in cols) + " |"]
    values = [[c[2](r) for c in cols] for r in reports]
    for r, vals in zip(reports, values):
        cells = []
        for (title, _, _, met), v in zip(cols, vals):
            text = fmt(v, title)
            cells.append("**%s**" % text if v is not None and met(v) else text)
        lines.append("| %s | `%s` | %s |" % (r["date"], r["commit"], " | ".join(cells)))
    medians, counts = [], []
    for i, (title, _, _, met) in enumerate(cols):
        present = [v[i] for v in values if v[i] is not None]
        medians.append(fmt(statistics.median(present), title) if present else "–")
        counts.append("%d / %d" % (sum(1 for v in present if met(v)), len(present)))
    lines.append("| median | | " + " | ".join(medians) + " |")
    lines.append("| met in | | " + " | ".join(counts) + " |")
    return "\n".join(lines)


def main(argv):
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip())
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    paths = argv or sorted(glob.glob(os.path.join(here, "results", "runs", "*.md")))
    if not paths:
        print("no reports: run `make bench` (each run keeps a copy in bench/results/runs/)", file=sys.stderr)
        return 1
    reports = []
    for path in paths:
        try:
            reports.append(parse_report(path))
        except (OSError, UnicodeDecodeError) as error:
            print("%s: cannot read: %s" % (path, error), file=sys.stderr)
            return 1
    reports.sort(key=lambda r: r["date"])
    print(render(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
