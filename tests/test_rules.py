"""Every (from, to, mover) cell of DESIGN §1's two tables, checked against `domain.rules`.

The tables below are copied verbatim from DESIGN §1 and parsed here, independently of the
code under test; a separate test fails when DESIGN.md and this copy drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codspot_tui.domain.errors import MoveNotAllowed, OrderLocked
from codspot_tui.domain.rules import Mover, allowed_targets, check_move
from codspot_tui.domain.statuses import Confirmation, Shipping, StatusKind

CONFIRMATION_TABLE = """
| status | meaning | may move to | locked? |
| --- | --- | --- | --- |
| `new` | arrived from a lead provider, nobody called yet | any of the five below | no |
| `no_answer` | called, nobody picked up (each time counts an attempt) | `no_answer`, `call_later`, `canceled`, `fake`, `confirmed` | no |
| `call_later` | customer asked to be called back at a time | `no_answer`, `call_later`, `canceled`, `fake`, `confirmed` | no |
| `canceled` | customer refused | nothing | yes: order closed, uneditable |
| `fake` | fake order (wrong number, prank, blacklisted) | nothing | yes: order closed, uneditable |
| `confirmed` | customer agreed | nothing; shipping becomes `created` | yes |
"""  # noqa: E501

SHIPPING_TABLE = """
| from | by an operator (connected carrier) | by the carrier (automatic) |
| --- | --- | --- |
| `created` | `fulfilled`, `canceled` | `shipped`, `package_issue`, `delivered`, `canceled`, `in_return` |
| `fulfilled` | `canceled`, `returned` | same as `created` |
| `shipped` | none | `package_issue`, `delivered`, `canceled`, `in_return` |
| `package_issue` | none | `shipped`, `delivered`, `canceled`, `in_return` |
| `in_return` | `returned` (package received back) | none |
| `canceled` | `returned` (package received back) | `in_return` |
| `delivered` | none (final) | none (final) |
| `returned` | none (final) | none (final) |
"""  # noqa: E501

DESIGN_PATH = Path(__file__).resolve().parent.parent.parent / "shared" / "DESIGN.md"

Status = Confirmation | Shipping
Expected = dict[Mover, dict[Status, frozenset[Status]]]


def _rows(table: str) -> list[list[str]]:
    """The body rows of a markdown table, as lists of stripped cells."""
    lines = [line.strip() for line in table.strip().splitlines()]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return rows[2:]  # header and separator


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([a-z_]+)`", cell)


def parse_confirmation(table: str) -> dict[Confirmation, frozenset[Confirmation]]:
    rows = _rows(table)
    parsed: dict[Confirmation, frozenset[Confirmation]] = {}
    for index, (status, _meaning, targets, locked) in enumerate(rows):
        (name,) = _ticked(status)
        if targets.startswith("nothing"):
            moves: list[str] = []
            assert locked.startswith("yes"), f"{name}: no move out but not marked locked"
        elif targets == "any of the five below":
            moves = [_ticked(row[0])[0] for row in rows[index + 1 :]]
            assert len(moves) == 5
        else:
            moves = _ticked(targets)
            assert locked == "no"
        parsed[Confirmation(name)] = frozenset(Confirmation(m) for m in moves)
    assert set(parsed) == set(Confirmation), "the table must list every confirmation status"
    return parsed


def parse_shipping(
    table: str,
) -> tuple[dict[Shipping, frozenset[Shipping]], dict[Shipping, frozenset[Shipping]]]:
    """(operator column, carrier column)."""
    rows = _rows(table)
    columns: tuple[dict[Shipping, frozenset[Shipping]], ...] = ({}, {})
    for column in (0, 1):
        for row in rows:
            (name,) = _ticked(row[0])
            cell = row[column + 1]
            if cell.startswith("none"):
                moves = frozenset[Shipping]()
            elif cell.startswith("same as"):
                (other,) = _ticked(cell)
                moves = columns[column][Shipping(other)]
            else:
                moves = frozenset(Shipping(m) for m in _ticked(cell))
            columns[column][Shipping(name)] = moves
    for column_moves in columns:
        assert set(column_moves) == set(Shipping), "the table must list every shipping status"
    return columns[0], columns[1]


CONFIRMATION_MOVES = parse_confirmation(CONFIRMATION_TABLE)
OPERATOR_MOVES, CARRIER_MOVES = parse_shipping(SHIPPING_TABLE)
# Final states: a locked confirmation status, a shipping status marked "(final)".
FINAL: dict[StatusKind, frozenset[Status]] = {
    StatusKind.CONFIRMATION: frozenset(s for s, moves in CONFIRMATION_MOVES.items() if not moves),
    StatusKind.SHIPPING: frozenset(
        Shipping(_ticked(row[0])[0]) for row in _rows(SHIPPING_TABLE) if "(final)" in row[1]
    ),
}


def _forced(kind: StatusKind, table_moves: dict[Status, frozenset[Status]]) -> dict:
    """An admin may force any move that does not leave a final state.

    A move to the same status is a move only where the tables make it one
    (`no_answer` again, `call_later` again).
    """
    statuses = list(Confirmation) if kind is StatusKind.CONFIRMATION else list(Shipping)
    return {
        current: frozenset()
        if current in FINAL[kind]
        else frozenset(s for s in statuses if s != current) | table_moves[current]
        for current in statuses
    }


def _build_expected() -> dict[StatusKind, Expected]:
    no_confirmation = {status: frozenset() for status in Confirmation}
    no_shipping = {status: frozenset() for status in Shipping}
    local = {s: OPERATOR_MOVES[s] | CARRIER_MOVES[s] for s in Shipping}
    return {
        StatusKind.CONFIRMATION: {
            Mover.OPERATOR: CONFIRMATION_MOVES,
            Mover.LOCAL_OPERATOR: CONFIRMATION_MOVES,
            # The carrier only ever reports on parcels.
            Mover.CARRIER: no_confirmation,
            # DESIGN gives the system no column of its own: it follows the confirmation
            # table (its one move, the no-answer limit's auto-cancel, is in it).
            Mover.SYSTEM: CONFIRMATION_MOVES,
            Mover.FORCE: _forced(StatusKind.CONFIRMATION, CONFIRMATION_MOVES),
        },
        StatusKind.SHIPPING: {
            Mover.OPERATOR: OPERATOR_MOVES,
            Mover.LOCAL_OPERATOR: local,
            Mover.CARRIER: CARRIER_MOVES,
            Mover.SYSTEM: no_shipping,
            Mover.FORCE: _forced(StatusKind.SHIPPING, local),
        },
    }


EXPECTED = _build_expected()


def statuses_of(kind: StatusKind) -> list[Status]:
    return list(Confirmation) if kind is StatusKind.CONFIRMATION else list(Shipping)


def expected_refusal(kind: StatusKind, current: Status) -> type[MoveNotAllowed]:
    """OrderLocked out of a final state, plain MoveNotAllowed otherwise."""
    return OrderLocked if current in FINAL[kind] else MoveNotAllowed


def all_cells() -> list[tuple[StatusKind, Mover, Status, Status]]:
    return [
        (kind, mover, current, target)
        for kind in StatusKind
        for mover in Mover
        for current in statuses_of(kind)
        for target in statuses_of(kind)
    ]


# --- the parsed tables say what DESIGN says (guards the parser itself) ---------------------


def test_parsed_tables_match_a_few_sentences_of_design() -> None:
    C, S = Confirmation, Shipping
    assert CONFIRMATION_MOVES[C.NEW] == {C.NO_ANSWER, C.CALL_LATER, C.CANCELED, C.FAKE, C.CONFIRMED}
    assert FINAL[StatusKind.CONFIRMATION] == {C.CANCELED, C.FAKE, C.CONFIRMED}
    assert FINAL[StatusKind.SHIPPING] == {S.DELIVERED, S.RETURNED}
    # "shipped is set by the carrier's pickup scan, never by an operator of a connected carrier"
    assert all(S.SHIPPED not in moves for moves in OPERATOR_MOVES.values())
    assert CARRIER_MOVES[S.FULFILLED] == CARRIER_MOVES[S.CREATED]
    # "Local delivery: the operator makes every move by hand, both columns, including shipped"
    assert S.SHIPPED in EXPECTED[StatusKind.SHIPPING][Mover.LOCAL_OPERATOR][S.CREATED]


def _design_tables(text: str) -> tuple[str, str]:
    """The confirmation and shipping tables of DESIGN §1, as they stand in the file."""
    tables: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line.rstrip())
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    by_header = {table[0]: "\n".join(table) for table in tables}
    return (
        by_header[CONFIRMATION_TABLE.strip().splitlines()[0]],
        by_header[SHIPPING_TABLE.strip().splitlines()[0]],
    )


def test_design_md_tables_equal_this_copy() -> None:
    if not DESIGN_PATH.exists():
        pytest.skip(f"{DESIGN_PATH} is not here (the shared folder lives beside the repo)")
    try:
        confirmation, shipping = _design_tables(DESIGN_PATH.read_text(encoding="utf-8"))
    except KeyError as missing:
        pytest.fail(f"DESIGN.md no longer has the table headed {missing}: update this copy")
    assert confirmation == CONFIRMATION_TABLE.strip(), "confirmation table drifted from DESIGN"
    assert shipping == SHIPPING_TABLE.strip(), "shipping table drifted from DESIGN"


# --- the code against the tables, cell by cell ------------------------------------------------


@pytest.mark.parametrize("kind", list(StatusKind))
@pytest.mark.parametrize("mover", list(Mover))
def test_allowed_targets_equal_the_tables(kind: StatusKind, mover: Mover) -> None:
    wrong = {
        current: (sorted(allowed_targets(kind, current, mover)), sorted(expected))
        for current, expected in EXPECTED[kind][mover].items()
        if allowed_targets(kind, current, mover) != expected
    }
    assert not wrong, f"{kind} by {mover}: from -> (code, DESIGN): {wrong}"


@pytest.mark.parametrize("kind", list(StatusKind))
@pytest.mark.parametrize("mover", list(Mover))
def test_check_move_every_cell(kind: StatusKind, mover: Mover) -> None:
    mismatches: list[str] = []
    for current in statuses_of(kind):
        for target in statuses_of(kind):
            allowed = target in EXPECTED[kind][mover][current]
            try:
                check_move("R-42", kind, current, target, mover)
            except MoveNotAllowed as refusal:
                if allowed:
                    mismatches.append(f"{current}->{target}: refused ({refusal}) but allowed")
                elif type(refusal) is not expected_refusal(kind, current):
                    mismatches.append(
                        f"{current}->{target}: {type(refusal).__name__}, "
                        f"want {expected_refusal(kind, current).__name__}"
                    )
                elif refusal.exit_code != 3 or "R-42" not in str(refusal):
                    mismatches.append(f"{current}->{target}: message/exit code {refusal!r}")
            else:
                if not allowed:
                    mismatches.append(f"{current}->{target}: allowed but DESIGN refuses it")
    assert not mismatches, f"{kind} by {mover}:\n" + "\n".join(mismatches)


def test_no_move_ever_leaves_a_final_state() -> None:
    for kind, mover, current, target in all_cells():
        if current in FINAL[kind]:
            with pytest.raises(OrderLocked):
                check_move("R-1", kind, current, target, mover)


def test_refusal_messages_read_like_sentences() -> None:
    with pytest.raises(OrderLocked, match=r"Order R-7 is delivered"):
        check_move("R-7", StatusKind.SHIPPING, Shipping.DELIVERED, Shipping.RETURNED, Mover.FORCE)
    with pytest.raises(MoveNotAllowed, match=r"from created to shipped") as refused:
        check_move("R-7", StatusKind.SHIPPING, Shipping.CREATED, Shipping.SHIPPED, Mover.OPERATOR)
    assert not isinstance(refused.value, OrderLocked)
