"""SQL text for lists of bound values: stdlib only, for the async store and for the seed's
bulk writes alike (those run in processes that never load the event loop's database)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence, Sized
from typing import TypeVar

T = TypeVar("T")

# Values bound in one `IN (...)` list at the most: SQLite allows more, and lists this long
# already cost one statement per few hundred rows.
MAX_IN_LIST = 500


def placeholders(values: Sized) -> str:
    """`?,?,...`: one per value, for an `IN (...)` list."""
    return ",".join("?" * len(values))


def value_rows(count: int, width: int) -> str:
    """`(?, ?),(?, ?),...`: `count` rows of `width` values, for a `VALUES` list."""
    return ",".join(["(" + ", ".join("?" * width) + ")"] * count)


def in_batches(values: Sequence[T], size: int = MAX_IN_LIST) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one `IN (...)` each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
