"""The console's routers, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from axis.console import archivist, clerk, dashboard, leader, operator, pages, sso

    return [m.router for m in (pages, sso, dashboard, clerk, leader, archivist, operator)]
