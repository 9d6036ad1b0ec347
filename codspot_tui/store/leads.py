"""The lead import's storage: a staging file that groups rows by ref, and a few queries.

A lead file may list an order's rows far apart and may be far bigger than memory should hold,
so its rows wait in a throw-away SQLite file (stdlib sqlite3, one thread at a time) until the
file has been read to the end and every order is complete.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .db import Database
from .orders import OPEN_ORDER_SQL
from .sql import in_batches, placeholders

_STAGE_SCHEMA = """
    CREATE TABLE rows (
        seq          INTEGER PRIMARY KEY,
        key          TEXT NOT NULL,
        line         INTEGER NOT NULL,
        error        TEXT,
        ref          TEXT,
        phone        TEXT,
        customer     TEXT,
        city         TEXT,
        address      TEXT,
        note         TEXT,
        delivery     TEXT,
        sku          TEXT,
        qty          INTEGER,
        price_cents  INTEGER,
        created_at   TEXT
    )
"""
# Built once every row is in: orders numbered in the order of their first row.
_GROUP_SCHEMA = (
    "CREATE INDEX rows_by_key ON rows (key, seq)",
    """CREATE TABLE groups (
        order_no    INTEGER PRIMARY KEY,
        key         TEXT NOT NULL UNIQUE,
        bad_line    INTEGER,
        bad_reason  TEXT
    )""",
    "INSERT INTO groups (key) SELECT key FROM rows GROUP BY key ORDER BY min(seq)",
)
_ROW_FIELDS = (
    "seq, line, ref, phone, customer, city, address, note, delivery, sku, qty, price_cents,"
    " created_at"
)
_SELECT_ROW = ", ".join("r." + name for name in _ROW_FIELDS.split(", "))
# A checked row's key is its ref: ?3 is bound twice.
_INSERT_CHECKED = (
    f"INSERT INTO rows (key, {_ROW_FIELDS}) VALUES (?3, {', '.join(f'?{n}' for n in range(1, 14))})"
)
_FLUSH_ROWS = 1000


class LeadRow(NamedTuple):
    """One checked row of a lead file: an item of the order called `ref`."""

    seq: int  # the row's number among the file's rows: a one-line JSON array has many a line
    line: int  # where the row starts in the file, for people
    ref: str
    phone: str  # as written when staged; E.164 once its order is checked
    customer: str
    city: str
    address: str
    note: str
    delivery: str  # "" when the row names none
    sku: str
    qty: int
    price_cents: int | None  # None: the product's price
    created_at: str | None  # stored UTC time; None: the time of the import


class StagedOrder(NamedTuple):
    """An order's rows as staged: checked (`rows`), or refused on their own (`errors`)."""

    order_no: int  # from 1, in the order of the orders' first rows in the file
    rows: list[LeadRow]
    errors: dict[int, tuple[int, str]]  # seq -> (line, reason)


@dataclass(frozen=True)
class Rejection:
    """An order refused after staging: its first bad line, and the reasons found for rows."""

    order_no: int
    bad_line: int
    bad_reason: str
    row_errors: dict[int, str]  # seq -> reason, for rows that had none when staged


class RejectedRow(NamedTuple):
    seq: int
    line: int
    error: str


class LeadStage:
    """Rows of one import, grouped by order. Use from one thread at a time; `close()` deletes it.

    Add every row, call `finish()`, then read orders back in file order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False)
        # A scratch file: after a crash the lead file is simply read again.
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(_STAGE_SCHEMA)
        self._checked: list[LeadRow] = []
        self._refused: list[tuple[str, int, int, str]] = []

    @classmethod
    def create(cls) -> LeadStage:
        handle, name = tempfile.mkstemp(prefix="codspot-import-", suffix=".sqlite3")
        os.close(handle)
        try:
            return cls(Path(name))
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def close(self) -> None:
        self._conn.close()
        self.path.unlink(missing_ok=True)

    def add(self, row: LeadRow) -> None:
        """Stage a checked row: an item of the order called `row.ref`."""
        self._checked.append(row)
        if len(self._checked) >= _FLUSH_ROWS:
            self._flush()

    def add_refused(self, key: str, seq: int, line: int, error: str) -> None:
        """Stage a row refused on its own, with the rows of `key` (its ref, if it has one)."""
        self._refused.append((key, seq, line, error))
        if len(self._refused) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        self._conn.executemany(_INSERT_CHECKED, self._checked)
        self._conn.executemany(
            "INSERT INTO rows (key, seq, line, error) VALUES (?, ?, ?, ?)", self._refused
        )
        self._checked.clear()
        self._refused.clear()

    def finish(self) -> int:
        """Group the rows into orders, numbered in file order; how many orders."""
        self._flush()
        for statement in _GROUP_SCHEMA:
            self._conn.execute(statement)
        self._conn.commit()
        return self.order_count()

    def order_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM groups").fetchone()[0])

    def orders_between(self, first: int, last: int) -> list[StagedOrder]:
        """Orders numbered `first` to `last`, with their rows in file order."""
        found: list[StagedOrder] = []
        for order_no, error, *values in self._conn.execute(
            f"""SELECT g.order_no, r.error, {_SELECT_ROW}
                FROM groups g JOIN rows r ON r.key = g.key
                WHERE g.order_no BETWEEN ? AND ? ORDER BY g.order_no, r.seq""",
            (first, last),
        ):
            if not found or found[-1].order_no != order_no:
                found.append(StagedOrder(order_no, [], {}))
            if error is None:
                found[-1].rows.append(LeadRow(*values))
            else:
                found[-1].errors[values[0]] = (values[1], error)
        return found

    def reject(self, rejections: list[Rejection]) -> None:
        """Mark orders rejected after staging, with the reasons found for their rows."""
        self._conn.executemany(
            "UPDATE groups SET bad_line = ?, bad_reason = ? WHERE order_no = ?",
            [(r.bad_line, r.bad_reason, r.order_no) for r in rejections],
        )
        self._conn.executemany(
            "UPDATE rows SET error = ? WHERE seq = ?",
            [(error, seq) for r in rejections for seq, error in r.row_errors.items()],
        )
        self._conn.commit()

    def rejected_rows(self) -> Iterator[RejectedRow]:
        """Every row of every rejected order, in file order; the others name the bad row."""
        for seq, line, error, bad_line, bad_reason in self._conn.execute(
            """SELECT r.seq, r.line, r.error, g.bad_line, g.bad_reason
               FROM rows r JOIN groups g ON g.key = r.key
               WHERE g.bad_line IS NOT NULL ORDER BY r.seq"""
        ):
            yield RejectedRow(seq, line, error or f"order rejected: line {bad_line}: {bad_reason}")


async def products_for_skus(db: Database, skus: Collection[str]) -> dict[str, tuple[int, int]]:
    """(id, price in cents) of each product among `skus` that exists."""
    found: dict[str, tuple[int, int]] = {}
    for batch in in_batches(sorted(skus)):
        sql = f"SELECT sku, id, price_cents FROM products WHERE sku IN ({placeholders(batch)})"
        rows = await db.fetchall(sql, batch)
        found.update({row[0]: (row[1], row[2]) for row in rows})
    return found


def stored_refs(conn: sqlite3.Connection, source: str, refs: Collection[str]) -> set[str]:
    """Which of `refs` are already stored for `source` (imported by an earlier run)."""
    found: set[str] = set()
    for batch in in_batches(sorted(refs)):
        rows = conn.execute(
            f"SELECT ref FROM orders WHERE source = ? AND ref IN ({placeholders(batch)})",
            [source, *batch],
        )
        found.update(row[0] for row in rows)
    return found


def phones_with_open_orders(conn: sqlite3.Connection, phones: Collection[str]) -> set[str]:
    """Which of `phones` have an open order: a cheap filter before `open_order_ref_for_phone`."""
    found: set[str] = set()
    for batch in in_batches(sorted(phones)):
        rows = conn.execute(
            f"""SELECT DISTINCT phone FROM orders
                WHERE phone IN ({placeholders(batch)}) AND {OPEN_ORDER_SQL}""",
            batch,
        )
        found.update(row[0] for row in rows)
    return found


def active_agent_names(conn: sqlite3.Connection) -> list[str]:
    return [
        row[0] for row in conn.execute("SELECT name FROM agents WHERE active = 1 ORDER BY name")
    ]


def meta_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta_value(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        """INSERT INTO meta (key, value) VALUES (?, ?)
           ON CONFLICT (key) DO UPDATE SET value = excluded.value""",
        (key, value),
    )
