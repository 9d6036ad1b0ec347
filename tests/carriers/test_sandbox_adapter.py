"""The sandbox adapter's requests, as the carrier reads them (a mocked transport: a unit test)."""

from __future__ import annotations

import httpx

from codspot_tui.carriers.sandbox import SandboxClient
from codspot_tui.settings import CarrierSettings


async def test_tracking_asks_for_exactly_the_numbers_given_under_the_carriers_path() -> None:
    seen: list[httpx.Request] = []

    def carrier(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"parcels": [], "unknown": []})

    settings = CarrierSettings("sandbox", "sandbox", "http://carrier.test/api", {"token": "t"})
    client = httpx.AsyncClient(
        base_url=settings.url,
        transport=httpx.MockTransport(carrier),
        headers={"Authorization": "Bearer t"},
    )
    adapter = SandboxClient(settings, client)
    plain = ["SBX0000000001", "AB-12.3_x~"]
    odd = ["SBX1", "with space", "a/b&c=d", "caf\u00e9", "x#y"]
    for numbers in (plain, odd):
        await adapter.track(numbers)
        request = seen.pop()
        assert request.url.path == "/api/v1/parcels"
        assert request.url.params["tracking"].split(",") == numbers
        # What the carrier reads is what httpx's own `params=` would have sent.
        same = client.build_request("GET", "/v1/parcels", params={"tracking": ",".join(numbers)})
        assert request.url.params == same.url.params
    await adapter.aclose()
