"""Slow clients for load tests: many connections that each send one byte now and then."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def dribbling(host: str, port: int, count: int, interval: float = 0.5) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that each send one byte every ``interval`` seconds until the block ends."""
    socks = [socket.create_connection((host, port)) for _ in range(count)]
    stop = threading.Event()

    def dribble() -> None:
        while not stop.is_set():
            for sock in socks:
                with contextlib.suppress(OSError):  # the server may close a slow one: that is its right
                    sock.send(b"G")
            stop.wait(interval)

    thread = threading.Thread(target=dribble, name="slow-clients", daemon=True)
    thread.start()
    try:
        yield socks
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()
