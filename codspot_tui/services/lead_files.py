"""Lead files: reading CSV (any of three delimiters) or JSON (lines, or one array of objects)
as records, and writing the rejects file in the same shape as the input.

Records stream: nothing here holds the whole file. Each record keeps its first physical line
(the header is line 1) and its original fields. The rejects file is written by reading the
input once more and picking the rejected lines, so a rejected row goes back to the person
exactly as they wrote it, with an `error` column (or key) added, and the import never has to
keep a copy of every row in case it is rejected.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from ..domain.errors import BadInput, CodspotError
from ..domain.text import from_csv_cell, json_for_terminal, to_csv_cell
from ..store import files
from ..store.leads import RejectedRow

COLUMNS = (
    *("ref", "date", "customer", "phone", "city", "address"),
    *("sku", "qty", "price", "delivery", "note"),
)
REQUIRED = ("ref", "phone", "sku")
JSON_SUFFIXES = frozenset({".json", ".jsonl", ".ndjson"})
MAX_PROBLEMS = 200
_DELIMITERS = (",", ";", "\t")
_READ_SIZE = 1 << 16
# Characters in one line of a file (CSV, JSON lines) or one record of a JSON array: a bigger one
# is a broken file, not a lead, and reading it whole could take far more memory than it is long.
MAX_RECORD = 1 << 20
_NONE = ("",) * len(COLUMNS)


class Record(NamedTuple):
    """One row as read: its first physical line, its known columns as text, the original."""

    line: int
    values: tuple[str, ...]  # the known columns, in the order of COLUMNS; "" when absent
    original: Any  # CSV: the list of values; JSON: the object (or {"raw": ...} if not one)
    error: str | None = None  # the row's shape is wrong (too many values, not an object)


@dataclass
class Layout:
    """How the input is written, so that the rejects file is written the same way."""

    kind: str  # "csv" | "json"
    header: tuple[str, ...] = ()
    delimiter: str = ","
    first_keys: tuple[str, ...] = ()  # JSON: the first object's keys, for "found: ..."
    seen: set[str] = field(default_factory=set)  # JSON: the known columns some object has

    @property
    def rejects_suffix(self) -> str:
        return ".rejects.csv" if self.kind == "csv" else ".rejects.jsonl"


def read_head(path: Path) -> bytes:
    """The first bytes, after the checks that need no parsing: exists, readable, text, not empty."""
    try:
        with path.open("rb") as file:
            head = file.read(_READ_SIZE)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path} is a folder, not a lead file") from None
    except OSError as error:
        raise BadInput(f"can't read {path}: {error.strerror or error}") from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInput(f"{path} is UTF-16 text: save it as CSV UTF-8 and try again")
    if b"\x00" in head:
        raise BadInput(f"{path} is not a text file (it holds NUL bytes): expected CSV or JSON")
    if not head.removeprefix(b"\xef\xbb\xbf").strip():
        raise BadInput(f"{path} is empty: expected a header line (ref, phone, sku, ...)")
    return head


def open_records(path: Path, head: bytes, file: TextIO) -> tuple[Layout, Iterator[Record]]:
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    suffix = path.suffix.lower()
    if suffix not in JSON_SUFFIXES and (suffix in {".csv", ".tsv", ".txt"} or start not in b"[{"):
        return _csv_records(path, file)
    layout = Layout("json")
    if start == b"[":
        return layout, _JsonArray(path, file, layout).records()
    if start == b"{":
        return layout, _json_lines(path, file, layout)
    raise BadInput(f"{path} is not JSON: expected one object per line, or an array of objects")


def _csv_records(path: Path, file: TextIO) -> tuple[Layout, Iterator[Record]]:
    first = file.readline(MAX_RECORD)
    if _cut(first, MAX_RECORD):
        raise BadInput(
            f"{path}: line 1 is longer than {MAX_RECORD:,} characters:"
            " expected a header line (ref, phone, sku, ...)"
        )
    if not first.strip():
        raise BadInput(f"{path}: line 1 is empty: expected a header line (ref, phone, sku, ...)")
    try:
        delimiter = max(_DELIMITERS, key=lambda candidate: _header_score(first, candidate))
        header = tuple(
            from_csv_cell(name) for name in next(csv.reader([first], delimiter=delimiter))
        )
    except csv.Error as error:  # a field longer than csv's field_size_limit
        raise BadInput(
            f"{path}: line 1: {error}: expected a header line (ref, phone, sku, ...)"
        ) from None
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name.strip().lower() in COLUMNS:
            index.setdefault(name.strip().lower(), position)
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        raise missing_columns(path, missing, header)
    return Layout("csv", header, delimiter), _csv_rows(path, file, header, index, delimiter)


def _header_score(line: str, delimiter: str) -> tuple[int, int, int]:
    """How well `delimiter` splits the header: required names, known names, then columns."""
    fields = next(csv.reader([line], delimiter=delimiter))
    names = {field.strip().lower() for field in fields}
    return len(names.intersection(REQUIRED)), len(names.intersection(COLUMNS)), len(fields)


def _csv_rows(
    path: Path, file: TextIO, header: tuple[str, ...], index: dict[str, int], delimiter: str
) -> Iterator[Record]:
    reader = csv.reader(_bounded_lines(path, file), delimiter=delimiter)
    width = len(header)
    # Absent columns read the "" put at the end of each row (a list from csv has room for it).
    pick = itemgetter(*(index.get(name, -1) for name in COLUMNS))
    line = 2  # the header was line 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise BadInput(f"{path}: line {line}: {error}") from None
        start, line = line, reader.line_num + 2  # a quoted value may span lines
        if not fields or not (fields[0].strip() or "".join(fields).strip()):
            continue  # a blank line, or one of empty cells (spreadsheets end with a few)
        if "'" in "".join(fields):  # a cell of a rejects file we wrote: "'+212..."
            fields = [from_csv_cell(cell) for cell in fields]
        shape = None
        if len(fields) < width:
            fields.extend([""] * (width - len(fields)))  # a short row: its last cells are empty
        elif len(fields) > width and "".join(fields[width:]).strip():
            shape = (
                f"{len(fields)} values where the header has {width}"
                f" (a {delimiter!r} inside an unquoted value?)"
            )
        fields.append("")
        values = pick(fields)
        fields.pop()
        yield Record(start, values, fields, shape)


def _bounded_lines(path: Path, file: TextIO) -> Iterator[str]:
    """The lines of a CSV file after the header; BadInput for one longer than MAX_RECORD,
    before it is read whole (a line of quoted text may hold a few values of a row)."""
    number = 1  # the header's
    readline = file.readline
    while text := readline(MAX_RECORD):
        number += 1
        if _cut(text, MAX_RECORD):
            raise BadInput(f"{path}: line {number} is longer than {MAX_RECORD:,} characters")
        yield text


def _cut(text: str, limit: int) -> bool:
    """True when `text`, read with readline(limit), is only the start of its line."""
    return len(text) >= limit and not text.endswith(("\n", "\r"))


def _json_lines(path: Path, file: TextIO, layout: Layout) -> Iterator[Record]:
    number = 0
    while text := file.readline(MAX_RECORD):
        number += 1
        if _cut(text, MAX_RECORD):
            # Not a lead: the line is read on in pieces, and passed over, never held whole.
            while (more := file.readline(MAX_RECORD)) and _cut(more, MAX_RECORD):
                pass
            why = f"longer than {MAX_RECORD:,} characters"
            if not layout.first_keys:
                raise BadInput(
                    f"{path}: line {number} is {why}:"
                    " expected one object per line, or an array of objects"
                )
            yield Record(number, _NONE, {"raw": text[:100] + "…"}, f"the line is {why}")
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            if not layout.first_keys:
                raise BadInput(
                    f"{path}: line {number} is not JSON ({error.msg}):"
                    " expected one object per line, or an array of objects"
                ) from None
            original = {"raw": text.rstrip("\r\n")}
            yield Record(number, _NONE, original, f"not a JSON object ({error.msg})")
            continue
        yield _json_record(number, value, layout)


def _json_record(line: int, value: Any, layout: Layout) -> Record:
    if not isinstance(value, dict):
        return Record(line, _NONE, {"raw": value}, "not a JSON object")
    if not layout.first_keys:
        layout.first_keys = tuple(value) or ("no keys",)
    values: dict[str, str] = {}
    error = None
    for key, item in value.items():
        name = key.strip().lower()
        if name not in COLUMNS or name in values:
            continue
        if isinstance(item, dict | list):
            error = f"{name} holds a list or an object, not a value"
        values[name] = "" if item is None else item if isinstance(item, str) else json.dumps(item)
    layout.seen.update(values)
    return Record(line, tuple(values.get(name, "") for name in COLUMNS), value, error)


_SPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


class _JsonArray:
    """The objects of one JSON array, decoded one by one: the file never sits in memory whole."""

    def __init__(self, path: Path, file: TextIO, layout: Layout) -> None:
        self.path = path
        self.file = file
        self.layout = layout
        self.buffer = ""
        self.pos = 0
        self.line = 1  # the line number at `counted`
        self.counted = 0
        self.eof = False

    def records(self) -> Iterator[Record]:
        if self._peek() != "[":
            raise BadInput(f"{self.path} is not JSON: expected an array of objects")
        self.pos += 1
        count = 0
        while True:
            char = self._peek()
            if char == "]":
                self.pos += 1
                if self._peek():
                    raise BadInput(f"{self.path}: line {self._line()}: text after the JSON array")
                return
            if count and char == ",":
                self.pos += 1
                char = self._peek()
            elif count and char:
                raise BadInput(f"{self.path}: line {self._line()}: expected ',' or ']'")
            if not char:
                raise BadInput(f"{self.path}: the JSON array is not closed with ']'")
            line = self._line()
            value = self._decode(line)
            count += 1
            yield _json_record(line, value, self.layout)

    def _decode(self, line: int) -> Any:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if len(self.buffer) - self.pos > MAX_RECORD or not self._more():
                    message = f"{self.path}: line {line}: not valid JSON ({error.msg})"
                    raise BadInput(message) from None
                continue
            # A value that ends the buffer may go on in the next read (a number, say).
            if end < len(self.buffer) or not self._more():
                self.pos = end
                return value

    def _peek(self) -> str:
        """The next character that is not white space, "" at the end of the file."""
        while True:
            match = _SPACE.match(self.buffer, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def _line(self) -> int:
        self.line += self.buffer.count("\n", self.counted, self.pos)
        self.counted = self.pos
        return self.line

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.file.read(_READ_SIZE)
        if not chunk:
            self.eof = True
            return False
        self._line()
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = self.counted = 0
        return True


def missing_columns(path: Path, missing: list[str], found: tuple[str, ...]) -> BadInput:
    names = [" ".join(name.split()) for name in found]
    shown = ", ".join(quoted(name)[1:-1] for name in names if name) or "nothing"
    if len(shown) > 200:
        shown = shown[:200] + "…"
    return BadInput(f"{path}: missing column(s) {', '.join(missing)} (found: {shown})")


# The rejects file: the original rows of every rejected order, each with its reason.


def write_rejects(
    source: Path,
    head: bytes,
    rejected: Iterator[RejectedRow],
    layout: Layout,
    path: Path,
    *,
    mode: int = files.PRIVATE_MODES[0],
) -> tuple[str, ...]:
    """Replace `path` with the rejected rows of `source`, each with its reason (remove it when
    there are none); the problems, the first `MAX_PROBLEMS` of them. The file gets `mode`
    whatever the umask (0o660 for a team sharing a Unix group); a CSV file's cells are written
    so that no spreadsheet reads them as formulas (`to_csv_cell`).

    `rejected` comes in file order, so one more pass over `source` finds their originals
    (by their number among the records: a one-line JSON array has many a row on a line).
    """
    first = next(rejected, None)
    if first is None:
        path.unlink(missing_ok=True)  # an earlier run's rejects would mislead
        return ()
    problems: list[str] = []
    partial = path.with_name(path.name + ".part")
    is_csv = layout.kind == "csv"
    width = len(layout.header)
    try:
        with (
            source.open(encoding="utf-8-sig", newline="") as file,
            files.open_new_text(partial, mode, "utf-8-sig" if is_csv else "utf-8") as out,
        ):
            records = enumerate(open_records(source, head, file)[1], start=1)
            writer = csv.writer(out, delimiter=layout.delimiter)
            if is_csv:
                writer.writerow([to_csv_cell(name) for name in (*layout.header, "error")])
            for row in chain([first], rejected):
                if len(problems) < MAX_PROBLEMS:
                    problems.append(f"line {row.line}: {row.error}")
                record = next((record for seq, record in records if seq == row.seq), None)
                if record is None:
                    raise CodspotError(
                        f"{source} changed during the import: run it again for the rejects file"
                    )
                if is_csv:
                    fields = record.original
                    padding = [""] * (width - len(fields))
                    cells = [*fields[:width], *padding, row.error, *fields[width:]]
                    writer.writerow([to_csv_cell(cell) for cell in cells])
                else:
                    entry = {**record.original, "error": row.error}
                    # The same value, with what a terminal would act on (or a lone surrogate,
                    # which a JSON \ud800 escape gives and UTF-8 can't write) as JSON escapes.
                    out.write(json_for_terminal(json.dumps(entry, ensure_ascii=False)) + "\n")
        os.replace(partial, path)
    except OSError as error:
        raise CodspotError(
            f"orders imported, but the rejects file {path} can't be written: {error.strerror}"
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return tuple(problems)


def quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")
