"""Omar's console pops the caller's card the moment the phone system says he answered: the
console holds a server-sent event stream, the webhook may land on any web process, and the
news travels through the database alone (contacts/wakeups.py). The 2-second poll stays as
the fallback. Tested through HTTP: a real gunicorn process holds Omar's stream while the
phone system's events reach another process (the test's live server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.conf import settings
from django.test import Client, override_settings

from city311.contacts.models import Interaction
from city311.contacts.webhook import sign
from city311.test import BaseTestCase, CityMixin
from tests.helpers import city311_env, free_port, wait_for

SECRET = "the-phone-systems-shared-secret"
ROSA = "718-555-0199"


def signed(body: dict) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    return raw, {
        "Content-Type": "application/json",
        "X-City311-Timestamp": stamp,
        "X-City311-Signature": sign(raw, stamp, SECRET),
    }


@override_settings(CITY311_CALL_EVENTS_SECRET=SECRET, CITY311_CONSOLE_STREAM_SECONDS=0.5)
class StreamAndPollTests(BaseTestCase):
    """The stream and the poll, through Django's test client."""

    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def event(self, **fields):
        raw, headers = signed(fields)
        return self.client.post(
            "/contacts/calls/events",
            raw,
            content_type="application/json",
            HTTP_X_CITY311_TIMESTAMP=headers["X-City311-Timestamp"],
            HTTP_X_CITY311_SIGNATURE=headers["X-City311-Signature"],
        )

    def stream(self) -> tuple[int, str, str]:
        r = self.client.get("/console/popped/stream/")
        body = b"".join(r.streaming_content).decode() if r.streaming else r.content.decode()
        return r.status_code, r.get("Content-Type", ""), body

    def test_between_calls_the_stream_says_nothing_and_ends_for_the_browser_to_reopen(self):
        status, kind, body = self.stream()
        self.assertEqual((status, kind), (200, "text/event-stream"))
        self.assertEqual(body, "retry: 500\n\n: no call yet\n\n")

    def test_with_a_call_in_hand_the_stream_says_so_at_once(self):
        self.event(event="answered", call_id="CA1", user="omar", **{"from": ROSA})
        _, _, body = self.stream()
        # At once: waiting out its 0.5 s, the stream would have said "no call yet" instead.
        self.assertEqual(body, "retry: 500\n\nevent: call\ndata: answered\n\n")
        self.assertNotIn("555", body)  # the caller is named nowhere in the stream

    def test_once_the_call_is_in_hand_the_ask_brings_the_card_to_swap_in(self):
        self.report()
        self.assertEqual(self.client.get("/console/popped/").status_code, 204)
        self.event(event="answered", call_id="CA2", user="omar", **{"from": ROSA})
        r = self.client.get("/console/popped/")
        # The card in place of the empty one, not a page: the rest of the page stays as the
        # call taker left it (no HX-Refresh, no reload).
        self.assertContains(r, 'id="card"')
        self.assertContains(r, "Rosa Diaz")
        self.assertNotContains(r, "<html")
        self.assertNotIn("HX-Refresh", r)
        # Out of band: how to end the call, and the news for a screen reader.
        self.assertContains(r, '<div id="call-actions" hx-swap-oob="true">')
        self.assertContains(r, "End the call without a request")
        self.assertContains(r, '<p id="call-news" hx-swap-oob="innerHTML">Call answered from')

    def test_the_console_between_calls_opens_the_stream_and_asks_through_htmx(self):
        r = self.client.get("/console/")
        self.assertContains(r, 'data-stream="/console/popped/stream/"')
        # No fixed htmx poll: the script asks only while the stream is not connected.
        self.assertContains(r, 'hx-trigger="city311:ask"')
        self.assertNotContains(r, "every 2s")
        self.assertContains(r, "console/popped")  # the script that holds the stream
        self.assertContains(r, '<p id="call-news" class="visually-hidden" role="status"></p>')

    @override_settings(CITY311_CONSOLE_STREAMS=0)
    def test_a_process_with_no_place_for_a_stream_says_204_and_the_console_polls(self):
        status, _, body = self.stream()
        self.assertEqual((status, body), (204, ""))

    def test_dana_opens_no_stream(self):
        self.sign_in(self.dana)
        self.assertEqual(self.client.get("/console/popped/stream/").status_code, 403)


@pytest.fixture
def city(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CITY311_CALL_EVENTS_SECRET = SECRET
    c = CityMixin()
    c.make_city()
    return c


@pytest.fixture
def other_process(city, tmp_path):
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


@pytest.mark.waits
def test_the_card_pops_within_a_second_of_answered_landing_on_another_process(
    city, live_server, other_process
):
    omar = Client()
    omar.force_login(city.omar)
    city.report()
    cookies = {settings.SESSION_COOKIE_NAME: omar.cookies[settings.SESSION_COOKIE_NAME].value}
    raw, headers = signed({"event": "started", "call_id": "CA9", "from": ROSA})
    requests.post(f"{live_server.url}/contacts/calls/events", raw, headers=headers, timeout=10)

    heard: list[tuple[float, str]] = []
    opened = threading.Event()

    def listen() -> None:
        with requests.get(
            f"{other_process}/console/popped/stream/", cookies=cookies, stream=True, timeout=30
        ) as r:
            assert r.headers["Content-Type"] == "text/event-stream", r.status_code
            for line in r.iter_lines(decode_unicode=True):
                opened.set()
                if line:
                    heard.append((time.monotonic(), line))
                if line == "data: answered":
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(20), "the stream did not open"
    time.sleep(0.5)  # the stream is waiting on its own connection now
    raw, headers = signed({"event": "answered", "call_id": "CA9", "user": "omar"})
    reply = requests.post(
        f"{live_server.url}/contacts/calls/events", raw, headers=headers, timeout=10
    )
    answered = time.monotonic()
    assert reply.status_code == 200, reply.text
    listener.join(10)
    assert "event: call" in [line for _, line in heard], heard
    delay = heard[-1][0] - answered
    print(f"card popped {delay * 1000:.0f} ms after the webhook answered")
    assert delay < 1.0, delay
    card = requests.get(f"{live_server.url}/console/", cookies=cookies, timeout=10)
    assert card.status_code == 200 and "Rosa Diaz" in card.text
    assert Interaction.objects.get(call_id="CA9").staff == city.omar
