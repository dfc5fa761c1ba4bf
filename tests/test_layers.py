"""The architecture's one rule, checked: imports run only downward (README, Development).

Packages are layered; inside a package, modules are ranked, and a module may import
modules of a lower layer, or of its own package with a rank no higher than its own.
Every module must appear here, so a new one is placed on the map when it is added.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "digestbot"

# Layer of each top-level module or package, lowest first.
LAYERS: dict[str, int] = {
    "errors": 0, "logs": 0, "zones": 0, "text": 0, "config": 0, "i18n": 0,  # base
    "catalogs": 0,
    "store": 1,
    "briefs": 2,
    "readers": 3,
    "delivery": 4,
    "bot": 5,
    "console": 6, "cli": 7, "__main__": 8,  # entry points
    "fakeapi": 0,  # stands apart: imports nothing of digestbot (checked below)
}  # fmt: skip

# Rank of each module inside its package (a dotted path below the package).
RANKS: dict[str, dict[str, int]] = {
    "": {"errors": 0, "logs": 0, "zones": 0, "text": 0, "i18n": 0, "config": 1, "catalogs": 1},
    "store": {
        "models": 0, "db": 1, "sql": 2,
        "tags": 3, "kv": 3, "feeds": 3, "audit": 3, "filters": 3,
        "briefs": 4, "chats": 4,
        "planning": 5, "outbox": 5, "broadcasts": 5,
        "search": 5, "channels": 5,
        "migrations": 6, "alerts": 6,
    },
    "briefs": {
        "parse": 0, "tagging": 1, "feeds": 1, "render": 1, "network": 1,
        "fetcher": 2, "ingest": 3, "poller": 4, "feedadmin": 4,
    },
    "readers": {"chats": 0, "shaping": 0, "saved": 0, "filters": 1, "channels": 1, "digests": 2},
    "delivery": {
        "schedule": 0, "leader": 0, "failures": 0, "payload": 0, "pacing": 0, "feedback": 0,
        "window": 0, "parts": 1, "planner": 1, "sender": 1, "alerts": 1, "broadcasts": 2,
    },
    "bot": {
        "processing": 0, "request": 0, "webhook": 0, "metrics": 0, "stats": 0,
        "context": 1, "keyboards": 1, "status": 1,
        "jobs": 2,  # below handlers: a scheduled job never reaches into a handler module
        "handlers": 3, "commands": 4, "app": 5,
    },
    "bot.handlers": {
        "common": 0, "guards": 0, "texts": 0, "managed": 1,
        "basics": 1, "tags": 1, "reading": 1, "feeds": 1, "shaping": 1, "settings": 1,
        "membership": 1, "channels": 1, "saved": 1, "inline": 1, "language": 1,
        "admin": 2, "buttons": 3,
    },
    "fakeapi": {
        "models": 0, "http": 0, "faults": 1, "state": 1, "params": 2, "markup": 2,
        "updates": 2, "methods": 3, "server": 4,
    },
}  # fmt: skip


def layer_of(module: str) -> int:
    return LAYERS[module.split(".")[0]]


ENTRY_POINTS = {"cli", "console", "__main__"}


def group(module: str) -> str:
    """The package a module belongs to ("" for the base modules)."""
    first = module.split(".")[0]
    return "" if first in RANKS[""] else first


def ranked_package(module: str) -> str:
    """The innermost package of RANKS that holds ``module``."""
    if module.startswith("bot.handlers."):
        return "bot.handlers"
    return group(module)


def rank(package: str, module: str) -> int | None:
    name = module.removeprefix(f"{package}.") if package else module
    return RANKS[package].get(name.split(".")[0])


def imports_of(path: Path) -> set[str]:
    """The digestbot modules a file imports, as dotted paths below ``digestbot``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digestbot"):
            base = node.module.removeprefix("digestbot").lstrip(".")
            if not base or base in RANKS or base == "fakeapi":
                # from digestbot import config / from digestbot.store import db: a module each,
                # or the package's re-exports (``from digestbot.store import Claimed``).
                for alias in node.names:
                    dotted = f"{base}.{alias.name}" if base else alias.name
                    where = PACKAGE / dotted.replace(".", "/")
                    is_module = where.with_suffix(".py").exists() or where.is_dir()
                    found.add(dotted if is_module else base)
            else:
                found.add(base)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("digestbot.") for a in node.names
                if a.name.startswith("digestbot.")
            )  # fmt: skip
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts or "versions" in parts:  # migration scripts import nothing of ours
            continue
        found.append((".".join(parts), path))
    return found


def violation(module: str, imported: str) -> str | None:
    if module in ("store", "fakeapi"):
        return None  # the package's re-exports
    if group(module) != group(imported):
        if layer_of(imported) < layer_of(module):
            return None
        return "imports a layer not below its own"
    package = ranked_package(module)
    if ranked_package(imported) != package and package == "bot.handlers":
        package = "bot"
    own, other = rank(package, module), rank(package, imported)
    if own is None or other is None or other > own:
        return f"imports a higher rank in {package or 'the base'}"
    return None


def test_every_module_imports_only_lower_layers_or_lower_ranks():
    found = [
        f"{module} {reason}: {imported}"
        for module, path in modules()
        for imported in imports_of(path)
        if (reason := violation(module, imported))
    ]
    assert found == []


def test_fakeapi_imports_nothing_of_digestbot():
    found = [
        f"{module} imports {imported}"
        for module, path in modules()
        if group(module) == "fakeapi"
        for imported in imports_of(path)
        if group(imported) != "fakeapi"
    ]
    assert found == []


def test_every_module_has_a_place_on_the_map():
    missing = []
    for module, _ in modules():
        if module.split(".")[0] not in LAYERS:
            missing.append(module)
        elif module in ENTRY_POINTS or module in RANKS:
            continue
        elif rank(ranked_package(module), module) is None:
            missing.append(module)
    assert missing == []


def test_packages_say_what_they_own_and_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        if init.parent.name == "fakeapi":
            continue  # its docstring is a usage guide; it imports nothing of ours
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "May import" in doc, init
