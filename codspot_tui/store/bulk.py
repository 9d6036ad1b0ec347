"""Bulk writes for synthetic data (`services/seed.py`): stdlib sqlite3, no event loop.

A seed first writes its rows to throw-away staging files (plain tables, no constraints, no
indexes; one per worker, so that workers never wait for each other), then copies them into
the database in one `BEGIN IMMEDIATE` transaction with `INSERT ... SELECT`, which runs in
SQLite's C code: other processes see the whole seed or none of it.

Why it is shaped like this (figures from `benchmarks/bench_core.py`'s machine):
- sqlite3 binds exact `int` and `str` directly but sends None (and `str` subclasses such as
  our enums) through its adapter protocol, several times slower: staged rows use '' and 0
  for NULL, turned back by `NULLIF` in the copy.
- One statement inserting many rows (`VALUES (...), (...)`) costs about half as much per row
  as `executemany` of a one-row statement.
- The schema's `CHECK (x IN (...))` constraints rebuild their list for every statement run;
  the copy is one statement, so they cost nothing there.
- Building an index once over a million rows beats a million B-tree inserts, so a seed that
  more than doubles the orders drops the secondary indexes and builds them again at the end.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

# The staging tables: (name, columns, SQL for each column in the copy into the real table).
# A staged value '' (text) or 0 (order id of a movement) means NULL.
_ORDER_COLUMNS = (
    "id, ref, source, created_at, customer, phone, city, address, delivery, note, confirmation,"
    " shipping, tracking, sync, attempts, last_attempt_at, callback_at, assigned_to,"
    " total_cents, version, updated_at, last_carrier_event_at"
)
_STAGES = {
    "orders": (
        _ORDER_COLUMNS,
        "id, ref, source, created_at, customer, phone, city, address, delivery, NULLIF(note, ''),"
        " confirmation, NULLIF(shipping, ''), NULLIF(tracking, ''), NULLIF(sync, ''), attempts,"
        " NULLIF(last_attempt_at, ''), NULLIF(callback_at, ''), assigned_to, total_cents,"
        " version, updated_at, NULLIF(last_carrier_event_at, '')",
    ),
    "order_items": (
        "order_id, line, product_id, qty, price_cents",
        "order_id, line, product_id, qty, price_cents",
    ),
    "status_events": (
        "order_id, kind, from_status, to_status, actor, source, note, carrier_event_id,"
        " ignored, at",
        "order_id, kind, from_status, to_status, actor, source, NULLIF(note, ''),"
        " NULLIF(carrier_event_id, ''), ignored, at",
    ),
    "outbox": (
        "order_id, carrier, attempts, next_attempt_at, done_at, created_at",
        "order_id, carrier, attempts, next_attempt_at, NULLIF(done_at, ''), created_at",
    ),
    # Stock movements wait here to be written in time order; `t` is epoch seconds.
    "movements": ("t, product_id, delta, reason, order_id, actor, at", ""),
}
ROWS_PER_STATEMENT = 200
# The tables a seed fills by the million: their secondary indexes may be rebuilt at the end.
_BIG_TABLES = ("orders", "order_items", "status_events", "stock_movements", "outbox")


def connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    # A crash loses the whole seed transaction, never half of it: nothing to sync for.
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # up to 1 GB: index builds sort in memory
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")  # sorts for index builds
    return conn


@dataclass(frozen=True)
class ExistingData:
    """What a seed must fit around in the database it fills."""

    agents: dict[str, bool]  # name -> active
    admin: str | None  # the first active admin, who stocks the shelves
    products: dict[str, tuple[int, int]]  # sku -> (id, price in cents)
    last_product_id: int
    orders: int
    last_order_id: int
    last_ref_number: int  # highest N among refs PREFIX + digits of the seed's source


def existing_data(conn: sqlite3.Connection, source: str, ref_prefix: str) -> ExistingData:
    agents = {
        name: bool(active) for name, active in conn.execute("SELECT name, active FROM agents")
    }
    admin = conn.execute(
        """SELECT name FROM agents WHERE role = 'admin' AND active = 1
           ORDER BY created_at, name LIMIT 1"""
    ).fetchone()
    products = {
        sku: (product_id, price)
        for sku, product_id, price in conn.execute("SELECT sku, id, price_cents FROM products")
    }
    (last_product_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM products").fetchone()
    orders, last_id = conn.execute("SELECT count(*), COALESCE(MAX(id), 0) FROM orders").fetchone()
    (last_ref,) = conn.execute(
        """SELECT COALESCE(MAX(CAST(substr(ref, length(?) + 1) AS INTEGER)), 0)
           FROM orders WHERE source = ? AND ref GLOB ? || '[0-9]*'""",
        (ref_prefix, source, ref_prefix),
    ).fetchone()
    return ExistingData(
        agents,
        None if admin is None else admin[0],
        products,
        last_product_id,
        orders,
        last_id,
        last_ref,
    )


# --- Staging: run by each worker on its own file -------------------------------------------


def open_stage(path: Path) -> sqlite3.Connection:
    """Empty staging tables in the scratch file at `path`; the caller deletes the file."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = OFF")  # scratch: a crash means seeding again
    conn.execute("PRAGMA synchronous = OFF")
    for table, (columns, _) in _STAGES.items():
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({columns})")
    conn.execute("BEGIN")
    return conn


def stage(conn: sqlite3.Connection, table: str, values: Sequence[object]) -> None:
    """Append rows to a staging table; `values` is the rows' values end to end, flat."""
    columns = _STAGES[table][0]
    width = columns.count(",") + 1
    per_statement = width * ROWS_PER_STATEMENT
    full = len(values) - len(values) % per_statement
    if full:
        conn.executemany(
            _values_sql(table, columns, width, ROWS_PER_STATEMENT),
            (values[start : start + per_statement] for start in range(0, full, per_statement)),
        )
    if full < len(values):
        rest = values[full:]
        conn.execute(_values_sql(table, columns, width, len(rest) // width), rest)


def _values_sql(table: str, columns: str, width: int, rows: int) -> str:
    row = "(" + ", ".join("?" * width) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([row] * rows)


def close_stage(conn: sqlite3.Connection) -> None:
    conn.execute("COMMIT")
    conn.close()


# --- The seed's one transaction on the real database ---------------------------------------


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Several reads, one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """The seed's one `BEGIN IMMEDIATE` transaction: all of it lands, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the big tables' secondary indexes; their definitions, for `create_indexes`.

    They are read back from the schema, so any migration's indexes come back exactly as
    written, and a unique one that the new rows would break fails the seed.
    """
    marks = ",".join("?" * len(_BIG_TABLES))
    found = conn.execute(
        f"""SELECT name, sql FROM sqlite_schema
            WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({marks})
            ORDER BY name""",
        _BIG_TABLES,
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def create_indexes(conn: sqlite3.Connection, definitions: Sequence[str]) -> None:
    for sql in definitions:
        conn.execute(sql)


def attach_stages(conn: sqlite3.Connection, stages: Sequence[Path]) -> None:
    """Attach the staging files (outside any transaction: SQLite can't detach inside one)."""
    for index, path in enumerate(stages):
        conn.execute("ATTACH DATABASE ? AS ?", (str(path), f"stage{index}"))


def detach_stages(conn: sqlite3.Connection, stages: Sequence[Path]) -> None:
    for index in range(len(stages)):
        conn.execute("DETACH DATABASE ?", (f"stage{index}",))


def copy_stages(conn: sqlite3.Connection, stages: Sequence[Path]) -> None:
    """Copy the staged orders, items, events and outbox jobs, file by file, in row order."""
    for index in range(len(stages)):
        for table, (columns, values) in _STAGES.items():
            if values:
                conn.execute(
                    f"INSERT INTO main.{table} ({columns})"
                    f" SELECT {values} FROM stage{index}.{table} ORDER BY rowid"
                )


def copy_movements(conn: sqlite3.Connection, stages: Sequence[Path]) -> None:
    """Write the staged stock movements in time order (ledger ids follow time, as live)."""
    union = " UNION ALL ".join(
        f"SELECT t, product_id, delta, reason, order_id, actor, at FROM stage{index}.movements"
        for index in range(len(stages))
    )
    conn.execute(
        f"""INSERT INTO main.stock_movements (product_id, delta, reason, order_id, actor, at)
            SELECT product_id, delta, reason, NULLIF(order_id, 0), actor, at
            FROM ({union}) ORDER BY t, order_id, product_id"""
    )


def checkpoint(conn: sqlite3.Connection) -> None:
    """Fold the seed's write-ahead log into the file and shrink the log back."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def insert_agents(conn: sqlite3.Connection, rows: Sequence[tuple[str, str, str]]) -> None:
    """Rows of (name, role, created_at)."""
    conn.executemany("INSERT INTO agents (name, role, created_at) VALUES (?, ?, ?)", rows)


ProductRow = tuple[int, str, str, int, int, str]  # id, sku, name, price_cents, low, created_at


def insert_products(conn: sqlite3.Connection, rows: Sequence[ProductRow]) -> None:
    conn.executemany(
        """INSERT INTO products (id, sku, name, price_cents, low, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        rows,
    )


def insert_restock(
    conn: sqlite3.Connection, rows: Sequence[tuple[int, int]], actor: str, note: str, at: str
) -> None:
    """A `restock` movement of `units` for each (product id, units)."""
    conn.executemany(
        """INSERT INTO stock_movements (product_id, delta, reason, actor, note, at)
           VALUES (?, ?, 'restock', ?, ?, ?)""",
        [(product_id, units, actor, note, at) for product_id, units in rows],
    )


def add_on_hand(conn: sqlite3.Connection, deltas: Sequence[tuple[int, int]]) -> None:
    """Rows of (product id, delta): the net of the movements written for each product."""
    conn.executemany(
        "UPDATE products SET on_hand = on_hand + ? WHERE id = ?",
        [(delta, product_id) for product_id, delta in deltas],
    )


def set_low_marks(conn: sqlite3.Connection, marks: Sequence[tuple[int, int]]) -> None:
    """Rows of (product id, low-stock mark)."""
    conn.executemany(
        "UPDATE products SET low = ? WHERE id = ?", [(low, product_id) for product_id, low in marks]
    )


def flat(rows: Sequence[Sequence[object]]) -> list[object]:
    """Rows end to end, the shape `stage` takes."""
    return list(chain.from_iterable(rows))
