"""Checks on text typed by people or read from files: stored verbatim, or refused with a reason;
and text from anywhere made safe to show on a terminal."""

from __future__ import annotations

import re

# Characters a terminal acts on, or that change how the text around them is shown, rather than
# being shown: C0 controls but tab and newline, DEL, C1 controls (U+009B is a CSI, like ESC [);
# bidi embeddings, overrides and isolates (they reorder what is shown: "Trojan Source");
# characters that are there but not seen (zero-width space, word joiner, invisible operators,
# BOM, deprecated format controls, interlinear annotations, tags); line and paragraph
# separators; lone surrogates, which no terminal encoding can write.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
_HIDDEN = (
    f"{_CONTROLS}{_BIDI}\u180e\u200b\u2028\u2029\u2060-\u2065\u206a-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
    # Shown as nothing by most terminals: the soft hyphen, the combining grapheme joiner, and
    # the Hangul fillers, a known way to make a name that looks empty or like another one.
    "\u00ad\u034f\u115f\u1160\u3164\uffa0"
)
# Left alone in free text, shown as they are: the zero-width non-joiner and joiner shape Arabic
# and Persian words (and emoji), the direction marks (LRM, RLM, ALM) place digits and
# punctuation in right-to-left text. They act on nothing else. An identifier has no use for them.
_MARKS = "\u061c\u200c-\u200f"

_CONTROL = re.compile(f"[{_CONTROLS}]")
_UNSHOWN = re.compile(f"[{_HIDDEN}]")
_REFUSED = _UNSHOWN
_REFUSED_IN_WORD = re.compile(f"[{_HIDDEN}{_MARKS}]")
_BIDI_CONTROL = re.compile(f"[{_BIDI}]")
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
AGENT_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._@-]{0,63}$")


def clean_text(
    value: str, what: str, *, max_length: int = 500, required: bool = True, word: bool = False
) -> str:
    """`value` trimmed; ValueError if empty (when required), too long, or with characters that
    act on a terminal or hide what is shown (see `_HIDDEN`); with `word` (an identifier, such as
    an order's ref), the joiners and direction marks of free text are refused too.

    Quotes, SQL and any script are fine: they are stored verbatim and never executed.
    Tabs and newlines are allowed (addresses span lines).
    """
    text = value.strip()
    if required and not text:
        raise ValueError(f"{what} is empty")
    if len(text) > max_length:
        raise ValueError(f"{what} is longer than {max_length} characters")
    found = (_REFUSED_IN_WORD if word else _REFUSED).search(text)
    if found:
        raise ValueError(f"{what} contains {_kind(found.group())}")
    return text


def _kind(char: str) -> str:
    if _CONTROL.match(char):
        return "control characters"
    code = f"U+{ord(char):04X}"
    if _BIDI_CONTROL.match(char):
        return f"a bidi control ({code}) that reorders the text shown around it"
    return f"an invisible character ({code})"


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
    """Text from a machine (a carrier's description) made safe to store and show: control,
    bidi and invisible characters become spaces, runs of space fold, and it is cut to
    `max_length`."""
    text = _UNSHOWN.sub(" ", str(value))
    return " ".join(text.split())[:max_length]


def for_terminal(text: str) -> str:
    """`text` as a terminal may show it: what would act on the terminal or hide or reorder
    text (see `_HIDDEN`) written out as Python writes it in a string (ESC as `\\x1b`, a bidi
    override as `\\u202e`). Tabs, newlines and everything printable are kept as they are;
    text without such a character comes back unchanged (the same object)."""
    return _UNSHOWN.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def json_for_terminal(dumped: str) -> str:
    """JSON text (from json.dumps with ensure_ascii=False) with the characters `for_terminal`
    escapes written as JSON escapes: the same value once parsed, and nothing a terminal acts
    on. json.dumps escapes C0 controls itself, but not DEL, C1 or bidi controls."""
    return _UNSHOWN.sub(_json_escaped, dumped)


def _json_escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes a character beyond the BMP as its UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# Cells of the CSV files we write: a spreadsheet reads a cell that starts with one of these as a
# formula (=HYPERLINK(...) sends data away, +cmd|... ran commands in old Excel), so such a cell
# is written with a `'` before it, the OWASP rule. A phone "+212..." is written "'+212...":
# reading our CSV files back drops that `'` again (`from_csv_cell`), so a rejects file, fixed in
# a spreadsheet and saved, imports as it was written.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv_cell(value: str) -> str:
    """`value` as a CSV cell that no spreadsheet reads as a formula. A value that already
    starts with `'`s before such a character gets one more, so that reading undoes exactly one."""
    return "'" + value if value.lstrip("'").startswith(_FORMULA_STARTS) else value


def from_csv_cell(cell: str) -> str:
    """A cell as `to_csv_cell` wrote it, back to the value: the inverse of `to_csv_cell`."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_STARTS):
        return cell[1:]
    return cell
