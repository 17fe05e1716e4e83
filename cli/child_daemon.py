"""`meshkeeper run`'s daemon: a child process of its own, so polling never holds the API's GIL."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys

log = logging.getLogger("meshkeeper")

# The child's flag: die with the parent. The kernel closes the parent's pipe however the parent
# ends, SIGKILL included, and the child then exits at once as if killed with it (its batch in
# hand rolls back and is polled again), so `run` stays one unit: no daemon is left polling on
# its own beside the next `meshkeeper run` (issue 16).
WITH_PARENT = "--with-parent"
RESTART_AFTER_S = (1.0, 60.0)  # a crashing child waits longer each time, up to a minute


class ChildDaemon:
    """Starts `meshkeeper daemon` on the parent's database, restarts it if it dies, stops it."""

    def __init__(self, database_url: str, nice: int):
        self.env = {**os.environ, "MESHKEEPER_DATABASE_URL": database_url}
        self.nice = nice
        self.process: asyncio.subprocess.Process | None = None
        self.stopping = False
        self.watcher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and the task that restarts it after a crash."""
        await self._spawn()
        self.watcher = asyncio.create_task(self._watch())

    async def _spawn(self) -> None:
        # Inherits stdout and stderr: the daemon's log lines land where run's do.
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli.main",
            "daemon",
            WITH_PARENT,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            # Niced before it runs a line: its start (imports, first runs) is a CPU-second and
            # more, which at full priority stalled the API for half a second (bench/api_load.py).
            preexec_fn=functools.partial(lower_priority, self.nice),
        )
        log.info("daemon started as process %d", self.process.pid)

    async def _watch(self) -> None:
        delay = RESTART_AFTER_S[0]
        while self.process is not None:
            code = await self.process.wait()
            if self.stopping:
                return
            log.error(
                "the daemon (process %d) exited with %s; restarting in %.0f s",
                self.process.pid,
                code,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_AFTER_S[1])
            if self.stopping:
                return
            await self._spawn()

    def terminate(self) -> None:
        """SIGTERM: the child starts no new batch, finishes the one in hand (8 s at most)."""
        self.stopping = True
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Terminate the child and wait for it; killed if it outlasts grace_s."""
        self.terminate()
        if self.watcher is not None:
            self.watcher.cancel()
        process = self.process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), grace_s)
        except TimeoutError:
            log.error("the daemon did not stop within %.0f s; killing it", grace_s)
            process.kill()
            await process.wait()


def lower_priority(nice: int) -> None:
    """This process's niceness at least `nice` (an absolute value, so setting it twice is once)."""
    os.setpriority(os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))


def exit_with_parent() -> None:
    """Exit at once when standard input, the parent's pipe, reaches its end."""
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), _exit_at_end)


def _exit_at_end() -> None:
    if not os.read(sys.stdin.fileno(), 4096):
        log.error("meshkeeper run has gone; the daemon exits with it")
        os._exit(1)
