"""Keeps the processes of `city311 up` running: restarts one that dies, stops them all cleanly.

Each child runs in a process group (a session) of its own, so that
- Ctrl-C in the terminal reaches `up` alone, which then stops each child in order;
- stopping or replacing a child also ends whatever it started (gunicorn's workers, the task
  queue's sentinel and its worker processes), even when the child itself was killed with -9:
  nothing is left orphaned, and a restart never runs two task clusters on one database.

A child that dies is restarted after a wait that doubles from BACKOFF_FIRST up to BACKOFF_MAX
seconds, and starts again from BACKOFF_FIRST once the child has stayed up for STABLE_SECONDS.
On Linux each child is also told to stop when `up` itself dies (PR_SET_PDEATHSIG), so even a
`kill -9` of `up` leaves no server behind.

In production a service manager does this job (systemd, a container runtime):
see docs/operations.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
STABLE_SECONDS = 60.0
# How long the children get to finish what they are doing when asked to stop.
STOP_SECONDS = 8.0
POLL_SECONDS = 0.2

PR_SET_PDEATHSIG = 1


def stop_with_parent(parent: int) -> Callable[[], None]:
    """Run in the child before it starts: die with SIGTERM when `parent` dies (Linux only)."""

    def prepare() -> None:
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(libc_name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        # The parent may have died before prctl took effect.
        if os.getppid() != parent:
            os._exit(1)

    return prepare


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """One supervised program: a name people read, and its command line."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            list(self.argv),
            env=self.env,
            start_new_session=True,
            preexec_fn=stop_with_parent(os.getpid()),
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        """Send `sig` to the child itself (a gunicorn master passes it on as it sees fit)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def signal_group(self, sig: int) -> None:
        """Send `sig` to every process of this child's group, the child's own included."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)


class Supervisor:
    """Runs children until told to stop (SIGINT, SIGTERM); restarts each one that dies."""

    def __init__(self, children: list[Child], *, say: Callable[[str], None]) -> None:
        self.children = children
        self.say = say
        self.stopping = False
        self._hurry = False

    def run(self, on_started: Callable[[], None] | None = None) -> None:
        previous = {
            sig: signal.signal(sig, self._ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for child in self.children:
                child.start()
            if on_started is not None:
                on_started()
            while not self.stopping:
                self._tend()
                time.sleep(POLL_SECONDS)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _ask_to_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            # Asked twice: do not wait for the children to finish.
            self._hurry = True
            return
        self.stopping = True

    def _tend(self) -> None:
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    child.start()
                    self.say(f"city311: {child.name} restarted.")
                continue
            if process is None or process.poll() is None:
                continue
            # It died: whatever it started dies with it (no orphaned task cluster).
            child.signal_group(signal.SIGKILL)
            child.exits.append(process.returncode)
            if now - child.started_at >= STABLE_SECONDS:
                child.backoff = BACKOFF_FIRST
            wait = child.backoff
            child.backoff = min(child.backoff * 2, BACKOFF_MAX)
            child.restart_at = now + wait
            how = describe_exit(process.returncode)
            self.say(
                f"city311: {child.name} stopped unexpectedly ({how}); restarting it in {wait:g} s."
            )

    def stop(self) -> None:
        """Ask every child to finish, wait up to STOP_SECONDS, then end what is left."""
        self.stopping = True
        running = [c for c in self.children if c.running]
        if running:
            self.say("city311: stopping (the requests in hand are finished first)...")
        for child in running:
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while any(c.running for c in running) and time.monotonic() < deadline and not self._hurry:
            time.sleep(0.05)
        for child in self.children:
            if child.running and not self._hurry:
                self.say(f"city311: {child.name} did not stop in time; ending it.")
            # The whole group: the child if it is still there, and anything it left behind.
            child.signal_group(signal.SIGKILL)
            if child.process is not None:
                child.process.wait()


def python_module(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]
