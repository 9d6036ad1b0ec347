"""Settings: one TOML file, typed and validated, with a one-line message on a bad value.

region = "MA"              # default region for phone numbers without +country
dispatch = "shared"        # or "round_robin": each imported order goes to the next agent
max_attempts = 0           # auto-cancel after N no-answers; 0 = never
claim_minutes = 5          # how long opening an order keeps it for one agent
busy_timeout_ms = 5000     # how long to wait for another process's write lock

[carriers.sandbox]
kind = "sandbox"
url = "http://127.0.0.1:8765"
token = "sandbox"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

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
    if not re.match(r"^https?://[^\s/]+", url):
        raise ValueError(f"{where}: url must start with http:// or https://")
    numbers = {"batch_size": 50, "rate_per_second": 5.0, "timeout": 10.0, "poll_interval": 60.0}
    values: dict[str, Any] = {}
    for key, default in numbers.items():
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{where}: {key} must be a positive number")
        values[key] = int(value) if key == "batch_size" else float(value)
    credentials = {
        key: value for key, value in table.items() if key not in {"kind", "url", *numbers}
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
