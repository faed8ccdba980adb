"""The lock files decide what every machine installs: they must agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(lock: str) -> dict[str, str]:
    """Package name → exact version, from a `uv pip compile --generate-hashes` file."""
    out: dict[str, str] = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if match := PIN.match(line):
            out[canonicalize_name(match[1])] = match[2]
    return out


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(r) for r in names]


@pytest.mark.parametrize(("lock", "extra"), [("runtime.txt", None), ("dev.txt", None), ("dev.txt", "dev")])
def test_every_declared_dependency_is_pinned_within_its_range(lock: str, extra: str | None) -> None:
    locked = pins(lock)

    problems = []
    for req in declared(extra):
        version = locked.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name} is not in requirements/{lock}")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} in requirements/{lock} does not satisfy {req}")
    assert problems == [], "pyproject.toml and the lock disagree; run `make lock`"


def test_development_lock_pins_the_runtime_versions_unchanged() -> None:
    runtime, dev = pins("runtime.txt"), pins("dev.txt")

    assert {name: dev.get(name) for name in runtime} == runtime


@pytest.mark.parametrize("lock", ["runtime.txt", "dev.txt"])
def test_every_locked_package_has_an_exact_version_and_a_hash(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])

    unhashed = [e.split()[0] for e in entries if e.strip() and "--hash=sha256:" not in e]
    unpinned = [e.split()[0] for e in entries if e.strip() and not PIN.match(e)]
    assert len(entries) > 20
    assert unhashed == []
    assert unpinned == []
