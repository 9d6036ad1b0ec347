"""DESIGN §2: dependencies point one way, and nothing below tui/ imports Textual."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "codspot_tui"

# Lower number = lower layer. A module may import its own layer or any lower one.
LAYERS = {
    "domain": 1,
    "settings": 2,
    "store": 2,
    "services": 3,
    "carriers": 4,
    "sandbox": 4,
    "tui": 5,
    "cli": 6,
    "cli_views": 6,
    "cli_session": 6,
    "cli_carriers": 6,
    "cli_dashboard": 6,
    "__main__": 7,
}


# The entry points that may load the dashboard; everything else must run without Textual.
DASHBOARD_AND_COMMANDS = {
    "tui",
    "__main__.py",
    "cli.py",
    "cli_carriers.py",
    "cli_session.py",
    "cli_dashboard.py",
}


def layer_of(module: str) -> str:
    return module.split(".")[0]


def internal_imports(path: Path) -> set[str]:
    """Modules of codspot_tui that `path` imports, as dotted names below the package."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - node.level])
                target = ".".join([*base, node.module or ""]).strip(".")
            elif (node.module or "").startswith("codspot_tui"):
                target = (node.module or "").removeprefix("codspot_tui").strip(".")
            else:
                continue
            found.add(target or node.names[0].name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("codspot_tui."):
                    found.add(alias.name.removeprefix("codspot_tui."))
    return found


def test_every_module_has_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        assert top in LAYERS or top == "__init__", f"{path.name}: which layer of DESIGN §2?"


def test_imports_point_down() -> None:
    upward = []
    for path in PACKAGE.rglob("*.py"):
        top = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if top == "__init__":
            continue
        for target in internal_imports(path):
            if layer_of(target) in LAYERS and LAYERS[layer_of(target)] > LAYERS[top]:
                upward.append(f"{path.relative_to(PACKAGE)} imports {target}")
    assert upward == []


def test_store_and_domain_do_not_depend_on_each_other_sideways() -> None:
    store_imports_settings = [
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "store").rglob("*.py")
        if any(layer_of(t) == "settings" for t in internal_imports(path))
    ]
    assert store_imports_settings == []


def test_nothing_below_the_dashboard_imports_textual() -> None:
    modules = [
        "codspot_tui." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in DASHBOARD_AND_COMMANDS
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_domain_is_pure() -> None:
    impure = {"aiosqlite", "sqlite3", "asyncio", "httpx", "textual", "click", "os", "socket"}
    offenders = []
    for path in (PACKAGE / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in impure]
    assert offenders == []
