"""An app served by a real uvicorn in a thread on a free loopback port, for tests.

The server is configured as `meshkeeper run` configures it (api/serving.py), from the app's
own settings, so the tests meet the protocol limits and proxy rules a real client meets.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from api.serving import server_config


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve app until the block ends; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    local = {"http_host": "127.0.0.1", "log_level": "warning"}
    settings = app.state.settings.model_copy(update=local)
    server = uvicorn.Server(server_config(app, settings, port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
