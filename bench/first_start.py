"""From nothing to the first page: `city311 up` on an empty data folder, timed.

Issue 13's goal: `city311 up` on an empty database serves its first page within 20 s of the
install finishing. This starts `city311 up` on a fresh CITY311_DATA_DIR and a free port, asks
for the home page every 0.1 s, and prints how long the first HTTP 200 took, with the seconds
of each step `up` prints on the way. Then (`--steps`) it times the demo's loading alone, on a
migrated empty database: the pack, the 23,728 historical records and the 90 days of activity.

    .venv/bin/python bench/first_start.py            # SQLite, the default install
    .venv/bin/python bench/first_start.py --steps    # also the loading step alone
    .venv/bin/python bench/first_start.py --schema   # also the schema step: SQL statements

`--schema` counts the SQL statements and times the schema step on an empty database both ways:
`migrate` (every migration replayed) and `prepare_database` (what `up` runs: the schema in one
step, city311/ops/schema.py). The count does not depend on the machine's load.

The machine's load counts: on a shared one the wall clock swings with the neighbours, so the
CPU seconds `up` and its processes (web server, worker) used until the first page are
printed too.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def city311(*args: str) -> list[str]:
    return [sys.executable, "-m", "city311", *args]


def group_cpu(group: int) -> float:
    """CPU seconds used so far by the live processes of a process group (from /proc), and by
    the children they have waited for."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the name: state ppid pgrp ... utime(12) stime(13) cutime(14) cstime(15).
        if int(fields[2]) == group:
            total += sum(int(f) for f in fields[11:15])
    return total / tick


def first_page(data: Path) -> tuple[float, float, list[tuple[float, str]]]:
    port = free_port()
    env = {**os.environ, "CITY311_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    lines: list[tuple[float, str]] = []
    start = time.monotonic()
    up = subprocess.Popen(
        city311("up", "--port", str(port)),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert up.stdout is not None
    stream = up.stdout

    def read() -> None:
        for line in stream:
            lines.append((time.monotonic() - start, line.rstrip()))

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            if up.poll() is not None:
                raise SystemExit("city311 up stopped:\n" + "\n".join(t for _, t in lines))
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - start, group_cpu(up.pid), lines
            except OSError:
                pass
            time.sleep(0.1)
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.wait(30)


def loading_alone(data: Path) -> float:
    env = {**os.environ, "CITY311_DATA_DIR": str(data)}
    env.pop("DATABASE_URL", None)
    subprocess.run(city311("migrate", "-v0"), cwd=ROOT, env=env, check=True)
    start = time.monotonic()
    subprocess.run(city311("demo", "-v0"), cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


COUNT_STATEMENTS = """
import time, django
django.setup()
from django.core.management import call_command
from django.db import connection
statements = 0
def count(execute, sql, params, many, context):
    global statements
    statements += 1
    return execute(sql, params, many, context)
started = time.monotonic()
with connection.execute_wrapper(count):
    call_command({command!r}, verbosity=0)
print(statements, time.monotonic() - started)
"""


def schema_step(data: Path, command: str) -> tuple[int, float]:
    """SQL statements and seconds of `command` on an empty SQLite database."""
    env = {
        **os.environ,
        "CITY311_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "city311.settings",
    }
    env.pop("DATABASE_URL", None)
    code = COUNT_STATEMENTS.format(command=command)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    statements, seconds = result.stdout.split()
    return int(statements), float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", action="store_true", help="Also time the demo load alone.")
    parser.add_argument(
        "--schema", action="store_true", help="Also count the schema step's SQL statements."
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="city311-first-start-") as folder:
        took, cpu, lines = first_page(Path(folder) / "up")
        for at, text in lines:
            if text.startswith(("city311", "A new database", "The database")) or (
                "Recent activity" in text or "History" in text
            ):
                print(f"  {at:5.1f} s  {text[:110]}")
        verdict = "within" if took <= GOAL_SECONDS else "OVER"
        print(f"first page: {took:.1f} s after `city311 up` began ({verdict} {GOAL_SECONDS:.0f} s)")
        print(f"CPU used by up and its processes until then: {cpu:.1f} s")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if options.schema:
            for command in ("migrate", "prepare_database"):
                statements, seconds = schema_step(Path(folder) / command, command)
                print(
                    f"{command} on an empty database: {statements} SQL statements, {seconds:.1f} s"
                )
        if options.steps:
            alone = loading_alone(Path(folder) / "demo")
            print(f"loading step alone (city311 demo on a migrated empty database): {alone:.1f} s")


if __name__ == "__main__":
    main()
