"""Adapters for the carriers named in the settings."""

from __future__ import annotations

from collections.abc import Callable

from ..settings import CarrierSettings, Settings
from .base import Carrier
from .ozon import OzonClient
from .sandbox import SandboxClient
from .sendit import SenditClient

ADAPTERS: dict[str, Callable[[CarrierSettings], Carrier]] = {
    "sandbox": SandboxClient,
    "sendit": SenditClient,
    "ozon": OzonClient,
}


def build_carriers(settings: Settings) -> dict[str, Carrier]:
    return {name: ADAPTERS[c.kind](c) for name, c in settings.carriers.items()}
