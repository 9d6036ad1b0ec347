"""Phone numbers as orders keep them: E.164 (+212612345678)."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=4096)  # an import checks each order's phone; a file repeats customers
def e164(text: str, region: str) -> str | None:
    """The phone `text` in E.164, `region` the country of numbers written without one; None
    when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
