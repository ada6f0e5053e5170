#!/usr/bin/env python3
"""bench/report.py: the copy of each run it keeps for bench/runs.py, named after the run itself."""

import os
import subprocess
import sys
import tempfile
import unittest

REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "report.py")

WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:1/
  1 threads and 64 connections
  Latency Distribution
     50%  800.00us
     99%    3.00ms
  300000 requests in 5.00s, 30.00MB read
Requests/sec:  60000.00
"""


class KeptCopyTest(unittest.TestCase):
    def run_report(self, meta_lines):
        """Runs report.py over a one-run raw directory; returns (stdout, {kept file name: text})."""
        with tempfile.TemporaryDirectory() as directory:
            raw = os.path.join(directory, "raw")
            kept = os.path.join(directory, "runs")
            os.makedirs(raw)
            with open(os.path.join(raw, "meta.txt"), "w", encoding="utf-8") as f:
                f.write("".join(line + "\n" for line in meta_lines + ["clk_tck=100"]))
            with open(os.path.join(raw, "index.tsv"), "w", encoding="utf-8") as f:
                f.write("scenario\ttarget\tround\tcpu_ticks\tpeak_rss_kb\twrk_output\twrk_status\n")
                f.write("get-small-c64\tflexgate\t1\t450\t12000\tc64.flexgate.1.txt\t0\n")
            with open(os.path.join(raw, "c64.flexgate.1.txt"), "w", encoding="utf-8") as f:
                f.write(WRK_OUTPUT)
            done = subprocess.run([sys.executable, REPORT, raw, "--keep-in", kept],
                                  capture_output=True, text=True, check=True)
            copies = {}
            for name in os.listdir(kept):
                with open(os.path.join(kept, name), encoding="utf-8") as f:
                    copies[name] = f.read()
        return done.stdout, copies

    def test_the_copy_is_named_after_the_runs_date_and_commit_not_the_checkouts(self):
        stdout, copies = self.run_report(["date=2026-11-30 21:16:05 UTC", "flexgate=d36119f-dirty"])
        self.assertEqual(list(copies), ["20261130-211605-d36119f-dirty.md"])
        self.assertEqual(copies["20261130-211605-d36119f-dirty.md"], stdout)
        self.assertIn("| get-small-c64 | flexgate | 60,000 |", stdout)

    def test_a_run_without_date_or_commit_still_gets_a_copy(self):
        _, copies = self.run_report([])
        self.assertEqual(list(copies), ["unknown-date-unknown.md"])

    def test_characters_that_do_not_belong_in_a_file_name_are_replaced(self):
        _, copies = self.run_report(["date=2026-11-30 21:16:05 UTC", "flexgate=v1/2 x"])
        self.assertEqual(list(copies), ["20261130-211605-v1_2_x.md"])


if __name__ == "__main__":
    unittest.main()
