"""Checks on text typed by people or read from files: stored verbatim, or refused with a reason."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
AGENT_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")


def clean_text(value: str, what: str, *, max_length: int = 500, required: bool = True) -> str:
    """`value` trimmed; ValueError if empty (when required), too long, or with control codes.

    Quotes, SQL and any script are fine: they are stored verbatim and never executed.
    Tabs and newlines are allowed (addresses span lines); other control codes would corrupt
    a terminal that prints them, so they are refused.
    """
    text = value.strip()
    if required and not text:
        raise ValueError(f"{what} is empty")
    if len(text) > max_length:
        raise ValueError(f"{what} is longer than {max_length} characters")
    if _CONTROL.search(text):
        raise ValueError(f"{what} contains control characters")
    return text


def check_sku(sku: str) -> str:
    sku = sku.strip()
    if not SKU_PATTERN.match(sku):
        raise ValueError(f"SKU {sku[:40]!r} must be 1-64 letters, digits, '.', '_', '/' or '-'")
    return sku


def check_agent_name(name: str) -> str:
    name = name.strip()
    if not AGENT_PATTERN.match(name):
        raise ValueError(
            f"agent name {name[:40]!r} must be 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    return name


def printable(value: object, max_length: int = 300) -> str:
    """Text from a machine (a carrier's description) made safe to store and show: control
    characters become spaces, runs of space fold, and it is cut to `max_length`."""
    text = _CONTROL.sub(" ", str(value))
    return " ".join(text.split())[:max_length]
