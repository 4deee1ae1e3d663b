"""Work that waits on the object store runs on threads of its own (issue 16, item 12).

Endpoints run their blocking work in a shared pool of threads (anyio's, 40 by default). A store
that hangs held every one of them in stuck submissions, and `/v1/inbox` or `/v1/agencies`, which
never touch the store, waited 14 s for a thread. Submissions now take their threads from a
separate limiter (AXIS_STORE_THREADS): when the store hangs they queue there, each bounded by
the store's timeouts, and the rest of the hub keeps its threads."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

T = TypeVar("T")


def _limiter(request: Request) -> anyio.CapacityLimiter:
    state = request.app.state
    limiter = getattr(state, "store_limiter", None)
    if limiter is None:  # made on first use, inside the event loop that owns it
        limiter = state.store_limiter = anyio.CapacityLimiter(state.hub.settings.store_threads)
    return limiter


async def run_store_bound(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), limiter=_limiter(request)
    )
