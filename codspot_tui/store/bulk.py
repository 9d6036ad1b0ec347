"""Bulk writes for synthetic data (`services/seed.py`): stdlib sqlite3, no event loop.

A seed first writes its rows to throw-away staging files (plain tables, no constraints, no
indexes; each file has one writer, so the seed's processes never wait for each other), then
copies them into the database in one `BEGIN IMMEDIATE` transaction with `INSERT ... SELECT`,
which runs in SQLite's C code: other processes see the whole seed or none of it.

Why it is shaped like this (measured on the 2-core machine of `benchmarks/`):
- sqlite3 binds exact `int` and `str` directly but sends None (and `str` subclasses such as
  our enums) through its adapter protocol, several times slower: staged rows use '' and 0
  for NULL, turned back by `NULLIF` in the copy.
- One statement inserting many rows (`VALUES (...), (...)`) costs about half as much per row
  as `executemany` of a one-row statement.
- The copy skips the CHECK constraints (see `_checks_skipped`) and, for a big seed, the
  indexes it would fill in scattered order, built once at the end (see `drop_indexes`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .sql import placeholders, value_rows

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
MAX_STAGES = 9  # staging files attached at once: SQLite attaches at most 10 databases
# Indexes whose keys a seed's copy brings in scattered order (phone numbers, event times
# while events come in order by order): each new row lands on a random page, so a big seed
# drops them and builds them once at the end. The others (ids, statuses, created_at, the
# queue's few open orders) only grow at a few ends: keeping them costs less than a rebuild.
# Measured per index at a million orders; an index added later is kept (correct, if slower).
_SCATTERED_INDEXES = ("orders_by_phone", "confirmation_events_by_time")


def connect(path: Path, busy_timeout_ms: int, *, cache_mb: int = 64) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    # A crash loses the whole seed transaction, never half of it: nothing to sync for.
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(f"PRAGMA cache_size = -{int(cache_mb) * 1024}")  # the pages of a big copy
    conn.execute("PRAGMA temp_store = MEMORY")
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
    return f"INSERT INTO {table} ({columns}) VALUES {value_rows(rows, width)}"


def close_stage(conn: sqlite3.Connection) -> None:
    """Commit what was staged and close. After a failed write SQLite may have rolled the
    transaction back itself (it does on a full disk): a COMMIT then would only say "no
    transaction is active", in place of the failure on its way out."""
    try:
        if conn.in_transaction:
            conn.execute("COMMIT")
    finally:
        conn.close()


# --- The seed's one transaction on the real database ---------------------------------------


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Several reads, one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        _roll_back(conn)
        raise
    conn.execute("COMMIT")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """The seed's one `BEGIN IMMEDIATE` transaction: all of it lands, or none."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise


def _roll_back(conn: sqlite3.Connection) -> None:
    """Undo what is left of a failed transaction without hiding why it failed: SQLite may
    have rolled back already ("database or disk is full" does), and a ROLLBACK would then
    raise "no transaction is active" in place of the cause."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def drop_indexes(conn: sqlite3.Connection) -> list[str]:
    """Drop the indexes a big copy would fill in scattered order (`_SCATTERED_INDEXES`);
    their definitions, read back from the schema, for `create_indexes` after the copy."""
    found = conn.execute(
        f"""SELECT name, sql FROM sqlite_schema
            WHERE type = 'index' AND sql IS NOT NULL
              AND name IN ({placeholders(_SCATTERED_INDEXES)}) ORDER BY name""",
        _SCATTERED_INDEXES,
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


def create_indexes(conn: sqlite3.Connection, definitions: Sequence[str]) -> None:
    for sql in definitions:
        conn.execute(sql)


def copy_stage(conn: sqlite3.Connection, index: int, path: Path) -> None:
    """Attach staging file number `index` and copy its orders, items, events and outbox jobs
    in row order. Inside the seed's transaction: a file is attached once it is complete (its
    writer would find it locked otherwise), and detached after the commit."""
    name = f"stage{index}"
    conn.execute("ATTACH DATABASE ? AS ?", (str(path), name))
    with _checks_skipped(conn):
        for table, (columns, values) in _STAGES.items():
            if values:
                conn.execute(
                    f"INSERT INTO main.{table} ({columns})"
                    f" SELECT {values} FROM {name}.{table} ORDER BY rowid"
                )


def detach_stages(conn: sqlite3.Connection, count: int) -> None:
    for index in range(count):
        conn.execute("DETACH DATABASE ?", (f"stage{index}",))


@contextmanager
def _checks_skipped(conn: sqlite3.Connection) -> Iterator[None]:
    """Copy without evaluating CHECK constraints: SQLite 3.40 rebuilds each `IN (...)` list
    for every row, which costs more than the copy itself (5 us of 8 per order).

    The staged rows come from the domain's own enums and tables; tests/test_seed.py runs
    `PRAGMA integrity_check`, which evaluates every CHECK, on seeded databases.
    """
    conn.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        conn.execute("PRAGMA ignore_check_constraints = OFF")


def copy_movements(conn: sqlite3.Connection, count: int) -> None:
    """Write the stock movements of the `count` attached staging files in time order (ledger
    ids follow time, as they do live)."""
    union = " UNION ALL ".join(
        f"SELECT t, product_id, delta, reason, order_id, actor, at FROM stage{index}.movements"
        for index in range(count)
    )
    with _checks_skipped(conn):
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
