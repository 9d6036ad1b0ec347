"""`codspot carriers status`: what an operator sees of each carrier's health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from conftest import Shop

from codspot_tui.carriers.sandbox import SandboxClient
from codspot_tui.carriers.worker import CarrierWorker
from codspot_tui.cli import main
from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Role
from codspot_tui.sandbox.server import SandboxSimulation
from codspot_tui.services.bundle import Services
from codspot_tui.settings import load_settings

from .conftest import TOKEN, carrier_settings, confirm

OZON_KEY = "oz-Api-Key-77d1"
KEYS = {"carrier", "last_success_at", "last_error", "pending_sync", "failed_sync", "unmapped"}


async def _a_troubled_day(db: Path, config: Path) -> None:
    """One parcel created, one refused (bad address), one waiting; an unknown word; a 500."""
    settings = load_settings(config, required=True)
    sim = SandboxSimulation(token=TOKEN, speed=60, rate_per_second=1000)
    runner = web.AppRunner(sim.app(), access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    services = await Services.open(db, settings, create=True)
    worker = CarrierWorker(services.parcels, {"sandbox": SandboxClient(carrier_settings(url))})
    try:
        await services.agents.initialise("boss")
        shop = Shop(services, Actor.agent("boss", Role.ADMIN))
        good, bad, waiting = [await shop.order() for _ in range(3)]
        await services.db.conn.execute("UPDATE orders SET address = '' WHERE id = ?", (bad,))
        await confirm(services, good, bad)
        await worker.run_once()
        for fault in ("unknown_status", "500"):
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as control:
                answer = await control.post("/_faults", json={"fault": fault})
                assert answer.status_code == 200
            await services.db.conn.execute(
                "UPDATE orders SET next_poll_at = '2000-01-01T00:00:00Z' WHERE id = ?", (good,)
            )
            await worker.run_once()
        await confirm(services, waiting)
    finally:
        await worker.close()
        await services.close()
        await runner.cleanup()


@pytest.fixture
def troubled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    db, config = tmp_path / "shop.db", tmp_path / "config.toml"
    config.write_text(
        f"""[carriers.sandbox]
kind = "sandbox"
url = "http://127.0.0.1:9"
token = "{TOKEN}"

[carriers.ozon]
kind = "ozon"
url = "http://127.0.0.1:9"
customer_id = "42"
api_key = "{OZON_KEY}"
"""
    )
    asyncio.run(_a_troubled_day(db, config))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    monkeypatch.delenv("CODSPOT_DB", raising=False)
    return ["--db", str(db), "--config", str(config)]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    assert exit_info.value.code in (0, None), captured.err
    return captured.out


def test_carriers_status_json_shape_and_content(
    troubled: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(capsys, *troubled, "carriers", "status", "--json")
    report = json.loads(out)
    assert isinstance(report, list)
    assert [entry["carrier"] for entry in report] == ["ozon", "sandbox"]
    for entry in report:
        assert set(entry) >= KEYS
    ozon, sandbox = report
    assert (ozon["pending_sync"], ozon["failed_sync"], ozon["unmapped"]) == (0, 0, [])
    assert ozon["last_error"] is None and ozon["last_success_at"] is None
    assert sandbox["pending_sync"] == 1 and sandbox["failed_sync"] == 1
    assert sandbox["unmapped"] == ["teleported"]
    assert "HTTP 500" in sandbox["last_error"]
    assert isinstance(sandbox["last_success_at"], str) and sandbox["last_success_at"][:2] == "20"
    assert TOKEN not in out and OZON_KEY not in out


def test_carriers_status_table(troubled: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    out = _run(capsys, *troubled, "carriers", "status")
    line = next(line for line in out.splitlines() if line.startswith("sandbox"))
    assert "teleported" in line and "HTTP 500" in line
    assert TOKEN not in out and OZON_KEY not in out
