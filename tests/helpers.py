"""Running city311 as a separate process against the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def test_database_url() -> str:
    """A DATABASE_URL for the database the current test runs on."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = quote(s.get("USER") or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


# What a city311 process started by a test must not inherit from the test's own process.
NOT_INHERITED = ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_XDIST_WORKER")


def city311_env(**extra: str) -> dict[str, str]:
    """The test's database and data folder (each parallel test process has its own)."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["DATABASE_URL"] = test_database_url()
    env["CITY311_DATA_DIR"] = str(settings.DATA_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    # A worker the tests start keeps the web's CPU priority: CI runs two suites side by side,
    # so a lowered worker would wait behind the other suite's servers and tests, not behind
    # its own web (the lowering itself: tests/test_worker.py, which sets it).
    env["CITY311_WORKER_NICE"] = "0"
    env.update(extra)
    return env


def run_city311(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "city311", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_city311(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "city311", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen, sig: int = 15) -> str:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        out, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ""


def wait_for(check: Callable[[], bool], timeout: float = 60, every: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def meanwhile(
    work: Callable[[], object], *, started: Callable[[], bool]
) -> Iterator[threading.Thread]:
    """`work` on a thread of its own; the block runs once `started()` says it is under way (a
    long writer has committed its first batch), and the thread is joined after it."""
    thread = threading.Thread(target=work)
    thread.start()
    try:
        assert wait_for(started, timeout=10, every=0.05), "the work did not start"
        yield thread
    finally:
        thread.join()
