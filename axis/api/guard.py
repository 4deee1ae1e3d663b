"""Clients that trickle or go away (issue 16, item 4), as a pure ASGI middleware.

- A request body must arrive whole within `body_timeout_s` of the request's start. One that
  trickles (1 byte a second holds a connection and a request forever otherwise) is answered
  408 BODY_TIMEOUT with `Connection: close` and the connection is dropped; the application
  then sees the client as gone.
- A client that goes away before its body arrived (an aborted upload) is not an error of the
  hub: no traceback, no 500 in the request metrics (they count it under status 499, the
  convention for "client closed request"), a counter instead.

Pure ASGI, so that streamed bodies are never buffered, and below the request metrics so that
they see the 408 and 499 as such.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

from starlette.requests import ClientDisconnect

CLIENT_CLOSED = 499  # nginx's code: the client closed the connection before the answer


class GuardCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.disconnects = 0
        self.body_timeouts = 0

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class BodyGuard:
    def __init__(self, app, body_timeout_s: float, counts: GuardCounts) -> None:  # noqa: ANN001
        self.app = app
        self.timeout = body_timeout_s
        self.counts = counts

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.timeout
        body_done = False
        responded = False  # this middleware answered (408): the app's answer goes nowhere
        started = False
        gone = False

        async def guarded_receive():  # noqa: ANN202
            nonlocal body_done, responded, gone
            if body_done or responded:
                return await receive()
            remaining = deadline - time.monotonic()
            try:
                async with asyncio.timeout(max(remaining, 0.001)):  # no task per chunk
                    message = await receive()
            except TimeoutError:
                self.counts.add("body_timeouts")
                responded = True
                if not started:
                    await _send_408(send, self.timeout)
                return {"type": "http.disconnect"}
            if message["type"] == "http.disconnect":
                gone = True
            elif not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message) -> None:  # noqa: ANN001
            nonlocal started
            if responded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except ClientDisconnect:
            gone = True  # quiet: no traceback, and not a 500
        finally:
            if responded:
                scope["axis.status"] = 408
            elif gone:
                self.counts.add("disconnects")
                scope["axis.status"] = CLIENT_CLOSED


async def _send_408(send, timeout: float) -> None:  # noqa: ANN001
    body = json.dumps(
        {
            "error": "BODY_TIMEOUT",
            "message": f"Nội dung yêu cầu không đến đủ trong {timeout:g} giây; hãy gửi lại "
            f"(the request body did not arrive within {timeout:g} s)",
            "findings": [],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
