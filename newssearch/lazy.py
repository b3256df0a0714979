"""Package attributes imported on first use (PEP 562), so importing a package, or the CLI, stays light."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_attributes(package_globals: dict[str, Any], where: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `name` from the module `where[name]` names, once."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package_globals['__name__']!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package_globals["__name__"]), name)
        package_globals[name] = value
        return value

    return __getattr__
