"""The shipped packages' imports point one way: every import counts (also
inside functions and under TYPE_CHECKING), no module is part of an import
cycle, nothing below the composition root imports `bot`, and the layers
only import downwards (docs/architecture.md)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Lower layers first; a package may import its own layer and any lower one.
LAYERS = [
    {"domain", "i18n", "matching", "emulator"},  # leaves: none imports another of our packages
    {"db"},
    {"handlers"},
    {"bot"},
]
FRAMEWORKS = ("aiogram", "telegram", "apscheduler")  # only the composition root (bot/) talks to them


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for layer in LAYERS:
        for pkg in layer:
            for path in (ROOT / pkg).rglob("*.py"):
                if "migrations" in path.parts:
                    continue
                parts = path.relative_to(ROOT).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                mods[name] = path
    return mods


def _imports(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> every module of ours (and every top-level package) it imports."""
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                    package = package[: len(package) - (node.level - 1)]
                    base = ".".join(package + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for target in targets:
                while target and target not in mods and "." in target:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found.add(target)
        edges[name] = found
    return edges


def _layer(module: str) -> int | None:
    top = module.split(".")[0]
    return next((i for i, layer in enumerate(LAYERS) if top in layer), None)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_analysis_sees_imports_inside_functions_and_type_checking() -> None:
    edges = _imports(_modules())
    assert "handlers.turn" in edges["handlers.core"]  # a plain import
    assert "handlers.turn" in edges["handlers.flows"]  # under TYPE_CHECKING only
    assert "bot.app" in edges["bot.cli"]  # inside a function
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_imports(_modules())) == []


def test_nothing_imports_the_composition_root_from_below() -> None:
    upward = sorted((a, b) for a, targets in _imports(_modules()).items() for b in targets
                    if b.split(".")[0] == "bot" and a.split(".")[0] != "bot")
    assert upward == []


def test_layers_only_import_downwards() -> None:
    wrong = []
    for module, targets in _imports(_modules()).items():
        mine = _layer(module)
        for target in targets:
            theirs = _layer(target)
            if mine == 0 and theirs == 0 and target.split(".")[0] != module.split(".")[0]:
                wrong.append(f"{module} -> {target}")  # the leaves stay independent of each other
            elif mine is not None and theirs is not None and theirs > mine:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_domain_is_pure_and_only_the_root_knows_the_frameworks() -> None:
    edges = _imports(_modules())
    for module, targets in edges.items():
        top = module.split(".")[0]
        if top == "domain":  # the standard library and itself
            assert [t for t in targets if t.split(".")[0] not in (*sys.stdlib_module_names, "domain")] == [], module
        if top != "bot":
            assert not [t for t in targets if t.split(".")[0] in FRAMEWORKS], module
