"""The ASGI app uvicorn imports (one per worker process), configured from AXIS_* variables."""

from axis.api.app import create_app

app = create_app(freeze_gc=True)
