"""What an agent's long sitting must not pile up: the drawings of widgets that are gone, and
a statement for each size of the list of orders already called (benchmarks/bench_soak.py
measures the whole)."""

from __future__ import annotations

import gc
import re

from conftest import Shop
from textual._styles_cache import StylesCache
from textual.widget import Widget

from codspot_tui.domain.models import Actor
from codspot_tui.services.bundle import Services

from .conftest import make_app, settle


def orphan_style_caches() -> int:
    """Style caches (each with the lines its widget drew) whose widget is gone."""
    gc.collect()
    objects = gc.get_objects()
    owned = {id(thing._styles_cache) for thing in objects if isinstance(thing, Widget)}
    return sum(1 for thing in objects if isinstance(thing, StylesCache) and id(thing) not in owned)


async def test_widgets_gone_leave_nothing_of_their_drawing_behind(
    services: Services, shop: Shop, agent: Actor
) -> None:
    await shop.product("ARGAN", stock=50)
    for _ in range(8):
        await shop.order()
    app = make_app(services, agent)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = orphan_style_caches()
        # Each outcome's notification is a new toast on each screen it shows on; then help.
        for _ in range(4):
            for key in ("n", "2", "4", "1", "question_mark", "escape"):
                await pilot.press(key)
                await settle(pilot)
        app.clear_notifications()
        await settle(pilot)
        assert orphan_style_caches() - before == 0


def shape(sql: str) -> str:
    """A statement as prepared: the values the trace writes in, taken out again."""
    return re.sub(r"\d+", "0", re.sub(r"'[^']*'", "''", sql))


async def test_the_queue_asks_with_one_statement_however_many_were_called(
    services: Services, shop: Shop, agent: Actor
) -> None:
    """SQLite keeps each distinct statement prepared (128 per connection): one whose text
    grew with the orders called in the sitting made the dashboard grow with every call."""
    await shop.product("ARGAN", stock=50)
    ids = [await shop.order() for _ in range(30)]
    statements: list[str] = []
    await services.db.read(lambda conn: conn.set_trace_callback(statements.append))
    try:
        texts = []
        for called in (1, 2, 10, 25):
            statements.clear()
            order = await services.queue.claim_next(agent, skip=set(ids[:called]))
            assert order is not None and order.id == ids[called]  # the skip still works
            texts.append({shape(s) for s in statements if "NOT IN" in s})
    finally:
        await services.db.read(lambda conn: conn.set_trace_callback(None))
    assert texts[0] and all(text == texts[0] for text in texts), texts
