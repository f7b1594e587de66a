"""The import rule of ARCHITECTURE.md, checked on the source tree (an AST walk, no imports run).

Data flows one way: HTTP/SMTP -> verify -> normalise -> store -> enqueue -> worker -> effects.
The web/SMTP half (``service``) never imports the worker half (``workers``); the worker half reads
and writes the store but never reaches into ingest, the API or the UI; only the composition root
(``service.cli``) sees both halves.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Packages of ``service`` that the worker half must not import (they serve HTTP/SMTP or compose).
WORKER_FORBIDDEN = (
    "service.cli",
    "service.web",
    "service.ingest",
    "service.api",
    "service.ui",
    "service.smtp",
    "service.providers",
)


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def _imports(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    nested = {id(node) for fn in functions for node in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno, id(node) in nested
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno, id(node) in nested


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_service_never_imports_workers_outside_the_composition_root() -> None:
    found = [
        f"{name}:{line} imports {target}"
        for name, path in _modules("service")
        if not _within(name, ("service.cli", "service.__main__"))
        for target, line, _ in _imports(path)
        if _within(target, ("workers",))
    ]
    assert found == []


def test_workers_never_import_ingest_api_ui_or_the_composition_root() -> None:
    found = [
        f"{name}:{line} imports {target}"
        for name, path in _modules("workers")
        for target, line, _ in _imports(path)
        if _within(target, WORKER_FORBIDDEN)
    ]
    assert found == []


def test_client_sees_mailhook_only_through_http() -> None:
    """The client and pytest plugin load in other projects' suites: no server code comes with them."""
    found = [
        f"{name}:{line} imports {target}"
        for name, path in _modules("service/client")
        for target, line, _ in _imports(path)
        if _within(target, ("service", "workers")) and not _within(target, ("service.client",))
    ]
    assert found == []


#: Imports inside functions that are there for a reason other than dodging an import loop.
LATE_IMPORTS_ALLOWED: dict[str, str] = {}


@pytest.mark.parametrize("package", ["service", "workers"])
def test_no_imports_inside_functions(package: str) -> None:
    """A late import hides a loop or a layering problem; fix the shape instead."""
    found = [
        f"{name}:{line} imports {target} inside a function"
        for name, path in _modules(package)
        if name not in LATE_IMPORTS_ALLOWED
        for target, line, inside in _imports(path)
        if inside
    ]
    assert found == []


def _imported_names(path: Path) -> Iterator[tuple[str, str, int]]:
    """(module, name, line) for every ``from mailhook_module import name`` (absolute imports)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno


@pytest.mark.parametrize("package", ["service", "workers"])
def test_no_module_borrows_another_modules_private_names(package: str) -> None:
    """A ``_name`` is its module's own business; code two modules share gets a public name."""
    found = [
        f"{name}:{line} imports {target}.{imported}"
        for name, path in _modules(package)
        for target, imported, line in _imported_names(path)
        if _within(target, ("service", "workers")) and imported.startswith("_") and target != name
    ]
    assert found == []


@pytest.mark.parametrize("package", ["service", "workers"])
def test_no_import_loop_hidden_behind_type_checking(package: str) -> None:
    """``if TYPE_CHECKING:`` around a Mailhook import is a late import in disguise: fix the shape."""
    found = [
        f"{name}:{node.lineno} imports {inner.module} only while type checking"
        for name, path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for inner in ast.walk(node)
        if isinstance(inner, ast.ImportFrom) and inner.module and _within(inner.module, ("service", "workers"))
    ]
    assert found == []
