"""The package's shape, checked from its imports (issue 18): parts by capability, no circles,
the rule free of registers, models and file readers, the register free of models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("minorguard", "consent_db")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> dict[str, set[str]]:
    """Every module of the two packages and the modules of the two packages it imports, lazily or not."""
    files = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import (absolute imports keep moves simple)"
                base = node.module or ""
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in modules else base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


GRAPH = _imports()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return "consent_db" if parts[0] == "consent_db" else ".".join(parts[:2])


def test_the_graph_sees_the_package():
    assert "minorguard.rules.decide" in GRAPH and "minorguard.pipeline" in GRAPH["minorguard"]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]  # the check can fail


def test_no_module_imports_in_a_circle():
    assert _cycles(GRAPH) == []


def test_no_part_imports_in_a_circle():
    parts: dict[str, set[str]] = {}
    for module, deps in GRAPH.items():
        parts.setdefault(_part(module), set()).update(_part(d) for d in deps if _part(d) != _part(module))
    assert _cycles(parts) == []


def test_only_the_command_line_imports_the_command_line():
    outside = {m: sorted(d for d in deps if d.startswith("minorguard.cli")) for m, deps in GRAPH.items()
               if not m.startswith("minorguard.cli") and m not in ("minorguard.__main__", "minorguard.launch")}
    assert {m: d for m, d in outside.items() if d} == {}


@pytest.mark.parametrize("forbidden", ["minorguard.models", "minorguard.photos.decode", "minorguard.pipeline",
                                       "minorguard.application", "minorguard.faces"])
def test_the_register_takes_embeddings_and_never_computes_them(forbidden):
    reaching = {m: sorted(d for d in deps if d == forbidden or d.startswith(forbidden + "."))
                for m, deps in GRAPH.items() if m.startswith("consent_db")}
    assert {m: d for m, d in reaching.items() if d} == {}


def test_the_rule_imports_no_register_model_or_file_reader():
    allowed = ("minorguard.rules", "minorguard.types", "minorguard.locale")
    rule = {m: sorted(d for d in deps if not d.startswith(allowed)) for m, deps in GRAPH.items() if m.startswith("minorguard.rules")}
    assert {m: d for m, d in rule.items() if d} == {}
    readers = {"open", "load_photo", "load_frames", "imread"}
    for path in (ROOT / "minorguard" / "rules").glob("*.py"):
        calls = {n.func.id for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & readers, f"{path.name} reads files: {sorted(calls & readers)}"
