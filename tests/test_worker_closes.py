"""Every command closes what it opened on every path: a carrier that can't be built at run time
leaves no database thread behind, so the process exits (systemd can then restart it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from codspot_tui.carriers import registry
from codspot_tui.cli import main
from codspot_tui.cli_dashboard import run_dashboard
from codspot_tui.domain.errors import CodspotError
from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.settings import CarrierSettings
from codspot_tui.store.db import Database

CONFIG = '[carriers.sandbox]\nkind = "sandbox"\nurl = "http://127.0.0.1:9"\ntoken = "t"\n'


def _unbuildable(settings: CarrierSettings) -> object:
    # What the settings' checks cannot foresee: the HTTP client refuses at run time.
    raise httpx.InvalidURL("Invalid port: ':1'")


def _threads_left(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since `before` that are still running, after a short grace."""
    deadline = time.monotonic() + 5
    while True:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


@dataclass
class Tracked:
    opened: list[Database] = field(default_factory=list)
    closed: list[Database] = field(default_factory=list)

    def left_open(self) -> list[Database]:
        return [db for db in self.opened if not any(db is done for done in self.closed)]


@pytest.fixture
def databases(monkeypatch: pytest.MonkeyPatch) -> Tracked:
    """Every database opened from here on, and which were closed. (A connection dropped
    unclosed is stopped by the collector in-process, if at all: its thread alone can't tell.)"""
    tracked = Tracked()
    real_open, real_close = Database.open, Database.close

    async def tracking_open(cls: type[Database], *args: Any, **kwargs: Any) -> Database:
        db = await real_open(*args, **kwargs)
        tracked.opened.append(db)
        return db

    async def tracking_close(self: Database) -> None:
        tracked.closed.append(self)
        await real_close(self)

    monkeypatch.setattr(Database, "open", classmethod(tracking_open))
    monkeypatch.setattr(Database, "close", tracking_close)
    return tracked


@pytest.fixture
def shop_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    monkeypatch.setenv("CODSPOT_CONFIG", str(config))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    db = tmp_path / "shop.db"
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "init"])
    assert done.value.code == 0
    return db


def test_worker_once_with_a_carrier_that_cannot_be_built_closes_the_database(
    shop_db: Path,
    databases: Tracked,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(registry.ADAPTERS, "sandbox", _unbuildable)
    capsys.readouterr()
    before = set(threading.enumerate())
    with pytest.raises(SystemExit) as done:
        main(["--db", str(shop_db), "worker", "--once"])
    err = capsys.readouterr().err
    assert done.value.code == 1
    assert err == "codspot: carrier sandbox can't be set up (InvalidURL): check its url" + (
        " and keys in the settings\n"
    )
    assert databases.opened and databases.left_open() == []
    assert _threads_left(before) == []


async def test_the_demo_worker_that_cannot_be_built_closes_its_connection(
    services: Services, admin: Actor, databases: Tracked, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.ADAPTERS, "sandbox", _unbuildable)
    with pytest.raises(CodspotError, match="carrier sandbox can't be set up"):
        await run_dashboard(services, admin, theme=None, carriers=True)
    # The worker's own connection was opened, and closed again.
    assert len(databases.opened) == 1 and databases.left_open() == []


def test_the_worker_process_exits_promptly_when_a_carrier_cannot_be_built(
    shop_db: Path,
) -> None:
    script = textwrap.dedent(
        f"""
        import httpx
        from codspot_tui.carriers import registry
        from codspot_tui.cli import main

        def unbuildable(settings):
            raise httpx.InvalidURL("Invalid port: ':1'")

        registry.ADAPTERS["sandbox"] = unbuildable
        main(["--db", {str(shop_db)!r}, "worker", "--once"])
        """
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("codspot worker --once still running after 20 s")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "carrier sandbox can't be set up (InvalidURL)" in done.stderr
