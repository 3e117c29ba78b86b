"""The benchmark script runs (tiny sizes, one round) and prints a ratio for every benchmark.
Timings themselves are not asserted: they belong to the README, measured on a quiet machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

RATIO = r"median (-?\d+\.\d+) \(min -?\d+\.\d+, max -?\d+\.\d+, 1 rounds\)"
LOAD = r"\[load \d+\.\d\d \d+\.\d\d \d+\.\d\d\]"  # beside every figure: the machine's load


def test_every_benchmark_prints_its_ratio_in_smoke_mode():
    result = subprocess.run([sys.executable, str(REPO / "benchmarks/bench_workflow.py"), "all",
                             "--smoke"], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for name in ("loop", "loop-cpu", "loop-bare", "heavy", "heavy-cpu", "verdict", "verdict-cpu",
                 "images", "images-cached"):
        match = re.search(rf"^{name}: .*{RATIO}.*  {LOAD}$", out, re.MULTILINE)
        assert match, f"no ratio for {name} in:\n{out}"
        if not name.startswith("verdict"):  # differences of two times; the others: ratios
            assert float(match.group(1)) > 0
    gpu = re.search(rf"^gpu: (skipped \(no GPU\)|.*{RATIO})", out, re.MULTILINE)
    assert gpu, out
    # where the time goes, side by side (loop and heavy): seconds per epoch, project then raw
    for part in ("data wait", "forward+backward", "optimizer", "validation", "checkpoints",
                 "else", "total"):
        row = rf"^    {re.escape(part)} +(-?\d+\.\d+) +(-?\d+\.\d+)$"
        rows = re.findall(row, out, re.MULTILINE)
        assert len(rows) == 2, f"no split row {part!r} for loop and heavy in:\n{out}"
    floor = re.search(rf"^loop-floor: .* = (\d+\.\d+)  {LOAD}$", out, re.MULTILINE)
    assert floor and 0 < float(floor.group(1)) <= 1.5, out
    rss = re.search(rf"^heavy-rss: .* project (\d+) MiB, raw (\d+) MiB.*  {LOAD}$", out,
                    re.MULTILINE)
    assert rss and int(rss.group(1)) > 100 and int(rss.group(2)) > 100, out
