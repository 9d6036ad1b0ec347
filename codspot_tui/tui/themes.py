"""Themes as TOML files: the built-in ones in `themes/`, the user's in their config dir.

Each file defines Textual's theme colours plus one colour per status; the status colours
become CSS variables (`$status-delivered`). A broken file is reported, never fatal.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

from ..domain.statuses import Confirmation, Shipping

DEFAULT_THEME = "codspot-dark"
STATUS_NAMES: tuple[str, ...] = tuple(dict.fromkeys([*Confirmation, *Shipping]))
_COLOURS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
)
_REQUIRED = ("name", "primary")


@dataclass(frozen=True)
class LoadedThemes:
    themes: tuple[Theme, ...]
    problems: tuple[str, ...]  # one line per file that could not be used


def builtin_theme_files() -> list[Path]:
    # The top-level themes/ folder is the package codspot_tui.themes (see pyproject.toml),
    # installed as files: found through its module, with no importlib.resources to import.
    folder = Path(str(import_module("codspot_tui.themes").__file__)).parent
    return sorted(entry for entry in folder.iterdir() if entry.name.endswith(".toml"))


@cache
def default_variables() -> dict[str, str]:
    """The default theme's status colours: CSS refers to them before any theme is applied."""
    for path in builtin_theme_files():
        loaded = load_themes([path])
        if loaded.themes and loaded.themes[0].name == DEFAULT_THEME:
            return dict(loaded.themes[0].variables)
    raise RuntimeError(f"the built-in theme {DEFAULT_THEME} is missing from the package")


def user_theme_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def load_themes(files: list[Path]) -> LoadedThemes:
    themes: dict[str, Theme] = {}
    problems: list[str] = []
    for path in files:
        try:
            theme = parse_theme(tomllib.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as error:
            problems.append(f"theme {path.name}: {error}")
            continue
        themes[theme.name] = theme  # a user's file may replace a built-in one of that name
    return LoadedThemes(tuple(themes.values()), tuple(problems))


def parse_theme(raw: dict[str, Any]) -> Theme:
    for key in _REQUIRED:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ValueError(f"{key} is required")
    unknown = set(raw) - {"name", "dark", "status", *_COLOURS}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r}")
    colours = {key: _colour(raw, key) for key in _COLOURS if key in raw}
    status = raw.get("status", {})
    if not isinstance(status, dict):
        raise ValueError("[status] must be a table of status = colour")
    missing = [name for name in STATUS_NAMES if name not in status]
    if missing:
        raise ValueError(f"[status] lacks {', '.join(missing)}")
    variables = {f"status-{name}": _colour(status, name) for name in STATUS_NAMES}
    dark = raw.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError("dark must be true or false")
    return Theme(
        name=raw["name"].strip(),
        primary=colours.pop("primary"),
        dark=dark,
        variables=variables,
        **colours,  # type: ignore[arg-type]  # only the str-typed colour fields
    )


def _colour(table: dict[str, Any], key: str) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise ValueError(f'{key} must be a colour like "#4f9ee8" or "ansi_red"')
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{key} = {value!r} is not a colour") from None
    return value
