"""Parcels at the carriers: creating them (the outbox), bringing their journeys back, health.

The worker calls these; it never writes SQL. A carrier's batch of news is applied through
StatusService in one transaction, together with the polling schedule and the carrier's
health, so a worker killed mid-batch leaves either all of it or none.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from ..domain.models import Actor
from ..domain.statuses import Shipping, StatusKind, Sync
from ..domain.times import maybe_from_stored, to_stored
from ..settings import Settings
from ..store import parcels as q
from ..store.db import Database
from ..store.orders import item_rows
from .clock import Clock, system_clock
from .status import Move, MoveResult, StatusService

# Parcel creation: retry with exponential backoff and jitter; after the budget the order is
# marked failed (visible) but the job is kept and retried slowly: never lost.
RETRY_BASE = timedelta(seconds=5)
RETRY_CEILING = timedelta(minutes=30)
RETRY_BUDGET = 8
# States that change slowly are polled less often than parcels in motion.
SLOW_STATES = frozenset({Shipping.CANCELED, Shipping.IN_RETURN})
SLOW_FACTOR = 6


@dataclass(frozen=True)
class ParcelJob:
    job_id: int
    order_id: int
    ref: str
    reference: str  # what the carrier knows the order by: unique across sources
    carrier: str
    attempts: int
    customer: str
    phone: str
    city: str
    address: str
    note: str | None
    cod_cents: int
    items: tuple[tuple[str, int], ...]


class DueParcel(NamedTuple):
    """A parcel whose poll is due (a named tuple: a poll reads thousands of them)."""

    order_id: int
    ref: str
    tracking: str
    shipping: Shipping
    last_event_at: datetime | None  # the newest carrier event already seen, moved or not
    due: str  # when its poll was due, as stored: with the order id, where a cycle has got to


@dataclass(frozen=True)
class CarrierNews:
    """One event a carrier reported about one of our parcels."""

    order_id: int
    event_id: str
    raw_status: str
    at: datetime
    move_to: Shipping | None  # None: nothing of ours moves
    mapped: bool  # False: a raw status no vocabulary knows
    note: str = ""


@dataclass(frozen=True)
class BatchSummary:
    applied: int  # moves made
    refused: int  # news the rules refused or that moves nothing, written to the timeline
    unmapped: int  # raw statuses no vocabulary knows


@dataclass(frozen=True)
class CarrierHealth:
    carrier: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    paused_until: datetime | None
    pending_sync: int
    failed_sync: int
    unmapped: tuple[str, ...]


class ParcelService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        status: StatusService,
        clock: Clock = system_clock,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.status = status
        self.clock = clock
        self.rng = rng or random.Random()

    # Parcel creation ------------------------------------------------------------------------

    async def due_jobs(self, limit: int = 100) -> list[ParcelJob]:
        rows = await q.due_jobs(self.db, self.clock(), limit)
        order_ids = [row["order_id"] for row in rows]
        items = await self.db.read(lambda conn: item_rows(conn, order_ids))
        return [
            ParcelJob(
                job_id=row["job_id"],
                order_id=row["order_id"],
                ref=row["ref"],
                reference=f"{row['source']}:{row['ref']}",
                carrier=row["carrier"],
                attempts=row["attempts"],
                customer=row["customer"],
                phone=row["phone"],
                city=row["city"],
                address=row["address"],
                note=row["note"],
                cod_cents=row["total_cents"],
                items=tuple((item.sku, item.qty) for item in items[row["order_id"]]),
            )
            for row in rows
        ]

    async def next_job_at(self) -> datetime | None:
        return maybe_from_stored(await q.next_job_at(self.db))

    async def parcel_created(self, job: ParcelJob, tracking: str) -> None:
        now = self.clock()
        [(first_poll, _)] = self._poll_times(job.carrier, now, 1)

        def store(conn: sqlite3.Connection) -> None:
            conn.execute(
                """UPDATE orders SET tracking = ?, sync = ?, next_poll_at = ?, updated_at = ?,
                          version = version + 1
                   WHERE id = ?""",
                (tracking, Sync.SYNCED.value, first_poll, to_stored(now), job.order_id),
            )
            conn.execute(
                "UPDATE outbox SET done_at = ?, last_error = NULL, attempts = attempts + 1"
                " WHERE id = ?",
                (to_stored(now), job.job_id),
            )
            q.note_health(conn, job.carrier, now, error=None)

        await self.db.write(store)

    async def parcel_failed(self, job: ParcelJob, error: str, *, retryable: bool) -> datetime:
        """Count a failed attempt and schedule the next; returns when it will be."""
        now = self.clock()
        attempts = job.attempts + 1
        if retryable and attempts < RETRY_BUDGET:
            delay = min(RETRY_BASE * 2 ** (attempts - 1), RETRY_CEILING)
        else:
            delay = RETRY_CEILING
        delay *= self.rng.uniform(0.5, 1.5)
        retry_at: datetime = now + delay
        gave_up = attempts >= RETRY_BUDGET or not retryable

        def store(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
                (attempts, to_stored(retry_at), error, job.job_id),
            )
            if gave_up:
                conn.execute(
                    "UPDATE orders SET sync = ?, version = version + 1 WHERE id = ? AND sync <> ?",
                    (Sync.FAILED.value, job.order_id, Sync.FAILED.value),
                )
            q.note_health(conn, job.carrier, now, error=error)

        await self.db.write(store)
        return retry_at

    # Polling --------------------------------------------------------------------------------

    async def due_parcels(
        self,
        carrier: str,
        limit: int,
        *,
        now: datetime | None = None,
        after: DueParcel | None = None,
    ) -> list[DueParcel]:
        """Parcels due for a poll by `now`, oldest due first, the page after `after`."""
        cursor = None if after is None else (after.due, after.order_id)
        rows = await q.due_parcels(self.db, carrier, now or self.clock(), limit, cursor)
        # Columns by position, as the store selects them: id, ref, tracking, shipping,
        # last_carrier_event_at, next_poll_at.
        return [
            DueParcel(
                row[0],
                row[1],
                row[2],
                Shipping(row[3]),
                maybe_from_stored(row[4]),
                row[5],
            )
            for row in rows
        ]

    async def next_poll_at(self, carrier: str) -> datetime | None:
        return maybe_from_stored(await q.next_poll_at(self.db, carrier))

    async def apply_news(
        self,
        carrier: str,
        polled: Sequence[int],
        news: Sequence[CarrierNews],
        unknown: Sequence[DueParcel] = (),
        *,
        now: datetime | None = None,
        quiet: Sequence[tuple[int, datetime]] = (),
    ) -> BatchSummary:
        """One carrier batch, one transaction: moves, timeline notes, schedule, health.

        `polled` are the order ids of the parcels the carrier answered for (by id alone: the
        carrier writer is sent ten thousand a cycle); `now` is the worker's clock when the
        writer, another process, applies the batch. `quiet` are (order id, time) of parcels
        whose newest event is newer than any seen before and is in no news, as it changes
        nothing: an event older than it that comes later must not move the parcel.
        """
        now = now or self.clock()
        actor = Actor.carrier(carrier)
        moves = [
            Move(
                n.order_id,
                StatusKind.SHIPPING,
                n.move_to,
                note=n.note or None,
                carrier_event_id=n.event_id,
                at=n.at,
                raw_status=n.raw_status,
            )
            for n in news
            if n.move_to is not None
        ]

        def store(conn: sqlite3.Connection) -> tuple[list[MoveResult], int]:
            results = self.status.apply_within(conn, actor, moves, now)
            noted = 0
            for item in news:
                if item.move_to is not None:
                    continue
                if not item.mapped:
                    q.note_unmapped(conn, carrier, item.raw_status, now)
                noted += self.status.record_carrier_news(
                    conn,
                    actor,
                    item.order_id,
                    event_id=item.event_id,
                    raw_status=item.raw_status,
                    at=item.at,
                    note=item.note,
                )
            times = self._poll_times(carrier, now, len(polled))
            # Written after the moves: each is newer than its parcel's news of this batch.
            seen = {order_id: to_stored(at) for order_id, at in quiet}.get
            schedule = [
                (order_id, moving, slow, seen(order_id))
                for order_id, (moving, slow) in zip(polled, times, strict=True)
            ]
            # A parcel the carrier does not know: ask again, slowly, and say so.
            slowly = to_stored(now + self._interval(carrier) * SLOW_FACTOR)
            schedule += [(p.order_id, slowly, slowly, None) for p in unknown]
            q.schedule_polls(conn, schedule, SLOW_STATES)
            q.note_health(conn, carrier, now, error=None)
            if unknown:
                names = ", ".join(p.tracking for p in unknown[:5])
                q.note_problem(
                    conn,
                    carrier,
                    now,
                    f"{carrier} does not know {len(unknown)} tracking number(s): {names}",
                )
            return results, noted

        results, noted = await self.db.write(store)
        return BatchSummary(
            applied=sum(r.applied for r in results),
            refused=noted + sum(1 for r in results if not r.applied and not r.duplicate),
            unmapped=sum(not n.mapped for n in news),
        )

    async def carrier_failed(
        self, carrier: str, error: str, paused_until: datetime | None = None
    ) -> None:
        now = self.clock()
        await self.db.write(
            lambda conn: q.note_health(conn, carrier, now, error=error, paused_until=paused_until)
        )

    def _interval(self, carrier: str) -> timedelta:
        settings = self.settings.carriers.get(carrier)
        return timedelta(seconds=settings.poll_interval if settings else 60.0)

    def _poll_times(self, carrier: str, now: datetime, count: int) -> list[tuple[str, str]]:
        """When to poll each of `count` parcels next: if in motion, and if in a slow state.

        A little jitter spreads parcels confirmed together over the carrier's minute; whole
        seconds, as times are stored, so a batch has only a dozen distinct times to spell.
        """
        interval = self._interval(carrier).total_seconds()
        spelled: dict[int, tuple[str, str]] = {}
        times = []
        for _ in range(count):
            seconds = round(interval * self.rng.uniform(0.9, 1.1))
            if seconds not in spelled:
                spelled[seconds] = (
                    to_stored(now + timedelta(seconds=seconds)),
                    to_stored(now + timedelta(seconds=seconds * SLOW_FACTOR)),
                )
            times.append(spelled[seconds])
        return times

    # Health ---------------------------------------------------------------------------------

    async def health(self) -> list[CarrierHealth]:
        rows = {row["carrier"]: row for row in await q.health_rows(self.db)}
        syncs = await q.sync_counts(self.db)
        unmapped: dict[str, list[str]] = {}
        for row in await q.unmapped_rows(self.db):
            unmapped.setdefault(row["carrier"], []).append(row["raw_status"])
        names = sorted(set(self.settings.carriers) | set(rows) | {c for c, _ in syncs})
        report = []
        for name in names:
            found = rows.get(name)
            report.append(
                CarrierHealth(
                    carrier=name,
                    last_success_at=maybe_from_stored(found["last_success_at"]) if found else None,
                    last_error=found["last_error"] if found else None,
                    last_error_at=maybe_from_stored(found["last_error_at"]) if found else None,
                    consecutive_failures=found["consecutive_failures"] if found else 0,
                    paused_until=maybe_from_stored(found["paused_until"]) if found else None,
                    pending_sync=syncs.get((name, Sync.PENDING.value), 0),
                    failed_sync=syncs.get((name, Sync.FAILED.value), 0),
                    unmapped=tuple(unmapped.get(name, [])),
                )
            )
        return report
