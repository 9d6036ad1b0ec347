"""The core benchmark runs on a small database and prints its figures (timings not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_core.py"


def test_bench_core_prints_its_three_figures(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--orders", "3000", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert re.search(r"^machine: .+, \d+ cores, Python ", out, re.M), out
    assert re.search(r"^date: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", out, re.M)
    assert re.search(r"^database: 3,000 orders seeded in [\d.]+ s, [\d,]+ MB", out, re.M), out
    verdicts = r"(PASS|FAIL)$"
    # (a) one move vs one raw UPDATE
    assert re.search(r"^ +StatusService\.apply +[\d.]+ ms$", out, re.M), out
    assert re.search(r"^ +raw sqlite3 UPDATE +[\d.]+ ms$", out, re.M)
    assert re.search(rf"^ +ratio +[\d.]+x +target <= 10x +{verdicts}", out, re.M)
    # (b) a carrier batch vs raw executemany
    assert re.search(r"^ +StatusService\.apply_batch +[\d,]+ moves/s", out, re.M)
    assert re.search(r"^ +raw sqlite3 executemany +[\d,]+ moves/s", out, re.M)
    assert re.search(rf"^ +throughput ratio +\d+% +target >= 40% +{verdicts}", out, re.M)
    # (c) the two first pages vs the same queries raw
    for page in ("confirmation queue", "shipping board"):
        line = rf"^ +{page}.* [\d.]+ ms, raw +[\d.]+ ms, +[\d.]+x +target < 5 ms and <= 3x"
        assert re.search(line + rf" +{verdicts}", out, re.M), page
    verdict = out.strip().splitlines()[-1]
    assert verdict in ("PASS", "FAIL")
    assert done.returncode == (0 if verdict == "PASS" else 1)
    assert (tmp_path / "bench_core_3000.db").exists()
    assert not list(tmp_path.glob(".codspot-seed-*")), "the seed's staging files are gone"
