"""Text from outside (the database, a carrier) reaches the terminal shown, never obeyed."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codspot_tui.cli import main
from codspot_tui.cli_carriers import TerminalFormatter
from codspot_tui.domain.text import for_terminal, json_for_terminal, printable

# An OSC that sets the terminal's title, a C1 CSI (ESC [ in one character) that clears the
# screen, a bidi override that turns "exe.png" into what looks like "gnp.exe", and friends.
TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x9b2J"
RLO = "\u202egnp.exe"
HOSTILE = {
    "customer": f"Karima{TITLE}",
    "city": f"Rabat{CLEAR}",
    "address": f"1 rue {RLO}",
    "note": "call\u2066 her\u2069\r\x85",
    "tracking": f"SB-1{TITLE}",
}
# Whatever a terminal acts on, or uses to hide or reorder text: none may be printed raw.
UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u200b\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff"
    "\U000e0000-\U000e007f]"
)


def test_for_terminal_escapes_what_a_terminal_would_obey() -> None:
    assert for_terminal(TITLE + CLEAR + RLO) == "\\x1b]0;pwned\\x07\\x9b2J\\u202egnp.exe"
    assert (
        for_terminal("a\u200bb\ufeffc\u2028d\U000e0041") == "a\\u200bb\\ufeffc\\u2028d\\U000e0041"
    )
    assert for_terminal("\x7f\x00\r") == "\\x7f\\x00\\x0d"
    # Shown as nothing: a name of Hangul fillers looks empty, a soft hyphen hides in a word.
    assert for_terminal("\u3164\u3164 Ka\u00adrim\u034f") == "\\u3164\\u3164 Ka\\xadrim\\u034f"
    # Tabs and newlines lay text out; joiners and direction marks shape Arabic and Persian.
    kept = "Rue 12\tB\n\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u200f(2)\u200e é 🚚"
    assert for_terminal(kept) is kept


@given(st.text())
def test_nothing_a_terminal_obeys_survives_and_json_stays_exact(text: str) -> None:
    assert not UNSAFE.search(for_terminal(text))
    dumped = json_for_terminal(json.dumps({"t": text}, ensure_ascii=False))
    assert not UNSAFE.search(dumped)
    assert json.loads(dumped) == {"t": text}


def test_a_carriers_words_are_stored_without_what_a_terminal_would_obey() -> None:
    said = printable(f"Colis {TITLE}livré{CLEAR} à {RLO}\u200b\ufeff ok")
    assert said == "Colis ]0;pwned livré 2J à gnp.exe ok"
    assert not UNSAFE.search(said)


def test_the_worker_log_shows_a_carriers_words_escaped() -> None:
    record = logging.LogRecord("codspot", logging.WARNING, __file__, 1, "said %s", (RLO,), None)
    assert TerminalFormatter("%(message)s").format(record) == "said \\u202egnp.exe"


# --- the command line --------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


@pytest.fixture
def shop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Path:
    """A shop whose file someone wrote hostile text into, by hand, around the checks."""
    config = tmp_path / "config.toml"
    config.write_text('region = "MA"\n')
    monkeypatch.setenv("CODSPOT_DB", str(tmp_path / "shop.db"))
    monkeypatch.setenv("CODSPOT_CONFIG", str(config))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    assert run(capsys, "init")[0] == 0
    assert run(capsys, "products", "add", "ARGAN", "--name", "Argan", "--price", "199")[0] == 0
    db = sqlite3.connect(tmp_path / "shop.db")
    with db:
        order = db.execute(
            """INSERT INTO orders (ref, source, created_at, customer, phone, city, address,
                                   delivery, note, confirmation, shipping, tracking, sync,
                                   total_cents, updated_at)
               VALUES ('H1', 'shop', '2026-11-27T10:00:00Z', :customer, '+212612345678', :city,
                       :address, 'sandbox', :note, 'confirmed', 'shipped', :tracking, 'synced',
                       19900, '2026-11-27T10:00:00Z')""",
            HOSTILE,
        ).lastrowid
        db.execute("INSERT INTO order_items VALUES (?, 1, 1, 1, 19900)", (order,))
        db.execute(
            """INSERT INTO status_events (order_id, kind, from_status, to_status, actor, source,
                                          note, raw_status, at)
               VALUES (?, 'shipping', 'created', 'shipped', 'carrier:sandbox', 'carrier', ?, ?,
                       '2026-11-27T11:00:00Z')""",
            (order, f"picked up{TITLE}", f"PICKED{CLEAR}"),
        )
        db.execute(
            """INSERT INTO carrier_health (carrier, last_error, last_error_at)
               VALUES ('sandbox', ?, '2026-11-27T12:00:00Z')""",
            (f"HTTP 500: {TITLE}{CLEAR}{RLO}",),
        )
    db.close()
    return tmp_path / "shop.db"


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("orders", "show", "H1"), ("Karima\\x1b]0;pwned\\x07", "Rabat\\x9b2J", "\\u202egnp.exe")),
        (("orders", "list"), ("Karima\\x1b]0;pwned\\x07", "Rabat\\x9b2J")),
        (("carriers", "status"), ("HTTP 500: \\x1b]0;pwned\\x07\\x9b2J\\u202egnp.exe",)),
    ],
    ids=["show", "list", "carriers"],
)
def test_listings_show_control_characters_instead_of_obeying_them(
    shop: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], shown: tuple[str, ...]
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert not UNSAFE.search(out), out
    for text in shown:
        assert text in out
    if args[1] == "list":  # columns measured as shown: the phone's starts under its header
        header, row = out.splitlines()
        assert row.index("+212612345678") == header.index("phone")
    if args[1] == "show":
        assert "SB-1\\x1b]0;pwned\\x07" in out  # the tracking number
        assert "picked up\\x1b]0;pwned\\x07" in out  # the timeline's note


def test_json_output_is_the_stored_text_exactly(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "orders", "show", "H1", "--json")
    assert code == 0
    assert not UNSAFE.search(out)
    order = json.loads(out)
    assert {name: order[name] for name in HOSTILE} == HOSTILE
    assert order["events"][-1]["note"] == f"picked up{TITLE}"
    code, out, _ = run(capsys, "carriers", "status", "--json")
    assert not UNSAFE.search(out)
    assert json.loads(out)[0]["last_error"] == f"HTTP 500: {TITLE}{CLEAR}{RLO}"


def test_a_one_line_error_shows_what_it_quotes(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = sqlite3.connect(shop)
    with db:  # an order claimed by someone whose name was written in by hand
        db.execute(
            """INSERT INTO orders (ref, source, created_at, customer, phone, city, address,
                                   delivery, claimed_by, claim_expires_at, updated_at)
               VALUES ('H2', 'shop', '2026-11-27T10:00:00Z', 'Salma', '+212612345679', 'Fes',
                       '2 rue', 'local', ?, '2999-01-01T00:00:00Z', '2026-11-27T10:00:00Z')""",
            (f"eve{TITLE}{CLEAR}",),
        )
    db.close()
    code, _, err = run(capsys, "orders", "set", "H2", "--confirmation", "no_answer")
    assert code == 3
    assert not UNSAFE.search(err) and err.count("\n") == 1
    assert "being handled by eve\\x1b]0;pwned\\x07\\x9b2J" in err
