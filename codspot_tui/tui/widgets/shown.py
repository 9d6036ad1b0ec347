"""Text from outside (customers, agents, carriers, whoever wrote to the database file) as the
dashboard shows it: escaped where a terminal would obey it (`for_terminal`), and never read as
markup. Screens build what they show from data through these, not through Content.assemble,
Text() or a str handed to a Static or Label (which Textual reads as markup)."""

from __future__ import annotations

from rich.console import JustifyMethod
from rich.text import Text
from textual.content import Content

from ...domain.text import for_terminal

Part = Content | str | tuple[str, str]


def one_line(text: str) -> str:
    """`text` on one line (an address's line breaks become spaces), safe to show."""
    return for_terminal(" ".join(text.split()))


def assemble(*parts: Part) -> Content:
    """Content.assemble, each text part shown safely; Content parts are already so, kept."""
    return Content.assemble(
        *(
            part
            if isinstance(part, Content)
            else for_terminal(part)
            if isinstance(part, str)
            else (for_terminal(part[0]), part[1])
            for part in parts
        )
    )


def plain(text: str, style: str = "") -> Content:
    """`text` as Content, safe to show, for a Static or a Label (not read as markup)."""
    return Content.styled(for_terminal(text), style) if style else Content(for_terminal(text))


def cell(text: str, style: str = "", justify: JustifyMethod | None = None) -> Text:
    """A table cell (a Rich Text, which no markup reaches) on one line, safe to show."""
    return Text(one_line(text), style=style, justify=justify)
