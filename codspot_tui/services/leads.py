"""Lead import: a CSV or JSON file of orders from a lead provider, into the confirmation queue.

Two passes. The first reads the file once, in a thread, checks each row on its own and stages
it in a throw-away SQLite file: an order's rows may be far apart and a file may be bigger than
memory should hold. Nothing touches the database until the whole file has been read, so a file
that is not a lead file at all changes nothing. The second pass walks the orders in file order
(the order of their first rows), checks what needs the database or all of an order's rows, and
stores them in chunks, each order whole inside one transaction. A bad row rejects its whole
order; every row of a rejected order goes to the rejects file with a reason, so nothing is
silently dropped. Re-running an import skips what is stored, so a crash loses nothing either.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path

from ..domain.errors import BadInput
from ..domain.models import NewItem, NewOrder
from ..domain.text import clean_text
from ..domain.times import from_stored
from ..settings import Settings
from ..store import files
from ..store.db import Database
from ..store.leads import (
    LeadRow,
    LeadStage,
    Rejection,
    StagedOrder,
    active_agent_names,
    meta_value,
    phones_with_open_orders,
    products_for_skus,
    set_meta_value,
    stored_refs,
)
from ..store.orders import insert_order, open_order_ref_for_phone
from .clock import Clock, system_clock
from .lead_files import (
    REQUIRED,
    Layout,
    Record,
    missing_columns,
    open_records,
    quoted,
    read_head,
    write_rejects,
)
from .lead_rows import RowCheck
from .phones import e164

CHUNK_ORDERS = 500  # orders per transaction: other processes wait for one chunk at most
ROUND_ROBIN_KEY = "round_robin_last"


@dataclass(frozen=True)
class ImportReport:
    imported: int  # orders stored by this run
    rejected: int  # orders rejected (all their rows go to the rejects file)
    duplicates: int  # imported orders marked duplicate_of another open order
    skipped: int  # orders already imported earlier (same source, ref): idempotent
    rejects_file: Path | None  # None when nothing was rejected (then no file is written)
    problems: tuple[str, ...]  # "line 7: invalid phone '0612'", one per rejected row, first 200


@dataclass
class _Tally:
    imported: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped: int = 0


class LeadImporter:
    """Imports lead files into the queue: orders in state `new`, each assigned to the next
    agent with round-robin dispatch, and marked `duplicate_of` an open order of its phone."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = system_clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def import_file(
        self,
        path: Path,
        *,
        rejects: Path | None = None,
        source: str | None = None,
    ) -> ImportReport:
        """Import the leads of `path`. A file that can't be read as leads raises BadInput
        and changes nothing; bad rows reject their orders and go to the rejects file, made
        private as customer data is (see `store.files`)."""
        path = Path(path)
        try:
            source = clean_text(
                path.stem if source is None else source, "source", max_length=64, word=True
            )
        except ValueError as error:
            raise BadInput(str(error)) from None
        now = self.clock()
        stage, layout, head = await asyncio.to_thread(self._stage_file, path, now)
        try:
            rejects = _rejects_path(path, layout, rejects)
            tally = await self._store(stage, source, now)
            mode, _ = files.modes(share_group=self.settings.share_group)
            write = partial(write_rejects, mode=mode)
            problems = await asyncio.to_thread(
                write, path, head, stage.rejected_rows(), layout, rejects
            )
        finally:
            await asyncio.to_thread(stage.close)
        return ImportReport(
            imported=tally.imported,
            rejected=tally.rejected,
            duplicates=tally.duplicates,
            skipped=tally.skipped,
            rejects_file=rejects if tally.rejected else None,
            problems=problems,
        )

    # First pass, in a thread: read and check every row on its own, stage it.

    def _stage_file(self, path: Path, now: datetime) -> tuple[LeadStage, Layout, bytes]:
        head = read_head(path)
        stage = LeadStage.create()
        try:
            try:
                with path.open(encoding="utf-8-sig", newline="") as file:
                    layout, records = open_records(path, head, file)
                    check = RowCheck(self.settings, now)
                    for seq, record in enumerate(records, start=1):
                        _stage_record(stage, seq, record, check)
            except UnicodeDecodeError:
                raise BadInput(
                    f"{path} is not UTF-8 text: save it as CSV UTF-8 and try again"
                ) from None
            except OSError as error:
                raise BadInput(f"can't read {path}: {error.strerror or error}") from None
            # JSON has no header: a column is missing when no object at all has it.
            if stage.finish() and layout.kind == "json":
                missing = [name for name in REQUIRED if name not in layout.seen]
                if missing:
                    raise missing_columns(path, missing, layout.first_keys)
        except BaseException:
            stage.close()
            raise
        return stage, layout, head

    # Second pass: whole orders, in file order, a chunk per transaction.

    async def _store(self, stage: LeadStage, source: str, now: datetime) -> _Tally:
        tally = _Tally()
        total = await asyncio.to_thread(stage.order_count)
        for first in range(1, total + 1, CHUNK_ORDERS):
            chunk = await asyncio.to_thread(stage.orders_between, first, first + CHUNK_ORDERS - 1)
            skus = {row.sku for order in chunk for row in order.rows}
            products = await products_for_skus(self.db, skus)
            ready, rejected = await asyncio.to_thread(
                _check_chunk, stage, chunk, products, self.settings.region
            )
            tally.rejected += rejected
            if ready:
                await self._insert(ready, products, source, now, tally)
        return tally

    async def _insert(
        self,
        orders: list[tuple[list[LeadRow], str]],
        products: Mapping[str, tuple[int, int]],
        source: str,
        now: datetime,
        tally: _Tally,
    ) -> None:
        """Store one chunk of checked orders in one transaction; those stored before are
        skipped, and each order notes the oldest open order of its phone, if any."""
        await self.db.write(partial(self._insert_chunk, orders, products, source, now, tally))

    def _insert_chunk(
        self,
        orders: list[tuple[list[LeadRow], str]],
        products: Mapping[str, tuple[int, int]],
        source: str,
        now: datetime,
        tally: _Tally,
        conn: sqlite3.Connection,
    ) -> None:
        # Runs on the database thread, inside the chunk's transaction: one hop per chunk.
        stored = stored_refs(conn, source, [rows[0].ref for rows, _ in orders])
        fresh = [(rows, phone) for rows, phone in orders if rows[0].ref not in stored]
        tally.skipped += len(orders) - len(fresh)
        if not fresh:
            return
        # The oldest open order of each phone: one stored earlier, or else the first of
        # this chunk (stored below, in this order).
        oldest: dict[str, str] = {}
        for phone in phones_with_open_orders(conn, {phone for _, phone in fresh}):
            if ref := open_order_ref_for_phone(conn, phone):
                oldest[phone] = ref
        agents: list[str] = []
        last = start = None
        if self.settings.dispatch == "round_robin":
            agents = active_agent_names(conn)
            last = start = meta_value(conn, ROUND_ROBIN_KEY)
        stamp = self.clock()
        for rows, phone in fresh:
            duplicate_of = oldest.get(phone)
            if duplicate_of is None:
                oldest[phone] = rows[0].ref
            last = _next_agent(agents, last) or last
            order = self._new_order(
                rows,
                phone,
                products,
                source,
                now,
                duplicate_of=duplicate_of,
                assigned_to=last if agents else None,
            )
            if insert_order(conn, order, stamp) is None:  # checked above: can't be
                tally.skipped += 1
                continue
            tally.imported += 1
            tally.duplicates += order.duplicate_of is not None
        if last != start and last is not None:
            set_meta_value(conn, ROUND_ROBIN_KEY, last)

    def _new_order(
        self,
        rows: list[LeadRow],
        phone: str,
        products: Mapping[str, tuple[int, int]],
        source: str,
        now: datetime,
        *,
        duplicate_of: str | None,
        assigned_to: str | None,
    ) -> NewOrder:
        def first(name: str) -> str:
            """An order-level field: the first row that fills it (item rows may leave it)."""
            return next((value for row in rows if (value := getattr(row, name))), "")

        head = rows[0]
        return NewOrder(
            ref=head.ref,
            source=source,
            created_at=now if head.created_at is None else _from_stored(head.created_at),
            customer=first("customer"),
            phone=phone,
            city=first("city"),
            address=first("address"),
            delivery=first("delivery") or self.settings.default_delivery,
            note=first("note") or None,
            items=tuple(
                NewItem(
                    products[row.sku][0],
                    row.qty,
                    products[row.sku][1] if row.price_cents is None else row.price_cents,
                )
                for row in rows
            ),
            assigned_to=assigned_to,
            duplicate_of=duplicate_of,
        )


@lru_cache(maxsize=4096)  # rows often share a date, and strptime is slow
def _from_stored(text: str) -> datetime:
    return from_stored(text)


def _stage_record(stage: LeadStage, seq: int, record: Record, check: RowCheck) -> None:
    row, error = (None, record.error) if record.error else check(seq, record)
    if row is not None:
        stage.add(row)
    else:
        ref = record.values[0].strip().replace("\r\n", "\n")  # as RowCheck reads it
        # Rows of a ref go together even when refused; without a ref, a row is an order alone.
        stage.add_refused(ref or f"\x00{seq}", seq, record.line, error or "")


def _rejects_path(path: Path, layout: Layout, rejects: Path | None) -> Path:
    rejects = path.with_name(path.stem + layout.rejects_suffix) if rejects is None else rejects
    if rejects.resolve() == path.resolve():
        raise BadInput(f"the rejects file can't be the input file {path}")
    if not (rejects.parent.is_dir() and os.access(rejects.parent, os.W_OK)):
        raise BadInput(f"can't write the rejects file {rejects}: no writable folder")
    return rejects


def _check_chunk(
    stage: LeadStage,
    chunk: list[StagedOrder],
    products: Mapping[str, tuple[int, int]],
    region: str,
) -> tuple[list[tuple[list[LeadRow], str]], int]:
    """The orders of `chunk` ready to store, with their phones in E.164, and how many were
    rejected (marked so in `stage`). In a thread: checking phones takes a while."""
    ready: list[tuple[list[LeadRow], str]] = []
    rejections: list[Rejection] = []
    for order in chunk:
        rejection, phone = _check_order(order.order_no, order.rows, order.errors, products, region)
        if rejection is None:
            ready.append((order.rows, phone))
        else:
            rejections.append(rejection)
    if rejections:
        stage.reject(rejections)
    return ready, len(rejections)


def _check_order(
    order_no: int,
    rows: list[LeadRow],
    errors: dict[int, tuple[int, str]],
    products: Mapping[str, tuple[int, int]],
    region: str,
) -> tuple[Rejection | None, str]:
    """What rejects an order beyond its rows alone (`errors`: seq -> (line, reason) of its
    rows refused on their own); else its phone in E.164.

    Phones are checked here, once per order rather than once per row: parsing one is the
    dearest check of all, and an order's rows usually repeat it.
    """
    phones = {row.phone: e164(row.phone, region) for row in rows}
    head = next((row for row in rows if phones[row.phone]), None)
    phone = "" if head is None else phones[head.phone] or ""
    named = next((row for row in rows if row.delivery), None)
    found: dict[int, tuple[int, str]] = {}
    for row in rows:
        why = []
        if phones[row.phone] is None:
            why.append(f"invalid phone {quoted(row.phone)}")
        elif phones[row.phone] != phone:
            why.append(f"phone {phones[row.phone]} differs from line {_line(head)} ({phone})")
        if named and row.delivery and row.delivery != named.delivery:
            why.append(f"delivery {row.delivery} differs from line {named.line} ({named.delivery})")
        if row.sku not in products:
            why.append(f"unknown SKU {quoted(row.sku)}")
        if why:
            found[row.seq] = (row.line, "; ".join(why))
    if not errors and not found:
        return None, phone
    every = errors | found
    bad_line, bad_reason = every[min(every)]
    row_errors = {seq: reason for seq, (_, reason) in found.items()}
    return Rejection(order_no, bad_line, bad_reason, row_errors), phone


def _line(row: LeadRow | None) -> int:
    return 0 if row is None else row.line


def _next_agent(agents: list[str], last: str | None) -> str | None:
    """The agent after `last` in name order, cycling; None when nobody is active."""
    if not agents:
        return None
    return next((name for name in agents if last is None or name > last), agents[0])
