"""Late carrier events: one dated before the newest event already seen for a parcel moves
nothing, even when that newest one moved nothing itself (DESIGN §1). Through the real
worker, on its own thread and through the writer process, against the sandbox carrier and
fakes of Sendit and Ozon; every clock fixed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.carriers.ozon import OzonClient
from codspot_tui.carriers.sendit import SenditClient
from codspot_tui.carriers.worker import CarrierWorker, NewsWriter
from codspot_tui.carriers.writer import WriterProcess
from codspot_tui.services.bundle import Services
from codspot_tui.settings import CarrierSettings

from .conftest import (
    OZON_KEYS,
    SENDIT_KEYS,
    FakeOzon,
    FakeSendit,
    Reply,
    SandboxServer,
    Serve,
    assert_invariants,
    confirm,
    created_parcels,
    make_due,
    order_row,
    shipping_events,
)

DAY = datetime(2026, 11, 28, tzinfo=UTC)  # the FrozenClock's day: it starts at 09:00 UTC


def utc(hour: int, minute: int) -> str:
    return DAY.replace(hour=hour, minute=minute).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(params=["worker thread", "writer process"])
async def news_writer(
    request: pytest.FixtureRequest, services: Services
) -> AsyncIterator[NewsWriter | None]:
    """Who writes the carrier's news: the worker's own database thread, or the writer."""
    if request.param == "worker thread":
        yield None
        return
    process = WriterProcess(services.db.path, services.settings)
    yield process
    await process.aclose()


async def applied(services: Services, order_id: int) -> list[tuple[str | None, str]]:
    """The shipping moves the order made: (carrier event id, to), in order."""
    return [
        (e["carrier_event_id"], e["to_status"])
        for e in await shipping_events(services, order_id)
        if not e["ignored"]
    ]


# The newest event of poll 1, and what the parcel was before it: the newest event moves
# nothing, however it comes to move nothing.
NEWER_THAT_MOVES_NOTHING = {
    # Already shipped: the worker drops it before the writer, as nothing would change.
    "the same status": ("picked_up", "out_for_delivery", "shipped"),
    # A word no vocabulary knows: written to the timeline, ignored.
    "an unmapped status": ("picked_up", "teleported", "shipped"),
    # Cancelled, then out for delivery: the rules refuse it; written to the timeline, ignored.
    "a move the rules refuse": ("cancelled", "out_for_delivery", "canceled"),
}
LATE_AND_THEN = {  # per starting status: the late event (10:20) and the news after it (11:00)
    "shipped": ("delivery_failed", "delivered", "delivered"),
    "canceled": ("refused", "returning", "in_return"),
}


@pytest.mark.parametrize("case", list(NEWER_THAT_MOVES_NOTHING))
async def test_an_event_older_than_one_seen_that_moved_nothing_changes_nothing(
    case: str,
    services: Services,
    shop: Shop,
    sandbox: SandboxServer,
    clock: FrozenClock,
    news_writer: NewsWriter | None,
) -> None:
    """The issue's parcel: out for delivery at 10:40 while shipped (no move); on the next
    poll a delivery failure dated 10:20, never seen before: it must not reach
    `package_issue` and back."""
    first, newer, status = NEWER_THAT_MOVES_NOTHING[case]
    late, then, final = LATE_AND_THEN[status]
    sandbox.clock.now = clock().timestamp()  # the sandbox's parcels are made at 09:00 too
    worker = sandbox.worker(services, news_writer)
    try:
        ((order_id, tracking),) = (await created_parcels(services, shop, worker, 1)).items()
        await sandbox.add_event(tracking, "e-1", first, utc(9, 30))
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["shipping"] == status

        before = await order_row(services, order_id)
        await sandbox.add_event(tracking, "e-3", newer, utc(10, 40))
        make_due(clock)
        await worker.run_once()
        row = await order_row(services, order_id)
        assert row["shipping"] == status
        assert row["last_carrier_event_at"] == utc(10, 40)
        assert row["version"] == before["version"]  # nothing an operator sees has changed

        await sandbox.add_event(tracking, "e-2", late, utc(10, 20))
        make_due(clock)
        await worker.run_once()
        assert (await order_row(services, order_id))["shipping"] == status
        await sandbox.add_event(tracking, "e-4", then, utc(11, 0))
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert (await order_row(services, order_id))["shipping"] == final
    assert await applied(services, order_id) == [("e-1", status), ("e-4", final)]
    await assert_invariants(services)


async def test_poll_one_and_two_in_one_answer_go_in_time_order(
    services: Services, shop: Shop, sandbox: SandboxServer, clock: FrozenClock
) -> None:
    """Events first seen together are the carrier's own order of things: all of them count."""
    sandbox.clock.now = clock().timestamp()
    worker = sandbox.worker(services)
    try:
        ((order_id, tracking),) = (await created_parcels(services, shop, worker, 1)).items()
        await sandbox.add_event(tracking, "e-1", "picked_up", utc(9, 30))
        await sandbox.add_event(tracking, "e-3", "out_for_delivery", utc(10, 40))
        await sandbox.add_event(tracking, "e-2", "delivery_failed", utc(10, 20))
        make_due(clock)
        await worker.run_once()
    finally:
        await worker.close()
    assert await applied(services, order_id) == [
        ("e-1", "shipped"),
        ("e-2", "package_issue"),
        ("e-3", "shipped"),
    ]
    assert (await order_row(services, order_id))["last_carrier_event_at"] == utc(10, 40)


# Sendit and Ozon ------------------------------------------------------------------------------


class ScriptedSendit(FakeSendit):
    """Sendit whose tracking answer the test writes, poll by poll."""

    answer: dict[str, Any]

    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Reply:
        status, reply = await super().handle(method, path, headers, body)
        if method == "GET" and path.startswith("/api/v1/deliveries/") and status == 200:
            return 200, {"success": True, "message": "", "data": self.answer}
        return status, reply


class ScriptedOzon(FakeOzon):
    answer: dict[str, Any]

    async def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any) -> Reply:
        status, reply = await super().handle(method, path, headers, body)
        if path.endswith("/tracking"):
            return 200, {"TRACKING": {"RESULT": "SUCCESS", "MESSAGE": "", **self.answer}}
        return status, reply


def sendit_answer(status: str, at: str, *audits: tuple[int, str, str]) -> dict[str, Any]:
    """Sendit's tracking: its status and time, and its audits (id, status, time) if any."""
    return {
        "code": "SD2611280001",
        "status": status,
        "last_action_at": at,
        "audits": [
            {"id": n, "status": word, "title": word, "city": "Rabat", "created_at": when}
            for n, word, when in audits
        ],
    }


def ozon_answer(*steps: tuple[str, str]) -> dict[str, Any]:
    """Ozon's tracking: the history (status, time) oldest first, the last one repeated."""
    history = [{"STATUT": word, "COMMENT": "", "TIME_STR": when} for word, when in steps]
    return {"LAST_TRACKING": history[-1], "HISTORY": {str(n): s for n, s in enumerate(history)}}


# Morocco's local times, as both write them: 10:40 local is 09:40 UTC.
SENDIT_WITH_AUDITS = [
    sendit_answer("PICKEDUP", "2026-11-28 10:30:00", (1, "PICKEDUP", "2026-11-28 10:30:00")),
    sendit_answer(
        "DELIVERING",
        "2026-11-28 11:40:00",
        (1, "PICKEDUP", "2026-11-28 10:30:00"),
        (3, "DELIVERING", "2026-11-28 11:40:00"),
    ),
    sendit_answer(
        "DELIVERED",
        "2026-11-28 12:00:00",
        (1, "PICKEDUP", "2026-11-28 10:30:00"),
        (2, "UNREACHABLE", "2026-11-28 11:20:00"),
        (3, "DELIVERING", "2026-11-28 11:40:00"),
        (4, "DELIVERED", "2026-11-28 12:00:00"),
    ),
]
# An account that gives only the latest status and its time: a late one is a status dated
# before the one seen last.
SENDIT_LATEST_ONLY = [
    sendit_answer("PICKEDUP", "2026-11-28 10:30:00"),
    sendit_answer("DELIVERING", "2026-11-28 11:40:00"),
    sendit_answer("UNREACHABLE", "2026-11-28 11:20:00"),
    sendit_answer("DELIVERED", "2026-11-28 12:00:00"),
]
OZON_HISTORY = [
    ozon_answer(("Nouveau Colis", "28/11/2026 10:02"), ("Ramassé", "28/11/2026 10:30")),
    ozon_answer(
        ("Nouveau Colis", "28/11/2026 10:02"),
        ("Ramassé", "28/11/2026 10:30"),
        ("En cours de livraison", "28/11/2026 11:40"),
    ),
    ozon_answer(
        ("Nouveau Colis", "28/11/2026 10:02"),
        ("Ramassé", "28/11/2026 10:30"),
        ("Injoignable", "28/11/2026 11:20"),
        ("En cours de livraison", "28/11/2026 11:40"),
        ("Livré", "28/11/2026 12:00"),
    ),
]
POLLS = {
    "sendit with audits": ("sendit", SENDIT_WITH_AUDITS),
    "sendit, latest status only": ("sendit", SENDIT_LATEST_ONLY),
    "ozon": ("ozon", OZON_HISTORY),
}


@pytest.mark.parametrize("case", list(POLLS))
async def test_sendit_and_ozon_hold_the_same_rule(
    case: str,
    services: Services,
    shop: Shop,
    clock: FrozenClock,
    serve: Serve,
    news_writer: NewsWriter | None,
) -> None:
    kind, answers = POLLS[case]
    fake: ScriptedSendit | ScriptedOzon
    if kind == "sendit":
        fake = ScriptedSendit()
        fake.parcels = {"SD2611280001": "sendit_track.json"}
        keys = dict(SENDIT_KEYS)
    else:
        fake = ScriptedOzon()
        keys = dict(OZON_KEYS)
    url, client = await serve(fake)
    settings = CarrierSettings(kind, kind, url, credentials=keys, rate_per_second=1000, timeout=2)
    adapter = (SenditClient if kind == "sendit" else OzonClient)(settings, client=client)
    worker = CarrierWorker(services.parcels, {kind: adapter}, writer=news_writer)
    order_id = await shop.order(delivery=kind)
    await confirm(services, order_id)
    try:
        await worker.run_once()
        for answer in answers:
            fake.answer = answer
            make_due(clock)
            await worker.run_once()
            assert (await order_row(services, order_id))["shipping"] != "package_issue"
    finally:
        await worker.close()
    row = await order_row(services, order_id)
    assert row["shipping"] == "delivered"
    assert row["last_carrier_event_at"] == utc(11, 0)  # 12:00 in Morocco
    assert [to for _, to in await applied(services, order_id)] == ["shipped", "delivered"]
    await assert_invariants(services)


async def test_sendit_audits_newest_first_come_out_oldest_first_without_a_made_up_event(
    serve: Serve,
) -> None:
    fake = ScriptedSendit()
    fake.parcels = {"SD2611280001": "sendit_track.json"}
    in_order = SENDIT_WITH_AUDITS[-1]
    fake.answer = {**in_order, "audits": in_order["audits"][::-1]}
    url, client = await serve(fake)
    settings = CarrierSettings(
        "sendit", "sendit", url, credentials=dict(SENDIT_KEYS), rate_per_second=1000, timeout=2
    )
    adapter = SenditClient(settings, client=client)
    try:
        (parcel,) = (await adapter.track(["SD2611280001"])).parcels
    finally:
        await adapter.aclose()
    assert [(e.event_id, e.raw_status) for e in parcel.events] == [
        ("1", "PICKEDUP"),
        ("2", "UNREACHABLE"),
        ("3", "DELIVERING"),
        ("4", "DELIVERED"),
    ]
