"""The carrier benchmark runs and prints its figures (no timing is asserted here)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_carriers.py"


def test_bench_carriers_prints_its_figures(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--parcels", "300", "--rounds", "2"]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert re.search(r"^machine: .+cores", out, re.M), out
    assert re.search(r"^date: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", out, re.M)
    assert "parcels: 300, batches of 50: 6 requests a cycle" in out
    assert re.search(r"^bare httpx loop: +[\d,]+ parcels/s +\(best of 3 runs: ", out, re.M)
    for cycle in ("catch-up", "one step", "quiet"):
        assert re.search(rf"^worker, {cycle}: +[\d,]+ parcels/s .* of bare$", out, re.M), cycle
    assert re.search(r"^worker, catch-up: .*\(300 parcels, \d+ timeline rows; best of ", out, re.M)
    assert re.search(r"^worker memory: +peak [\d.]+ MB RSS", out, re.M)
    verdict = out.strip().splitlines()[-1]
    assert verdict in ("PASS", "FAIL")
    assert done.returncode == (0 if verdict == "PASS" else 1)
    assert (tmp_path / "bench_carriers_300.db").exists()
