"""`codspot worker` as a real process: killed with SIGKILL mid-batch, restarted, stopped.

The sandbox carrier runs as `codspot sandbox-carrier` in its own process too, so that
nothing is shared with the worker but HTTP and the database file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Shop

from codspot_tui.cli_carriers import run_until_signalled
from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Role
from codspot_tui.services.bundle import Services
from codspot_tui.settings import Settings

from .conftest import TOKEN, assert_invariants, confirm

ORDERS = 300
SEED = 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def sandbox_process(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codspot_tui",
            "sandbox-carrier",
            "--port",
            str(port),
            "--speed",
            "5000",
            "--seed",
            str(SEED),
            "--token",
            TOKEN,
            "--rate",
            "2000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "sandbox.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"

    def listening() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    try:
        _wait_for("the sandbox carrier to listen", listening, 15)
        yield url
    finally:
        process.kill()
        process.wait(5)


async def _build(db: Path, orders: int = ORDERS) -> None:
    services = await Services.open(db, Settings(), create=True)
    try:
        await services.agents.initialise("boss")
        shop = Shop(services, Actor.agent("boss", Role.ADMIN))
        await shop.product("ARGAN", stock=10 * orders)
        order_ids = [await shop.order() for _ in range(orders)]
        await confirm(services, *order_ids)
    finally:
        await services.close()


async def _check(db: Path) -> None:
    services = await Services.open(db, Settings())
    try:
        await assert_invariants(services)
    finally:
        await services.close()


def _codspot(db: Path, config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "codspot_tui", "--db", str(db), "--config", str(config), *args]


def _env() -> dict[str, str]:
    env = {**os.environ, "CODSPOT_AGENT": "boss"}
    env.pop("CODSPOT_DB", None)
    return env


def _config(path: Path, url: str) -> Path:
    path.write_text(
        f"""[carriers.sandbox]
kind = "sandbox"
url = "{url}"
token = "{TOKEN}"
poll_interval = 1
rate_per_second = 150
timeout = 5
"""
    )
    return path


class Worker:
    def __init__(self, db: Path, config: Path, log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            _codspot(db, config, "worker"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _writers(db: Path) -> set[int]:
    """The carrier writer processes at work on `db`."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or it just ended
            continue
        if b"codspot_tui.carriers.writer" in argv and str(db).encode() in argv:
            found.add(int(entry.name))
    return found


def test_worker_killed_mid_batch_restarts_cleanly(tmp_path: Path, sandbox_process: str) -> None:
    db, log = tmp_path / "shop.db", tmp_path / "worker.log"
    config = _config(tmp_path / "config.toml", sandbox_process)
    asyncio.run(_build(db))
    synced = "SELECT count(*) FROM orders WHERE sync = 'synced'"
    carrier_events = "SELECT count(*) FROM status_events WHERE source = 'carrier'"

    # Killed while creating parcels.
    first = Worker(db, config, log)
    _wait_for("some parcels", lambda: _count(db, synced) >= 60, 30)
    first.process.send_signal(signal.SIGKILL)
    assert first.process.wait(5) == -signal.SIGKILL
    assert _count(db, synced) < ORDERS, "the kill came too late to cut a batch"

    # Killed again while polling.
    second = Worker(db, config, log)
    _wait_for("every parcel", lambda: _count(db, synced) == ORDERS, 30)
    _wait_for("journeys", lambda: _count(db, carrier_events) >= 100, 30)
    assert _writers(db), "the worker writes what it polled through its writer process"
    second.process.send_signal(signal.SIGKILL)
    assert second.process.wait(5) == -signal.SIGKILL
    # Its writer sees the pipe close: it ends the transaction in hand and exits.
    _wait_for("the killed worker's writer to exit", lambda: not _writers(db), 10)

    third = Worker(db, config, log)
    moved = _count(db, carrier_events)
    _wait_for("more journeys", lambda: _count(db, carrier_events) > moved + 50, 30)
    third.process.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    assert third.process.wait(8) == 0
    assert time.monotonic() - stopped < 6.0
    assert not _writers(db)
    output = log.read_text()
    assert "Traceback" not in output and output.count("worker started") == 3
    assert "worker stopped" in output

    # Each parcel created exactly once at the carrier.
    conn = sqlite3.connect(db)
    trackings = [row[0] for row in conn.execute("SELECT tracking FROM orders ORDER BY id")]
    jobs = conn.execute("SELECT attempts, last_error, done_at IS NOT NULL FROM outbox").fetchall()
    conn.close()
    assert None not in trackings and len(set(trackings)) == ORDERS
    assert set(jobs) == {(1, None, 1)}
    # The sandbox numbers its parcels in order: one more would be SBX01...301.
    issued = {f"SBX{SEED:02d}{n:08d}" for n in range(1, ORDERS + 2)}
    with httpx.Client(base_url=sandbox_process, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        unknown: list[str] = []
        for start in range(0, len(issued), 50):
            batch = sorted(issued)[start : start + 50]
            answer = c.get("/v1/parcels", params={"tracking": ",".join(batch)})
            assert answer.status_code == 200
            unknown += answer.json()["unknown"]
    assert unknown == [f"SBX{SEED:02d}{ORDERS + 1:08d}"]
    assert set(trackings) == issued - set(unknown)
    asyncio.run(_check(db))


def test_worker_once_creates_parcels_then_brings_their_news_and_exits(
    tmp_path: Path, sandbox_process: str
) -> None:
    db, config = tmp_path / "shop.db", _config(tmp_path / "config.toml", sandbox_process)
    asyncio.run(_build(db, orders=30))

    def once() -> None:
        done = subprocess.run(
            _codspot(db, config, "worker", "--once"),
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        assert not _writers(db)  # the writer went with the worker

    once()
    assert _count(db, "SELECT count(*) FROM orders WHERE tracking IS NOT NULL") == 30
    # The sandbox runs 5000 times faster than life: pickups come within seconds.
    carrier_events = "SELECT count(*) FROM status_events WHERE source = 'carrier'"
    _wait_for("a pickup polled by --once", lambda: once() or _count(db, carrier_events) > 0, 30)

    status = subprocess.run(
        _codspot(db, config, "carriers", "status", "--json"),
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    (sandbox,) = (c for c in json.loads(status.stdout) if c["carrier"] == "sandbox")
    assert sandbox["last_success_at"] is not None
    assert (sandbox["pending_sync"], sandbox["failed_sync"], sandbox["unmapped"]) == (0, 0, [])
    asyncio.run(_check(db))


async def test_a_worker_whose_loop_dies_exits_instead_of_waiting_for_a_signal() -> None:
    class Broken:
        async def run(self, stop: asyncio.Event) -> None:
            raise RuntimeError("the loop broke")

    with pytest.raises(RuntimeError, match="the loop broke"):
        await asyncio.wait_for(run_until_signalled(Broken()), 5)  # type: ignore[arg-type]
