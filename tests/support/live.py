"""A hub served by uvicorn over real HTTP on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from axis.api.app import create_app
from axis.bootstrap import build_hub
from axis.config import Settings
from axis.service import agencies
from axis.service.context import Hub


@dataclass
class LiveHub:
    url: str
    hub: Hub
    server: uvicorn.Server

    @classmethod
    @contextmanager
    def start(cls, env: dict[str, str]) -> Iterator[LiveHub]:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = Settings()
            hub = build_hub(settings)
            app = create_app(settings, hub=hub)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
            thread.start()
            deadline = time.monotonic() + 15
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("the hub did not start")
                time.sleep(0.01)
            live = cls(url=f"http://127.0.0.1:{port}", hub=hub, server=server)
            try:
                yield live
            finally:
                server.should_exit = True
                thread.join(10)
                sock.close()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def add_agency(self, code: str, name: str | None = None) -> str:
        return agencies.add_agency(self.hub.db, code, name or f"Cơ quan {code}")

    def staff_key(self, role: str) -> str:
        return agencies.new_staff_key(self.hub.db, role)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)
