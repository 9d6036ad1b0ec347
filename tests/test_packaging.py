"""The wheel ships every package and its data: pyproject.toml lists packages by hand."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setuptools_config() -> dict[str, dict[str, object]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        config: dict[str, dict[str, object]] = tomllib.load(file)["tool"]["setuptools"]
    return config


def test_every_package_is_listed() -> None:
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "codspot_tui").rglob("__init__.py")
    }
    packages = setuptools_config()["packages"]
    assert isinstance(packages, list)
    listed = set(packages)
    assert found <= listed, f"add to pyproject.toml: {sorted(found - listed)}"
    assert "codspot_tui.themes" in listed


def test_the_data_the_code_reads_is_shipped() -> None:
    config = setuptools_config()
    data = config["package-data"]
    folders = config["package-dir"]
    assert isinstance(data, dict) and isinstance(folders, dict)
    # Each pattern matches files the code opens: the migrations, the built-in themes.
    for package, patterns in data.items():
        folder = ROOT / folders.get(package, package.replace(".", "/"))
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: nothing matches {pattern}"
    assert "migrations/*.sql" in data["codspot_tui.store"]
    assert "*.toml" in data["codspot_tui.themes"]
