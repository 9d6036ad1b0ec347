"""Queries for parcel creation (the outbox), polling, and carrier health."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ..domain.times import to_stored
from .db import Database, Row
from .sql import MAX_IN_LIST, in_batches, placeholders, value_rows


async def due_jobs(db: Database, now: datetime, limit: int) -> list[Row]:
    """Parcel-creation jobs whose time has come, with what the carrier needs to know."""
    return await db.fetchall(
        """SELECT j.id AS job_id, j.order_id, j.carrier, j.attempts, o.ref, o.source,
                  o.customer, o.phone, o.city, o.address, o.note, o.total_cents
           FROM outbox j JOIN orders o ON o.id = j.order_id
           WHERE j.done_at IS NULL AND j.next_attempt_at <= ?
           ORDER BY j.next_attempt_at, j.id LIMIT ?""",
        (to_stored(now), limit),
    )


async def next_job_at(db: Database) -> str | None:
    value = await db.scalar("SELECT MIN(next_attempt_at) FROM outbox WHERE done_at IS NULL")
    return None if value is None else str(value)


async def due_parcels(
    db: Database, carrier: str, now: datetime, limit: int, after: tuple[str, int] | None = None
) -> list[Row]:
    """Parcels due for a poll, oldest due first; `after` (next_poll_at, id) pages on."""
    since, last_id = after if after is not None else ("", 0)
    return await db.fetchall(
        """SELECT id, ref, tracking, shipping, last_carrier_event_at, next_poll_at FROM orders
           WHERE delivery = ? AND next_poll_at IS NOT NULL AND next_poll_at <= ?
             AND shipping NOT IN ('delivered', 'returned')
             AND (next_poll_at, id) > (?, ?)
           ORDER BY next_poll_at, id LIMIT ?""",
        (carrier, to_stored(now), since, last_id, limit),
    )


async def next_poll_at(db: Database, carrier: str) -> str | None:
    value = await db.scalar(
        """SELECT MIN(next_poll_at) FROM orders
           WHERE delivery = ? AND next_poll_at IS NOT NULL
             AND shipping NOT IN ('delivered', 'returned')""",
        (carrier,),
    )
    return None if value is None else str(value)


def schedule_polls(
    conn: sqlite3.Connection,
    when: Sequence[tuple[int, str, str, str | None]],
    slow: Iterable[str],
) -> None:
    """The next poll of many parcels, given as (order id, time if it is in motion, time if
    it is in one of the `slow` states, the time of a carrier event seen that is in no move or
    None); a parcel in a final state is polled no more.

    One statement per few hundred parcels: the state is read where the row is written, and
    the newest carrier event seen only moves forward (stored times sort as text), with no
    version bump, as in `note_carrier_event_times`.
    """
    slow_states = list(slow)
    for batch in in_batches(when, MAX_IN_LIST // 4):
        rows = value_rows(len(batch), 4)
        conn.execute(
            f"""UPDATE orders SET next_poll_at = CASE
                    WHEN shipping IN ('delivered', 'returned') THEN NULL
                    WHEN shipping IN ({placeholders(slow_states)}) THEN due.column3
                    ELSE due.column2 END,
                last_carrier_event_at = CASE
                    WHEN due.column4 > coalesce(last_carrier_event_at, '') THEN due.column4
                    ELSE last_carrier_event_at END
                FROM (VALUES {rows}) AS due WHERE orders.id = due.column1""",
            [*slow_states, *(value for parcel in batch for value in parcel)],
        )


def note_carrier_event_times(conn: sqlite3.Connection, seen: Mapping[int, str]) -> None:
    """The newest carrier event seen of many parcels, {order id: stored time}: the column
    only moves forward (stored times sort as text). Not a change of the order: no version bump,
    so nobody's screen goes stale."""
    pairs = list(seen.items())
    for batch in in_batches(pairs, MAX_IN_LIST // 2):
        conn.execute(
            f"""UPDATE orders SET last_carrier_event_at = seen.column2
                FROM (VALUES {value_rows(len(batch), 2)}) AS seen
                WHERE orders.id = seen.column1
                  AND (last_carrier_event_at IS NULL OR last_carrier_event_at < seen.column2)""",
            [value for pair in batch for value in pair],
        )


def note_health(
    conn: sqlite3.Connection,
    carrier: str,
    now: datetime,
    *,
    error: str | None,
    paused_until: datetime | None = None,
) -> None:
    """A call to `carrier` succeeded (error None) or failed with `error`."""
    stamp = to_stored(now)
    if error is None:
        conn.execute(
            """INSERT INTO carrier_health (carrier, last_success_at, consecutive_failures)
               VALUES (?, ?, 0)
               ON CONFLICT (carrier) DO UPDATE SET last_success_at = excluded.last_success_at,
                   consecutive_failures = 0, paused_until = NULL""",
            (carrier, stamp),
        )
        return
    conn.execute(
        """INSERT INTO carrier_health (carrier, last_error, last_error_at, consecutive_failures,
                                       paused_until)
           VALUES (?, ?, ?, 1, ?)
           ON CONFLICT (carrier) DO UPDATE SET last_error = excluded.last_error,
               last_error_at = excluded.last_error_at,
               consecutive_failures = carrier_health.consecutive_failures + 1,
               paused_until = excluded.paused_until""",
        (carrier, error, stamp, None if paused_until is None else to_stored(paused_until)),
    )


def note_problem(conn: sqlite3.Connection, carrier: str, now: datetime, problem: str) -> None:
    """Something worth seeing that is not a failed call (an unknown tracking number)."""
    conn.execute(
        """INSERT INTO carrier_health (carrier, last_error, last_error_at) VALUES (?, ?, ?)
           ON CONFLICT (carrier) DO UPDATE
               SET last_error = excluded.last_error, last_error_at = excluded.last_error_at""",
        (carrier, problem, to_stored(now)),
    )


def note_unmapped(conn: sqlite3.Connection, carrier: str, raw_status: str, now: datetime) -> None:
    conn.execute(
        """INSERT INTO carrier_unmapped (carrier, raw_status, first_seen_at, last_seen_at)
           VALUES (?, ?, ?, ?)
           ON CONFLICT (carrier, raw_status) DO UPDATE
               SET last_seen_at = excluded.last_seen_at, seen = carrier_unmapped.seen + 1""",
        (carrier, raw_status, to_stored(now), to_stored(now)),
    )


async def health_rows(db: Database) -> list[Row]:
    return await db.fetchall(
        """SELECT carrier, last_success_at, last_error, last_error_at, consecutive_failures,
                  paused_until FROM carrier_health"""
    )


async def sync_counts(db: Database) -> dict[tuple[str, str], int]:
    """(carrier, sync) -> orders, for parcels not created yet or given up on."""
    rows = await db.fetchall(
        """SELECT delivery, sync, count(*) FROM orders
           WHERE sync IN ('pending', 'failed') GROUP BY delivery, sync"""
    )
    return {(row[0], row[1]): row[2] for row in rows}


async def unmapped_rows(db: Database) -> list[Row]:
    return await db.fetchall(
        "SELECT carrier, raw_status, seen, last_seen_at FROM carrier_unmapped ORDER BY raw_status"
    )
