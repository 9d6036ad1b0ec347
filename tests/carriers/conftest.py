"""Carrier tests: a real loopback sandbox carrier, the worker over a real SQLite file.

The sandbox runs in the test's own event loop (aiohttp AppRunner on 127.0.0.1, port 0).
Its journeys unfold on a clock the test moves (`SandboxServer.advance`), so that what a
poll sees is decided by the test, not by how fast the machine is.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiohttp import web

from codspot_tui.carriers.sandbox import SandboxClient
from codspot_tui.carriers.vocabulary import SANDBOX
from codspot_tui.carriers.worker import CarrierWorker, NewsWriter
from codspot_tui.domain.models import Actor
from codspot_tui.domain.rules import CARRIER_SHIPPING_MOVES
from codspot_tui.domain.statuses import Confirmation, Role, Shipping, StatusKind
from codspot_tui.sandbox import server as sandbox_server
from codspot_tui.sandbox.server import SandboxSimulation
from codspot_tui.services.bundle import Services
from codspot_tui.services.parcels import SLOW_FACTOR, CarrierHealth
from codspot_tui.services.status import Move
from codspot_tui.settings import CarrierSettings, Settings

TOKEN = "sbx-Secret-Token-9f3c"
SPEED = 3600.0  # one simulated hour per second of the sandbox's clock
POLL_INTERVAL = 10.0  # seconds between two polls of a parcel in motion (our clock)


def carrier_settings(url: str, **overrides: Any) -> CarrierSettings:
    values: dict[str, Any] = {
        "name": "sandbox",
        "kind": "sandbox",
        "url": url,
        "credentials": {"token": TOKEN},
        "timeout": 2.0,
        "poll_interval": POLL_INTERVAL,
        "rate_per_second": 1000.0,
    }
    values.update(overrides)
    return CarrierSettings(**values)


@pytest.fixture
def settings() -> Settings:
    """The carriers the database knows; only `poll_interval` matters to the services."""
    return Settings(
        carriers={
            "sandbox": carrier_settings("http://127.0.0.1:9"),
            "ozon": CarrierSettings(
                "ozon", "ozon", "http://127.0.0.1:9", poll_interval=POLL_INTERVAL
            ),
            "sendit": CarrierSettings(
                "sendit", "sendit", "http://127.0.0.1:9", poll_interval=POLL_INTERVAL
            ),
        }
    )


@dataclass
class SandboxServer:
    """The sandbox carrier on a loopback port, with its test controls."""

    sim: SandboxSimulation
    url: str
    clock: SimpleNamespace
    control: httpx.AsyncClient = field(repr=False)
    control_calls: int = 0

    def advance(self, hours: float) -> None:
        """Move the sandbox's clock on: journeys advance `hours` simulated hours."""
        self.clock.now += hours * 3600.0 / self.sim.speed

    def use_real_time(self, speed: float) -> None:
        """Journeys unfold in wall time times `speed`, as in production."""
        self.clock.real = True
        self.sim.speed = speed

    async def fault(self, kind: str, count: int = 1, retry_after: int = 1) -> None:
        answer = await self.control.post(
            "/_faults", json={"fault": kind, "count": count, "retry_after": retry_after}
        )
        assert answer.status_code == 200, answer.text

    async def add_event(self, tracking: str, event_id: str, status: str, at: str) -> None:
        answer = await self.control.post(
            f"/_parcels/{tracking}/events", json={"id": event_id, "status": status, "at": at}
        )
        assert answer.status_code == 201, answer.text

    @property
    def requests(self) -> int:
        """Calls the carrier answered, the test controls excluded."""
        return self.sim.requests - self.control_calls

    def settings(self, **overrides: Any) -> CarrierSettings:
        return carrier_settings(self.url, **overrides)

    def worker(
        self, services: Services, writer: NewsWriter | None = None, **overrides: Any
    ) -> CarrierWorker:
        return CarrierWorker(
            services.parcels,
            {"sandbox": SandboxClient(self.settings(**overrides))},
            writer=writer,
        )


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SandboxServer]:
    # The sandbox reads wall time for journeys; give it a clock the test moves.
    clock = SimpleNamespace(now=float(int(time.time())), real=False)
    fake_time = SimpleNamespace(
        time=lambda: time.time() if clock.real else clock.now, monotonic=time.monotonic
    )
    monkeypatch.setattr(sandbox_server, "time", fake_time)
    sim = SandboxSimulation(token=TOKEN, speed=SPEED, seed=7, rate_per_second=10_000)
    # A "hang" fault sleeps an hour in its handler: don't wait for it when the test ends.
    runner = web.AppRunner(sim.app(), access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    control = httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5.0
    )
    server = SandboxServer(sim, url, clock, control)

    async def counted(request: httpx.Request) -> None:
        server.control_calls += 1

    control.event_hooks["request"] = [counted]
    try:
        yield server
    finally:
        await control.aclose()
        await runner.cleanup()


# Orders ------------------------------------------------------------------------------------

BOSS = Actor.agent("boss", Role.ADMIN)


async def confirm(services: Services, *order_ids: int) -> None:
    for order_id in order_ids:
        result = await services.status.apply(
            BOSS, Move(order_id, StatusKind.CONFIRMATION, Confirmation.CONFIRMED)
        )
        assert result.applied


async def order_row(services: Services, order_id: int) -> dict[str, Any]:
    row = await services.db.fetchone("SELECT * FROM orders WHERE id = ?", (order_id,))
    assert row is not None
    return dict(row)


async def outbox_row(services: Services, order_id: int) -> dict[str, Any]:
    row = await services.db.fetchone("SELECT * FROM outbox WHERE order_id = ?", (order_id,))
    assert row is not None
    return dict(row)


async def health_of(services: Services, carrier: str = "sandbox") -> CarrierHealth:
    for health in await services.parcels.health():
        if health.carrier == carrier:
            return health
    raise AssertionError(f"no health for {carrier}")


def expected_journey(
    sim: SandboxSimulation, tracking: str, now: float
) -> tuple[Shipping, list[str]]:
    """Where the rules must have taken a sandbox parcel by `now`: (status, applied event ids).

    The carrier column of DESIGN §1, applied step by step; a step that changes nothing or that
    the table refuses applies nothing."""
    parcel = sim.parcels[tracking]
    status, applied = Shipping.CREATED, []
    for n, step in enumerate(parcel.steps):
        if parcel.created + step.after / sim.speed > now:
            break
        meaning = SANDBOX.meaning(step.status)
        if isinstance(meaning, Shipping) and meaning in CARRIER_SHIPPING_MOVES[status]:
            status = meaning
            applied.append(f"{tracking}-{n}")
    return status, applied


def make_due(clock: Any) -> None:
    """Move our clock past the slowest poll cadence, so that every live parcel is due."""
    clock.advance(seconds=int(POLL_INTERVAL * SLOW_FACTOR * 1.2) + 1)


async def created_parcels(
    services: Services, shop: Any, worker: CarrierWorker, count: int
) -> dict[int, str]:
    """`count` confirmed sandbox orders whose parcels exist: order id -> tracking."""
    order_ids = [await shop.order() for _ in range(count)]
    await confirm(services, *order_ids)
    await worker.run_once()
    found = {}
    for order_id in order_ids:
        row = await order_row(services, order_id)
        assert row["sync"] == "synced", row
        found[order_id] = row["tracking"]
    return found


async def shipping_events(services: Services, order_id: int) -> list[dict[str, Any]]:
    """The order's shipping timeline after confirming's row (from nothing to created)."""
    rows = await services.db.fetchall(
        """SELECT from_status, to_status, source, ignored, carrier_event_id, raw_status, note
           FROM status_events WHERE order_id = ? AND kind = 'shipping'
             AND from_status IS NOT NULL ORDER BY id""",
        (order_id,),
    )
    return [dict(row) for row in rows]


def iso(moment: float | datetime) -> str:
    if isinstance(moment, (int, float)):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# What must hold after anything a carrier does --------------------------------------------


async def assert_invariants(services: Services) -> None:
    """No status moved backwards or out of a final state, no carrier event applied twice,
    stock untouched by carrier events, and the shipping column equals its timeline."""
    rows = await services.db.fetchall(
        "SELECT id, ref, confirmation, shipping, delivery FROM orders ORDER BY id"
    )
    for order in rows:
        events = await services.db.fetchall(
            """SELECT from_status, to_status, actor, source, ignored, carrier_event_id
               FROM status_events WHERE order_id = ? AND kind = 'shipping' ORDER BY id""",
            (order["id"],),
        )
        current: Shipping | None = None  # confirming's row: from nothing to created
        for event in events:
            if event["ignored"]:
                continue
            assert event["from_status"] == current, (order["ref"], list(map(dict, events)))
            if event["source"] == "carrier":
                assert event["actor"] == f"carrier:{order['delivery']}"
                assert Shipping(event["to_status"]) in CARRIER_SHIPPING_MOVES[Shipping(current)], (
                    f"{order['ref']}: carrier moved {current} -> {event['to_status']}"
                )
            current = Shipping(event["to_status"])
        assert order["shipping"] == current, order["ref"]
    doubles = await services.db.fetchall(
        """SELECT order_id, carrier_event_id, count(*) FROM status_events
           WHERE carrier_event_id IS NOT NULL GROUP BY order_id, carrier_event_id
           HAVING count(*) > 1"""
    )
    assert [tuple(r) for r in doubles] == []
    ledger = await services.db.fetchall(
        """SELECT m.order_id, m.reason, m.delta, m.actor FROM stock_movements m
           WHERE m.order_id IS NOT NULL"""
    )
    for movement in ledger:
        assert movement["reason"] == "confirmed", dict(movement)
        assert movement["delta"] < 0 and not movement["actor"].startswith("carrier:")
    confirmed_rows = await services.db.scalar(
        """SELECT count(*) FROM (SELECT DISTINCT m.order_id FROM stock_movements m
           WHERE m.reason = 'confirmed')"""
    )
    confirmed_orders = await services.db.scalar(
        "SELECT count(*) FROM orders WHERE confirmation = 'confirmed'"
    )
    assert confirmed_rows == confirmed_orders


# Sendit and Ozon: fakes serving the fixtures, over MockTransport or a loopback server -----

FIXTURES = Path(__file__).parent / "fixtures"
SENDIT_KEYS = {"public_key": "pk-Public-1234", "secret_key": "sk-Secret-5678"}
OZON_KEYS = {"customer_id": "4242", "api_key": "oz-Api-Key-91ab"}
SECRETS = (TOKEN, SENDIT_KEYS["secret_key"], OZON_KEYS["api_key"])


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


Reply = tuple[int, Any]  # HTTP status, JSON body (or text when a str)
HANG: Reply = (0, "hang")  # `broken = HANG`: answer nothing for a long while
ROUTE_MISSING: Reply = (404, "route")  # a 404 whose text echoes the path


async def _misbehave(broken: Reply, path: str) -> Reply:
    if broken == HANG:
        await asyncio.sleep(30)
    if broken == ROUTE_MISSING:  # a PHP framework's 404 echoes the path it could not route
        return 404, {"message": f"The route {path.lstrip('/')} could not be found."}
    return broken


class FakeSendit:
    """Sendit as its public integrations describe it: a bearer token from a login."""

    def __init__(self) -> None:
        self.logins = 0
        self.valid: set[str] = set()
        self.parcels: dict[str, str] = {}  # code -> fixture file of its tracking
        self.created: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.broken: Reply | None = None  # answer every delivery call with this

    def expire_tokens(self) -> None:
        self.valid.clear()

    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Reply:
        self.calls.append((method, path))
        if path == "/api/v1/login":
            if body != SENDIT_KEYS:
                return 401, fixture("sendit_login_refused.json")
            self.logins += 1
            token = f"tok-{self.logins}"
            self.valid = {token}  # a new login ends the older sessions
            answer = fixture("sendit_login.json")
            answer["data"]["token"] = token
            return 200, answer
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.valid:
            return 401, {"success": False, "message": "Unauthenticated."}
        if self.broken is not None:
            return await _misbehave(self.broken, path)
        if method == "POST" and path == "/api/v1/deliveries":
            self.created.append(body)
            return 200, fixture("sendit_create.json")
        if method == "GET" and path.startswith("/api/v1/deliveries/"):
            name = self.parcels.get(path.rsplit("/", 1)[1])
            return (200, fixture(name)) if name else (404, fixture("sendit_not_found.json"))
        return 404, {"message": f"The route {path.lstrip('/')} could not be found."}


class FakeOzon:
    """Ozon Express: customer id and key in the path, multipart forms, French statuses."""

    def __init__(self) -> None:
        self.parcels: dict[str, str] = {}  # tracking -> fixture file
        self.created: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.broken: Reply | None = None

    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Reply:
        self.calls.append((method, path))
        prefix = f"/customers/{OZON_KEYS['customer_id']}/{OZON_KEYS['api_key']}"
        if self.broken is not None:
            return await _misbehave(self.broken, path)
        if method != "POST" or not path.startswith(prefix + "/"):
            return 404, {"message": f"The route {path.lstrip('/')} could not be found."}
        action = path.removeprefix(prefix + "/")
        if action == "add-parcel":
            self.created.append(body)
            if body.get("parcel-city") == "Atlantis":
                return 200, fixture("ozon_create_refused.json")
            return 200, fixture("ozon_create.json")
        if action == "tracking":
            name = self.parcels.get(body.get("tracking-number", ""), "ozon_track_unknown.json")
            return 200, fixture(name)
        return 404, {"message": f"The route {path.lstrip('/')} could not be found."}


Fake = FakeSendit | FakeOzon
# Starts a fake: (base url, a client to hand the adapter, or None to let it make its own).
Serve = Callable[[Fake], Awaitable[tuple[str, httpx.AsyncClient | None]]]


def _form(content_type: str, raw: bytes) -> dict[str, str]:
    """A multipart/form-data body as {name: value}, the way a PHP server reads it."""
    message = BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    return {
        str(part.get_param("name", header="content-disposition")): part.get_payload(
            decode=True
        ).decode()
        for part in message.get_payload()
    }


def mock_transport(fake: Fake) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        content_type = request.headers.get("content-type", "")
        body: Any = None
        if content_type.startswith("application/json"):
            body = json.loads(request.content)
        elif content_type.startswith("multipart/form-data"):
            body = _form(content_type, request.content)
        status, answer = await fake.handle(request.method, request.url.path, request.headers, body)
        if isinstance(answer, str):
            return httpx.Response(status, text=answer)
        return httpx.Response(status, json=answer)

    return httpx.MockTransport(handler)


def loopback_app(fake: Fake) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json":
            body = await request.json()
        elif request.content_type == "multipart/form-data":
            body = {key: str(value) for key, value in (await request.post()).items()}
        status, answer = await fake.handle(request.method, request.path, request.headers, body)
        if isinstance(answer, str):
            return web.Response(status=status, text=answer, content_type="text/html")
        return web.json_response(answer, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.fixture(params=["mock", "loopback"])
async def serve(request: pytest.FixtureRequest) -> AsyncIterator[Serve]:
    """Serve a fake carrier through httpx.MockTransport, or over a loopback aiohttp server."""
    runners: list[web.AppRunner] = []

    async def start(fake: Fake) -> tuple[str, httpx.AsyncClient | None]:
        if request.param == "mock":
            url = "http://carrier.test"
            return url, httpx.AsyncClient(transport=mock_transport(fake), base_url=url)
        url, runner = await start_loopback(fake)
        runners.append(runner)
        return url, None

    yield start
    for runner in runners:
        await runner.cleanup()


async def start_loopback(fake: Fake) -> tuple[str, web.AppRunner]:
    """A fake carrier on a loopback port; `await runner.cleanup()` when done."""
    runner = web.AppRunner(loopback_app(fake), access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner
