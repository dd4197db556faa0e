"""`city311 up`: prepare the database and run the web server and a task worker together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.catalog.models import ServiceType
from city311.demo.signins import read_signins

# Paths only: query strings and client addresses can carry personal data.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'


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
        self.stdout.write("city311: preparing the database...")
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo and not ServiceType.objects.exists():
            self.stdout.write("city311: empty database, loading the demo city...")
            call_command("demo", city=city, stdout=self.stdout)
        call_command("install_assets", stdout=self.stdout)
        call_command("collectstatic", interactive=False, verbosity=0)
        self._serve(host, port)

    def _serve(self, host: str, port: int) -> None:
        python = sys.executable
        web = [
            python,
            "-m",
            "gunicorn",
            "city311.wsgi:application",
            "--bind",
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
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
            "--graceful-timeout",
            "10",
        ]
        worker = [python, "-m", "city311", "worker"]
        children = [subprocess.Popen(web), subprocess.Popen(worker)]
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self._announce(host, port)
        while not stopping:
            if any(child.poll() is not None for child in children):
                break
            time.sleep(0.5)
        self._stop(children)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGINT)]
        if not stopping and failed:
            raise CommandError(
                "A part of city311 stopped unexpectedly (see the messages above); "
                "fix the cause and run `city311 up` again."
            )
        self.stdout.write("city311: stopped.")

    def _stop(self, children: list[subprocess.Popen[bytes]]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _announce(self, host: str, port: int) -> None:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        lines = [
            "",
            f"city311 is running: open http://{shown}:{port}/",
            f"  staff sign-in:  http://{shown}:{port}/accounts/login/",
            f"  administration: http://{shown}:{port}/admin/",
            f"  data in:        {settings.DATA_DIR}",
        ]
        signins = read_signins()
        if signins:
            lines.append("  demo sign-ins (user / password / role):")
            lines += [f"    {u:<10} {p:<22} {role}" for u, p, role in signins]
        lines += ["Press Ctrl-C to stop.", ""]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
