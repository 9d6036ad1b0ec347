"""The Ozon Express adapter against fixtures in Ozon's shapes, mocked and over loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.carriers.base import CarrierRejected, ParcelRequest
from codspot_tui.carriers.ozon import OzonClient
from codspot_tui.carriers.vocabulary import Info
from codspot_tui.carriers.worker import RETURNED_NOTE, CarrierWorker
from codspot_tui.domain.statuses import Shipping, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.status import Move
from codspot_tui.settings import CarrierSettings

from .conftest import (
    BOSS,
    OZON_KEYS,
    FakeOzon,
    Serve,
    assert_invariants,
    confirm,
    make_due,
    order_row,
    shipping_events,
)

PARCEL = ParcelRequest(
    reference="shop:A1001",
    customer="Karima Alaoui",
    phone="+212612345678",
    city="Casablanca",
    address="12 rue Ibn Battouta",
    cod_cents=19950,
    items=(("ARGAN-100", 2),),
)


async def ozon(serve: Serve, fake: FakeOzon) -> OzonClient:
    url, client = await serve(fake)
    settings = CarrierSettings(
        "ozon", "ozon", url, credentials=dict(OZON_KEYS), rate_per_second=1000, timeout=2
    )
    return OzonClient(settings, client=client)


async def test_create_parcel_sends_the_form_and_reads_the_tracking_number(serve: Serve) -> None:
    fake = FakeOzon()
    carrier = await ozon(serve, fake)
    try:
        assert await carrier.create_parcel(PARCEL) == "OZ2611280042"
    finally:
        await carrier.aclose()
    (form,) = fake.created
    assert form["parcel-receiver"] == "Karima Alaoui"
    assert (form["parcel-phone"], form["parcel-city"]) == ("+212612345678", "Casablanca")
    assert form["parcel-price"] == "199.50" and form["parcel-nature"] == "2 x ARGAN-100"
    assert form["parcel-reference"] == "shop:A1001"


async def test_a_refused_parcel_says_why(serve: Serve) -> None:
    fake = FakeOzon()
    carrier = await ozon(serve, fake)
    try:
        with pytest.raises(CarrierRejected) as refusal:
            await carrier.create_parcel(
                ParcelRequest("shop:A2", "K", "+212600000000", "Atlantis", "x", 100, (("A", 1),))
            )
    finally:
        await carrier.aclose()
    assert "Ville introuvable : Atlantis" in str(refusal.value)
    assert not refusal.value.retryable


async def test_track_reads_last_tracking_and_history(serve: Serve) -> None:
    fake = FakeOzon()
    fake.parcels = {"OZ2611280042": "ozon_track.json"}
    carrier = await ozon(serve, fake)
    try:
        result = await carrier.track(["OZ2611280042", "OZ-NOPE"])
    finally:
        await carrier.aclose()
    assert result.unknown == ("OZ-NOPE",)  # Ozon answers an unknown number with nothing
    (parcel,) = result.parcels
    assert (parcel.raw_status, parcel.meaning) == ("Livré", Shipping.DELIVERED)
    assert parcel.updated_at == datetime(2026, 11, 28, 15, 20, tzinfo=UTC)
    assert [(e.raw_status, e.meaning) for e in parcel.events] == [
        ("Nouveau Colis", Info.WAITING),
        ("Attente De Ramassage", Info.WAITING),
        ("Ramassé", Shipping.SHIPPED),
        ("Reçu", Shipping.SHIPPED),
        ("En cours de livraison", Shipping.SHIPPED),
        ("Livré", Shipping.DELIVERED),  # LAST_TRACKING is HISTORY's last step, not a new one
    ]
    assert len({e.event_id for e in parcel.events}) == 6
    assert parcel.events[3].description == "Reçu à l'agence de Rabat"


async def test_same_answer_gives_the_same_event_ids(serve: Serve) -> None:
    fake = FakeOzon()
    fake.parcels = {"OZ2611280042": "ozon_track.json"}
    carrier = await ozon(serve, fake)
    try:
        first = await carrier.track(["OZ2611280042"])
        again = await carrier.track(["OZ2611280042"])
    finally:
        await carrier.aclose()
    assert [e.event_id for e in first.parcels[0].events] == [
        e.event_id for e in again.parcels[0].events
    ]


async def test_returned_is_told_but_never_sets_returned(
    services: Services, shop: Shop, clock: FrozenClock, serve: Serve
) -> None:
    """Ozon's "Retourné" goes into the timeline; `returned` stays the operator's move."""
    fake = FakeOzon()
    carrier = await ozon(serve, fake)
    worker = CarrierWorker(services.parcels, {"ozon": carrier})
    order_id = await shop.order(delivery="ozon", items=(("ARGAN", 2),))
    await confirm(services, order_id)
    on_hand = await services.db.scalar("SELECT on_hand FROM products WHERE sku = 'ARGAN'")
    try:
        await worker.run_once()
        assert (await order_row(services, order_id))["tracking"] == "OZ2611280042"
        fake.parcels = {"OZ2611280042": "ozon_track_returned.json"}
        for _ in range(3):
            make_due(clock)
            await worker.run_once()
    finally:
        await worker.close()
    row = await order_row(services, order_id)
    assert row["shipping"] == "in_return"
    events = await shipping_events(services, order_id)
    assert [(e["raw_status"], e["to_status"], e["ignored"]) for e in events] == [
        ("Ramassé", "shipped", 0),
        ("Refusé", "in_return", 0),
        ("Retourné", "in_return", 1),
    ]
    assert RETURNED_NOTE in events[-1]["note"] and "Retourné au vendeur" in events[-1]["note"]
    assert await services.db.scalar("SELECT on_hand FROM products WHERE sku = 'ARGAN'") == on_hand
    await assert_invariants(services)

    # The package is back on the shelf: the operator says so, and only then stock returns.
    await services.status.apply(BOSS, Move(order_id, StatusKind.SHIPPING, Shipping.RETURNED))
    assert await services.db.scalar("SELECT on_hand FROM products WHERE sku = 'ARGAN'") == (
        on_hand + 2
    )
