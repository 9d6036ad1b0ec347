"""The one module that knows how to talk to SQLite (DESIGN §3: the database is a backend).

Every process opens the file in WAL mode with a busy timeout and foreign keys on; writers take
the write lock up front (`BEGIN IMMEDIATE`) so that a transaction never fails half-way on a
lock upgrade.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from ..domain.errors import CodspotError, DatabaseError
from . import files

Row = sqlite3.Row
T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT_MS = 5000
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26

# Pages of 16 KiB rather than SQLite's 4 KiB: a million-order seed writes ~10% faster (fewer
# frames through the write-ahead log, shallower indexes), and the per-move and per-page
# figures of benchmarks/bench_core.py and bench_carriers.py stayed the same. Set on new files
# only: an existing database keeps the page size it was made with.
PAGE_SIZE = 16384


def migrations() -> list[tuple[int, str]]:
    """The shipped migrations as (version, SQL), in order."""
    found = []
    # The package is installed as files (never zipped): importlib.resources would only add
    # its import, and zipfile's, to every start.
    for entry in Path(__file__).with_name("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return migrations()[-1][0]


def _locked_message(error: sqlite3.OperationalError, timeout_ms: int) -> str | None:
    text = str(error)
    if "locked" in text or "busy" in text:
        return (
            f"the database is busy: another process held it for over {timeout_ms / 1000:g} s;"
            " try again"
        )
    return None


class Database:
    """An open codspot database. Use `await Database.open(path)`; close with `await db.close()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, busy_timeout_ms: int) -> None:
        self.conn = conn
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        # Set by `open`: a line saying that others can read the file, for the caller to show.
        self.too_open: str | None = None
        # One connection serves every task of a process; a transaction must not interleave.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        create: bool = False,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        share_group: bool = False,
    ) -> Database:
        """Open (or with `create`, make) the database at `path` and bring its schema up to date.

        What it creates (the file, its folder) gets the modes of customer data (see
        `files`), whatever the umask; an existing file keeps its mode.
        """
        path = Path(path).expanduser()
        file_mode, folder_mode = files.modes(share_group=share_group)
        if not create and not path.exists():
            raise DatabaseError(f"no database at {path}: run `codspot init` first")
        if path.exists() and path.is_dir():
            raise DatabaseError(f"{path} is a directory, not a database file")
        if create:
            try:
                files.make_folders(path.parent, folder_mode)
                files.make_file(path, file_mode)
            except OSError as error:
                made = error.filename or path
                raise DatabaseError(f"can't create {made}: {error.strerror}") from None
        too_open = files.too_open(path, share_group=share_group)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseError(f"can't open database {path}: {error}") from None
        conn.row_factory = sqlite3.Row
        db = cls(conn, path, busy_timeout_ms)
        db.too_open = too_open
        try:
            await db._configure()
            await db._migrate()
        except BaseException:
            await conn.close()
            raise
        return db

    async def _configure(self) -> None:
        def configure(conn: sqlite3.Connection) -> str:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            # A no-op unless the file is new and empty (and once in WAL mode, it is fixed).
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
            return mode

        try:
            mode = await self.read(configure)  # one hop to the database thread, not five
        except sqlite3.DatabaseError as error:
            raise DatabaseError(damaged_message(self.path, error)) from None
        if mode.lower() != "wal":
            raise DatabaseError(f"can't use write-ahead logging on {self.path} (got {mode})")

    async def _migrate(self) -> None:
        current = int(await self.scalar("PRAGMA user_version"))
        known = migrations()
        if current > known[-1][0]:
            raise DatabaseError(
                f"{self.path} was made by a newer codspot (schema {current}); upgrade codspot"
            )
        if current == 0 and await self.scalar(
            "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"
        ):
            raise DatabaseError(f"{self.path} is a SQLite file of something else, not codspot")
        for version, sql in known:
            if version <= current:
                continue
            async with self.transaction():
                # executescript would COMMIT our transaction; run statement by statement.
                for statement in _split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version = {version}")

    async def close(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One intent, one `BEGIN IMMEDIATE` transaction: readers never see half of it."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise DatabaseError(
                    _locked_message(error, self.busy_timeout_ms) or str(error)
                ) from None
            try:
                yield self.conn
            except BaseException as error:
                await self.conn.rollback()
                if damaged := damage_error(error, self.path):
                    raise damaged from None
                raise
            try:
                await self.conn.commit()
            except sqlite3.OperationalError as error:
                await self.conn.rollback()
                raise DatabaseError(
                    _locked_message(error, self.busy_timeout_ms) or str(error)
                ) from None

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in one `BEGIN IMMEDIATE` transaction on the database's own thread.

        A unit of many statements then costs one hop between the event loop and the
        database thread instead of one per statement (a hop is ~0.1-0.5 ms here), which is
        what makes a carrier batch of a thousand moves cheap. The loop never blocks.
        """
        async with self._write_lock:
            return await self._on_thread(partial(_in_transaction, work))

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run read-only `work` on the database thread, in one hop."""
        return await self._on_thread(work)

    async def _on_thread(self, work: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite runs each queued function on its thread, with its sqlite3 connection.
        raw: sqlite3.Connection = self.conn._conn
        try:
            result: T = await self.conn._execute(work, raw)  # type: ignore[no-untyped-call]
        except sqlite3.OperationalError as error:
            raise _as_codspot_error(error, self.busy_timeout_ms) from None
        except sqlite3.DatabaseError as error:
            # A page that does not read back is found on whichever query reaches it first.
            if damaged := damage_error(error, self.path):
                raise damaged from None
            raise
        return result

    # Reads outside a transaction: each statement sees one consistent snapshot. One hop to
    # the database thread each, where aiosqlite's cursor takes three (execute, fetch, close):
    # behind a busy writer every hop waits its turn, and the carrier worker's lanes wait
    # for their next page of due parcels.
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self.read(lambda conn: conn.execute(sql, params).fetchall())
        return rows

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = await self.read(lambda conn: conn.execute(sql, params).fetchone())
        return row

    async def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def data_version(self) -> int:
        """Changes whenever another connection commits: the cheap way to notice their writes."""
        return int(await self.scalar("PRAGMA data_version"))


def damage_error(error: BaseException, path: Path | str) -> DatabaseError | None:
    """What to say when SQLite found the file is not a database, or a page of it that does
    not read back; None for any other error."""
    code = getattr(error, "sqlite_errorcode", None)
    if not isinstance(error, sqlite3.DatabaseError) or code is None:
        return None
    if code & 0xFF not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return None
    return DatabaseError(damaged_message(path, error))


def damaged_message(path: Path | str, error: BaseException) -> str:
    quoted = shlex.quote(str(path))
    return (
        f"{path} is not a codspot database or is damaged ({error});"
        f' check it with: sqlite3 {quoted} "PRAGMA integrity_check"'
    )


def _as_codspot_error(error: sqlite3.OperationalError, timeout_ms: int) -> CodspotError:
    return DatabaseError(_locked_message(error, timeout_ms) or f"database error: {error}")


def _in_transaction(work: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _split_sql(script: str) -> Iterable[str]:
    """Statements of a migration file. Our migrations hold no semicolons inside literals."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    for statement in "\n".join(lines).split(";"):
        if statement.strip():
            yield statement
