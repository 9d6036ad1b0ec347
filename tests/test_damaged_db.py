"""A damaged database file and a full disk are said as what they are, in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codspot_tui.cli import main
from codspot_tui.store import bulk
from codspot_tui.store.db import PAGE_SIZE


def run(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), *args])
    return int(done.value.code or 0), capsys.readouterr().err


@pytest.fixture
def shop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A real codspot database with a few hundred orders, every page written to the file."""
    config = tmp_path / "config.toml"
    config.write_text('region = "MA"\n')
    monkeypatch.setenv("CODSPOT_CONFIG", str(config))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    db = tmp_path / "shop.db"
    assert run(capsys, db, "init")[0] == 0
    assert run(capsys, db, "seed", "--orders", "300")[0] == 0
    assert not db.with_name("shop.db-wal").exists()  # folded into the file by the last close
    return db


def said_damaged(db: Path, err: str) -> bool:
    return (
        err.count("\n") == 1
        and err.startswith(f"codspot: {db} is not a codspot database or is damaged (")
        and err.endswith(f'); check it with: sqlite3 {db} "PRAGMA integrity_check"\n')
    )


def test_a_file_of_garbage_is_not_a_codspot_database(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = shop.with_name("junk.db")
    junk.write_bytes(bytes(range(256)) * 400)
    code, err = run(capsys, junk, "orders", "list")
    assert code == 1
    assert said_damaged(junk, err), err


def test_a_truncated_database_is_said_damaged(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with shop.open("r+b") as file:
        file.truncate(shop.stat().st_size // 2)
    code, err = run(capsys, shop, "orders", "list")
    assert code == 1
    assert said_damaged(shop, err), err


@pytest.mark.parametrize("command", [("orders", "list", "--limit", "500"), ("kpi",)])
def test_damaged_pages_found_by_a_query_are_said_damaged(
    shop: Path, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    # The header and the schema page are sound, so the file opens; the pages after them,
    # where the orders live, are garbage, found only when a query reads them.
    with shop.open("r+b") as file:
        file.seek(2 * PAGE_SIZE)
        file.write(b"\xa5" * (shop.stat().st_size - 2 * PAGE_SIZE))
    code, err = run(capsys, shop, *command)
    assert code == 1
    assert said_damaged(shop, err), err
    assert "unexpected" not in err


def test_a_seed_onto_a_full_disk_says_the_disk_is_full(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's page limit stands in for the disk: SQLITE_FULL, the error a full disk gives.
    real_connect = bulk.connect

    def connect_to_a_nearly_full_disk(path: Path, busy_timeout_ms: int, **kw: int) -> object:
        conn = real_connect(path, busy_timeout_ms, **kw)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        return conn

    monkeypatch.setattr(bulk, "connect", connect_to_a_nearly_full_disk)
    before = shop.read_bytes()
    code, err = run(capsys, shop, "seed", "--orders", "3000", "--seed", "2")
    assert (code, err) == (1, f"codspot: database error on {shop}: database or disk is full\n")
    assert shop.read_bytes() == before  # none of the seed landed


def test_a_seed_whose_staging_fills_the_disk_says_the_disk_is_full(
    shop: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The staging files sit beside the database, on the same disk: they fill it first.
    real_open_stage = bulk.open_stage

    def open_stage_on_a_full_disk(path: Path) -> sqlite3.Connection:
        conn = real_open_stage(path)
        conn.execute("PRAGMA max_page_count = 8")
        return conn

    monkeypatch.setattr(bulk, "open_stage", open_stage_on_a_full_disk)
    code, err = run(capsys, shop, "seed", "--orders", "3000", "--seed", "2")
    assert (code, err) == (1, f"codspot: database error on {shop}: database or disk is full\n")
    assert list(shop.parent.glob(".codspot-seed-*")) == []  # the staging files are gone
