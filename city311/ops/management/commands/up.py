"""`city311 up`: prepare the database and run the web server and a task worker together."""

from __future__ import annotations

import gc
import http.client
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from city311.catalog.models import ServiceType
from city311.demo import loader
from city311.ops import loading, static
from city311.ops.files import protect_data_files
from city311.ops.signins import describe_signins
from city311.ops.supervisor import Child, Supervisor, python_module, stop_with_parent

log = logging.getLogger(__name__)
# Paths only: query strings and client addresses can carry personal data.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# How long `up` waits for the site's first page before announcing it anyway.
FIRST_PAGE_SECONDS = 60.0
# How often `up` says how far the demo's history has loaded.
PROGRESS_SECONDS = 5.0
# A Unix socket's path must fit in 108 bytes.
SOCKET_PATH_MAX = 100


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise CommandError(
                f"Cannot listen on {host}:{port} ({e.strerror}). Stop what is using it, "
                f"or choose another port: city311 up --port {port + 1}"
            ) from None


def shown_host(host: str) -> str:
    """The address a person on this machine opens: a wildcard address is not one."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def web_command(host: str, port: int) -> list[str]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    # gunicorn's control socket defaults to one path per user: two instances on one host would
    # share it. Each instance keeps its own under its data folder.
    control = Path(settings.DATA_DIR) / "gunicorn.ctl"
    control_socket = (
        ["--control-socket", str(control)]
        if len(str(control)) <= SOCKET_PATH_MAX
        else ["--no-control-socket"]
    )
    return python_module(
        "gunicorn",
        "city311.wsgi:application",
        "--bind",
        bind,
        "--workers",
        os.environ.get("CITY311_WEB_PROCESSES", "2"),
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        "--access-logfile",
        "-",
        "--access-logformat",
        ACCESS_LOG_FORMAT,
        # gunicorn's largest: FixMyStreet asks for ~270 ids in one GET requests.xml line.
        "--limit-request-line",
        "8190",
        # Workers finish the requests in hand and exit in a few seconds when `up` stops.
        "--graceful-timeout",
        "5",
        # Its hooks: a worker exits without collecting the application's objects first.
        "--config",
        "python:city311.ops.gunicorn_config",
        *control_socket,
    )


def _first_page(site: str, seconds: float) -> bool:
    """Wait until the site's home page answers 200 (True), or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{site}/", timeout=2) as response:
                if response.status == 200:
                    return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    return False


class Command(BaseCommand):
    help = "Migrate, load the demo city into an empty database, then serve the site and a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-demo",
            action="store_true",
            help="Do not load the demo city into an empty database.",
        )
        parser.add_argument(
            "--city",
            default="nyc",
            metavar="NAME",
            help="Which demo city an empty database gets (city311 demo --city NAME).",
        )

    def handle(
        self, *args: Any, host: str, port: int, no_demo: bool, city: str, **options: Any
    ) -> None:
        self.started = time.monotonic()
        _check_port_free(host, port)
        protect_data_files()
        call_command("install_assets", stdout=self.stdout)
        # Collecting the static files needs no database: on a second core, beside the
        # migrations and the demo load. Without compressing them (21 s of CPU): that waits
        # until the site is up (_compress_static).
        collecting = subprocess.Popen(
            python_module("city311", "collectstatic", "--noinput", "--verbosity", "0"),
            env={**os.environ, static.LATER: "later"},
        )
        try:
            self._prepare(no_demo=no_demo, city=city)
        except BaseException:
            collecting.kill()
            raise
        if collecting.wait() != 0:
            raise CommandError("Collecting the static files failed: see the messages above.")
        self._serve(host, port)

    def _prepare(self, *, no_demo: bool, city: str) -> None:
        self.stdout.write("city311: preparing the database...")
        call_command("prepare_database", stdout=self.stdout)
        # The demo's history (tens of thousands of records) loads once the site is up: a
        # first start serves its first page in seconds. A load cut short resumes here.
        self.history_city = ""
        if not no_demo and not ServiceType.objects.exists():
            self.stdout.write("city311: empty database, loading the demo city...")
            loading = time.monotonic()
            # Without its sign-ins: they are shown once, below, when the site is up.
            call_command(
                "demo",
                city=city,
                stdout=self.stdout,
                stderr=self.stderr,
                show_signins=False,
                history_later=True,
            )
            self.history_city = city
            self.stdout.write(f"city311: the demo city is in ({time.monotonic() - loading:.1f} s).")
        elif not no_demo and city in loader.cities() and loader.history_imported(city):
            self.history_city = city

    def _serve(self, host: str, port: int) -> None:
        site = f"http://{shown_host(host)}:{port}"
        env = dict(os.environ)
        if "CITY311_SITE_URL" not in env:
            # Links in e-mails and texts lead to the site this command serves.
            env["CITY311_SITE_URL"] = site
        children = [
            Child("the web server", web_command(host, port), env),
            Child("the task worker", python_module("city311", "worker"), env),
        ]
        # What preparing the database left in memory is kept, not collected again and again:
        # the collector's passes over it made stopping take seconds.
        gc.collect()
        gc.freeze()
        self.web = children[0]
        supervisor = Supervisor(children, say=self._say)
        # Announced once the site answers, from a thread: the supervisor keeps tending the
        # children meanwhile (a web server that fails to start is restarted and said).
        announce = threading.Thread(target=self._announce, args=(site,), daemon=True)
        self.compressing: subprocess.Popen[bytes] | None = None
        supervisor.run(on_started=announce.start)
        if self.compressing is not None and self.compressing.poll() is None:
            # A copy cut short is written again next time (StaticStorage.compressed).
            self.compressing.kill()
            self.compressing.wait()
        self._say("city311: stopped.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _announce(self, site: str) -> None:
        served = _first_page(site, FIRST_PAGE_SECONDS)
        took = time.monotonic() - self.started
        ready = (
            f"city311 served its first page {took:.1f} s after `city311 up` started."
            if served
            else f"city311 has not served its first page after {took:.0f} s: see the log above."
        )
        lines = [
            "",
            ready,
            f"city311 is running: open {site}/",
            f"  staff sign-in:  {site}/accounts/login/",
            f"  administration: {site}/admin/",
            f"  data in:        {settings.DATA_DIR}",
            *describe_signins(site),
            "Press Ctrl-C to stop.",
            "",
        ]
        self._say("\n".join(lines))
        threading.Thread(target=self._compress_static, daemon=True).start()
        if self.history_city:
            self._load_history(self.history_city, site)

    def _compress_static(self) -> None:
        """The static files' compressed copies, at a low priority beside the residents' pages;
        then the web server starts new workers, which serve them (gunicorn's HUP: the requests
        in hand are finished first)."""
        parent = os.getpid()

        def low_priority() -> None:
            os.nice(10)
            stop_with_parent(parent)()

        # A session of its own, as the children's: Ctrl-C reaches `up`, which ends it.
        self.compressing = subprocess.Popen(
            python_module("city311", "compress_static", "--verbosity", "0"),
            start_new_session=True,
            preexec_fn=low_priority,
        )
        if self.compressing.wait() == 0 and self.web.running:
            self.web.signal(signal.SIGHUP)

    def _history_progress(self, done: int, total: int) -> Callable[[int], None]:
        """Says how far the history has come, each PROGRESS_SECONDS: the site is in use
        meanwhile, so a line now and then rather than a redrawn bar."""
        said = time.monotonic()

        def progress(records: int) -> None:
            nonlocal done, said
            done += records
            if time.monotonic() - said >= PROGRESS_SECONDS and done < total:
                said = time.monotonic()
                self._say(f"city311: history {done} of {total} records ({done * 100 // total}%).")

        return progress

    def _load_history(self, city: str, site: str) -> None:
        """The rest of the demo city's history, after the first page (in the announcing
        thread, with its own database connection). Staff see how far it has come on
        /status/loading/ (city311.ops.loading)."""
        started = time.monotonic()
        tracker: loading.Tracker | None = None
        try:
            module = loader.history_module(city)
            records = list(loader.history_records(city))
            if module is None or loader.history_imported(city) >= len(records):
                return
            done = loader.history_imported(city)
            tracker = loading.begin(
                f"history:{city}", source=module.SOURCE, total=len(records), done=done
            )
            self._say(
                f"city311: loading the demo's {len(records)} historical records "
                f"(how far: {site}/status/loading/)..."
            )
            console = self._history_progress(done, len(records))

            def progress(count: int) -> None:
                tracker(count)
                console(count)

            loader.load_history(city, records=records, progress=progress)
            tracker.finished()
            took = time.monotonic() - started
            self._say(f"city311: the demo's history is loaded ({took:.0f} s).")
            loader.learn_from_history()
        except Exception:
            log.exception("Loading the demo's history failed")
            if tracker is not None:
                tracker.failed()
            self._say(
                "city311: loading the demo's history failed (see the log); "
                "the next start resumes it."
            )
        finally:
            connections.close_all()
