"""Secrets (tokens, secret keys, API keys) never reach an error, a log line or the database."""

from __future__ import annotations

import logging
import socket
from urllib.parse import quote

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.carriers.base import Carrier, CarrierError, ParcelRequest
from codspot_tui.carriers.ozon import OzonClient
from codspot_tui.carriers.sandbox import SandboxClient
from codspot_tui.carriers.sendit import SenditClient
from codspot_tui.carriers.worker import CarrierWorker
from codspot_tui.services.bundle import Services
from codspot_tui.settings import CarrierSettings

from .conftest import (
    HANG,
    OZON_KEYS,
    ROUTE_MISSING,
    SECRETS,
    SENDIT_KEYS,
    TOKEN,
    Fake,
    FakeOzon,
    FakeSendit,
    Reply,
    SandboxServer,
    Serve,
    confirm,
    make_due,
    start_loopback,
)

PARCEL = ParcelRequest(
    "shop:S1", "Karima", "+212612345678", "Rabat", "1 rue X", 10000, (("ARGAN", 1),)
)
BROKEN: dict[str, Reply] = {
    "500": (500, {"error": "internal error"}),
    "503": (503, "<html><body>Service Unavailable</body></html>"),
    "not_json": (200, "<html>Maintenance</html>"),
    "bad_shape": (200, {"data": ["unexpected"], "TRACKING": "nope"}),
    "rejected": (422, {"message": "The phone field is invalid."}),
    "unauthorised": (401, {"message": "Unauthenticated."}),
}


def _settings(kind: str, url: str, **extra: float) -> CarrierSettings:
    credentials = {"sendit": SENDIT_KEYS, "ozon": OZON_KEYS, "sandbox": {"token": TOKEN}}[kind]
    return CarrierSettings(
        kind, kind, url, credentials=dict(credentials), rate_per_second=1000, **extra
    )


async def _adapter(serve: Serve, kind: str, **extra: float) -> tuple[Carrier, Fake]:
    fake: Fake = FakeSendit() if kind == "sendit" else FakeOzon()
    fake.parcels = {"T1": f"{kind}_track.json"}
    url, client = await serve(fake)
    adapter = SenditClient if kind == "sendit" else OzonClient
    return adapter(_settings(kind, url, **extra), client=client), fake


async def _errors(carrier: Carrier) -> list[str]:
    said = []
    for call in (lambda: carrier.create_parcel(PARCEL), lambda: carrier.track(["T1", "T2"])):
        try:
            await call()
        except CarrierError as error:
            said.append(str(error))
    return said


def _no_secret_in(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"a secret leaked into: {text}"


@pytest.mark.parametrize("kind", ["sendit", "ozon"])
@pytest.mark.parametrize("broken", sorted(BROKEN))
async def test_carrier_errors_never_carry_secrets(serve: Serve, kind: str, broken: str) -> None:
    carrier, fake = await _adapter(serve, kind)
    fake.broken = BROKEN[broken]
    try:
        said = await _errors(carrier)
    finally:
        await carrier.aclose()
    assert said  # each of these faults is an error for at least one of the two calls
    _no_secret_in(*said)


@pytest.mark.parametrize("kind", ["sendit", "ozon"])
async def test_timeouts_and_refused_connections_never_carry_secrets(kind: str) -> None:
    fake: Fake = FakeSendit() if kind == "sendit" else FakeOzon()
    fake.broken = HANG
    url, runner = await start_loopback(fake)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    adapter = SenditClient if kind == "sendit" else OzonClient
    hanging, nobody = (adapter(_settings(kind, where, timeout=0.3)) for where in (url, closed))
    try:
        said, refused = await _errors(hanging), await _errors(nobody)
    finally:
        await hanging.aclose()
        await nobody.aclose()
        await runner.cleanup()
    assert said and all("timed out" in s for s in said)
    assert refused and all("ConnectError" in s for s in refused)
    _no_secret_in(*said, *refused)


async def test_the_default_sandbox_token_does_not_blank_the_carriers_name() -> None:
    # With no settings file the carrier `sandbox` has the token `sandbox`: a name, not a secret.
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    default = SandboxClient(CarrierSettings("sandbox", "sandbox", closed, {"token": "sandbox"}))
    try:
        with pytest.raises(CarrierError) as caught:
            await default.create_parcel(PARCEL)
    finally:
        await default.aclose()
    assert str(caught.value) == "sandbox: create parcel failed: ConnectError"


async def test_worker_logs_health_and_database_hold_no_secret(
    services: Services,
    shop: Shop,
    clock: FrozenClock,
    sandbox: SandboxServer,
    serve: Serve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="codspot")
    sendit, sendit_fake = await _adapter(serve, "sendit")
    ozon, ozon_fake = await _adapter(serve, "ozon")
    carriers = {
        "sandbox": SandboxClient(sandbox.settings(timeout=0.5)),
        "sendit": sendit,
        "ozon": ozon,
    }
    worker = CarrierWorker(services.parcels, carriers)
    orders = [await shop.order(delivery=name) for name in carriers for _ in range(2)]
    await confirm(services, *orders)
    try:
        for broken, fault in (("500", "500"), ("not_json", "not_json"), ("rejected", "drop")):
            sendit_fake.broken = ozon_fake.broken = BROKEN[broken]
            await sandbox.fault(fault, count=2)
            clock.advance(hours=1)
            await worker.run_once()
        sendit_fake.broken = ozon_fake.broken = None
        clock.advance(hours=1)
        await worker.run_once()
        await sandbox.fault("unknown_status")
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert "not created" in caplog.text  # the failures were logged...
    _no_secret_in(caplog.text)  # ...without a secret
    health = await services.parcels.health()
    assert all(h.last_error for h in health)
    _no_secret_in(*(h.last_error for h in health))
    jobs = await services.db.fetchall("SELECT last_error FROM outbox")
    _no_secret_in(*(j["last_error"] for j in jobs))
    await services.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    stored = services.db.path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in stored


async def test_an_error_text_echoing_the_path_does_not_leak_the_ozon_key(serve: Serve) -> None:
    carrier, fake = await _adapter(serve, "ozon")
    fake.broken = ROUTE_MISSING
    try:
        said = await _errors(carrier)
    finally:
        await carrier.aclose()
    assert said and "could not be found" in said[0]
    _no_secret_in(*said)


async def test_a_host_logging_at_info_sees_no_ozon_key(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="httpx")
    carrier, _ = await _adapter(serve, "ozon")
    try:
        await carrier.track(["T1"])
    finally:
        await carrier.aclose()
    _no_secret_in(caplog.text)


class _OzonEchoingPaths(FakeOzon):
    """An Ozon whose errors echo the request path in the forms web frameworks use."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form

    async def handle(self, method: str, path: str, headers: object, body: object) -> Reply:
        prefix = f"/customers/{OZON_KEYS['customer_id']}/{OZON_KEYS['api_key']}"
        echoed = {
            "path": path,
            "path without its slash": path.lstrip("/"),
            "the account's prefix": f"no customer at {prefix.lstrip('/')}",
            "the full URL": f"POST http://carrier.test{path} is not allowed",
            "percent-encoded": quote(path, safe=""),
            # Where the text is cut for a message: hidden before the cut, not after it.
            "after a long text": f"{'x' * 170} {path}",
        }[self.form]
        return 404, {"message": f"Not found: {echoed}"}


@pytest.mark.parametrize(
    "form",
    [
        "path",
        "path without its slash",
        "the account's prefix",
        "the full URL",
        "percent-encoded",
        "after a long text",
    ],
)
async def test_ozon_errors_name_the_carrier_and_operation_never_the_path(
    serve: Serve, form: str
) -> None:
    fake = _OzonEchoingPaths(form)
    url, client = await serve(fake)
    carrier = OzonClient(_settings("ozon", url), client=client)
    try:
        said = await _errors(carrier)
    finally:
        await carrier.aclose()
    assert [s.split(" rejected ")[0] for s in said] == ["ozon: create parcel", "ozon: track parcel"]
    for text in said:
        assert "[path]" in text
        for piece in ("customers", OZON_KEYS["customer_id"], "add-parcel", "/tracking"):
            assert piece not in text, f"the path shows in: {text}"
    _no_secret_in(*said)
