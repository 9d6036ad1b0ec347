"""Adapters for the carriers named in the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from ..domain.errors import CodspotError
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


@asynccontextmanager
async def open_carriers(settings: Settings) -> AsyncIterator[dict[str, Carrier]]:
    """An adapter for each carrier of the settings, every one closed on the way out.

    One that can't be built (what the settings' checks could not foresee) closes those built
    before it and says which carrier: the error's type only, as its text may hold a URL.
    """
    async with AsyncExitStack() as stack:
        carriers: dict[str, Carrier] = {}
        for name, carrier_settings in settings.carriers.items():
            try:
                carrier = ADAPTERS[carrier_settings.kind](carrier_settings)
            except Exception as error:
                raise CodspotError(
                    f"carrier {name} can't be set up ({type(error).__name__}): check its url"
                    " and keys in the settings"
                ) from error
            stack.push_async_callback(carrier.aclose)
            carriers[name] = carrier
        yield carriers
