"""The benchmarks run on a small database and print their figures (timings not asserted)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCHMARKS / "bench_core.py"


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


def test_bench_tui_prints_its_figures(tmp_path: Path) -> None:
    tiny = ["--orders", "2000", "--rounds", "1", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_tui.py"), *tiny],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert re.search(r"^machine: .+, \d+ cores, Python ", out, re.M), out
    assert re.search(r"^date: +\d{4}-\d\d-\d\d \d\d:\d\d UTC; database: 2,000 orders$", out, re.M)
    verdict = r" +(PASS|FAIL)$"
    assert re.search(
        r"^start to first card +\d+ ms vs floor \d+ ms = [\d.]+x" + r".*" + verdict, out, re.M
    )
    assert re.search(r"^c to next card +median [\d.]+ ms" + r".*" + verdict, out, re.M), out
    assert re.search(r"^2 to board painted +median \d+ ms of " + r".*" + verdict, out, re.M), out
    memory = re.search(
        r"^peak memory +(\d+) MB vs floor (\d+) MB = \+-?\d+ MB.*" + verdict, out, re.M
    )
    assert memory, out
    # Each process's own peak: a Textual app is tens of MB, not the seeding parent's.
    assert 10 < int(memory[2]) <= int(memory[1]) < 300
    assert done.returncode == (1 if "FAIL" in out else 0)


def load_bench_tui() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tui", BENCHMARKS / "bench_tui.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_tui_memory_is_each_childs_own_peak() -> None:
    """A process started by a big one (the benchmark after seeding a million orders) reports
    its own peak, not the big one's: Linux carries `ru_maxrss` across exec."""
    bench_tui = load_bench_tui()
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"\x01" * len(range(0, len(ballast), 4096))  # resident, not just mapped
    try:
        assert bench_tui.peak_mb() >= 300
        floor = bench_tui.child("--role", "floor")
    finally:
        del ballast
    assert 10 < floor["peak_mb"] < 150, floor


def test_bench_soak_runs_a_few_cycles_and_prints_the_growth(tmp_path: Path) -> None:
    tiny = ["--orders", "2000", "--cycles", "5", "--warmup", "2", "--data-dir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_soak.py"), *tiny],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert re.search(r"^machine: .+, \d+ cores, Python ", out, re.M), out
    assert re.search(r"^date: .+ UTC; database: 2,000 orders$", out, re.M), out
    assert re.search(r"^cycles: +2 to warm up, then 5 of 1 n 2 4 in \d+ s$", out, re.M), out
    assert re.search(r"^ +of which: RssAnon [+-][\d.]+ MB, .*Python blocks [+-][\d,]+", out, re.M)
    growth = re.search(
        r"^memory growth: [+-][\d.]+ MB RSS \(([\d.]+) MB to ([\d.]+) MB\), [+-][\d.]+ kB a cycle"
        r" \(target < 5 MB\) +(PASS|FAIL)$",
        out,
        re.M,
    )
    assert growth, out
    assert 20 < float(growth[1]) < 300  # the session's own memory: a Textual app
    assert done.returncode == (0 if growth[3] == "PASS" else 1)
