"""Settings: one TOML file, typed and validated, with a one-line message on a bad value.

region = "MA"              # default region for phone numbers without +country
dispatch = "shared"        # or "round_robin": each imported order goes to the next agent
max_attempts = 0           # auto-cancel after N no-answers; 0 = never
claim_minutes = 5          # how long opening an order keeps it for one agent
busy_timeout_ms = 5000     # how long to wait for another process's write lock
share_group = false        # true: the database and its folder are shared with the file's group

[carriers.sandbox]
kind = "sandbox"
url = "http://127.0.0.1:8765"
token = "sandbox"
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from platformdirs import user_config_path, user_data_path

from .domain.errors import BadInput
from .domain.statuses import LOCAL_DELIVERY

APP_NAME = "codspot"
CARRIER_KINDS = ("sandbox", "sendit", "ozon")
# The credentials each kind of carrier takes, all of them required: a misspelt key would
# otherwise be sent as nothing and come back as "unauthorised" from the carrier.
CARRIER_CREDENTIALS = {
    "sandbox": ("token",),
    "sendit": ("public_key", "secret_key"),
    "ozon": ("customer_id", "api_key"),
}
DISPATCH_MODES = ("shared", "round_robin")
_CARRIER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
# A host name as a resolver takes it: ASCII labels (an international name in its xn-- form).
_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?$")
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")
_BRACKETED_HOST = re.compile(r"^\[[^\]]+\](:[0-9]+)?$")
# The carrier numbers: (default, smallest, largest, whole). The bounds are what can work: a
# poll_interval past a week is a typo (and past ~10^14 s does not fit a date to schedule);
# a batch is one SQL page and one request, a timeout past an hour never fires in practice.
_CARRIER_NUMBERS: dict[str, tuple[float, float, float, bool]] = {
    "batch_size": (50, 1, 1000, True),
    "rate_per_second": (5.0, 0.001, 10_000.0, False),
    "timeout": (10.0, 0.001, 3600.0, False),
    "poll_interval": (60.0, 0.001, 7 * 24 * 3600.0, False),
}


@dataclass(frozen=True)
class CarrierSettings:
    name: str
    kind: str
    url: str
    credentials: dict[str, str] = field(default_factory=dict, repr=False)  # never printed
    batch_size: int = 50
    rate_per_second: float = 5.0
    timeout: float = 10.0
    poll_interval: float = 60.0


def _default_carriers() -> dict[str, CarrierSettings]:
    return {
        "sandbox": CarrierSettings(
            name="sandbox",
            kind="sandbox",
            url="http://127.0.0.1:8765",
            credentials={"token": "sandbox"},
            poll_interval=5.0,
        )
    }


@dataclass(frozen=True)
class Settings:
    region: str = "MA"
    dispatch: str = "shared"
    max_attempts: int = 0
    claim_minutes: int = 5
    busy_timeout_ms: int = 5000
    carriers: dict[str, CarrierSettings] = field(default_factory=_default_carriers)
    # Where an imported lead goes when its row names no delivery: the first carrier, or local.
    default_delivery: str = "sandbox"
    theme: str | None = None  # the dashboard's theme; None: the default
    keys: dict[str, str] = field(default_factory=dict)  # binding id -> key(s), to remap
    # Files 0660 and folders 2770 for a team in one Unix group, instead of 0600 and 0700.
    share_group: bool = False

    def knows_delivery(self, delivery: str) -> bool:
        return delivery == LOCAL_DELIVERY or delivery in self.carriers


def default_config_path() -> Path:
    return user_config_path(APP_NAME) / "config.toml"


def default_db_path() -> Path:
    return user_data_path(APP_NAME) / "codspot.db"


def config_path_from(explicit: str | None) -> tuple[Path, bool]:
    """The settings file to read, and whether the person named it (then it must exist)."""
    if explicit:
        return Path(explicit).expanduser(), True
    if os.environ.get("CODSPOT_CONFIG"):
        return Path(os.environ["CODSPOT_CONFIG"]).expanduser(), True
    return default_config_path(), False


def load_settings(path: Path, *, required: bool) -> Settings:
    """Read and check the settings file; a missing default file means the defaults."""
    if not path.exists():
        if required:
            raise BadInput(f"settings file {path} does not exist")
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"can't read settings file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"settings file {path} is not valid TOML: {error}") from None
    try:
        return parse_settings(raw)
    except ValueError as error:
        raise BadInput(f"settings file {path}: {error}") from None


def parse_settings(raw: dict[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
    region = _typed(raw, "region", str, "MA").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"region {region!r} is not a country code like MA, SA, EG")
    dispatch = _typed(raw, "dispatch", str, "shared")
    if dispatch not in DISPATCH_MODES:
        raise ValueError(f"dispatch must be one of {', '.join(DISPATCH_MODES)}, not {dispatch!r}")
    max_attempts = _typed(raw, "max_attempts", int, 0)
    if max_attempts < 0:
        raise ValueError("max_attempts must be 0 (off) or more")
    claim_minutes = _typed(raw, "claim_minutes", int, 5)
    if not 1 <= claim_minutes <= 240:
        raise ValueError("claim_minutes must be between 1 and 240")
    busy_timeout_ms = _typed(raw, "busy_timeout_ms", int, 5000)
    if not 100 <= busy_timeout_ms <= 600_000:
        raise ValueError("busy_timeout_ms must be between 100 and 600000")
    carriers_raw = raw.get("carriers")
    if carriers_raw is None:
        carriers = _default_carriers()
    elif not isinstance(carriers_raw, dict):
        raise ValueError("carriers must be a table of [carriers.NAME] sections")
    else:
        carriers = {name: _carrier(name, table) for name, table in carriers_raw.items()}
    default_delivery = _typed(
        raw, "default_delivery", str, next(iter(carriers), LOCAL_DELIVERY)
    ).lower()
    if default_delivery != LOCAL_DELIVERY and default_delivery not in carriers:
        raise ValueError(f"default_delivery {default_delivery!r} is neither local nor a carrier")
    theme = raw.get("theme")
    if theme is not None and (not isinstance(theme, str) or not theme.strip()):
        raise ValueError("theme must be a theme's name")
    keys = raw.get("keys", {})
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in keys.items()
    ):
        raise ValueError('[keys] maps binding ids to keys, e.g. "queue.confirm" = "y"')
    share_group = raw.get("share_group", False)
    if not isinstance(share_group, bool):
        raise ValueError("share_group must be true or false")
    return Settings(
        region,
        dispatch,
        max_attempts,
        claim_minutes,
        busy_timeout_ms,
        carriers,
        default_delivery,
        theme,
        dict(keys),
        share_group,
    )


def _carrier(name: str, table: Any) -> CarrierSettings:
    where = f"[carriers.{name}]"
    if not _CARRIER_NAME.match(name) or name == LOCAL_DELIVERY:
        raise ValueError(
            f"{where}: a carrier name is lowercase letters, digits, - or _ (not local)"
        )
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table")
    kind = _typed(table, "kind", str, None, where)
    if kind not in CARRIER_KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(CARRIER_KINDS)}")
    url = _typed(table, "url", str, None, where)
    problem = _url_problem(url)
    if problem:
        raise ValueError(f"{where}: url {problem}")
    values: dict[str, Any] = {key: _carrier_number(table, key, where) for key in _CARRIER_NUMBERS}
    credentials = {
        key: value for key, value in table.items() if key not in {"kind", "url", *_CARRIER_NUMBERS}
    }
    wanted = CARRIER_CREDENTIALS[kind]
    for key, value in credentials.items():
        if key not in wanted:
            raise ValueError(
                f"{where}: unknown setting {key!r} (kind {kind} takes {', '.join(wanted)})"
            )
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: {key} must be text, not empty")
    missing = [key for key in wanted if key not in credentials]
    if missing:
        raise ValueError(f"{where}: kind {kind} needs {' and '.join(missing)}")
    return CarrierSettings(name=name, kind=kind, url=url, credentials=credentials, **values)


def _typed(raw: dict[str, Any], key: str, kind: type, default: Any, where: str = "") -> Any:
    value = raw.get(key, default)
    label = f"{where}: {key}" if where else key
    if value is None:
        raise ValueError(f"{label} is required")
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{label} must be {'a whole number' if kind is int else 'text'}")
    return value


def _carrier_number(table: dict[str, Any], key: str, where: str) -> float | int:
    default, low, high, whole = _CARRIER_NUMBERS[key]
    value = table.get(key, default)
    if whole:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{where}: {key} must be a whole number from {low:g} to {high:g}")
        return value
    # TOML has nan and inf: neither is a number of seconds or of calls.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ValueError(f"{where}: {key} must be a number from {low:g} to {high:g}")
    return float(value)


def _url_problem(url: str) -> str | None:
    """Why the HTTP client could not use `url`, or None. The stdlib checks what httpx would
    refuse (or accept and then fail to connect to): httpx costs ~0.1 s to import, at the
    start of every command."""
    if any(not char.isprintable() or char.isspace() for char in url):
        return "has spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # parsed on access: a port that is not a number raises here
    except ValueError as error:
        return f"is not a valid URL ({error})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not hold a user or password (credentials have keys of their own)"
    if port == 0:
        return "has port 0, which nothing listens on"
    if port is None and parts.netloc.endswith(":"):
        return "has no port after its ':'"
    if ":" in host:  # an IPv6 address, checked by urlsplit but not what follows its "]"
        if not _BRACKETED_HOST.match(parts.netloc.rpartition("@")[2]):
            return "is not a valid URL (text after the IPv6 address)"
        return None
    if _DOTTED_NUMBERS.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"host {host} is not an IPv4 address"
        return None
    if not _HOST_NAME.match(host):
        return f"host {host} is not a host name"
    return None
