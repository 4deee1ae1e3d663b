"""The console's routers, in the order they are mounted."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

_MODULES = ("pages", "dashboard", "clerk", "leader", "archivist", "operator")


def routers() -> list[APIRouter]:
    found = []
    for name in _MODULES:
        try:
            module = importlib.import_module(f"axis.console.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"axis.console.{name}":
                raise
            continue  # a part not built yet
        found.append(module.router)
    return found
