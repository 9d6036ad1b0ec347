"""Cells of the CSV files we write: no spreadsheet reads one as a formula (the OWASP rule), and
reading our files back gives the values that were written."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from codspot_tui.domain.text import from_csv_cell, to_csv_cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_cells_that_a_spreadsheet_would_run_get_a_quote() -> None:
    assert (
        to_csv_cell('=HYPERLINK("http://evil.example","x")')
        == '\'=HYPERLINK("http://evil.example","x")'
    )
    assert to_csv_cell("@SUM(A1:A9)") == "'@SUM(A1:A9)"
    assert to_csv_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert to_csv_cell("-2") == "'-2"
    assert to_csv_cell("+212612345678") == "'+212612345678"
    assert to_csv_cell("\t=1") == "'\t=1"
    assert to_csv_cell("\r=1") == "'\r=1"
    for harmless in ("Casablanca", "", "12 rue", "a=b", " =1", "'quoted'", "“=1"):
        assert to_csv_cell(harmless) == harmless


def test_a_value_that_starts_with_a_quote_survives_the_round_trip() -> None:
    for value in ("'=x", "''+1", "'ok", "'"):
        assert from_csv_cell(to_csv_cell(value)) == value
    assert to_csv_cell("'=x") == "''=x"  # one more quote, so that reading takes off one


@given(st.text())
def test_every_value_survives_a_csv_file_and_none_starts_a_formula(value: str) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerow([to_csv_cell(value), "next"])
    buffer.seek(0)
    ((cell, _),) = list(csv.reader(buffer))
    assert not cell.startswith(FORMULA_STARTS)
    assert from_csv_cell(cell) == value
