"""systemd's notify protocol: READY=1, STOPPING=1 and watchdog pings from the event loop.

Written out rather than imported: the protocol is one datagram to $NOTIFY_SOCKET
(sd_notify(3)), and the small libraries for it are unmaintained.
"""

from __future__ import annotations

import asyncio
import os
import socket


def notify(message: str) -> bool:
    """Send one state line to systemd; False when not run under systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):  # abstract namespace socket
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(path)
        sock.sendall(message.encode())
    return True


def watchdog_interval() -> float | None:
    """Half the WatchdogSec systemd gave this process, or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 2_000_000


async def watchdog() -> None:
    """Ping the watchdog from the event loop: a stuck loop stops the pings and gets restarted."""
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
