"""Times without a zone are in the process's local zone (`TZ`, else the machine's): lead dates
at import, callback times typed on the command line or in the dashboard, the times the
dashboard shows. Every test here runs under UTC and under Africa/Casablanca (UTC+1, UTC+0 in
Ramadan), one after the other in the same process, as a suite on any machine would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import test_import
from conftest import FrozenClock, Shop
from test_import import lead, stored, write_csv
from textual.widgets import Input, Static
from tui.conftest import make_app, settle
from tui.test_overview import open_overview, panel

from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, StatusKind
from codspot_tui.domain.times import parse_user_time
from codspot_tui.services.bundle import Services
from codspot_tui.services.leads import LeadImporter
from codspot_tui.services.status import Move

# The import tests' fixtures (products on the shelf, the importer), and one of their tests,
# rerun here in each zone: it reads its expected times in whatever zone it runs in.
products = test_import.products
importer = test_import.importer
test_good_csv_in_each_zone = (
    test_import.test_good_csv_imports_orders_grouped_by_ref_with_e164_phones
)


@pytest.fixture(autouse=True)
def zone(machine_zone: str) -> str:
    return machine_zone


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)  # type: ignore[misc]


def in_zone(zone: str, as_utc: datetime, as_casablanca: datetime) -> datetime:
    return as_utc if zone == "UTC" else as_casablanca


# (date as written in the file, stored under UTC, stored under Africa/Casablanca)
LEAD_DATES = [
    ("2026-11-20 10:30", utc(2026, 11, 20, 10, 30), utc(2026, 11, 20, 9, 30)),
    ("20/11/2026 10:30", utc(2026, 11, 20, 10, 30), utc(2026, 11, 20, 9, 30)),
    ("2026-11-20", utc(2026, 11, 20), utc(2026, 11, 19, 23)),
    ("2026-03-01 10:30", utc(2026, 3, 1, 10, 30), utc(2026, 3, 1, 10, 30)),  # Ramadan: +00
    ("2026-11-20T10:30+02:00", utc(2026, 11, 20, 8, 30), utc(2026, 11, 20, 8, 30)),
    ("2026-11-20T10:30Z", utc(2026, 11, 20, 10, 30), utc(2026, 11, 20, 10, 30)),
]


async def test_lead_dates_without_a_zone_are_local_time(
    services: Services, importer: LeadImporter, zone: str, tmp_path: Path
) -> None:
    rows = [lead(f"D{n}", f"06123456{n:02d}", date=d) for n, (d, _, _) in enumerate(LEAD_DATES)]
    report = await importer.import_file(write_csv(tmp_path / "leads.csv", rows))
    assert (report.imported, report.problems) == (len(LEAD_DATES), ())
    found = {order.ref: order.created_at for order in await stored(services)}
    assert found == {
        f"D{n}": in_zone(zone, as_utc, as_casablanca)
        for n, (_, as_utc, as_casablanca) in enumerate(LEAD_DATES)
    }


async def test_a_lead_a_day_ahead_is_measured_in_local_time(
    services: Services, importer: LeadImporter, zone: str, tmp_path: Path, clock: FrozenClock
) -> None:
    # The clock says 2026-11-28 09:00 UTC: a date after 2026-11-29 09:00 UTC is refused.
    rows = [lead("F1", date="2026-11-29 09:30")]
    report = await importer.import_file(write_csv(tmp_path / "leads.csv", rows))
    if zone == "UTC":
        assert report.imported == 0
        assert "more than a day in the future" in report.problems[0]
    else:  # 09:30 in Casablanca is 08:30 UTC: within the day
        assert report.imported == 1
        [order] = await stored(services)
        assert order.created_at == utc(2026, 11, 29, 8, 30)


def test_a_callback_typed_without_a_zone_is_local_time(zone: str) -> None:
    assert parse_user_time("2026-12-01T10:00") == in_zone(
        zone, utc(2026, 12, 1, 10), utc(2026, 12, 1, 9)
    )
    assert parse_user_time("2026-03-01 10:00") == utc(2026, 3, 1, 10)  # Ramadan: +00
    assert parse_user_time("2026-12-01T10:00Z") == utc(2026, 12, 1, 10)
    assert parse_user_time("2026-12-01T10:00", local_tz=False) == utc(2026, 12, 1, 10)


async def test_the_queue_card_shows_and_takes_local_times(
    services: Services, shop: Shop, agent: Actor, clock: FrozenClock, zone: str
) -> None:
    order_id = await shop.order("Q1", created_at=utc(2026, 11, 28, 8, 15))
    callback = utc(2026, 11, 28, 9, 30)
    later = Move(order_id, StatusKind.CONFIRMATION, Confirmation.CALL_LATER, callback_at=callback)
    await services.status.apply(agent, later)
    clock.advance(hours=1)  # 10:00 UTC: the callback is due, the card comes first
    app = make_app(services, agent)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one("#title", Static).render())
        shown = ("28/11 09:30", "28/11 08:15") if zone == "UTC" else ("28/11 10:30", "28/11 09:15")
        assert f"callback {shown[0]}" in title and f"test {shown[1]}" in title

        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one(Input).focus()
        await pilot.press(*"16:30", "enter")  # later today, on the agent's clock
        await settle(pilot)
    order = await services.orders.get(order_id)
    assert order.confirmation is Confirmation.CALL_LATER
    assert order.callback_at == in_zone(zone, utc(2026, 11, 28, 16, 30), utc(2026, 11, 28, 15, 30))


async def test_the_overview_s_today_starts_at_local_midnight(
    services: Services, shop: Shop, agent: Actor, admin: Actor, clock: FrozenClock, zone: str
) -> None:
    clock.now = utc(2026, 11, 27, 22, 50)  # 23:50 in Casablanca
    order_id = await shop.order("Q1")
    await services.status.apply(
        agent, Move(order_id, StatusKind.CONFIRMATION, Confirmation.NO_ANSWER)
    )
    clock.now = utc(2026, 11, 27, 23, 30)  # still the 27th in UTC; the 28th in Casablanca
    app = make_app(services, admin)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_overview(pilot)
        title = str(app.screen.query_one("#agents").border_title)
        karim = next(line for line in panel(app, "agents").splitlines() if line.startswith("karim"))
    if zone == "UTC":
        assert "Fri 27/11" in title and karim.startswith("karim 1 0 1 ")
    else:  # a new day since 00:00: yesterday evening's call is not today's
        assert "Sat 28/11" in title and karim.startswith("karim 0 0 0 ")
