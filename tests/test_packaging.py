"""What `pip install .` without extras gets must be enough to run the service.

Every third-party module the installed packages import is a declared dependency (not one
that only arrives with a dev tool), and every data file they read is in the wheel.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
INSTALLED = ("api", "cli", "schemas", "services", "migrations")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    return {
        _normalise(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in PYPROJECT["project"]["dependencies"]
    }


def _imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the files importing it, for every module neither in the standard
    library nor one of ours."""
    ours = set(INSTALLED)
    found: dict[str, set[str]] = {}
    for package in INSTALLED:
        for path in (ROOT / package).rglob("*.py"):
            for module in _imported_modules(path):
                if module in sys.stdlib_module_names or module in ours or module == "__future__":
                    continue
                found.setdefault(module, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    declared = _declared()

    undeclared = {
        module: sorted(files)
        for module, files in _third_party_imports().items()
        if not {_normalise(d) for d in distributions.get(module, [module])} & declared
    }

    assert undeclared == {}, "declare these in [project] dependencies of pyproject.toml"


def test_every_data_file_the_packages_read_is_in_the_wheel() -> None:
    package_data: dict[str, list[str]] = PYPROJECT["tool"]["setuptools"]["package-data"]
    data_files = [
        path.relative_to(ROOT)
        for package in INSTALLED
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]

    def shipped(relative: Path) -> bool:
        package, inside = relative.parts[0], Path(*relative.parts[1:])
        return any(fnmatch(str(inside), pattern) for pattern in package_data.get(package, []))

    assert data_files, "expected data files (reference data, the prior model, Alembic's template)"
    assert [str(f) for f in data_files if not shipped(f)] == []
    for package, patterns in package_data.items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}: {pattern} matches nothing"
