#!/usr/bin/env python3
"""bench/runs.py: reports side by side, medians, and in how many runs each target was met."""

import os
import subprocess
import sys
import tempfile
import unittest

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "runs.py")


def report(date, commit, flexgate_rps, nginx_rps, flexgate_cpu, nginx_cpu, policies_rps, instructions,
           ratios=None, rss_growth=None):
    """A latest.md as bench/report.py writes it, cut down to the rows runs.py reads.

    The ratio columns are computed here as report.py does (HAProxy is the slower peer); `ratios`
    overrides the flexgate row's (req/s, CPU) cells, e.g. with what a report's unrounded medians gave.
    """
    best_rps, best_cpu = max(nginx_rps, 1000), min(nginx_cpu, 99.0)
    rps_cell, cpu_cell = ratios or ("%.2f×" % (flexgate_rps / best_rps), "%.2f×" % (flexgate_cpu / best_cpu))
    policies_cell = "%.2f×" % (policies_rps / best_rps)
    instructions_cell = "%.2f×" % (instructions / 20000)
    rss_table = "" if rss_growth is None else f"""
| proxy | round 1 | round 2 | round 3 | last vs round 2 |
|---|---:|---:|---:|---:|
| flexgate | 12.0 | 12.5 | 13.0 | +0.5 MB ({rss_growth}) |
| nginx | 24.0 | 24.0 | 24.0 | 0.0 MB (0%) |
"""
    return f"""# FlexGate benchmark — {date} UTC

Versions: flexgate {commit}; nginx version: nginx/1.22.1

| scenario | proxy | req/s | spread | p50 ms | p99 ms | peak RSS MB | CPU µs/req | req/s vs best peer | CPU/req vs best peer | other load | errors |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
| get-small-c64 | flexgate | {flexgate_rps:,} | 20% | 0.8 | 3.0 | 12.5 | {flexgate_cpu} | {rps_cell} | {cpu_cell} | 2% | 0 |
| get-small-c64 | nginx | {nginx_rps:,} | 20% | 0.8 | 4.0 | 24.2 | {nginx_cpu} | 1.00× | 1.00× | 2% | 0 |
| get-small-c64 | haproxy | 1,000 | 20% | 0.8 | 2.0 | 20.2 | 99.0 | 1.00× | 1.00× | 2% | 0 |
| get-small-c64 | flexgate-policies | {policies_rps:,} | 20% | 0.8 | 2.0 | 14.6 | 11.6 | {policies_cell} | 1.00× | 2% | 0 |

| proxy | instructions/req | vs nginx | syscalls/req | syscalls by kind (per request) |
|---|---:|---:|---:|---|
| flexgate | {instructions:,} | {instructions_cell} | 4.00 | sendmsg 2.00 |
| nginx | 20,000 | 1.00× | 7.00 | writev 2.00 |
{rss_table}"""


class RunsTest(unittest.TestCase):
    def run_tool(self, *reports):
        with tempfile.TemporaryDirectory() as directory:
            paths = []
            for i, text in enumerate(reports):
                path = os.path.join(directory, "run%d.md" % i)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
                paths.append(path)
            done = subprocess.run([sys.executable, RUNS, *paths], capture_output=True, text=True, check=True)
        table = [[c.strip() for c in line.strip().strip("|").split("|")]
                 for line in done.stdout.splitlines() if line.startswith("| ")]
        header = table[0]  # {first cell: {column title: cell}}
        return {cells[0]: dict(zip(header, cells)) for cells in table[1:]}

    def test_each_run_is_a_line_in_date_order_with_the_ratios_to_the_best_peer(self):
        rows = self.run_tool(report("2026-11-30 18:00", "bbbbbbb", 60000, 50000, 12.0, 15.0, 50000, 9000),
                             report("2026-11-30 08:00", "aaaaaaa", 52000, 50000, 14.0, 15.0, 55000, 10000))
        dates = [key for key in rows if key.startswith("2026")]
        self.assertEqual(dates, ["2026-11-30 08:00", "2026-11-30 18:00"])
        late = rows["2026-11-30 18:00"]
        self.assertEqual(late["commit"], "`bbbbbbb`")
        self.assertEqual(late["c64 req/s"], "**1.20×**")  # req/s vs the better peer (nginx), target met: bold
        self.assertEqual(late["c64 CPU/req"], "**0.80×**")  # CPU per request vs the cheaper peer
        self.assertEqual(late["policies"], "**1.00×**")  # every policy on vs the best peer's plain route
        self.assertEqual(late["instr plain"], "**0.45×**")  # instructions vs nginx's
        early = rows["2026-11-30 08:00"]
        self.assertEqual(early["c64 req/s"], "1.04×")  # a miss is not bold
        self.assertEqual(early["c64 CPU/req"], "0.93×")

    def test_the_last_lines_are_the_median_and_how_often_each_target_was_met(self):
        rows = self.run_tool(report("2026-11-30 08:00", "a", 52000, 50000, 14.0, 15.0, 55000, 10000),
                             report("2026-11-30 09:00", "a", 56000, 50000, 12.0, 15.0, 45000, 10000),
                             report("2026-11-30 10:00", "a", 60000, 50000, 12.0, 15.0, 50000, 10000))
        self.assertEqual(rows["median"]["c64 req/s"], "1.12×")
        self.assertEqual(rows["met in"]["c64 req/s"], "2 / 3")
        self.assertEqual(rows["met in"]["c64 CPU/req"], "2 / 3")
        self.assertEqual(rows["met in"]["policies"], "2 / 3")
        self.assertEqual(rows["met in"]["instr plain"], "3 / 3")
        self.assertEqual(rows["met in"]["c256 p99"], "0 / 0")  # no c256 rows: counted as not measured

    def test_the_reports_own_ratio_columns_win_over_ratios_of_its_rounded_figures(self):
        # From the rounded figures: 56,000 / 50,000 = 1.12 and 9.2 / 10.9 = 0.84; the report's own
        # columns (from its unrounded medians) say 1.11 and 0.86, and those are what count.
        rows = self.run_tool(report("2026-11-30 08:00", "a", 56000, 50000, 9.2, 10.9, 50000, 10000,
                                    ratios=("1.11×", "0.86×")))
        self.assertEqual(rows["2026-11-30 08:00"]["c64 req/s"], "**1.11×**")
        self.assertEqual(rows["2026-11-30 08:00"]["c64 CPU/req"], "0.86×")

    def test_a_report_without_ratio_columns_gets_them_computed(self):
        rows = self.run_tool(report("2026-11-30 08:00", "a", 56000, 50000, 12.0, 15.0, 50000, 10000,
                                    ratios=("–", "–")))
        self.assertEqual(rows["2026-11-30 08:00"]["c64 req/s"], "**1.12×**")
        self.assertEqual(rows["2026-11-30 08:00"]["c64 CPU/req"], "**0.80×**")

    def test_rss_growth_across_rounds_is_a_column_and_a_report_without_it_is_not_counted(self):
        rows = self.run_tool(report("2026-11-30 08:00", "a", 56000, 50000, 12.0, 15.0, 50000, 10000, rss_growth="+4%"),
                             report("2026-11-30 09:00", "a", 56000, 50000, 12.0, 15.0, 50000, 10000, rss_growth="+9%"),
                             report("2026-11-30 10:00", "a", 56000, 50000, 12.0, 15.0, 50000, 10000))
        self.assertEqual(rows["2026-11-30 08:00"]["RSS growth"], "**+4%**")  # within round-to-round noise: met
        self.assertEqual(rows["2026-11-30 09:00"]["RSS growth"], "+9%")
        self.assertEqual(rows["2026-11-30 10:00"]["RSS growth"], "–")
        self.assertEqual(rows["met in"]["RSS growth"], "1 / 2")

    def test_no_report_is_an_error_not_an_empty_table(self):
        with tempfile.TemporaryDirectory() as directory:
            missing = os.path.join(directory, "none.md")
            done = subprocess.run([sys.executable, RUNS, missing], capture_output=True, text=True)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("cannot read", done.stderr)


if __name__ == "__main__":
    unittest.main()
