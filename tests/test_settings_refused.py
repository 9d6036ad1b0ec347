"""Settings that cannot work are refused when read: exit 2, one line naming the key."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from codspot_tui.cli import main
from codspot_tui.settings import parse_settings

SANDBOX = '[carriers.sandbox]\nkind = "sandbox"\ntoken = "t"\n'
GOOD_URL = 'url = "http://127.0.0.1:8765"\n'

# (setting lines under [carriers.sandbox], what the one line must name)
REFUSED = {
    "unclosed IPv6 host": ('url = "http://[::1"\n', "url"),
    "IPv6 host with a port of letters": ('url = "http://[::1]x"\n', "url"),
    "port of letters": ('url = "http://host:abc"\n', "url"),
    "port out of range": ('url = "http://host:99999"\n', "url"),
    "negative port": ('url = "http://host:-1"\n', "url"),
    "port 0": ('url = "http://host:0"\n', "url"),
    "empty port": ('url = "http://host:"\n', "url"),
    "no host": ('url = "http://:80"\n', "url"),
    "nothing after the scheme": ('url = "http://"\n', "url"),
    "another scheme": ('url = "ftp://host"\n', "url"),
    "space in the host": ('url = "http://exa mple.com"\n', "url"),
    "control character": ('url = "http://host\\u0000"\n', "url"),
    "not an IPv4 address": ('url = "http://1.2.3.999"\n', "url"),
    "angle bracket in the host": ('url = "http://exa<mple.com"\n', "url"),
    "user and password": ('url = "http://user:pw@host"\n', "url"),
    "rate nan": (GOOD_URL + "rate_per_second = nan\n", "rate_per_second"),
    "rate inf": (GOOD_URL + "rate_per_second = inf\n", "rate_per_second"),
    "rate 0": (GOOD_URL + "rate_per_second = 0\n", "rate_per_second"),
    "rate negative": (GOOD_URL + "rate_per_second = -1.5\n", "rate_per_second"),
    "rate denormal": (GOOD_URL + "rate_per_second = 5e-324\n", "rate_per_second"),
    "timeout inf": (GOOD_URL + "timeout = inf\n", "timeout"),
    "timeout nan": (GOOD_URL + "timeout = nan\n", "timeout"),
    "timeout 0": (GOOD_URL + "timeout = 0\n", "timeout"),
    "timeout negative": (GOOD_URL + "timeout = -3\n", "timeout"),
    "batch_size fraction": (GOOD_URL + "batch_size = 2.5\n", "batch_size"),
    "batch_size bool": (GOOD_URL + "batch_size = true\n", "batch_size"),
    "batch_size 0": (GOOD_URL + "batch_size = 0\n", "batch_size"),
    "batch_size negative": (GOOD_URL + "batch_size = -10\n", "batch_size"),
    "batch_size beyond SQLite": (GOOD_URL + "batch_size = 9223372036854775807\n", "batch_size"),
    "batch_size text": (GOOD_URL + 'batch_size = "50"\n', "batch_size"),
    "poll_interval inf": (GOOD_URL + "poll_interval = inf\n", "poll_interval"),
    "poll_interval nan": (GOOD_URL + "poll_interval = nan\n", "poll_interval"),
    "poll_interval 0": (GOOD_URL + "poll_interval = 0\n", "poll_interval"),
    "poll_interval past any date": (GOOD_URL + "poll_interval = 1e20\n", "poll_interval"),
    "poll_interval over a week": (GOOD_URL + "poll_interval = 604801\n", "poll_interval"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_setting_that_cannot_work_is_refused_in_one_line(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines, key = REFUSED[name]
    config = tmp_path / "config.toml"
    config.write_text(SANDBOX + lines)
    monkeypatch.setenv("CODSPOT_AGENT", "boss")
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(tmp_path / "shop.db"), "--config", str(config), "worker", "--once"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1, err
    assert f"[carriers.sandbox]: {key} " in err, err
    assert "Traceback" not in err


def test_share_group_takes_true_or_false_only() -> None:
    assert parse_settings({"share_group": True}).share_group is True
    assert parse_settings({}).share_group is False
    with pytest.raises(ValueError, match="share_group must be true or false"):
        parse_settings({"share_group": "yes"})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765",
        "http://[::1]:8765",
        "https://api.example.ma/v1",
        "http://carrier_mock:8080/",
        "https://xn--mgbh0fb.xn--kgbechtv",
        "http://localhost.",
    ],
)
def test_a_url_the_client_can_use_is_kept(url: str) -> None:
    table = {"kind": "sandbox", "token": "t", "url": url}
    settings = parse_settings({"carriers": {"sandbox": table}})
    carrier = settings.carriers["sandbox"]
    assert carrier.url == url
    assert carrier.batch_size == 50 and isinstance(carrier.batch_size, int)
    httpx.AsyncClient(base_url=carrier.url)  # what the adapters build from it


def test_the_largest_numbers_that_can_work_are_kept() -> None:
    table = {
        "kind": "sandbox",
        "token": "t",
        "url": "http://127.0.0.1:8765",
        "batch_size": 1000,
        "rate_per_second": 0.001,
        "timeout": 3600,
        "poll_interval": 7 * 24 * 3600,
    }
    carrier = parse_settings({"carriers": {"sandbox": table}}).carriers["sandbox"]
    assert (carrier.batch_size, carrier.timeout, carrier.poll_interval) == (1000, 3600.0, 604800.0)
