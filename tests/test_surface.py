"""The package's surface: each module's ``__all__`` is complete and true, and the exception
tree drawn in errors.py is the one the code builds."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pressdispatch
from pressdispatch import errors


def _modules() -> list[ModuleType]:
    found = []
    for info in pkgutil.walk_packages(pressdispatch.__path__, "pressdispatch."):
        if info.name.endswith("__main__") or ".migrations" in info.name:
            continue
        found.append(importlib.import_module(info.name))
    return found


def _registered(module: ModuleType) -> set[str]:
    """Functions that a module registers on its router or the CLI app instead of exporting."""
    names: set[str] = set()
    for route in getattr(getattr(module, "router", None), "routes", []):
        endpoint = getattr(route, "endpoint", None)
        if endpoint is not None and endpoint.__module__ == module.__name__:
            names.add(endpoint.__name__)
    if module.__name__.startswith("pressdispatch.cli"):
        names |= {
            name
            for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__
        }
        names |= {n for n, v in vars(module).items() if inspect.isclass(v)}
    return names


def test_every_name_in_all_exists_and_every_public_definition_is_in_it() -> None:
    wrong = {}
    for module in _modules():
        listed = getattr(module, "__all__", None)
        if listed is None:
            continue
        missing = [name for name in listed if not hasattr(module, name)]
        defined = [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == module.__name__
        ]
        unlisted = sorted(set(defined) - set(listed) - _registered(module))
        if missing or unlisted:
            wrong[module.__name__] = (missing, unlisted)
    assert wrong == {}


def test_the_package_exports_what_it_imports() -> None:
    public = {
        name
        for name, value in vars(pressdispatch).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert public == set(pressdispatch.__all__)


def test_the_exception_tree_in_errors_is_the_one_the_code_builds() -> None:
    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        match = re.match(r"^(\s*)((?:[│ ]   )*)(?:[├└]── )?([A-Z]\w+)(?:\s|$)", line)
        if match is None or not line.startswith("    "):
            continue
        depth = len(match.group(2)) // 4 + (1 if "──" in line else 0)
        name = match.group(3)
        parents[depth:] = [name]
        if depth:
            drawn[name] = parents[depth - 1]
    built = {
        name: next(
            base.__name__ for base in value.__bases__ if issubclass(base, errors.PressDispatchError)
        )
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, errors.PressDispatchError)
        and value is not errors.PressDispatchError
    }
    assert drawn == built
