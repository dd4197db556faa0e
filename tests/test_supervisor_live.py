"""Sofia's live view of the call centre changes within seconds of a contact anywhere: the page
holds a server-sent event stream that wakes on every contact's start, answer, wrap-up and end
(contacts/wakeups.py, through the database alone), then asks for its figures again. The
30-second poll is only the fallback. Tested through HTTP, across processes as
tests/test_call_pop.py does: a gunicorn process holds Sofia's stream while the contact is
logged through the test's live server."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from city311.accounts import roles
from city311.contacts import actions
from city311.test import BaseTestCase, make_user
from tests.live_console import (  # noqa: F401 - city and other_process are fixtures
    ROSA,
    STREAM_ROOM,
    Listener,
    city,
    other_process,
    phone_event,
    signed_in,
)


@override_settings(CITY311_CONSOLE_STREAM_SECONDS=0.5, CITY311_CONSOLE_STREAMS=STREAM_ROOM)
class SupervisorStreamTests(BaseTestCase):
    """The stream and the page, through Django's test client."""

    def setUp(self):
        super().setUp()
        self.sign_in(self.sofia)

    def version(self) -> str:
        return self.client.get("/console/supervisor/").context["version"]

    def stream(self, since: str) -> tuple[int, str, str]:
        r = self.client.get("/console/supervisor/stream/", {"since": since})
        body = b"".join(r.streaming_content).decode() if r.streaming else r.content.decode()
        return r.status_code, r.get("Content-Type", ""), body

    def test_with_nothing_new_the_stream_says_so_and_ends_for_the_browser_to_reopen(self):
        status, kind, body = self.stream(self.version())
        self.assertEqual((status, kind), (200, "text/event-stream"))
        self.assertEqual(body, "retry: 500\n\n: nothing new\n\n")

    def test_a_contact_logged_after_the_page_was_read_wakes_the_stream_at_once(self):
        seen = self.version()
        actions.start_interaction(channel="phone", phone=ROSA)
        _, _, body = self.stream(seen)
        self.assertEqual(body, "retry: 500\n\nevent: contacts\ndata: changed\n\n")
        self.assertNotIn("555", body)  # nobody is named in the stream

    def test_an_answer_a_wrap_up_and_an_end_each_change_the_version(self):
        call = actions.start_interaction(channel="phone", call_id="CA1", answered=False)
        versions = [self.version()]
        actions.answer_interaction(call, by=self.omar)
        versions.append(self.version())
        actions.end_interaction(call, kind="information", by=self.omar)
        versions.append(self.version())
        actions.hang_up(call)
        versions.append(self.version())
        self.assertEqual(len(set(versions)), 4, versions)

    def test_the_page_listens_and_its_figures_carry_their_version(self):
        r = self.client.get("/console/supervisor/")
        self.assertContains(r, 'data-stream="/console/supervisor/stream/"')
        self.assertContains(r, 'hx-trigger="city311:refresh"')
        self.assertNotContains(r, "every 30s")  # no fixed poll: the script asks when told
        self.assertContains(r, "console/supervisor")  # the script that holds the stream
        self.assertContains(r, f'data-version="{r.context["version"]}"')
        actions.start_interaction(channel="walk_in")
        again = self.client.get("/console/supervisor/", HTTP_HX_REQUEST="true")
        self.assertNotContains(again, "<html")
        self.assertContains(again, f'data-version="{again.context["version"]}"')
        self.assertNotEqual(again.context["version"], r.context["version"])

    def test_an_earlier_day_neither_listens_nor_polls(self):
        r = self.client.get("/console/supervisor/", {"day": "2026-12-01"})
        self.assertNotContains(r, "data-stream")
        self.assertNotContains(r, "data-version")

    @override_settings(CITY311_CONSOLE_STREAMS=0)
    def test_a_process_with_no_place_for_a_stream_says_204_and_the_page_polls(self):
        self.assertEqual(self.stream("")[:3:2], (204, ""))

    def test_only_those_who_see_the_figures_open_the_stream(self):
        for person in (self.omar, self.dana):
            self.sign_in(person)
            self.assertEqual(self.stream("")[0], 403, person)


@pytest.mark.waits
def test_a_contact_logged_on_another_process_updates_the_view_within_a_second(
    city,  # noqa: F811
    live_server,
    other_process,  # noqa: F811
):
    sofia, cookies = signed_in(make_user("sofia-live", roles.SUPERVISOR))
    since = sofia.get("/console/supervisor/").context["version"]
    stream = Listener(
        f"{other_process}/console/supervisor/stream/",
        params={"since": since},
        cookies=cookies,
        last=lambda line: line.startswith("data:") or line.startswith(": nothing"),
    )
    # A call starts: the phone system's event reaches the other web process (the live server).
    reply = phone_event(live_server.url, event="started", call_id="CA7", **{"from": ROSA})
    logged = time.monotonic()
    assert reply.status_code == 200, reply.text
    assert "event: contacts" in stream.lines(), stream.heard
    delay = stream.seconds_after(logged)
    print(f"supervisor's view told {delay * 1000:.0f} ms after the contact was logged")
    assert delay < 1.0, delay
    figures = sofia.get("/console/supervisor/", HTTP_HX_REQUEST="true")
    assert figures.context["f"].contacts == 1
    assert figures.context["version"] != since
