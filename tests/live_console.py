"""What the console's live tests share (tests/test_call_pop.py, tests/test_supervisor_live.py;
tests/test_call_centre.py posts its phone events through it too): the phone system's signed
webhook, a second web process on the same database, a signed-in
member of staff's session cookie, and a listener that holds a server-sent event stream the way
a browser's EventSource does, noting when it hears each line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client

from city311.contacts.webhook import sign
from city311.test import CityMixin
from tests.helpers import city311_env, free_port, wait_for

SECRET = "the-phone-systems-shared-secret"
ROSA = "718-555-0199"
# Places for streams in the test's own process. A browser test's live server, in the same
# xdist process, holds a closed tab's stream until the stream's time is up: with the default
# two places, a test of the stream's words through Django's client found both taken and was
# refused (a 204) — once in CI, after the files' order changed.
STREAM_ROOM = 32


def signed(
    body: dict[str, Any], *, secret: str = SECRET, timestamp: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """A phone-system event as it comes: its JSON and the headers that sign it (with `secret`,
    stamped `timestamp`, by default now)."""
    raw = json.dumps(body).encode()
    stamp = str(int(time.time() if timestamp is None else timestamp))
    return raw, {
        "Content-Type": "application/json",
        "X-City311-Timestamp": stamp,
        "X-City311-Signature": sign(raw, stamp, secret),
    }


def post_phone_event(
    client: Client, *, secret: str = SECRET, timestamp: float | None = None, **fields: Any
) -> HttpResponse:
    """The phone system tells the city about a call, through Django's test `client`."""
    raw, headers = signed(fields, secret=secret, timestamp=timestamp)
    content_type = headers.pop("Content-Type")
    response: HttpResponse = client.post(
        "/contacts/calls/events", raw, content_type=content_type, headers=headers
    )
    return response


def phone_event(base_url: str, **fields: Any) -> requests.Response:
    """The phone system tells the web process at `base_url` about a call."""
    raw, headers = signed(fields)
    return requests.post(f"{base_url}/contacts/calls/events", raw, headers=headers, timeout=10)


def signed_in(user: User) -> tuple[Client, dict[str, str]]:
    """A test client signed in as `user`, and its session cookie for `requests`."""
    client = Client()
    client.force_login(user)
    return client, {
        settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value
    }


class Listener:
    """A stream held open on a thread of its own until a line for which `last` is true. Once
    built, the stream is open and waiting on its connection."""

    def __init__(
        self,
        url: str,
        *,
        cookies: dict[str, str],
        last: Callable[[str], bool],
        params: dict[str, str] | None = None,
    ) -> None:
        self.heard: list[tuple[float, str]] = []
        opened = threading.Event()

        def listen() -> None:
            with requests.get(url, params=params, cookies=cookies, stream=True, timeout=30) as r:
                assert r.headers["Content-Type"] == "text/event-stream", r.status_code
                for line in r.iter_lines(decode_unicode=True):
                    opened.set()
                    if line:
                        self.heard.append((time.monotonic(), line))
                    if last(line):
                        return

        self.thread = threading.Thread(target=listen, daemon=True)
        self.thread.start()
        assert opened.wait(20), "the stream did not open"
        time.sleep(0.5)  # the stream is waiting on its own connection now

    def lines(self) -> list[str]:
        """Every line heard, once the last one has come (or 10 seconds have passed)."""
        self.thread.join(10)
        return [line for _, line in self.heard]

    def seconds_after(self, moment: float) -> float:
        """How long after `moment` (time.monotonic()) the last line was heard."""
        return self.heard[-1][0] - moment


@pytest.fixture
def city(transactional_db: None, settings: Any) -> CityMixin:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CITY311_CALL_EVENTS_SECRET = SECRET
    c = CityMixin()
    c.make_city()
    return c


@pytest.fixture
def other_process(city: CityMixin, tmp_path: Path) -> Iterator[str]:
    """A second web process (gunicorn, as `city311 up` runs it) on the same database: it
    shares nothing else with the test's live server."""
    port = free_port()
    env = city311_env(SECRET_KEY=settings.SECRET_KEY, CITY311_CALL_EVENTS_SECRET=SECRET)
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "city311.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--graceful-timeout",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its worker is ended with it, whatever happens
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{url}/contacts/calls/events", timeout=10).status_code == 405
        except requests.RequestException:  # not listening yet, or still loading the app
            return False

    try:
        assert wait_for(up, timeout=90), (tmp_path / "gunicorn.log").read_text()
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
