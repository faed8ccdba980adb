"""The arrows point one way: api | jobs | cli → domain → db. Transport never leaks inward.

Inside the domain, feature modules call down and never in a circle: every import is at the top of
its module (none hidden in a function or behind importlib to dodge a circle), the import graph
has no cycle, and nothing reads the clock (time comes in as `as_of` / `at`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "renewals"
DOMAIN = SRC / "domain"

FORBIDDEN = {
    "domain": (
        "litestar",
        "dramatiq",
        "uvicorn",
        "renewals.api",
        "renewals.jobs",
        "renewals.cli",
        "renewals.supervisor",
        "renewals.demo",
        "renewals.clock",
        "importlib",
    ),
    "db": ("litestar", "dramatiq", "renewals.api", "renewals.jobs", "renewals.cli", "renewals.domain"),
}

# Imports inside a function, allowed only for a reason other than a circle.
LATE_IMPORTS_ALLOWED = {
    # WeasyPrint takes about two seconds to import: the renderer loads on first use, so the API and
    # the services that only build contexts or serve stored PDFs start without it.
    "notices/__init__.py",
}

# Reading the wall clock, by the dotted tail of the call (or of a column default).
CLOCK_CALLS = (
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "time.time",
    "time.time_ns",
    "time.localtime",
    "time.gmtime",
    "func.now",
    "func.current_timestamp",
    "func.current_date",
    "func.localtimestamp",
)
CLOCK_NAMES = {"time": {"time", "time_ns", "localtime", "gmtime"}}

# The transports' face of a feature: domain modules import the module that defines a name instead.
TRANSPORT_FACES = ("renewals.domain.renewals.service",)


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module an ImportFrom names, with relative imports resolved against `path`."""
    if node.level == 0:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_imports(tree: ast.Module) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import that runs, with whether it sits at module level (not in a function or class)."""

    def walk(node: ast.AST, top: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, top
            nested = top and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
            yield from walk(child, nested)

    yield from walk(tree, True)


def imported_modules(path: Path, *, source: str | None = None) -> set[str]:
    """The modules a file imports at run time, relative imports resolved. `from pkg import name`
    counts as `pkg.name` as well when that is a module of the tree."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    names: set[str] = set()
    for node, _ in _runtime_imports(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        else:
            module = _absolute(node, path)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names if _is_module(f"{module}.{alias.name}"))
    return names


def _is_module(name: str) -> bool:
    if not name.startswith("renewals."):
        return False
    relative = Path(*name.split(".")[1:])
    return (SRC / relative).with_suffix(".py").is_file() or (SRC / relative / "__init__.py").is_file()


def late_imports(path: Path, *, source: str | None = None) -> list[str]:
    """Imports inside a function or class body (outside `if TYPE_CHECKING:`), as `line: code`."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    return [f"{node.lineno}: {ast.unparse(node)}" for node, top in _runtime_imports(tree) if not top]


def clock_reads(path: Path, *, source: str | None = None) -> list[str]:
    """Calls (and references, e.g. column defaults) that read the wall clock, as `line: code`."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node).endswith(CLOCK_CALLS):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module in CLOCK_NAMES:
            found += [f"{node.lineno}: {ast.unparse(node)}" for a in node.names if a.name in CLOCK_NAMES[node.module]]
    return found


def dynamic_imports(path: Path, *, source: str | None = None) -> list[str]:
    """Calls that import a module by name at run time (importlib, __import__), as `line: code`."""
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    return [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (ast.unparse(node.func) == "__import__" or ast.unparse(node.func).endswith("import_module"))
    ]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def domain_graph() -> dict[str, set[str]]:
    """Which domain module imports which. A module's own parent packages are left out: Python runs
    them before the module anyway (and a package may name itself), so such an arrow closes no circle."""
    modules = {module_name(path): path for path in sorted(DOMAIN.rglob("*.py"))}
    return {
        name: {other for other in imported_modules(path) & set(modules) if not (name + ".").startswith(other + ".")}
        for name, path in modules.items()
    }


def domain_files() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_never_import_outer_ones(layer: str) -> None:
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_domain_modules_import_each_other_without_a_circle() -> None:
    assert cycles(domain_graph()) == []


def test_domain_modules_import_at_the_top_never_inside_a_function() -> None:
    offenders = {
        str(path.relative_to(DOMAIN)): late
        for path in domain_files()
        if str(path.relative_to(DOMAIN)) not in LATE_IMPORTS_ALLOWED and (late := late_imports(path))
    }
    assert offenders == {}


def test_the_domain_never_reads_the_clock() -> None:
    offenders = {str(path.relative_to(DOMAIN)): found for path in domain_files() if (found := clock_reads(path))}
    assert offenders == {}


def test_the_domain_never_imports_a_module_by_name_at_run_time() -> None:
    offenders = {str(path.relative_to(DOMAIN)): found for path in domain_files() if (found := dynamic_imports(path))}
    assert offenders == {}


def test_domain_modules_import_what_they_need_from_where_it_is_defined() -> None:
    offenders = [
        f"{name} imports {face}"
        for name, imported in domain_graph().items()
        for face in TRANSPORT_FACES
        if face in imported
    ]
    assert offenders == []


# --- the checks themselves see what they look for --------------------------------------------------


def test_the_layer_check_sees_imports() -> None:
    # Guard against a check that passes because it reads nothing.
    assert "litestar" in imported_modules(SRC / "api" / "app.py")
    assert len(domain_files()) > 20
    graph = domain_graph()
    assert "renewals.domain.receivables.queries" in graph["renewals.domain.alerts.resolving"]
    assert "renewals.domain.daily.scan" in graph["renewals.domain.daily.scan_job"]


def test_relative_and_dynamic_imports_are_seen() -> None:
    path = DOMAIN / "alerts" / "raising.py"
    source = "from . import store\nfrom ..receivables.queries import unpaid\nimport importlib\n"
    assert {"renewals.domain.alerts.store", "renewals.domain.receivables.queries", "importlib"} <= imported_modules(
        path, source=source
    )
    assert dynamic_imports(path, source="mod = importlib.import_module('renewals.domain.alerts.store')\n") != []
    assert dynamic_imports(path, source="mod = __import__('renewals.domain.alerts.store')\n") != []


def test_an_import_inside_a_function_is_found_but_not_one_for_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from renewals.settings import Settings\n"
        "def f():\n    from renewals.domain.renewals import service\n    return service\n"
    )
    assert late_imports(DOMAIN / "x.py", source=source) == ["5: from renewals.domain.renewals import service"]
    assert "renewals.settings" not in imported_modules(DOMAIN / "x.py", source=source)


def test_clock_reads_are_found() -> None:
    source = (
        "from datetime import UTC, date, datetime\nfrom time import time\n"
        "a = datetime.now(UTC)\nb = date.today()\nc = Column(default=func.now())\nd = as_of + 1\n"
    )
    assert [line.split(":")[0] for line in clock_reads(DOMAIN / "x.py", source=source)] == ["2", "3", "4", "5"]


def test_a_circle_is_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
