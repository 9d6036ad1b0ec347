"""StatusService: one move, or a batch of moves, applied atomically (DESIGN §1 and §2).

A move is checked against the tables of `domain.rules`, then written in one
`BEGIN IMMEDIATE` transaction together with everything it implies: the audit row, the stock
ledger rows, the outbox job of a connected carrier, the claim released.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.errors import (
    BadInput,
    DatabaseError,
    NotAdmin,
    NotFound,
    Refused,
    StaleOrder,
    StockShort,
)
from ..domain.models import Actor
from ..domain.rules import (
    RESTOCKING_SHIPPING,
    SHIPPING_ON_CONFIRM,
    check_move,
)
from ..domain.statuses import (
    LOCAL_DELIVERY,
    Confirmation,
    EventSource,
    Shipping,
    StatusKind,
    StockReason,
    Sync,
)
from ..domain.text import clean_text
from ..domain.times import to_stored
from ..settings import Settings
from ..store.db import Database, Row
from ..store.orders import (
    MOVE_COLUMNS,
    fetch_order_row,
    fetch_order_rows,
    seen_carrier_events,
)
from ..store.parcels import note_carrier_event_times
from ..store.stock import insert_movement, order_quantities, stock_levels
from .claims import refuse_if_claimed_by_other
from .clock import Clock, system_clock

# A callback typed a little in the past is a slow typist, not a mistake.
_CALLBACK_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class Move:
    """One intended change of one of an order's two statuses."""

    order_id: int
    kind: StatusKind
    to: Confirmation | Shipping
    note: str | None = None
    callback_at: datetime | None = None
    force: bool = False
    # The version the caller saw; a move made on a stale screen is refused, not merged.
    expected_version: int | None = None
    # Carrier moves: the carrier's own event id and time, for dedupe and ordering.
    carrier_event_id: str | None = None
    at: datetime | None = None
    raw_status: str | None = None  # the carrier's own word for it

    def __post_init__(self) -> None:
        if self.note is not None:
            try:
                note = clean_text(self.note, "the note", max_length=1000, required=False)
            except ValueError as error:
                raise BadInput(str(error)) from None
            object.__setattr__(self, "note", note or None)


@dataclass(frozen=True)
class MoveResult:
    order_id: int
    ref: str
    kind: StatusKind
    status: str | None  # the status after the move (unchanged when not applied)
    applied: bool
    reason: str | None = None  # why nothing changed, for a person
    version: int | None = None
    duplicate: bool = False  # news we already had: nothing written at all


class StatusService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = system_clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def apply(self, actor: Actor, move: Move) -> MoveResult:
        """Apply one move or raise the refusal (`Refused`, `NotFound`, `BadInput`)."""
        now = self.clock()

        def write(conn: sqlite3.Connection) -> MoveResult:
            rows = _Rows(conn, [move])
            result = self._apply_one(conn, actor, move, now, rows)
            rows.write_event_times()
            return result

        return await self.db.write(write)

    async def apply_batch(self, actor: Actor, moves: Sequence[Move]) -> list[MoveResult]:
        """Apply many moves in one transaction; a refused move changes nothing, the rest apply.

        A carrier's refused move is still written to the timeline, marked ignored (DESIGN §1).
        """
        now = self.clock()
        return await self.db.write(lambda conn: self.apply_within(conn, actor, moves, now))

    def apply_within(
        self, conn: sqlite3.Connection, actor: Actor, moves: Sequence[Move], now: datetime
    ) -> list[MoveResult]:
        """`apply_batch` inside a transaction the caller holds (a carrier batch's).

        No savepoint per move: a move raises its refusal before it writes anything (every
        check comes first), and anything that fails later aborts the whole transaction.
        """
        rows = _Rows(conn, moves)
        results: list[MoveResult] = []
        for move in moves:
            try:
                result = self._apply_one(conn, actor, move, now, rows)
            except (Refused, NotFound, BadInput) as refusal:
                result = self._refused_in_batch(conn, actor, move, refusal, now, rows)
            results.append(result)
        rows.write_event_times()
        return results

    def record_carrier_news(
        self,
        conn: sqlite3.Connection,
        actor: Actor,
        order_id: int,
        *,
        event_id: str,
        raw_status: str,
        at: datetime,
        note: str,
    ) -> bool:
        """Put a carrier event that moves nothing into the timeline (once); False if known.

        For what the carrier says that is not ours to act on: a status we have no mapping for,
        or "returned to sender", which waits for the operator to see the package (DESIGN §1).
        """
        row = fetch_order_row(conn, order_id)
        if row is None or not _is_parcel_of(actor, row):
            return False
        # Seen, even if it moves nothing: an older event coming later must not move the order.
        note_carrier_event_times(conn, {order_id: to_stored(at)})
        cursor = conn.execute(
            "SELECT 1 FROM status_events WHERE order_id = ? AND carrier_event_id = ?",
            (order_id, event_id),
        )
        if cursor.fetchone():
            return False
        _insert_event(
            conn,
            order_id,
            StatusKind.SHIPPING,
            row["shipping"],
            row["shipping"],
            actor,
            EventSource.CARRIER,
            note,
            event_id,
            at,
            ignored=True,
            raw_status=raw_status,
        )
        return True

    def _refused_in_batch(
        self,
        conn: sqlite3.Connection,
        actor: Actor,
        move: Move,
        refusal: Exception,
        now: datetime,
        rows: _Rows,
    ) -> MoveResult:
        row = rows.row(move.order_id)
        if row is None:
            return MoveResult(move.order_id, "", move.kind, None, False, str(refusal))
        if _is_parcel_of(actor, row):
            self._record_ignored(conn, actor, row, move, str(refusal), now)
            rows.saw(move.order_id, move.at)
            rows.wrote(move.order_id, move.carrier_event_id, order_changed=False)
        return MoveResult(
            move.order_id,
            row["ref"],
            move.kind,
            row[move.kind.value],
            False,
            str(refusal),
            row["version"],
        )

    def _apply_one(
        self, conn: sqlite3.Connection, actor: Actor, move: Move, now: datetime, rows: _Rows
    ) -> MoveResult:
        row = rows.row(move.order_id)
        if row is None:
            raise NotFound(f"no order with id {move.order_id}")
        ref = row["ref"]
        if move.expected_version is not None and move.expected_version != row["version"]:
            raise StaleOrder(f"Order {ref} changed since you opened it; look again and retry")
        if move.force:
            if not actor.is_admin:
                raise NotAdmin(f"only an admin may force a move ({actor.label} is not)")
            if not (move.note and move.note.strip()):
                raise BadInput("a forced move needs a note saying why")
        if actor.kind == "carrier" and not _is_parcel_of(actor, row):
            raise Refused(f"Order {ref} is not a parcel of carrier {actor.name}")

        if move.kind is StatusKind.CONFIRMATION:
            current: Confirmation | Shipping = Confirmation(row["confirmation"])
        elif row["shipping"] is None:
            raise Refused(f"Order {ref} is not confirmed yet: it has no shipping status")
        else:
            current = Shipping(row["shipping"])

        if actor.kind == "carrier":
            duplicate = self._carrier_duplicate(row, move, current, rows)
            if duplicate:
                return MoveResult(
                    row["id"],
                    ref,
                    move.kind,
                    current,
                    False,
                    duplicate,
                    row["version"],
                    duplicate=True,
                )

        mover = actor.mover_for(row["delivery"], force=move.force)
        check_move(ref, move.kind, current, move.to, mover)
        if actor.kind == "agent" and move.kind is StatusKind.CONFIRMATION:
            refuse_if_claimed_by_other(row, actor, now)

        version = row["version"] + 1
        if move.kind is StatusKind.CONFIRMATION:
            self._move_confirmation(conn, actor, row, move, now, version)
        else:
            self._move_shipping(conn, actor, row, move, now, version)
        source = _source_of(actor, move)
        at = now if move.at is None else move.at
        _insert_event(
            conn,
            row["id"],
            move.kind,
            current,
            move.to,
            actor,
            source,
            move.note,
            move.carrier_event_id,
            at,
            raw_status=move.raw_status,
        )
        if move.to is Confirmation.CONFIRMED:
            # The shipping status changed too, from nothing: its own row (DESIGN §1, Audit).
            _insert_event(
                conn,
                row["id"],
                StatusKind.SHIPPING,
                None,
                SHIPPING_ON_CONFIRM,
                actor,
                source,
                None,
                None,
                at,
            )

        final = move.to
        if (
            move.to is Confirmation.NO_ANSWER
            and self.settings.max_attempts
            and row["attempts"] + 1 >= self.settings.max_attempts
        ):
            final = self._auto_cancel(conn, row, now, version + 1)
            version += 1
        rows.wrote(row["id"], move.carrier_event_id)
        return MoveResult(row["id"], ref, move.kind, final, True, None, version)

    def _carrier_duplicate(
        self, row: Row, move: Move, current: Confirmation | Shipping, rows: _Rows
    ) -> str | None:
        """Why a carrier move changes nothing at all (not even the timeline), if it doesn't."""
        if move.carrier_event_id is not None and rows.event_seen(row["id"], move.carrier_event_id):
            return "carrier event already recorded"
        if move.to == current:
            rows.saw(row["id"], move.at)  # still news: what is dated before it is history now
            return f"already {current}"
        last = rows.last_event_at(row)
        if move.at is not None and last is not None and to_stored(move.at) < last:
            raise Refused("event older than the order's last carrier event")
        return None

    def _move_confirmation(
        self,
        conn: sqlite3.Connection,
        actor: Actor,
        row: Row,
        move: Move,
        now: datetime,
        version: int,
    ) -> None:
        to = Confirmation(move.to)
        callback_at: str | None = None
        attempts, last_attempt_at = row["attempts"], row["last_attempt_at"]
        shipping: str | None = None
        sync: str | None = None
        if to is Confirmation.CALL_LATER:
            if move.callback_at is None:
                raise BadInput("call later needs a callback time")
            if move.callback_at < now - _CALLBACK_SLACK:
                raise BadInput(f"the callback time {move.callback_at:%Y-%m-%d %H:%M} is past")
            callback_at = to_stored(move.callback_at)
        if to in (Confirmation.NO_ANSWER, Confirmation.CALL_LATER):
            last_attempt_at = to_stored(now)
        if to is Confirmation.NO_ANSWER:
            attempts += 1  # only an unanswered call counts towards the no-answer limit
        if to is Confirmation.CONFIRMED:
            self._take_stock(conn, actor, row, move, now)
            shipping = SHIPPING_ON_CONFIRM.value
            if row["delivery"] != LOCAL_DELIVERY:
                sync = Sync.PENDING.value
                conn.execute(
                    """INSERT INTO outbox (order_id, carrier, next_attempt_at, created_at)
                       VALUES (?, ?, ?, ?)""",
                    (row["id"], row["delivery"], to_stored(now), to_stored(now)),
                )
        # Every outcome of a call ends the caller's claim: the next order is someone's to take.
        self._update_order(
            conn,
            row,
            version,
            confirmation=to.value,
            shipping=shipping,
            sync=sync,
            attempts=attempts,
            last_attempt_at=last_attempt_at,
            callback_at=callback_at,
            claimed_by=None,
            claim_expires_at=None,
            updated_at=to_stored(now),
        )

    def _take_stock(
        self, conn: sqlite3.Connection, actor: Actor, row: Row, move: Move, now: datetime
    ) -> None:
        needed = order_quantities(conn, row["id"])
        if not move.force:
            levels = stock_levels(conn, list(needed))
            for product_id, qty in needed.items():
                sku, on_hand = levels[product_id]
                if on_hand < qty:
                    raise StockShort(
                        f"Stock short: {sku} has {on_hand}, order {row['ref']} needs {qty}"
                    )
        for product_id, qty in needed.items():
            insert_movement(
                conn,
                product_id,
                -qty,
                StockReason.CONFIRMED,
                row["id"],
                actor.label,
                move.note,
                now,
            )

    def _move_shipping(
        self,
        conn: sqlite3.Connection,
        actor: Actor,
        row: Row,
        move: Move,
        now: datetime,
        version: int,
    ) -> None:
        to = Shipping(move.to)
        if to is RESTOCKING_SHIPPING:
            needed = order_quantities(conn, row["id"])
            for product_id, qty in needed.items():
                # The unique (order, product, reason) index makes a second restock a no-op.
                insert_movement(
                    conn,
                    product_id,
                    qty,
                    StockReason.RETURNED,
                    row["id"],
                    actor.label,
                    move.note,
                    now,
                )
        changes: dict[str, object] = {"shipping": to.value, "updated_at": to_stored(now)}
        if actor.kind == "carrier" and move.at is not None:
            changes["last_carrier_event_at"] = to_stored(move.at)
        self._update_order(conn, row, version, **changes)

    def _auto_cancel(
        self, conn: sqlite3.Connection, row: Row, now: datetime, version: int
    ) -> Confirmation:
        attempts = row["attempts"] + 1
        self._update_order(
            conn,
            {"id": row["id"], "version": version - 1},
            version,
            confirmation=Confirmation.CANCELED.value,
        )
        _insert_event(
            conn,
            row["id"],
            StatusKind.CONFIRMATION,
            Confirmation.NO_ANSWER,
            Confirmation.CANCELED,
            Actor.system(),
            EventSource.AUTO,
            f"no answer after {attempts} attempts (limit {self.settings.max_attempts})",
            None,
            now,
        )
        return Confirmation.CANCELED

    def _update_order(
        self,
        conn: sqlite3.Connection,
        row: Row | dict[str, int],
        version: int,
        **changes: object,
    ) -> None:
        # Optimistic concurrency: the row must still be at the version we read.
        cursor = conn.execute(
            _update_sql(tuple(changes)), (*changes.values(), version, row["id"], row["version"])
        )
        if cursor.rowcount != 1:
            # Not a refusal: inside our write transaction this cannot happen, so stop it all.
            raise DatabaseError(f"order {row['id']} changed under this move; nothing was saved")

    def _record_ignored(
        self,
        conn: sqlite3.Connection,
        actor: Actor,
        row: Row,
        move: Move,
        why: str,
        now: datetime,
    ) -> None:
        current = row[move.kind.value]
        # The same carrier event twice in one batch: the timeline already has it.
        with contextlib.suppress(sqlite3.IntegrityError):
            _insert_event(
                conn,
                row["id"],
                move.kind,
                current,
                move.to,
                actor,
                EventSource.CARRIER,
                why,
                move.carrier_event_id,
                now if move.at is None else move.at,
                ignored=True,
                raw_status=move.raw_status,
            )


class _Rows:
    """The rows of the orders a transaction's moves are about, read before the first move:
    two statements for a whole carrier batch rather than one per move.

    Inside the transaction only the moves themselves change these orders, so a row stays
    right until its order is moved; a moved order is read again when another move of the
    same batch comes to it.
    """

    def __init__(self, conn: sqlite3.Connection, moves: Sequence[Move]) -> None:
        self._conn = conn
        self._rows = fetch_order_rows(conn, [move.order_id for move in moves], MOVE_COLUMNS)
        events = [
            (move.order_id, move.carrier_event_id)
            for move in moves
            if move.carrier_event_id is not None
        ]
        self._seen = seen_carrier_events(conn, events) if events else set()
        self._moved: set[int] = set()
        # Carrier events seen that moved nothing: their times are written once, at the end.
        self._seen_at: dict[int, str] = {}

    def row(self, order_id: int) -> Row | None:
        if order_id in self._moved:
            return fetch_order_row(self._conn, order_id)
        return self._rows.get(order_id)

    def event_seen(self, order_id: int, carrier_event_id: str) -> bool:
        return (order_id, carrier_event_id) in self._seen

    def last_event_at(self, row: Row) -> str | None:
        """The newest carrier event seen for the order (stored text), this batch's included."""
        stored: str | None = row["last_carrier_event_at"]
        seen = self._seen_at.get(row["id"])
        if seen is None or (stored is not None and stored >= seen):
            return stored
        return seen

    def saw(self, order_id: int, at: datetime | None) -> None:
        """A carrier event that moved nothing: later news older than it must not move either."""
        if at is None:
            return
        stamp = to_stored(at)
        if stamp > self._seen_at.get(order_id, ""):
            self._seen_at[order_id] = stamp

    def write_event_times(self) -> None:
        """Store the times `saw` noted; the order's version stays, as nothing on screen changed."""
        if self._seen_at:
            note_carrier_event_times(self._conn, self._seen_at)

    def wrote(
        self, order_id: int, carrier_event_id: str | None, *, order_changed: bool = True
    ) -> None:
        """Note what a move just wrote: the order's row, and the event in its timeline."""
        if order_changed:
            self._moved.add(order_id)
        if carrier_event_id is not None:
            self._seen.add((order_id, carrier_event_id))


def _is_parcel_of(actor: Actor, row: Row) -> bool:
    """Whether the order is a parcel of this carrier: the only timelines a carrier writes to."""
    return (
        actor.kind == "carrier"
        and row["delivery"] == actor.name
        and row["confirmation"] == Confirmation.CONFIRMED
    )


@functools.lru_cache(maxsize=64)
def _update_sql(columns: tuple[str, ...]) -> str:
    assignments = ", ".join(f"{column} = ?" for column in columns)
    return f"UPDATE orders SET {assignments}, version = ? WHERE id = ? AND version = ?"


_SOURCE_OF_KIND = {"carrier": EventSource.CARRIER, "system": EventSource.AUTO}


def _source_of(actor: Actor, move: Move) -> EventSource:
    if move.force:
        return EventSource.FORCED
    return _SOURCE_OF_KIND.get(actor.kind, EventSource.MANUAL)


def _insert_event(
    conn: sqlite3.Connection,
    order_id: int,
    kind: StatusKind,
    from_status: str | None,
    to_status: str,
    actor: Actor,
    source: EventSource,
    note: str | None,
    carrier_event_id: str | None,
    at: datetime,
    *,
    ignored: bool = False,
    raw_status: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO status_events (order_id, kind, from_status, to_status, actor, source,
                                      note, carrier_event_id, ignored, at, raw_status)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            order_id,
            kind.value,
            from_status,
            str(to_status),
            actor.label,
            source.value,
            note,
            carrier_event_id,
            int(ignored),
            to_stored(at),
            raw_status,
        ),
    )
