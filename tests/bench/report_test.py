#!/usr/bin/env python3
"""bench/report.py: the copy of each run it keeps for bench/runs.py, and peak RSS across rounds."""

import os
import subprocess
import sys
import tempfile
import unittest

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench")
REPORT = os.path.join(BENCH, "report.py")
sys.path.insert(0, BENCH)
import report  # noqa: E402  (bench/ is not a package)

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:1/
  1 threads and 64 connections
  Latency Distribution
     50%  800.00us
     99%    3.00ms
  300000 requests in 5.00s, 30.00MB read
Requests/sec:  60000.00
"""


def run_report(meta_lines, runs=(("flexgate", 1, 12000),)):
    """Runs report.py over a raw directory of get-small-c64 runs (target, round, peak RSS KiB);
    returns (stdout, {kept file name: text})."""
    with tempfile.TemporaryDirectory() as directory:
        raw = os.path.join(directory, "raw")
        kept = os.path.join(directory, "runs")
        os.makedirs(raw)
        with open(os.path.join(raw, "meta.txt"), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in meta_lines + ["clk_tck=100"]))
        with open(os.path.join(raw, "index.tsv"), "w", encoding="utf-8") as f:
            f.write("scenario\ttarget\tround\tcpu_ticks\tpeak_rss_kb\twrk_output\twrk_status\n")
            f.write("".join("get-small-c64\t%s\t%d\t450\t%d\tout.txt\t0\n" % run for run in runs))
        with open(os.path.join(raw, "out.txt"), "w", encoding="utf-8") as f:
            f.write(WRK_OUTPUT)
        done = subprocess.run([sys.executable, REPORT, raw, "--keep-in", kept],
                              capture_output=True, text=True, check=True)
        copies = {}
        for name in os.listdir(kept):
            with open(os.path.join(kept, name), encoding="utf-8") as f:
                copies[name] = f.read()
    return done.stdout, copies


class CostTableTest(unittest.TestCase):
    def test_each_row_is_compared_with_nginx_on_its_own_protocol(self):
        def entry(instructions):
            return {"instructions": instructions, "syscalls": 4.0, "mix": "sendmsg=2.00,recvfrom=0.00"}
        cost = {"flexgate": entry(9000), "nginx": entry(18000), "flexgate-h2c": entry(45000),
                "nginx-h2c": entry(22500)}
        rows = {line.split(" | ")[0].strip("| "): line for line in report.cost_table(cost) if line.startswith("| ")}
        self.assertIn("| 0.50× |", rows["flexgate"])
        self.assertIn("| 2.00× |", rows["flexgate-h2c"])
        self.assertIn("| 1.00× |", rows["nginx-h2c"])
        self.assertIn("sendmsg 2.00", rows["flexgate"])
        self.assertNotIn("recvfrom", rows["flexgate"])
        order = [name for name in rows if name != "proxy"]
        self.assertEqual(order, ["flexgate", "nginx", "flexgate-h2c", "nginx-h2c"])


class KeptCopyTest(unittest.TestCase):
    def test_the_copy_is_named_after_the_runs_date_and_commit_not_the_checkouts(self):
        stdout, copies = run_report(["date=2026-11-30 21:16:05 UTC", "flexgate=d36119f-dirty"])
        self.assertEqual(list(copies), ["20261130-211605-d36119f-dirty.md"])
        self.assertEqual(copies["20261130-211605-d36119f-dirty.md"], stdout)
        self.assertIn("| get-small-c64 | flexgate | 60,000 |", stdout)

    def test_a_run_without_date_or_commit_still_gets_a_copy(self):
        _, copies = run_report([])
        self.assertEqual(list(copies), ["unknown-date-unknown.md"])

    def test_characters_that_do_not_belong_in_a_file_name_are_replaced(self):
        _, copies = run_report(["date=2026-11-30 21:16:05 UTC", "flexgate=v1/2 x"])
        self.assertEqual(list(copies), ["20261130-211605-v1_2_x.md"])



class RssAcrossRoundsTest(unittest.TestCase):
    def test_each_round_peak_and_the_last_round_against_round_2(self):
        runs = [("flexgate", r, kb) for r, kb in ((1, 10240), (2, 12288), (3, 12390), (4, 12288), (5, 12390))]
        runs += [("nginx", r, kb) for r, kb in ((1, 20480), (2, 20480), (3, 22528), (4, 24576), (5, 26624))]
        stdout, _ = run_report(["date=2026-11-30 21:16:05 UTC"], runs)
        self.assertIn("| proxy | round 1 | round 2 | round 3 | round 4 | round 5 | last vs round 2 |", stdout)
        # Round 1 fills the pools: 10 → 12 MB is not growth; 12.0 → 12.1 is noise.
        self.assertIn("| flexgate | 10.0 | 12.0 | 12.1 | 12.0 | 12.1 | +0.1 MB (+1%) |", stdout)
        self.assertIn("| nginx | 20.0 | 20.0 | 22.0 | 24.0 | 26.0 | +6.0 MB (+30%) |", stdout)

    def test_too_few_rounds_to_tell_gives_no_table(self):
        stdout, _ = run_report([], [("flexgate", 1, 12000), ("flexgate", 2, 12000)])
        self.assertNotIn("Peak RSS across rounds", stdout)


if __name__ == "__main__":
    unittest.main()
