"""The architecture's one rule, checked: each layer imports only those below it (README)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "digestbot"

LAYERS: dict[str, int] = {
    # base
    "errors": 0, "config": 0, "models": 0, "logs": 0, "zones": 0,
    "db": 1, "schedule": 1,
    "store": 2,
    "briefs": 3, "sources": 3,
    "render": 4,
    # services
    "chats": 5, "digests": 5, "ingest": 5, "feeds": 5, "planner": 5, "delivery": 5,
    "broadcasts": 5, "stats": 5, "leader": 5,
    "context": 6, "processing": 6, "metrics": 6,
    "handlers": 7, "jobs": 7,
    # composition root, and the fake Bot API server the console runs
    "app": 8, "cli": 8, "console": 8, "__main__": 8, "fakeapi": 8, "migrations": 8,
    "webhook": 8,
}  # fmt: skip


def layer_of(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digestbot"):
            base = node.module.removeprefix("digestbot").lstrip(".")
            if base:
                found.add(base)
            else:  # from digestbot import store, render
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("digestbot.") for a in node.names
                if a.name.startswith("digestbot.")
            )  # fmt: skip
    return found


def test_every_module_imports_only_its_own_layer_or_below():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module == "__init__":
            continue
        own = layer_of(module)
        for imported in imports_of(path):
            if layer_of(imported) > own:
                violations.append(f"{module} (layer {own}) imports {imported}")
    assert violations == []


def test_every_module_has_a_layer():
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.iterdir()}
    modules -= {"__init__", "__pycache__", "_seeds"}
    assert modules <= set(LAYERS), modules - set(LAYERS)
