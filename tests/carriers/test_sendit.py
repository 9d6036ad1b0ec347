"""The Sendit adapter against fixtures in Sendit's shapes, mocked and over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from codspot_tui.carriers.base import CarrierAuthFailed, ParcelRequest
from codspot_tui.carriers.sendit import CONCURRENT_LOOKUPS, SenditClient
from codspot_tui.carriers.vocabulary import Info
from codspot_tui.domain.statuses import Shipping
from codspot_tui.settings import CarrierSettings

from .conftest import SENDIT_KEYS, FakeSendit, Serve

PARCEL = ParcelRequest(
    reference="shop:A1001",
    customer="Karima Alaoui",
    phone="+212612345678",
    city="Casablanca",
    address="12 rue Ibn Battouta",
    cod_cents=19900,
    items=(("ARGAN-100", 2), ("SAVON-NOIR", 1)),
    note="call before",
)


async def sendit(serve: Serve, fake: FakeSendit, **credentials: str) -> SenditClient:
    url, client = await serve(fake)
    settings = CarrierSettings(
        "sendit",
        "sendit",
        url,
        credentials=credentials or dict(SENDIT_KEYS),
        rate_per_second=1000,
        timeout=2,
    )
    return SenditClient(settings, client=client)


async def test_login_then_create_parcel(serve: Serve) -> None:
    fake = FakeSendit()
    carrier = await sendit(serve, fake)
    try:
        assert await carrier.create_parcel(PARCEL) == "SD2611280001"
        assert await carrier.create_parcel(PARCEL) == "SD2611280001"
    finally:
        await carrier.aclose()
    assert fake.logins == 1  # the token is kept between calls
    assert fake.calls[0] == ("POST", "/api/v1/login")
    sent = fake.created[0]
    assert sent["reference"] == "shop:A1001" and sent["amount"] == 199.0
    assert (sent["name"], sent["phone"], sent["district"]) == (
        "Karima Alaoui",
        "+212612345678",
        "Casablanca",
    )
    assert sent["products"] == "2 x ARGAN-100, 1 x SAVON-NOIR"


async def test_track_reads_status_time_and_audits(serve: Serve) -> None:
    fake = FakeSendit()
    fake.parcels = {
        "SD2611280001": "sendit_track.json",
        "SD2611280002": "sendit_track_rejected.json",
    }
    carrier = await sendit(serve, fake)
    try:
        result = await carrier.track(["SD2611280001", "SD2611280002", "SD-NOPE"])
    finally:
        await carrier.aclose()
    assert result.unknown == ("SD-NOPE",)  # a 404 is a number Sendit does not know
    moving, rejected = result.parcels
    assert (moving.tracking, moving.raw_status, moving.meaning) == (
        "SD2611280001",
        "DELIVERING",
        Shipping.SHIPPED,
    )
    # Casablanca wall time (UTC+1 in November) read as UTC.
    assert moving.updated_at == datetime(2026, 11, 28, 14, 40, tzinfo=UTC)
    assert [(e.event_id, e.raw_status, e.meaning) for e in moving.events] == [
        ("90011", "PENDING", Info.WAITING),
        ("90012", "PICKEDUP", Shipping.SHIPPED),
        ("90013", "TRANSIT", Shipping.SHIPPED),
        ("90014", "DELIVERING", Shipping.SHIPPED),
    ]
    assert moving.events[1].description == "Ramassé chez le vendeur"
    assert moving.events[3].location == "Rabat"
    # No audits: one event from the status itself, with an id that is the same every poll.
    assert rejected.meaning is Shipping.IN_RETURN
    (event,) = rejected.events
    assert event.at == datetime(2026, 11, 28, 16, 5, tzinfo=UTC)
    assert event.event_id == "SD2611280002|20261128T160500|REJECTED"


async def test_an_expired_token_means_one_fresh_login(serve: Serve) -> None:
    fake = FakeSendit()
    fake.parcels = {"SD2611280001": "sendit_track.json"}
    carrier = await sendit(serve, fake)
    try:
        await carrier.track(["SD2611280001"])
        fake.expire_tokens()
        result = await carrier.track(["SD2611280001"])
    finally:
        await carrier.aclose()
    assert [p.tracking for p in result.parcels] == ["SD2611280001"]
    assert fake.logins == 2
    assert fake.calls.count(("GET", "/api/v1/deliveries/SD2611280001")) == 3


async def test_wrong_keys_fail_once_without_a_login_loop(serve: Serve) -> None:
    fake = FakeSendit()
    carrier = await sendit(serve, fake, public_key="pk-Public-1234", secret_key="sk-WRONG-0000")
    try:
        with pytest.raises(CarrierAuthFailed) as failure:
            await carrier.create_parcel(PARCEL)
    finally:
        await carrier.aclose()
    assert fake.calls == [("POST", "/api/v1/login")]
    assert not failure.value.retryable
    assert "sk-WRONG-0000" not in str(failure.value)


async def test_token_expiry_during_concurrent_lookups_is_one_login(serve: Serve) -> None:
    fake = FakeSendit()
    codes = [f"SD26112800{n:02d}" for n in range(CONCURRENT_LOOKUPS)]
    fake.parcels = dict.fromkeys(codes, "sendit_track.json")
    relogged = asyncio.Event()
    stale = 0
    answer_as_sendit = fake.handle

    async def late_refusals(
        method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> tuple[int, Any]:
        """The first stale call is refused at once, the others only after the re-login."""
        nonlocal stale
        await asyncio.sleep(0.01)  # the network: the lookups are in flight together
        if path != "/api/v1/login" and headers.get("authorization") == "Bearer tok-1":
            stale += 1
            if stale > 1:
                await asyncio.wait_for(relogged.wait(), 2)
        answer = await answer_as_sendit(method, path, headers, body)
        if path == "/api/v1/login" and fake.logins == 2:
            relogged.set()
        return answer

    fake.handle = late_refusals  # type: ignore[method-assign]
    carrier = await sendit(serve, fake)
    try:
        await carrier.track(codes[:1])
        fake.expire_tokens()
        stale = 0
        result = await carrier.track(codes)
    finally:
        await carrier.aclose()
    assert len(result.parcels) == len(codes)
    assert fake.logins == 2
