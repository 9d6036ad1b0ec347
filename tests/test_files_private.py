"""Customer data is private: the database, its -wal and -shm, and the folders made for it are
the owner's alone (or the group's too, with share_group), whatever the umask; an existing file
open to others is said once, with the chmod that fixes it, and left as it is."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from codspot_tui.cli import main
from codspot_tui.cli_session import opened_services
from codspot_tui.settings import Settings


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask, under which SQLite alone would make the files 0644."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def held_open(db: Path) -> Iterator[None]:
    """Another connection on the file: the last one to close deletes the -wal and -shm, and
    they are what is looked at."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("SELECT count(*) FROM agents").fetchone()
        yield
    finally:
        conn.close()


def run(capsys: pytest.CaptureFixture[str], db: Path, config: Path, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(["--db", str(db), "--config", str(config), *args])
    return int(done.value.code or 0), capsys.readouterr().err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    path = tmp_path / "config.toml"
    path.write_text('region = "MA"\n')
    return path


def test_init_makes_the_database_its_log_and_its_folders_private(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "data" / "shop" / "shop.db"
    code, err = run(capsys, db, config, "init")
    assert (code, err) == (0, "")
    with held_open(db):
        code, _ = run(capsys, db, config, "products", "add", "ARGAN", "--name", "Argan oil")
        assert code == 0
        wal, shm = db.with_name("shop.db-wal"), db.with_name("shop.db-shm")
        modes = {p.name: mode(p) for p in (db, wal, shm)}
    assert modes == {
        "shop.db": 0o600,
        "shop.db-wal": 0o600,
        "shop.db-shm": 0o600,
    }
    assert mode(tmp_path / "data") == mode(tmp_path / "data" / "shop") == 0o700


def test_share_group_gives_the_group_the_files_and_a_setgid_folder(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text('region = "MA"\nshare_group = true\n')
    db = tmp_path / "home" / ".local" / "team" / "shop.db"
    code, err = run(capsys, db, config, "init")
    assert (code, err) == (0, "")
    with held_open(db):
        code, _ = run(capsys, db, config, "products", "add", "ARGAN", "--name", "Argan oil")
        assert code == 0
        for path in (db, db.with_name("shop.db-wal"), db.with_name("shop.db-shm")):
            assert mode(path) == 0o660, path.name
    # Group read and write, survived a umask that takes group write away; setgid, so what
    # anyone of the team makes in it takes the folder's group.
    assert mode(db.parent) == 0o2770
    # The folders above it are the owner's business: a teammate who could write to ~/.local
    # could put a program in ~/.local/bin.
    assert mode(tmp_path / "home") == mode(tmp_path / "home" / ".local") == 0o700

    # The rejects of an import are the team's too.
    leads = db.parent / "leads.csv"
    leads.write_text("ref,phone,sku\nL1,0612345678,NOPE\n")
    code, _ = run(capsys, db, config, "import", str(leads))
    assert mode(db.parent / "leads.rejects.csv") == 0o660


def test_an_existing_database_others_can_read_is_said_once_and_left_alone(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "shop.db"
    assert run(capsys, db, config, "init")[0] == 0
    db.chmod(0o644)
    code, err = run(capsys, db, config, "orders", "list")
    assert code == 0
    assert err == (
        f"codspot: warning: {db} holds customer data and other users can open it (mode 644);"
        f" to fix: chmod 600 {db}\n"
    )
    assert mode(db) == 0o644  # never changed behind the person's back


async def test_a_process_opening_the_database_several_times_warns_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    async with opened_services(db, Settings(), create=True):
        pass
    db.chmod(0o640)
    # As the demo does: the build, the dashboard and its carrier worker, each a connection.
    async with opened_services(db, Settings()), opened_services(db, Settings()):
        pass
    async with opened_services(db, Settings()):
        pass
    assert capsys.readouterr().err == (
        f"codspot: warning: {db} holds customer data and its group can open it (mode 640);"
        f" to fix: chmod 600 {db}\n"
    )


def test_a_group_readable_file_is_what_share_group_asks_for(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config.write_text('region = "MA"\nshare_group = true\n')
    db = tmp_path / "shop.db"
    assert run(capsys, db, config, "init")[0] == 0
    db.chmod(0o640)
    assert run(capsys, db, config, "orders", "list") == (0, "")
    db.chmod(0o664)
    code, err = run(capsys, db, config, "orders", "list")
    assert code == 0 and err.endswith(f"to fix: chmod 660 {db}\n")
