"""`city311 up`: prepare the database and run the web server and a task worker together."""

from __future__ import annotations

import gc
import os
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.catalog.models import ServiceType
from city311.ops.files import protect_data_files
from city311.ops.signins import describe_signins
from city311.ops.supervisor import Child, Supervisor, python_module

# Paths only: query strings and client addresses can carry personal data.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
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
        # Workers finish the requests in hand and exit in a few seconds when `up` stops.
        "--graceful-timeout",
        "5",
        *control_socket,
    )


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
        _check_port_free(host, port)
        protect_data_files()
        self.stdout.write("city311: preparing the database...")
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo and not ServiceType.objects.exists():
            self.stdout.write("city311: empty database, loading the demo city...")
            # Without its sign-ins: they are shown once, below, when the site is up.
            call_command(
                "demo", city=city, stdout=self.stdout, stderr=self.stderr, show_signins=False
            )
        call_command("install_assets", stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._serve(host, port)

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
        supervisor = Supervisor(children, say=self._say)
        supervisor.run(on_started=lambda: self._announce(site))
        self._say("city311: stopped.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _announce(self, site: str) -> None:
        lines = [
            "",
            f"city311 is running: open {site}/",
            f"  staff sign-in:  {site}/accounts/login/",
            f"  administration: {site}/admin/",
            f"  data in:        {settings.DATA_DIR}",
            *describe_signins(site),
            "Press Ctrl-C to stop.",
            "",
        ]
        self._say("\n".join(lines))
