"""A fix to Textual, applied once when the dashboard loads (Textual 8; upstream issue
Textualize/textual#6665, open when written).

`StylesCache.get_inner_outer` is a method under `lru_cache(1024)`, so the cache keys on the
StylesCache itself and keeps the last 1,024 of them alive after their widgets are gone, each
with the lines its widget last drew. Every notification's toast on every screen it shows on,
every dialog, every remounted row is a new widget: the dashboard grew by about 100 kB a cycle
of `1 n 2 4` (benchmarks/bench_soak.py), tens of MB before the cache is full. The result
depends on the two colours only: cached on them, no widget's drawing is kept.
"""

from __future__ import annotations

import inspect
from functools import lru_cache

from textual._styles_cache import StylesCache
from textual.color import Color
from textual.style import Style


def keep_no_widget_in_the_colour_cache() -> bool:
    """Cache `get_inner_outer` on its colours, not on the widget's StylesCache; False when
    Textual no longer caches it on the instance (then there is nothing to fix)."""
    method = StylesCache.__dict__.get("get_inner_outer")
    compute = getattr(method, "__wrapped__", None)
    if compute is None or not hasattr(method, "cache_info"):
        return False
    if isinstance(method, staticmethod | classmethod):
        return False
    # Only the method as written today reads nothing of the widget: a Textual that changes its
    # signature may have changed that too, and is left as it is.
    if list(inspect.signature(compute).parameters)[1:] != ["base_background", "background"]:
        return False

    @lru_cache(1024)
    def inner_outer(base_background: Color, background: Color) -> tuple[Style, Style]:
        result: tuple[Style, Style] = compute(None, base_background, background)  # self unused
        return result

    StylesCache.get_inner_outer = staticmethod(inner_outer)  # type: ignore[assignment,method-assign]
    return True


FIXED = keep_no_widget_in_the_colour_cache()
