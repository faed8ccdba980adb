"""The arrows point one way: api | jobs | cli → domain → db. Transport never leaks inward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "renewals"

FORBIDDEN = {
    "domain": (
        "litestar",
        "dramatiq",
        "uvicorn",
        "renewals.api",
        "renewals.jobs",
        "renewals.cli",
        "renewals.supervisor",
    ),
    "db": ("litestar", "dramatiq", "renewals.api", "renewals.jobs", "renewals.cli", "renewals.domain"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_inner_layers_never_import_outer_ones(layer: str) -> None:
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        for name in imported_modules(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert offenders == []


def test_the_layer_check_sees_imports() -> None:
    # Guard against a check that passes because it reads nothing.
    assert "litestar" in imported_modules(SRC / "api" / "app.py")
    assert len(list((SRC / "domain").rglob("*.py"))) > 20
