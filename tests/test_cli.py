"""The command-line contract: commands, JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from codspot_tui.cli import main
from codspot_tui.cli_dashboard import DEMO_ORDERS, DEMO_TOP_UP
from codspot_tui.services.bundle import Services
from codspot_tui.settings import Settings
from codspot_tui.store.db import PAGE_SIZE

ORDER_KEYS = {
    "ref",
    "source",
    "created_at",
    "customer",
    "phone",
    "city",
    "address",
    "delivery",
    "note",
    "tracking",
    "confirmation",
    "shipping",
    "sync",
    "attempts",
    "last_attempt_at",
    "callback_at",
    "assigned_to",
    "claimed_by",
    "duplicate_of",
    "total",
    "items",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


Run = Callable[..., Result]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """`codspot ARGS` in this process, as agent `boss` on a fresh database file."""
    config = tmp_path / "config.toml"
    config.write_text('region = "MA"\n')
    monkeypatch.setenv("CODSPOT_DB", str(tmp_path / "shop.db"))
    monkeypatch.setenv("CODSPOT_CONFIG", str(config))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")

    def invoke(*args: str, agent: str | None = None) -> Result:
        if agent:
            monkeypatch.setenv("CODSPOT_AGENT", agent)
        try:
            with pytest.raises(SystemExit) as exit_info:
                main(list(args))
        finally:
            monkeypatch.setenv("CODSPOT_AGENT", "boss")
        captured = capsys.readouterr()
        return Result(int(exit_info.value.code or 0), captured.out, captured.err)

    return invoke


@pytest.fixture
def shop(run: Run, tmp_path: Path) -> Run:
    """An initialised shop: admin boss, agent karim, two products, three orders."""
    assert run("init").code == 0
    assert run("agents", "add", "karim", "--role", "agent").code == 0
    assert (
        run(
            "products",
            "add",
            "ARGAN-100",
            "--name",
            "Argan oil",
            "--price",
            "199",
            "--stock",
            "3",
            "--low",
            "1",
        ).code
        == 0
    )
    assert (
        run(
            "products",
            "add",
            "SAVON-NOIR",
            "--name",
            "Black soap",
            "--price",
            "45.50",
            "--stock",
            "10",
        ).code
        == 0
    )
    db = sqlite3.connect(tmp_path / "shop.db")
    products = dict(db.execute("SELECT sku, id FROM products"))
    for ref, delivery, qty in (("A1", "sandbox", 2), ("A2", "local", 1), ("A3", "sandbox", 5)):
        cursor = db.execute(
            """INSERT INTO orders (ref, source, created_at, customer, phone, city, address,
                                   delivery, total_cents, updated_at)
               VALUES (?, 'shop', '2026-11-27T10:00:00Z', 'Karima', '+212612345678',
                       'Rabat', '1 rue X', ?, ?, '2026-11-27T10:00:00Z')""",
            (ref, delivery, qty * 19900),
        )
        db.execute(
            "INSERT INTO order_items VALUES (?, 1, ?, ?, 19900)",
            (cursor.lastrowid, products["ARGAN-100"], qty),
        )
    db.commit()
    db.close()
    return run


def one_line(result: Result) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    return lines[0]


def test_init_makes_the_current_agent_admin(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    # The command's clock, held at 09:15:30 one hour east of UTC: the agent was made then.
    at = datetime(2026, 11, 27, 9, 15, 30, tzinfo=timezone(timedelta(hours=1)))
    open_services = Services.open

    async def open_at(path: Path, settings: Settings, *, create: bool = False) -> Services:
        return await open_services(path, settings, create=create, clock=lambda: at)

    monkeypatch.setattr(Services, "open", staticmethod(open_at))
    first = run("init")
    assert first.code == 0 and "boss is admin" in first.out
    listed = run("agents", "list", "--json")
    assert listed.json() == [
        {"name": "boss", "role": "admin", "active": True, "created_at": "2026-11-27T08:15:30Z"}
    ]


def test_init_makes_a_database_many_processes_can_share(run: Run, tmp_path: Path) -> None:
    assert run("init").code == 0
    db = sqlite3.connect(tmp_path / "shop.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    finally:
        db.close()


def test_init_does_not_hand_an_existing_database_to_a_stranger(run: Run) -> None:
    run("init")
    result = run("init", agent="mallory")
    assert result.code == 3
    assert "already has agents" in one_line(result)


def test_commands_need_a_database_first(run: Run) -> None:
    result = run("orders", "list")
    assert result.code == 1
    assert "codspot init" in one_line(result)


def test_unknown_agent_is_refused(shop: Run) -> None:
    result = shop("orders", "list", agent="stranger")
    assert result.code == 3
    assert "unknown agent 'stranger'" in one_line(result)


def test_only_admins_add_agents_and_products_and_adjust(shop: Run) -> None:
    for args in (
        ("agents", "add", "x"),
        ("products", "add", "NEW", "--name", "n"),
        ("stock", "adjust", "ARGAN-100", "5", "--reason", "count"),
    ):
        result = shop(*args, agent="karim")
        assert result.code == 3, args
        assert "only an admin" in one_line(result)


def test_stock_list_and_adjust_and_history(shop: Run) -> None:
    listed = shop("stock", "list", "--json").json()
    assert listed[0] == {
        "sku": "ARGAN-100",
        "name": "Argan oil",
        "on_hand": 3,
        "low": 1,
        "price": 199.0,
    }
    assert shop("stock", "adjust", "SAVON-NOIR", "-4", "--reason", "broken jars").code == 0
    assert shop("stock", "adjust", "SAVON-NOIR", "12", "--reason", "delivery").code == 0
    below = shop("stock", "adjust", "SAVON-NOIR", "-100", "--reason", "typo")
    assert below.code == 3 and "below zero" in one_line(below)
    history = shop("stock", "history", "SAVON-NOIR", "--json").json()
    assert [(m["delta"], m["reason"], m["note"]) for m in history] == [
        (12, "adjust", "delivery"),
        (-4, "adjust", "broken jars"),
        (10, "restock", "initial stock"),
    ]
    assert shop("stock", "list", "--json").json()[1]["on_hand"] == 18
    assert shop("stock", "history", "NOPE").code == 4


def test_orders_list_show_shapes(shop: Run) -> None:
    listed = shop("orders", "list", "--json").json()
    assert [order["ref"] for order in listed] == ["A3", "A2", "A1"]
    assert set(listed[0]) == ORDER_KEYS
    assert listed[0]["shipping"] is None and listed[0]["sync"] is None
    assert listed[0]["items"] == [{"sku": "ARGAN-100", "qty": 5, "price": 199.0}]
    shown = shop("orders", "show", "A1", "--json").json()
    assert set(shown) == ORDER_KEYS | {"events"}
    assert shown["events"] == []
    assert shop("orders", "show", "NOPE").code == 4
    limited = shop("orders", "list", "--limit", "1", "--json").json()
    assert len(limited) == 1


def test_orders_list_filters(shop: Run) -> None:
    assert shop("orders", "set", "A2", "--confirmation", "confirmed").code == 0
    confirmed = shop("orders", "list", "--confirmation", "confirmed", "--json").json()
    assert [o["ref"] for o in confirmed] == ["A2"]
    several = shop("orders", "list", "--confirmation", "new,confirmed", "--json").json()
    assert len(several) == 3
    created = shop("orders", "list", "--shipping", "created", "--json").json()
    assert [o["ref"] for o in created] == ["A2"]
    assert shop("orders", "list", "--search", "A3", "--json").json()[0]["ref"] == "A3"
    assert shop("orders", "list", "--search", "100%_'\"", "--json").json() == []
    bad = shop("orders", "list", "--shipping", "lost")
    assert bad.code == 2 and "unknown shipping status 'lost'" in one_line(bad)


def test_confirming_takes_stock_and_queues_the_parcel(shop: Run) -> None:
    result = shop("orders", "set", "A1", "--confirmation", "confirmed", agent="karim")
    assert result.code == 0, result.err
    shown = shop("orders", "show", "A1", "--json").json()
    assert (shown["confirmation"], shown["shipping"], shown["sync"]) == (
        "confirmed",
        "created",
        "pending",
    )
    assert shown["events"][0] | {"at": None} == {
        "kind": "confirmation",
        "from": "new",
        "to": "confirmed",
        "actor": "agent:karim",
        "source": "manual",
        "note": None,
        "at": None,
        "ignored": False,
    }
    # Shipping changed too, from nothing: a row of its own, in the same move.
    assert shown["events"][1] == shown["events"][0] | {
        "kind": "shipping",
        "from": None,
        "to": "created",
    }
    assert "shipping: - -> created  by agent:karim (manual)" in shop("orders", "show", "A1").out
    assert shop("stock", "list", "--json").json()[0]["on_hand"] == 1


def test_refusals_exit_3_with_the_reason(shop: Run) -> None:
    short = shop("orders", "set", "A3", "--confirmation", "confirmed")
    assert short.code == 3
    assert one_line(short) == "codspot: Stock short: ARGAN-100 has 3, order A3 needs 5"
    assert shop("orders", "set", "A1", "--confirmation", "fake").code == 0
    locked = shop("orders", "set", "A1", "--confirmation", "confirmed")
    assert locked.code == 3 and "closed" in one_line(locked)
    unconfirmed = shop("orders", "set", "A2", "--shipping", "fulfilled")
    assert unconfirmed.code == 3 and "not confirmed" in one_line(unconfirmed)
    shop("orders", "set", "A2", "--confirmation", "confirmed")
    carriers_move = shop("orders", "set", "A2", "--shipping", "delivered")
    assert carriers_move.code == 0, "local delivery: the operator makes every move"


def test_shipped_is_the_carriers_move_not_an_operators(shop: Run) -> None:
    shop("orders", "set", "A1", "--confirmation", "confirmed")
    result = shop("orders", "set", "A1", "--shipping", "shipped")
    assert result.code == 3
    assert "created to shipped" in one_line(result)


def test_force_is_for_admins_with_a_note(shop: Run) -> None:
    no_note = shop("orders", "set", "A3", "--confirmation", "confirmed", "--force")
    assert no_note.code == 2 and "note" in one_line(no_note)
    agent = shop(
        "orders",
        "set",
        "A3",
        "--confirmation",
        "confirmed",
        "--force",
        "--note",
        "x",
        agent="karim",
    )
    assert agent.code == 3 and "only an admin" in one_line(agent)
    forced = shop(
        "orders",
        "set",
        "A3",
        "--confirmation",
        "confirmed",
        "--force",
        "--note",
        "stock arriving today",
    )
    assert forced.code == 0, forced.err
    events = shop("orders", "show", "A3", "--json").json()["events"]
    assert (events[0]["source"], events[0]["note"]) == ("forced", "stock arriving today")
    assert shop("stock", "list", "--json").json()[0]["on_hand"] == -2


def test_call_later_needs_a_time(shop: Run) -> None:
    missing = shop("orders", "set", "A1", "--confirmation", "call_later")
    assert missing.code == 2 and "--callback-at" in one_line(missing)
    garbled = shop("orders", "set", "A1", "--confirmation", "call_later", "--callback-at", "soon")
    assert garbled.code == 2 and "ISO 8601" in one_line(garbled)
    stray = shop("orders", "set", "A1", "--confirmation", "fake", "--callback-at", "2099-01-01")
    assert stray.code == 2
    later = shop(
        "orders", "set", "A1", "--confirmation", "call_later", "--callback-at", "2099-01-01T10:00Z"
    )
    assert later.code == 0
    shown = shop("orders", "show", "A1", "--json").json()
    assert shown["callback_at"] == "2099-01-01T10:00:00Z"
    assert shown["confirmation"] == "call_later"


def test_usage_errors_exit_2_on_one_line(shop: Run) -> None:
    for args in (
        ("orders", "set", "A1"),
        ("orders", "set", "A1", "--confirmation", "fake", "--shipping", "created"),
        ("orders", "frobnicate"),
        ("--no-such-option",),
        ("stock", "adjust", "ARGAN-100", "many", "--reason", "x"),
        ("products", "add", "X", "--name", "x", "--price", "abc"),
        ("products", "add", "X", "--name", "x", "--price", "1.999"),
    ):
        result = shop(*args)
        assert result.code == 2, args
        one_line(result)


def test_next_claims_the_queue_in_order(shop: Run) -> None:
    first = shop("orders", "next", "--json").json()
    assert first["ref"] == "A1" and first["claimed_by"] == "boss"  # type: ignore[index]
    theirs = shop("orders", "next", "--json", agent="karim").json()
    assert theirs["ref"] == "A2"  # type: ignore[index]
    taken = shop("orders", "set", "A1", "--confirmation", "fake", agent="karim")
    assert taken.code == 3 and "being handled by boss" in one_line(taken)


def test_hostile_text_is_stored_verbatim(shop: Run) -> None:
    name = 'Robert\'); DROP TABLE orders;-- "quoted" é'
    assert shop("products", "add", "EVIL-1", "--name", name).code == 0
    skus = {p["sku"]: p["name"] for p in shop("stock", "list", "--json").json()}
    assert skus["EVIL-1"] == name
    assert shop("orders", "list", "--json").code == 0
    control = shop("products", "add", "EVIL-2", "--name", "bell\x07")
    assert control.code == 2 and "control characters" in one_line(control)
    long_name = shop("products", "add", "EVIL-3", "--name", "x" * 5000)
    assert long_name.code == 2
    escape = shop("orders", "set", "A1", "--confirmation", "fake", "--note", "\x1b[2J wiped")
    assert escape.code == 2 and "control characters" in one_line(escape)
    assert shop("orders", "show", "A1", "--json").json()["confirmation"] == "new"
    quoted = shop("orders", "set", "A1", "--confirmation", "fake", "--note", name)
    assert quoted.code == 0
    assert shop("orders", "show", "A1", "--json").json()["events"][0]["note"] == name


def test_kpi_figures(shop: Run) -> None:
    shop("orders", "set", "A1", "--confirmation", "confirmed")
    shop("orders", "set", "A2", "--confirmation", "confirmed")
    shop("orders", "set", "A3", "--confirmation", "canceled")
    shop("orders", "set", "A2", "--shipping", "delivered")
    figures = shop("kpi", "--json").json()
    assert figures["orders"] == 3
    assert figures["confirmation_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["delivery_rate"] == 1.0
    assert figures["return_rate"] == 0.0
    assert figures["cash_delivered"] == 199.0
    assert figures["cash_pending"] == 398.0


def test_a_path_that_is_not_a_database(run: Run, tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is a text file, not sqlite" * 100)
    result = run("--db", str(junk), "stock", "list")
    assert result.code == 1 and "not a codspot database" in one_line(result)
    assert junk.read_bytes().startswith(b"this is a text file")
    folder = run("--db", str(tmp_path), "init")
    assert folder.code == 1 and "directory" in one_line(folder)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    foreign = run("--db", str(other), "init")
    assert foreign.code == 1 and "something else" in one_line(foreign)


def test_a_bad_settings_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    for text, expected in (
        ("dispatch = 'random'", "dispatch must be one of"),
        ("max_attempts = -1", "max_attempts"),
        ("region = 'XX'", "region"),
        ("colour = 'red'", "unknown setting 'colour'"),
        ("this is not toml", "not valid TOML"),
        ("[carriers.fast]\nkind = 'pigeon'\nurl = 'http://x'", "kind must be one of"),
        (
            "[carriers.sendit]\nkind = 'sendit'\nurl = 'https://x'\npublic_key = 'p'",
            "kind sendit needs secret_key",
        ),
        (
            "[carriers.ozon]\nkind = 'ozon'\nurl = 'https://x'\ncustomer_id = '7'\napikey = 'k'",
            "unknown setting 'apikey' (kind ozon takes customer_id, api_key)",
        ),
        (
            "[carriers.s]\nkind = 'sandbox'\nurl = 'http://x'\ntoken = ''",
            "token must be text, not empty",
        ),
    ):
        bad.write_text(text)
        result = run("--config", str(bad), "init")
        assert result.code == 2, text
        assert expected in one_line(result), text
    missing = run("--config", str(tmp_path / "nope.toml"), "init")
    assert missing.code == 2 and "does not exist" in one_line(missing)


def test_a_locked_database_waits_then_says_so(shop: Run, tmp_path: Path) -> None:
    config = tmp_path / "impatient.toml"
    config.write_text("busy_timeout_ms = 300\n")
    holder = sqlite3.connect(tmp_path / "shop.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = shop("--config", str(config), "orders", "set", "A1", "--confirmation", "fake")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.code == 1
    assert "busy" in one_line(result)
    assert shop("orders", "show", "A1", "--json").json()["confirmation"] == "new"


def test_the_installed_entry_point_runs(tmp_path: Path) -> None:
    env = {
        "CODSPOT_DB": str(tmp_path / "x.db"),
        "CODSPOT_AGENT": "boss",
        "CODSPOT_CONFIG": str(tmp_path / "none.toml"),
        "PATH": "",
    }
    (tmp_path / "none.toml").write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "codspot_tui", "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "codspot_tui", "orders", "show", "Z"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 4
    assert refused.stderr.strip() == "codspot: no order 'Z'"


def test_the_demo_command_builds_the_shop_then_tops_it_up(run: Run, tmp_path: Path) -> None:
    """Each demo starts a new sandbox carrier, which knows no parcel handed to the last one:
    a shop reused with nothing left to hand over gets a day of orders. What waits for the
    worker depends on the hour: `test_demo_hours.py` builds the demo at fixed clocks."""

    def orders() -> int:
        with sqlite3.connect(tmp_path / "shop.db") as conn:
            return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])

    built = run("demo", "--tour")
    assert built.code == 0 and "Building the demo shop" in built.out
    assert "Confirmation queue:" in built.out and "On the road" in built.out
    assert orders() == DEMO_ORDERS

    with sqlite3.connect(tmp_path / "shop.db") as conn:  # as if a demo handed them all over
        conn.execute("UPDATE outbox SET done_at = next_attempt_at WHERE done_at IS NULL")
    topped_up = run("demo", "--tour")
    assert topped_up.code == 0 and "Adding a day of orders" in topped_up.out
    assert orders() == DEMO_ORDERS + DEMO_TOP_UP
