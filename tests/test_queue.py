"""The confirmation queue: who gets which order next, and the lease that keeps it theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.domain.errors import ClaimedElsewhere, Refused
from codspot_tui.domain.models import Actor
from codspot_tui.domain.statuses import Confirmation, Role, StatusKind
from codspot_tui.services.bundle import Services
from codspot_tui.services.queue import QueueCounts, QueueService
from codspot_tui.services.status import Move
from codspot_tui.settings import Settings

C = Confirmation
CONF = StatusKind.CONFIRMATION
KARIM = Actor.agent("karim", Role.AGENT)
SALMA = Actor.agent("salma", Role.AGENT)


@dataclass
class Board:
    """A queue with one order of every kind, named by where it should come."""

    due_soonest: int
    due_later: int
    not_due: int
    new_oldest: int
    new_newer: int
    no_answer_once_early: int
    no_answer_once_late: int
    no_answer_twice: int
    closed: list[int]

    @property
    def expected(self) -> list[int]:
        return [
            self.due_soonest,
            self.due_later,
            self.new_oldest,
            self.new_newer,
            self.no_answer_once_early,
            self.no_answer_once_late,
            self.no_answer_twice,
        ]


async def board(services: Services, shop: Shop, clock: FrozenClock) -> Board:
    """Orders created so that id order, creation order and queue order all differ."""
    status = services.status
    t0 = clock()

    async def move(order_id: int, to: Confirmation, callback_at: datetime | None = None) -> None:
        await status.apply(KARIM, Move(order_id, CONF, to, callback_at=callback_at))

    due_later = await shop.order()
    due_soonest = await shop.order()
    not_due = await shop.order()
    await move(due_later, C.CALL_LATER, callback_at=t0 + timedelta(minutes=30))
    await move(due_soonest, C.CALL_LATER, callback_at=t0 + timedelta(minutes=10))
    await move(not_due, C.CALL_LATER, callback_at=t0 + timedelta(hours=5))

    new_newer = await shop.order(created_at=t0 - timedelta(hours=1))
    new_oldest = await shop.order(created_at=t0 - timedelta(hours=3))

    twice = await shop.order()
    once_late = await shop.order()
    once_early = await shop.order()
    await move(twice, C.NO_ANSWER)
    clock.advance(minutes=1)
    await move(twice, C.NO_ANSWER)  # two attempts, but the longest ago
    clock.advance(minutes=1)
    await move(once_early, C.NO_ANSWER)
    clock.advance(minutes=1)
    await move(once_late, C.NO_ANSWER)

    closed = [await shop.order() for _ in range(3)]
    await move(closed[0], C.CONFIRMED)
    await move(closed[1], C.FAKE)
    await move(closed[2], C.CANCELED)

    clock.now = t0 + timedelta(hours=1)  # both callbacks are due, the third is not
    return Board(
        due_soonest,
        due_later,
        not_due,
        new_oldest,
        new_newer,
        once_early,
        once_late,
        twice,
        closed,
    )


async def ids(queue: QueueService, actor: Actor) -> list[int]:
    return [order.id for order in await queue.queue_page(actor)]


async def test_queue_order_callbacks_then_new_then_no_answer(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    b = await board(services, shop, clock)
    assert await ids(services.queue, KARIM) == b.expected


async def test_claim_next_walks_the_same_order(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    b = await board(services, shop, clock)
    handed: list[int] = []
    while (order := await services.queue.claim_next(KARIM, skip=handed)) is not None:
        assert order.claimed_by == "karim"
        assert order.claim_expires_at == clock() + timedelta(minutes=5)
        handed.append(order.id)
    assert handed == b.expected


async def test_not_yet_due_callbacks_come_back_when_due(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    b = await board(services, shop, clock)
    assert b.not_due not in await ids(services.queue, KARIM)
    clock.advance(hours=4)  # five hours after it was set
    assert (await ids(services.queue, KARIM))[:3] == [b.due_soonest, b.due_later, b.not_due]


async def test_an_order_claimed_by_someone_else_is_left_out_until_the_lease_ends(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    b = await board(services, shop, clock)
    taken = await services.queue.claim_next(SALMA)
    assert taken is not None and taken.id == b.due_soonest

    assert await ids(services.queue, KARIM) == b.expected[1:]
    # Salma still sees her own order, first.
    assert await ids(services.queue, SALMA) == b.expected
    mine = await services.queue.claim_next(KARIM)
    assert mine is not None and mine.id == b.due_later
    with pytest.raises(ClaimedElsewhere, match="salma"):
        await services.queue.claim(KARIM, b.due_soonest)

    clock.advance(minutes=5)  # the lease ends: it is anyone's again
    assert (await ids(services.queue, KARIM))[0] == b.due_soonest
    again = await services.queue.claim_next(KARIM)
    assert again is not None and again.id == b.due_soonest


async def test_claim_next_releases_the_previous_claim(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    b = await board(services, shop, clock)
    first = await services.queue.claim_next(KARIM)
    assert first is not None
    second = await services.queue.claim_next(KARIM, skip=[first.id])
    assert second is not None and second.id == b.expected[1]

    held = await services.db.fetchall("SELECT id FROM orders WHERE claimed_by = 'karim'")
    assert [row["id"] for row in held] == [second.id]
    # Released, the first order is Salma's for the taking at once, lease or not.
    for_salma = await services.queue.claim_next(SALMA)
    assert for_salma is not None and for_salma.id == first.id


async def test_skip_passes_over_orders(services: Services, shop: Shop, clock: FrozenClock) -> None:
    b = await board(services, shop, clock)
    skipped = [b.due_soonest, b.new_oldest, b.no_answer_once_early]
    order = await services.queue.claim_next(KARIM, skip=skipped)
    assert order is not None and order.id == b.due_later
    handed = []
    while (order := await services.queue.claim_next(KARIM, skip=[*skipped, *handed])) is not None:
        handed.append(order.id)
    assert handed == [i for i in b.expected if i not in skipped]


async def test_an_empty_queue_hands_nothing_and_releases_the_claim(
    services: Services, shop: Shop
) -> None:
    only = await shop.order()
    assert (await services.queue.claim_next(KARIM)) is not None
    assert await services.queue.claim_next(KARIM, skip=[only]) is None
    assert (await services.orders.get(only)).claimed_by is None


async def test_a_move_hands_the_order_back_to_the_queue_or_out_of_it(
    services: Services, shop: Shop
) -> None:
    a, b = await shop.order(), await shop.order()
    claimed = await services.queue.claim_next(KARIM)
    assert claimed is not None and claimed.id == a
    await services.status.apply(KARIM, Move(a, CONF, C.FAKE))
    assert await ids(services.queue, SALMA) == [b]
    with pytest.raises(Refused, match="nobody needs to call"):
        await services.queue.claim(SALMA, a)


async def test_round_robin_puts_the_agents_own_orders_first(
    services: Services, shop: Shop, clock: FrozenClock
) -> None:
    queue = QueueService(services.db, Settings(dispatch="round_robin"), clock)
    t0 = clock()
    salmas_new = await shop.order(assigned_to="salma", created_at=t0 - timedelta(hours=9))
    unassigned_new = await shop.order(created_at=t0 - timedelta(hours=8))
    karims_new = await shop.order(assigned_to="karim", created_at=t0 - timedelta(hours=1))
    karims_no_answer = await shop.order(assigned_to="karim")
    salmas_callback = await shop.order(assigned_to="salma")
    await services.status.apply(KARIM, Move(karims_no_answer, CONF, C.NO_ANSWER))
    await services.status.apply(
        SALMA, Move(salmas_callback, CONF, C.CALL_LATER, callback_at=t0 + timedelta(minutes=5))
    )
    clock.advance(minutes=10)

    assert await ids(queue, KARIM) == [
        karims_new,
        karims_no_answer,
        salmas_callback,
        salmas_new,
        unassigned_new,
    ]
    assert await ids(queue, SALMA) == [
        salmas_callback,
        salmas_new,
        unassigned_new,
        karims_new,
        karims_no_answer,
    ]
    # Shared dispatch ignores who the order was assigned to.
    assert await ids(services.queue, KARIM) == [
        salmas_callback,
        salmas_new,
        unassigned_new,
        karims_new,
        karims_no_answer,
    ]
    first = await queue.claim_next(KARIM)
    assert first is not None and first.id == karims_new


async def test_counts(services: Services, shop: Shop, clock: FrozenClock) -> None:
    b = await board(services, shop, clock)
    counts = await services.queue.counts()
    assert counts == QueueCounts(due_callbacks=2, later_callbacks=1, new=2, no_answer=3)
    assert counts.waiting == 7

    await services.status.apply(KARIM, Move(b.new_oldest, CONF, C.CONFIRMED))
    clock.advance(hours=4)
    await services.queue.claim_next(SALMA)  # a claim does not take an order out of the counts
    assert await services.queue.counts() == QueueCounts(3, 0, 1, 3)
