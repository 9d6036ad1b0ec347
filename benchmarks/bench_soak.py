"""Benchmark: the dashboard's memory over a long session of an agent at work.

    python benchmarks/bench_soak.py [--orders 20000] [--cycles 2000] [--warmup 100]
                                    [--data-dir DIR] [--trace]

The real app runs headless (100x30) in a fresh process over a seeded database and goes
through the cycle `1`, `n`, `2`, `4` (a call outcome on the queue, then a look at the shipping
board and the overview), waiting each time until the screen is painted and its loads are
done. After `--warmup` cycles (caches filled, every screen built) the process's resident
memory (VmRSS) is read, then again after `--cycles` more. Target: growth under 5 MB.
`--trace` adds tracemalloc, to find a leak: the allocations that grew most, by traceback,
and the object types whose count grew (it slows the run and its own records then count in
the RSS figure). Linux only (it reads /proc/self/status). Exit status 1 when the target is
missed.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_tui import Frames, prepare, queue_card  # noqa: E402

GROWTH_MB_TARGET = 5.0
CYCLE = ("1", "n", "2", "4")


def status_kb(field: str) -> int:
    """A figure of this process from /proc/self/status, in kB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status: this benchmark needs Linux")


MALLINFO2 = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks")
MALLINFO2 += ("uordblks", "fordblks", "keepcost")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]


def native_kb() -> dict[str, int]:
    """Memory outside Python's objects, where this machine tells: SQLite's own, and what C's
    heap holds in use and free (freed memory the heap keeps is resident but not in use)."""
    figures: dict[str, int] = {}
    try:
        import _sqlite3

        used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
        used.restype = ctypes.c_int64
        figures["SQLite"] = used() // 1024
    except (OSError, AttributeError):
        pass
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
        mallinfo2.restype = _MallInfo2
        info = mallinfo2()
        figures["heap in use"] = (info.uordblks + info.hblkhd) // 1024
        figures["heap free"] = info.fordblks // 1024
    except (OSError, AttributeError):
        pass
    return figures


def type_counts() -> Counter[str]:
    """Objects by type; widgets apart ('widget Toast'), with those out of the DOM."""
    from textual.widget import Widget

    counts: Counter[str] = Counter()
    for thing in gc.get_objects():
        if isinstance(thing, Widget):
            counts[f"widget {type(thing).__qualname__}"] += 1
            if not thing.is_attached:
                counts["widgets detached"] += 1
        else:
            counts[type(thing).__qualname__] += 1
    return counts


# The session, in its own process ------------------------------------------------------------


def painted_condition(app: Any, key: str) -> Callable[[], bool]:
    """What the frame after pressing `key` must show."""
    from codspot_tui.tui.widgets.board_table import BoardTable

    mode = {"1": "queue", "2": "shipping", "4": "overview"}.get(key)
    if mode is None:  # an outcome: the next card is on the queue
        before = queue_card(app)
        return lambda: queue_card(app) not in (None, before)
    if mode == "queue":
        return lambda: app.current_mode == "queue" and queue_card(app) is not None
    if mode == "shipping":
        return lambda: (
            app.current_mode == "shipping"
            and any(table.row_count for table in app.screen.query(BoardTable))
        )
    return lambda: app.current_mode == mode


def session(db: Path, cycles: int, warmup: int, trace: bool) -> None:
    from textual import events

    from codspot_tui.services.bundle import Services
    from codspot_tui.settings import Settings
    from codspot_tui.tui.app import CodspotApp

    report: dict[str, Any] = {}

    async def main() -> None:
        services = await Services.open(db, Settings())
        actor = await services.agents.identify("bench")
        app = CodspotApp(services, actor)
        frames = Frames(app)
        first_card = frames.when(lambda: queue_card(app) is not None)

        async def press(key: str) -> None:
            """`key` as a terminal sends it, until the screen it brings is painted and its
            loads (counts, KPIs, ...) are done."""
            painted = frames.when(painted_condition(app, key))
            app._driver.send_message(events.Key(key, key))  # type: ignore[union-attr]
            await painted
            frames.cpu_seconds.pop(painted, None)  # not kept: this runs for long
            await app.workers.wait_for_complete()

        async def measure() -> dict[str, Any]:
            gc.collect()
            figures: dict[str, Any] = {
                field: status_kb(field) for field in ("VmRSS", "RssAnon", "RssFile", "RssShmem")
            }
            figures["blocks"] = sys.getallocatedblocks()  # Python's objects, untraced
            figures.update(native_kb())
            if trace:
                figures["snapshot"] = tracemalloc.take_snapshot()
                figures["types"] = type_counts()
            return figures

        async def drive() -> None:
            try:
                await first_card
                for _ in range(warmup):
                    for key in CYCLE:
                        await press(key)
                if trace:
                    tracemalloc.start(3)
                before = await measure()
                started = time.perf_counter()
                # RSS and Python's blocks at each quarter: a leak grows in every quarter, a
                # bounded cache still filling only in the first ones.
                quarters = {cycles * q // 4 for q in (1, 2, 3)}
                report["quarters"] = []
                for done in range(1, cycles + 1):
                    for key in CYCLE:
                        await press(key)
                    if done in quarters:
                        gc.collect()
                        report["quarters"].append((status_kb("VmRSS"), sys.getallocatedblocks()))
                report["seconds"] = time.perf_counter() - started
                after = await measure()
                report["before"] = {k: v for k, v in before.items() if isinstance(v, int)}
                report["after"] = {k: v for k, v in after.items() if isinstance(v, int)}
                if trace:
                    report["trace"] = traced(before, after)
            finally:
                app.exit()  # a failure too: then `await driving` raises it

        driving = asyncio.create_task(drive())
        await app.run_async(headless=True, size=(100, 30))  # the real run loop
        await driving
        await services.queue.release(actor)
        await services.close()

    asyncio.run(main())
    print(json.dumps(report))


def traced(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What grew: allocations by traceback, then object counts by type."""
    lines = []
    for stat in after["snapshot"].compare_to(before["snapshot"], "traceback")[:12]:
        lines.append(f"{stat.size_diff / 1024:+.1f} kB in {stat.count_diff:+d} blocks:")
        frames = [f for f in stat.traceback.format() if not f.startswith("    ")]
        lines += [f"    {frame.strip()}" for frame in frames[-8:]]
    grown = after["types"] - before["types"]
    lines.append("object counts grown: " + ", ".join(f"{t} +{n}" for t, n in grown.most_common(15)))
    widgets = [(t, n) for t, n in grown.most_common() if t.startswith("widget")]
    lines.append("widgets grown: " + ", ".join(f"{t[7:]} +{n}" for t, n in widgets))
    return lines


# The run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "benchmarks" / ".data")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: what grew")
    parser.add_argument("--session", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.session is not None:
        session(args.session, args.cycles, args.warmup, args.trace)
        return

    args.data_dir.mkdir(parents=True, exist_ok=True)
    db = args.data_dir / f"bench_soak_{args.orders}.db"
    prepare(db, args.orders)
    print("codspot dashboard soak benchmark")
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; database: {args.orders:,} orders")
    # The session in a fresh process: this one's memory holds what the seeding left.
    command = [sys.executable, __file__, "--session", str(db), "--cycles", str(args.cycles)]
    command += ["--warmup", str(args.warmup)] + (["--trace"] if args.trace else [])
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, "CODSPOT_AGENT": "bench"}
    )
    if done.returncode != 0:
        raise SystemExit(f"the session failed:\n{done.stderr[-3000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = report["before"], report["after"]
    growth_mb = (after["VmRSS"] - before["VmRSS"]) / 1024
    print(
        f"cycles:  {args.warmup} to warm up, then {args.cycles} of "
        f"{' '.join(CYCLE)} in {report['seconds']:.0f} s"
    )
    for line in report.get("trace", []):
        print(line)
    marks = [(before["VmRSS"], before["blocks"]), *report["quarters"]]
    marks.append((after["VmRSS"], after["blocks"]))
    if len(marks) == 5:
        steps = list(pairwise(marks))
        print(
            "         by quarter: RSS "
            + ", ".join(f"{(b[0] - a[0]) / 1024:+.1f}" for a, b in steps)
            + " MB; Python blocks "
            + ", ".join(f"{b[1] - a[1]:+,}" for a, b in steps)
        )
    print(
        "         of which: "
        + ", ".join(
            f"{field} {(after[field] - before[field]) / 1024:+.1f} MB"
            for field in ("RssAnon", "RssFile", "RssShmem")
        )
        + f"; Python blocks {after['blocks'] - before['blocks']:+,}"
        + "".join(
            f", {field} {(after[field] - before[field]) / 1024:+.1f} MB"
            for field in ("SQLite", "heap in use", "heap free")
            if field in after
        )
    )
    passed = growth_mb < GROWTH_MB_TARGET
    print(
        f"memory growth: {growth_mb:+.1f} MB RSS ({before['VmRSS'] / 1024:.1f} MB to"
        f" {after['VmRSS'] / 1024:.1f} MB), {growth_mb * 1024 / max(1, args.cycles):+.1f} kB"
        f" a cycle (target < {GROWTH_MB_TARGET:.0f} MB)  {'PASS' if passed else 'FAIL'}"
    )
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
