"""The dashboard shows text from outside (written into the database file by hand, or said by
a carrier) escaped: the terminal never receives a raw ESC, C1 or bidi control, and no markup
from the data is obeyed either."""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import Shop
from textual.widgets import Input

from codspot_tui.domain.errors import CodspotError
from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services
from codspot_tui.tui.app import CodspotApp
from codspot_tui.tui.screens.order_detail import OrderDetailScreen
from codspot_tui.tui.widgets.call_dialogs import EditOrderDialog

from .conftest import make_app, settle

TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
CLEAR = "\x9b2J"  # a C1 CSI: clears the screen
RLO = "\u202egnp.exe"  # shown as "exe.png"
MARKUP = "[reverse]marked[/]"  # read as markup, it would vanish into a style
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u200b\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]"
)


def drawn(app: CodspotApp) -> str:
    """Every character on the screen, as the terminal would receive it."""
    svg = app.export_screenshot()
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


def assert_shown_safely(app: CodspotApp, *expected: str) -> None:
    text = drawn(app)
    assert not UNSAFE.findall(text), sorted(set(UNSAFE.findall(text)))
    for shown in expected:
        assert shown in text, shown


def hostile_write(db_path: Path, sql: str, *values: object) -> None:
    """What anyone who can write the database file can do, around every check."""
    db = sqlite3.connect(db_path)
    with db:
        db.execute(sql, values)
    db.close()


@pytest.fixture
async def order_id(services: Services, shop: Shop, db_path: Path) -> int:
    await shop.product("ARGAN")
    order = await shop.order("H1")
    hostile_write(
        db_path,
        "UPDATE orders SET customer = ?, city = ?, address = ?, note = ?, duplicate_of = ?"
        " WHERE id = ?",
        f"Karima{TITLE}",
        f"Rabat{CLEAR}",
        f"1 rue {RLO}",
        f"call {MARKUP}",
        f"H0{TITLE}",
        order,
    )
    hostile_write(
        db_path,
        """INSERT INTO status_events (order_id, kind, from_status, to_status, actor, source,
                                      note, at)
           VALUES (?, 'confirmation', 'new', 'no_answer', ?, 'manual', ?,
                   '2026-11-28T08:00:00Z')""",
        order,
        f"agent:eve{CLEAR}",
        f"rang{TITLE}",
    )
    return order


async def test_the_queue_card_and_its_timeline_show_control_characters(
    services: Services, agent: Actor, order_id: int
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert_shown_safely(
            app,
            "Karima\\x1b]0;pwned\\x07",  # the name under the phone
            "Rabat\\x9b2J",
            "1 rue \\u202egnp.exe",
            f"call {MARKUP}",  # the note, as written
            "DUPLICATE of H0\\x1b]0;pwned\\x07",  # the flags
            "eve\\x9b2J",  # the timeline
            "rang\\x1b]0;pwned\\x07",
        )


async def test_the_board_and_the_order_show_a_carriers_tracking_number_escaped(
    services: Services, agent: Actor, order_id: int, db_path: Path
) -> None:
    hostile_write(
        db_path,
        """UPDATE orders SET confirmation = 'confirmed', shipping = 'shipped', sync = 'synced',
                             tracking = ? WHERE id = ?""",
        f"SB{TITLE}",
        order_id,
    )
    hostile_write(
        db_path,
        """INSERT INTO status_events (order_id, kind, from_status, to_status, actor, source,
                                      note, raw_status, at)
           VALUES (?, 'shipping', 'created', 'shipped', 'carrier:sandbox', 'carrier', ?, ?,
                   '2026-11-28T08:30:00Z')""",
        order_id,
        f"scan {RLO}",
        f"PICKED{CLEAR}",
    )
    app = make_app(services, agent)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert_shown_safely(app, "SB\\x1b]0;pw", "Karima\\x1b]0")  # cut to their columns
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, OrderDetailScreen)
        assert_shown_safely(
            app,
            "tracking: SB\\x1b]0;pwned\\x07",
            "Karima\\x1b]0;pwned\\x07",
            "scan \\u202egnp.exe",
            "[PICKED\\x9b2J]",
        )


async def test_carrier_health_shows_the_carriers_error_escaped(
    services: Services, agent: Actor, db_path: Path
) -> None:
    hostile_write(
        db_path,
        """INSERT INTO carrier_health (carrier, last_error, last_error_at, consecutive_failures)
           VALUES ('sandbox', ?, '2026-11-28T08:00:00Z', 2)""",
        f"HTTP 500 {TITLE}{CLEAR}{RLO} {MARKUP}",
    )
    hostile_write(
        db_path,
        """INSERT INTO carrier_unmapped (carrier, raw_status, first_seen_at, last_seen_at)
           VALUES ('sandbox', ?, '2026-11-28T08:00:00Z', '2026-11-28T08:00:00Z')""",
        f"LOST{TITLE}",
    )
    app = make_app(services, agent)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        assert_shown_safely(
            app, f"HTTP 500 \\x1b]0;pwned\\x07\\x9b2J\\u202egnp.exe {MARKUP}", "LOST\\x1b]0;pwned"
        )


async def test_the_stock_ledger_shows_a_note_escaped(
    services: Services, shop: Shop, admin: Actor, db_path: Path
) -> None:
    await shop.product("ARGAN")
    hostile_write(
        db_path,
        """INSERT INTO stock_movements (product_id, delta, reason, actor, note, at)
           VALUES (1, 5, 'restock', ?, ?, '2026-11-28T08:00:00Z')""",
        f"agent:eve{CLEAR}",
        f"found {TITLE} {MARKUP}",
    )
    app = make_app(services, admin)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert_shown_safely(app, "eve\\x9b2J", f"found \\x1b]0;pwned\\x07 {MARKUP}")


async def test_notifications_show_what_they_quote(services: Services, agent: Actor) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.report(CodspotError(f"Order H1{TITLE} is being handled by {MARKUP}"))
        app.screen.notify(f"from a screen {RLO}", title=f"Stock{CLEAR}")
        await settle(pilot)
        # A toast draws the words as they are here, as plain text (markup is False).
        notes = [(note.title, note.message, note.markup) for note in app._notifications]
    assert notes == [
        ("", f"Order H1\\x1b]0;pwned\\x07 is being handled by {MARKUP}", False),
        ("Stock\\x9b2J", "from a screen \\u202egnp.exe", False),
    ]


async def test_the_edit_dialog_shows_fields_escaped_and_saves_only_what_was_changed(
    services: Services, agent: Actor, order_id: int
) -> None:
    app = make_app(services, agent)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditOrderDialog)
        assert_shown_safely(app, "Rabat\\x9b2J", "1 rue \\u202egnp.exe")
        app.screen.query_one("#address", Input).value = "2 rue des Orangers"
        await pilot.click("#save")
        await settle(pilot)
    order = await services.orders.get(order_id)
    assert (order.city, order.address) == (f"Rabat{CLEAR}", "2 rue des Orangers")
