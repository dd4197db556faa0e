"""The `city311` command as a newcomer uses it, each run in its own data folder."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from tests import processes
from tests.helpers import NOT_INHERITED, free_port, run_city311, start_city311, stop, wait_for

# Every test here runs `city311` as a newcomer does, on a SQLite database in its own data
# folder: the same on either suite's database, so CI runs them once (see .ci/run).
pytestmark = [pytest.mark.own_database, pytest.mark.waits]


def local_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", *NOT_INHERITED)}
    env.update(
        CITY311_DATA_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
        CITY311_WEB_PROCESSES="1",
        CITY311_WORKER_PROCESSES="1",
    )
    env.update(extra)
    return env


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def read_until(process, marker, timeout=240):
    """Read the process's output until `marker` appears; returns all that was read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"never printed {marker!r}:\n{''.join(seen)}")


def request_count(tmp_path):
    with sqlite3.connect(tmp_path / "city311.db") as db:
        return db.execute("select count(*) from servicerequests_servicerequest").fetchone()[0]


def test_up_serves_the_demo_city_and_stops_cleanly_and_keeps_its_data(tmp_path):
    port = free_port()
    up = start_city311("up", "--port", str(port), env=local_env(tmp_path))
    try:
        output = read_until(up, "Press Ctrl-C to stop.")
        assert f"open http://127.0.0.1:{port}/" in output
        # How long the first start took, said once the home page answered.
        assert re.search(r"served its first page [\d.]+ s after `city311 up` started", output)
        # Each sign-in once, with the department and what to try first.
        assert len(re.findall(r"^\s*dana\s", output, re.MULTILINE)) == 1, output
        assert re.search(r"dana\s+\S+\s+Department staff, Department of Transportation", output), (
            output
        )
        assert re.search(
            r"pat\s+\S+\s+Department staff, Department of Parks and Recreation", output
        ), output
        assert (
            f"try: work the department's queue: start, note, close at http://127.0.0.1:{port}/work/"
            in output
        )
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=30)
        status, home = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "311" in home
        # The portal's own stylesheet and USWDS's, installed from the npm registry, both served.
        for pattern in (r"/static/portal/portal\.[0-9a-f]+\.css", r"/static/vendor/uswds/[^\"]+"):
            stylesheet = re.search(f'href="({pattern})"', home).group(1)
            assert get(f"http://127.0.0.1:{port}{stylesheet}")[0] == 200
        assert get(f"http://127.0.0.1:{port}/accounts/login/")[0] == 200
        # The demo's history loads once the site is up; staff are shown where to follow it.
        loading = read_until(up, "the demo's history is loaded")
        assert f"(how far: http://127.0.0.1:{port}/status/loading/)" in loading, loading
    finally:
        up.send_signal(signal.SIGINT)
        rest = stop(up, signal.SIGINT)
    assert up.returncode == 0, rest
    assert "city311: stopped." in rest
    with sqlite3.connect(tmp_path / "city311.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    loaded = request_count(tmp_path)
    assert loaded > 20000
    with sqlite3.connect(tmp_path / "city311.db") as db:
        done, total, finished = db.execute(
            "select done, total, finished_at from ops_loading where name = 'history:nyc'"
        ).fetchone()
    assert done == total > 20000 and finished is not None

    again = start_city311("up", "--port", str(port), env=local_env(tmp_path))
    try:
        output = read_until(again, "Press Ctrl-C to stop.", timeout=120)
        assert "loading the demo city" not in output
        assert "dana" in output
    finally:
        stop(again, signal.SIGINT)
    assert again.returncode == 0
    assert request_count(tmp_path) == loaded


def _answers(url):
    try:
        return get(url)[0] == 200
    except OSError:
        return False


def test_demo_adds_generated_history_with_one_progress_bar_redrawn_in_place(tmp_path):
    # No log lines between the bar's redraws.
    # On a fresh data folder: `demo` prepares the database itself.
    env = local_env(tmp_path, CITY311_LOG_LEVEL="WARNING")
    # Read as bytes, so that the bar's "\r" is not taken for a new line.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "city311",
            "demo",
            "--no-records",
            "--no-activity",
            "--history",
            "300",
        ],
        env=env,
        capture_output=True,
        timeout=300,
    )
    stdout, stderr = result.stdout.decode(), result.stderr
    assert result.returncode == 0, stderr
    assert "Generated history: 300 requests added." in stdout
    assert "The database has no schema yet: preparing it first." in stdout
    bars = [line for line in stderr.split(b"\n") if b"Generated history" in line]
    assert len(bars) == 1, bars
    assert b"\r" in bars[0] and b"300/300" in bars[0]
    assert "City pack nyc: 12 departments, 83 service types" in stdout
    assert re.search(r"ada\s+\S+\s+Administrator", stdout)
    assert request_count(tmp_path) == 300


def test_demo_refuses_a_negative_history(tmp_path):
    result = run_city311("demo", "--history", "-5", env=local_env(tmp_path))
    assert result.returncode != 0
    assert "--history takes a number" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        (
            "DATABASE_URL",
            "mysql://root@localhost/city",
            "DATABASE_URL='mysql://root@localhost/city'",
        ),
        ("DATABASE_URL", "sqlite://", "names no file"),
        (
            "CITY311_TIME_ZONE",
            "Mars/Olympus",
            "CITY311_TIME_ZONE='Mars/Olympus' is not a time zone",
        ),
        ("EMAIL_PORT", "twenty-five", "EMAIL_PORT='twenty-five' is not a whole number"),
        ("EMAIL_USE_TLS", "maybe", "EMAIL_USE_TLS='maybe' is not a yes/no value"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL='localhost:6379' must start with"),
        ("CITY311_LANGUAGES", "en,klingon", "CITY311_LANGUAGES names klingon"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(tmp_path, name, value, says):
    result = run_city311("check", env=local_env(tmp_path, **{name: value}))
    assert result.returncode != 0
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = local_env(
        tmp_path,
        SECRET_KEY="k" * 10 + "Zq8#x!" + "mN3$vB7&" * 6,
        ALLOWED_HOSTS="311.example.org",
        CITY311_HTTPS="true",
        DEBUG="false",
    )
    result = run_city311("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_every_django_command_is_available(tmp_path):
    result = run_city311("help", env=local_env(tmp_path))
    assert result.returncode == 0
    for command in ("up", "worker", "demo", "migrate", "createsuperuser", "qcluster"):
        assert command in result.stdout


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "city311"
    result = subprocess.run([str(script), "help", "up"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--port" in result.stdout


def test_up_says_what_to_do_when_the_port_is_taken(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_city311("up", "--port", str(port), env=local_env(tmp_path))
    assert result.returncode != 0
    assert f"Cannot listen on 127.0.0.1:{port}" in result.stderr
    assert f"city311 up --port {port + 1}" in result.stderr


def test_up_restarts_what_dies_leaves_no_orphans_and_stops_calmly_in_seconds(tmp_path):
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    up = start_city311("up", "--no-demo", "--port", str(port), env=local_env(tmp_path))
    try:
        read_until(up, "Press Ctrl-C to stop.", timeout=120)
        worker = processes.child_running(up.pid, "city311 worker")
        web = processes.child_running(up.pid, "gunicorn")
        assert worker and web
        # The task cluster is up: its sentinel, worker, monitor and pusher beside the command.
        assert wait_for(lambda: len(processes.in_group(worker)) >= 4, timeout=60)
        cluster = processes.in_group(worker)

        os.kill(worker, signal.SIGKILL)
        output = read_until(up, "the task worker restarted.", timeout=30)
        assert "the task worker stopped unexpectedly (killed by SIGKILL)" in output
        # Nothing of the killed cluster runs on: a restart never runs two clusters.
        assert wait_for(lambda: not any(processes.alive(p) for p in cluster), timeout=10)
        assert _answers(f"{site}/healthz")
        new_worker = processes.child_running(up.pid, "city311 worker")
        assert new_worker not in (None, worker)

        web_group = processes.in_group(web)
        os.kill(web, signal.SIGKILL)
        read_until(up, "the web server restarted.", timeout=30)
        assert wait_for(lambda: not any(processes.alive(p) for p in web_group), timeout=10)
        assert wait_for(lambda: _answers(f"{site}/healthz"), timeout=60)
        assert wait_for(lambda: len(processes.in_group(new_worker)) >= 4, timeout=60)
        everything = processes.descendants(up.pid)
    finally:
        asked = time.monotonic()
        rest = stop(up, signal.SIGINT)
    took = time.monotonic() - asked
    assert up.returncode == 0, rest
    assert "city311: stopping" in rest
    assert "city311: stopped." in rest
    assert "SIGKILL" not in rest and "did not stop in time" not in rest
    assert took < 6, f"stopping took {took:.1f} s"
    assert not [p for p in everything if processes.alive(p)]


def test_up_keeps_its_files_private_and_links_to_the_address_it_serves(tmp_path):
    port = free_port()
    up = start_city311("up", "--no-demo", "--port", str(port), env=local_env(tmp_path))
    try:
        read_until(up, "Press Ctrl-C to stop.", timeout=120)
        web = processes.child_running(up.pid, "gunicorn")
        environ = Path(f"/proc/{web}/environ").read_bytes().split(b"\0")
        assert f"CITY311_SITE_URL=http://127.0.0.1:{port}".encode() in environ
        # Each instance has its own gunicorn control socket, in its data folder.
        assert wait_for(lambda: (tmp_path / "gunicorn.ctl").exists(), timeout=30)
    finally:
        stop(up, signal.SIGINT)
    assert up.returncode == 0
    for name in ("city311.db", "city311.db-wal", "secret_key"):
        if (tmp_path / name).exists():
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    for name in ("mail", "sms"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o700, name


def _claimed_tasks(tmp_path):
    with sqlite3.connect(tmp_path / "city311.db") as db:
        return db.execute("select count(*) from ops_taskclaim").fetchone()[0]


def test_ctrl_c_while_a_task_runs_stops_in_seconds_and_keeps_the_task(tmp_path):
    port = free_port()
    env = local_env(tmp_path)
    up = start_city311("up", "--no-demo", "--port", str(port), env=env)
    try:
        read_until(up, "Press Ctrl-C to stop.", timeout=120)
        # A task that holds its worker long after Ctrl-C, as training the suggestion model does.
        queued = run_city311(
            "shell",
            "-c",
            "from django_q.tasks import async_task; async_task('time.sleep', 100)",
            env=env,
        )
        assert queued.returncode == 0, queued.stderr
        assert wait_for(lambda: _claimed_tasks(tmp_path) == 1, timeout=60)
    finally:
        asked = time.monotonic()
        rest = stop(up, signal.SIGINT)
    took = time.monotonic() - asked
    assert up.returncode == 0, rest
    assert "did not stop in time" not in rest and "SIGKILL" not in rest, rest
    assert took < 5, f"stopping took {took:.1f} s"
    assert "were ended and are queued again for the next start: 1." in rest
    # Still queued, and free for the next start to take at once (not locked for minutes).
    with sqlite3.connect(tmp_path / "city311.db") as db:
        (lock,) = db.execute("select lock from django_q_ormq").fetchall()[0]
        assert db.execute("select count(*) from ops_taskclaim").fetchone()[0] == 0
    assert datetime.fromisoformat(lock) <= datetime.utcnow()
