"""The confirmation queue: which order an agent calls next, and the lease that keeps it theirs.

Queue order (DESIGN §3, issue "core"): callbacks that are due (oldest first), then `new`
(oldest first), then `no_answer` (fewest attempts, longest since the last one). Callbacks not
yet due and orders claimed by someone else are left out. With round-robin dispatch an agent's
own orders come first, then everyone else's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from ..domain.errors import NotFound, Refused
from ..domain.models import Actor, Order
from ..domain.statuses import QUEUE_STATUSES, Confirmation
from ..domain.times import to_stored
from ..settings import Settings
from ..store.db import Database
from ..store.orders import fetch_order_rows, item_rows, order_from_row, order_with
from .claims import refuse_if_claimed_by_other
from .clock import Clock, system_clock


@dataclass(frozen=True)
class _Tier:
    confirmation: Confirmation
    order_by: str
    due_only: bool = False


TIERS: tuple[_Tier, ...] = (
    _Tier(Confirmation.CALL_LATER, "callback_at, id", due_only=True),
    _Tier(Confirmation.NEW, "created_at, id"),
    _Tier(Confirmation.NO_ANSWER, "attempts, last_attempt_at, id"),
)


@dataclass(frozen=True)
class QueueCounts:
    due_callbacks: int
    later_callbacks: int
    new: int
    no_answer: int

    @property
    def waiting(self) -> int:
        return self.due_callbacks + self.new + self.no_answer


class QueueService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = system_clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    @property
    def lease(self) -> timedelta:
        return timedelta(minutes=self.settings.claim_minutes)

    async def claim_next(self, actor: Actor, *, skip: Collection[int] = ()) -> Order | None:
        """Lease the next order of the queue to `actor`, releasing what they held; None if empty.

        `skip` lists orders the agent passed over in this sitting, so that skipping moves on.
        """
        now = self.clock()
        until = to_stored(now + self.lease)

        def claim(conn: sqlite3.Connection) -> int | None:
            conn.execute(
                "UPDATE orders SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ?",
                (actor.name,),
            )
            ids = self._next_ids(conn, actor.name, now, limit=1, skip=skip)
            if not ids:
                return None
            conn.execute(
                "UPDATE orders SET claimed_by = ?, claim_expires_at = ? WHERE id = ?",
                (actor.name, until, ids[0]),
            )
            return ids[0]

        order_id = await self.db.write(claim)
        return None if order_id is None else await self._order(order_id)

    async def claim(self, actor: Actor, order_id: int) -> Order:
        """Open one order for a call (or renew the lease on it), unless someone else has it."""
        now = self.clock()
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT ref, confirmation, claimed_by, claim_expires_at FROM orders WHERE id = ?",
                (order_id,),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise NotFound(f"no order with id {order_id}")
            if row["confirmation"] not in QUEUE_STATUSES:
                raise Refused(f"Order {row['ref']} is {row['confirmation']}: nobody needs to call")
            refuse_if_claimed_by_other(row, actor, now)
            await conn.execute(
                "UPDATE orders SET claimed_by = NULL, claim_expires_at = NULL"
                " WHERE claimed_by = ? AND id <> ?",
                (actor.name, order_id),
            )
            await conn.execute(
                "UPDATE orders SET claimed_by = ?, claim_expires_at = ? WHERE id = ?",
                (actor.name, to_stored(now + self.lease), order_id),
            )
        return await self._order(order_id)

    async def release(self, actor: Actor) -> None:
        """Give back whatever `actor` holds (an agent leaving the queue)."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE orders SET claimed_by = NULL, claim_expires_at = NULL WHERE claimed_by = ?",
                (actor.name,),
            )

    async def queue_page(self, actor: Actor, *, limit: int = 50) -> list[Order]:
        """The first `limit` orders `actor` would be given, in queue order, claiming none."""
        now = self.clock()

        def page(conn: sqlite3.Connection) -> list[Order]:
            # The tiers, the rows and their items in one trip to the database thread.
            ids = self._next_ids(conn, actor.name, now, limit=limit)
            if not ids:
                return []
            rows = fetch_order_rows(conn, ids)
            items = item_rows(conn, ids)
            return [order_from_row(rows[order_id], items[order_id]) for order_id in ids]

        return await self.db.read(page)

    async def counts(self) -> QueueCounts:
        now = to_stored(self.clock())
        row = await self.db.fetchone(
            """SELECT
                 (SELECT count(*) FROM orders
                   WHERE confirmation = 'call_later' AND callback_at <= ?),
                 (SELECT count(*) FROM orders
                   WHERE confirmation = 'call_later' AND callback_at > ?),
                 (SELECT count(*) FROM orders WHERE confirmation = 'new'),
                 (SELECT count(*) FROM orders WHERE confirmation = 'no_answer')""",
            (now, now),
        )
        assert row is not None
        return QueueCounts(row[0], row[1], row[2], row[3])

    def _next_ids(
        self,
        conn: sqlite3.Connection,
        agent: str,
        now: datetime,
        *,
        limit: int,
        skip: Collection[int] = (),
    ) -> list[int]:
        """Ids in queue order, walking the tiers (own orders first under round robin)."""
        owners = ["mine", "others"] if self.settings.dispatch == "round_robin" else ["anyone"]
        found: list[int] = []
        for owner in owners:
            for tier in TIERS:
                want = limit - len(found)
                if want <= 0:
                    return found
                found.extend(_tier_ids(conn, tier, owner, agent, to_stored(now), want, skip))
        return found

    async def _order(self, order_id: int) -> Order:
        order = await self.db.read(partial(order_with, order_id=order_id, with_events=False))
        if order is None:
            raise NotFound(f"no order with id {order_id}")
        return order


def _tier_ids(
    conn: sqlite3.Connection,
    tier: _Tier,
    owner: str,
    agent: str,
    now: str,
    limit: int,
    skip: Collection[int],
) -> list[int]:
    clauses = [
        "confirmation = ?",
        "(claimed_by IS NULL OR claimed_by = ? OR claim_expires_at <= ?)",
    ]
    params: list[object] = [tier.confirmation.value, agent, now]
    if tier.due_only:
        clauses.append("callback_at <= ?")
        params.append(now)
    if owner == "mine":
        clauses.append("assigned_to = ?")
        params.append(agent)
    elif owner == "others":
        clauses.append("(assigned_to IS NULL OR assigned_to <> ?)")
        params.append(agent)
    if skip:
        # One statement whatever the count. A `?` per id made a new statement at each count,
        # and the connection's statement cache kept the last 128, each larger than the one
        # before: the dashboard grew with every call of the sitting.
        clauses.append("id NOT IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(sorted(skip)))
    sql = f"SELECT id FROM orders WHERE {' AND '.join(clauses)} ORDER BY {tier.order_by} LIMIT ?"
    params.append(limit)
    return [row[0] for row in conn.execute(sql, params)]
