"""Omar's console pops the caller's card the moment the phone system says he answered: the
console holds a server-sent event stream, the webhook may land on any web process, and the
news travels through the database alone (contacts/wakeups.py). The 2-second poll stays as
the fallback. Tested through HTTP: a real gunicorn process holds Omar's stream while the
phone system's events reach another process (the test's live server)."""

from __future__ import annotations

import time

import pytest
import requests
from django.test import override_settings

from city311.contacts.models import Interaction
from city311.test import BaseTestCase
from tests.live_console import (  # noqa: F401 - city and other_process are fixtures
    ROSA,
    SECRET,
    STREAM_ROOM,
    Listener,
    city,
    other_process,
    phone_event,
    post_phone_event,
    signed_in,
)


@override_settings(
    CITY311_CALL_EVENTS_SECRET=SECRET,
    CITY311_CONSOLE_STREAM_SECONDS=0.5,
    CITY311_CONSOLE_STREAMS=STREAM_ROOM,
)
class StreamAndPollTests(BaseTestCase):
    """The stream and the poll, through Django's test client."""

    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def event(self, **fields):
        return post_phone_event(self.client, **fields)

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


@pytest.mark.waits
def test_the_card_pops_within_a_second_of_answered_landing_on_another_process(
    city,  # noqa: F811
    live_server,
    other_process,  # noqa: F811
):
    _, cookies = signed_in(city.omar)
    city.report()
    phone_event(live_server.url, event="started", call_id="CA9", **{"from": ROSA})
    stream = Listener(
        f"{other_process}/console/popped/stream/",
        cookies=cookies,
        last=lambda line: line == "data: answered",
    )
    reply = phone_event(live_server.url, event="answered", call_id="CA9", user="omar")
    answered = time.monotonic()
    assert reply.status_code == 200, reply.text
    assert "event: call" in stream.lines(), stream.heard
    delay = stream.seconds_after(answered)
    print(f"card popped {delay * 1000:.0f} ms after the webhook answered")
    assert delay < 1.0, delay
    card = requests.get(f"{live_server.url}/console/", cookies=cookies, timeout=10)
    assert card.status_code == 200 and "Rosa Diaz" in card.text
    assert Interaction.objects.get(call_id="CA9").staff == city.omar
