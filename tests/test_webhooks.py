"""Webhooks out: the city registers endpoints; every event they want reaches them, signed the
Standard Webhooks way, in order per request, retried with backoff, then dead-lettered and
replayable. Against real HTTP receivers on loopback (tests/receivers.py)."""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta

from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from city311.lib.outbox import OutboxStatus
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent
from city311.servicerequests.tasks import dispatch_events
from city311.servicerequests.vocabulary import Event
from city311.test import BaseTestCase
from city311.webhooks.models import WebhookEndpoint, WebhookPost
from city311.webhooks.tasks import handle_events, send_due_posts
from tests.receivers import Receiver, closed_port_url


class WebhookTestCase(BaseTestCase):
    def setUp(self):
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.cityworks = WebhookEndpoint.objects.create(name="Cityworks", url=self.receiver.url)

    def later(self, seconds: float) -> None:
        """Time passes: every waiting post comes `seconds` nearer to its next try."""
        for post in WebhookPost.objects.filter(status=OutboxStatus.PENDING):
            post.due_at -= timedelta(seconds=seconds)
            post.save(update_fields=["due_at"])

    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.receiver.received]

    def rosa_reports_and_dana_works(self):
        sr = self.report()
        actions.start_request(sr, by=self.dana, note="Crew on site")
        actions.add_note(
            sr, text="Rosa's neighbour called 718-555-0142", public=False, by=self.dana
        )
        actions.close_request(sr, resolution="completed", note="Filled", by=self.dana)
        return sr


class DeliveryTests(WebhookTestCase):
    def test_each_event_reaches_the_endpoint_signed_with_its_secret(self):
        sr = self.rosa_reports_and_dana_works()
        dispatch_events()
        kinds = [b["type"] for b in self.bodies()]
        assert kinds == [Event.SUBMITTED, Event.ROUTED, Event.STARTED, Event.NOTE, Event.CLOSED]
        verifier = Webhook(self.cityworks.secret)
        for received in self.receiver.received:
            payload = verifier.verify(received.body, received.headers)
            assert payload["data"]["request"]["service_request_id"] == sr.tracking_number
            assert received.headers["webhook-id"].startswith("msg_city311_")
        closed = self.bodies()[-1]["data"]
        assert closed["request"]["status"] == "closed"
        assert closed["event"]["resolution"] == "completed"
        assert WebhookPost.objects.filter(status=OutboxStatus.SENT).count() == 5

    def test_a_wrong_secret_does_not_verify(self):
        self.report()
        dispatch_events()
        other = Webhook(WebhookEndpoint(name="x").secret)
        received = self.receiver.received[0]
        with self.assertRaises(WebhookVerificationError):
            other.verify(received.body, received.headers)

    def test_no_personal_data_and_no_internal_text_goes_out(self):
        self.rosa_reports_and_dana_works()
        dispatch_events()
        sent = b"".join(r.body for r in self.receiver.received).decode()
        for personal in ("Rosa", "Diaz", "rosa@example.org", "718-555-0199", "555-0142"):
            assert personal not in sent
        note = next(b for b in self.bodies() if b["type"] == Event.NOTE)
        assert note["data"]["event"] == note["data"]["event"] | {"public": False, "note": None}

    def test_an_endpoint_gets_only_the_kinds_and_types_it_asked_for(self):
        self.cityworks.kinds = [Event.CLOSED]
        self.cityworks.save()
        parks_only = Receiver()
        self.addCleanup(parks_only.close)
        parks = WebhookEndpoint.objects.create(name="Parks", url=parks_only.url)
        parks.service_types.set([self.tree])
        self.rosa_reports_and_dana_works()
        tree = self.report(service_code="fallen_tree", answers={})
        dispatch_events()
        assert [b["type"] for b in self.bodies()] == [Event.CLOSED]
        trees = {
            json.loads(r.body)["data"]["request"]["service_request_id"] for r in parks_only.received
        }
        assert trees == {tree.tracking_number}

    def test_an_event_is_posted_once_per_endpoint_however_often_the_stream_gives_it(self):
        self.report()
        dispatch_events()
        handle_events(list(RequestEvent.objects.select_related("request")))
        send_due_posts()
        assert len(self.receiver.received) == 2  # submitted, routed


class RetryTests(WebhookTestCase):
    def test_a_receiver_that_fails_then_recovers_gets_every_event_in_order_with_one_id_each(self):
        fails = {"left": 2}

        def fail_twice(receiver: Receiver) -> None:
            receiver.status = 503 if fails["left"] else 204
            fails["left"] = max(fails["left"] - 1, 0)

        self.receiver.before = fail_twice
        sr = self.rosa_reports_and_dana_works()
        dispatch_events()
        # The first post failed; the request's later posts wait behind it.
        assert [r.headers["webhook-id"] for r in self.receiver.received] == [
            self.receiver.received[0].headers["webhook-id"]
        ]
        first = WebhookPost.objects.order_by("event").first()
        assert first.status == OutboxStatus.PENDING and first.error == "HTTP 503"
        assert 4 <= (first.due_at - timezone.now()).total_seconds() <= 6  # about 5 s, jittered
        send_due_posts()
        assert len(self.receiver.received) == 1  # not yet due
        for _ in range(3):
            self.later(400)
            send_due_posts()
        delivered = [json.loads(r.body)["data"]["event"]["id"] for r in self.receiver.received]
        ids = [r.headers["webhook-id"] for r in self.receiver.received]
        assert delivered[:3] == [delivered[0]] * 3  # two failures, then taken
        assert len(set(ids[:3])) == 1
        events = list(sr.events.order_by("pk").values_list("pk", flat=True))
        assert sorted(set(delivered)) == delivered[2:] == events
        self.cityworks.refresh_from_db()
        assert self.cityworks.failures_in_a_row == 0 and self.cityworks.last_success_at

    def test_an_hour_down_loses_nothing_and_keeps_each_requests_order(self):
        self.cityworks.url = closed_port_url()
        self.cityworks.save()
        requests = [self.rosa_reports_and_dana_works() for _ in range(3)]
        dispatch_events()
        for _ in range(12):  # an hour, five minutes at a time
            self.later(300)
            send_due_posts()
        assert not WebhookPost.objects.filter(status=OutboxStatus.SENT).exists()
        assert not WebhookPost.objects.filter(status=OutboxStatus.FAILED).exists()
        self.cityworks.url = self.receiver.url
        self.cityworks.save()
        for _ in range(40):  # the receiver is back; hours pass
            self.later(900)
            send_due_posts()
        assert WebhookPost.objects.exclude(status=OutboxStatus.SENT).count() == 0
        by_request: dict[str, list[int]] = {}
        for body in self.bodies():
            by_request.setdefault(body["data"]["request"]["service_request_id"], []).append(
                body["data"]["event"]["id"]
            )
        for sr in requests:
            ids = by_request[sr.tracking_number]
            assert ids == sorted(ids) and len(ids) == len(set(ids)) == 5

    @override_settings(CITY311_WEBHOOK_TIMEOUT_SECONDS=1)
    def test_a_receiver_that_hangs_times_out_and_holds_back_no_other_endpoint(self):
        # It would answer after 8 s; the sender gives up after 1 s. The bound is far from both
        # so that a loaded machine's slowness is not read as waiting for the receiver.
        self.receiver.hang = 8
        healthy = Receiver()
        self.addCleanup(healthy.close)
        WebhookEndpoint.objects.create(name="Open data", url=healthy.url, kinds=[Event.SUBMITTED])
        self.report()
        started = time.monotonic()
        dispatch_events()
        assert time.monotonic() - started < 6
        hung = WebhookPost.objects.filter(endpoint=self.cityworks).order_by("event")
        assert hung[0].status == OutboxStatus.PENDING and hung[0].error == "no answer: ReadTimeout"
        assert len(healthy.received) == 1
        self.cityworks.refresh_from_db()
        assert self.cityworks.failures_in_a_row == 1 and self.cityworks.last_error

    @override_settings(CITY311_WEBHOOK_MAX_ATTEMPTS=3)
    def test_after_the_last_try_a_post_is_a_dead_letter_until_replayed(self):
        self.receiver.status = 500
        self.cityworks.kinds = [Event.SUBMITTED]
        self.cityworks.save()
        self.report()
        dispatch_events()
        for _ in range(3):
            self.later(3600)
            send_due_posts()
        post = WebhookPost.objects.get()
        assert post.status == OutboxStatus.FAILED and post.attempts == 3
        assert len(self.receiver.received) == 3
        self.receiver.status = 200
        out = io.StringIO()
        call_command("replay_webhooks", stdout=out)
        assert out.getvalue() == "1 post(s) will be sent again.\n"
        send_due_posts()
        post.refresh_from_db()
        assert post.status == OutboxStatus.SENT
        assert {r.headers["webhook-id"] for r in self.receiver.received} == {post.webhook_id}


class AdminTests(WebhookTestCase):
    def test_the_administrator_sees_endpoints_health_and_replays_from_the_list(self):
        self.receiver.status = 500
        self.report()
        with override_settings(CITY311_WEBHOOK_MAX_ATTEMPTS=1):
            dispatch_events()
        self.sign_in(self.ada)
        page = self.client.get("/admin/webhooks/webhookendpoint/").content.decode()
        assert "Cityworks" in page and "Dead letters" in page
        page = self.client.get("/admin/webhooks/webhookpost/?status=failed").content.decode()
        assert "HTTP 500" in page
        ids = list(WebhookPost.objects.values_list("pk", flat=True))
        self.receiver.status = 204
        response = self.client.post(
            "/admin/webhooks/webhookpost/",
            {"action": "replay", "_selected_action": ids},
        )
        assert response.status_code == 302
        send_due_posts()
        assert set(WebhookPost.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}

    def test_the_administrator_registers_an_endpoint_with_a_secret_made_for_it(self):
        self.sign_in(self.ada)
        response = self.client.post(
            "/admin/webhooks/webhookendpoint/add/",
            {
                "name": "County GIS",
                "url": "https://gis.example.org/hook",
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "kinds": [Event.CLOSED, Event.REOPENED],
                "active": "on",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        endpoint = WebhookEndpoint.objects.get(name="County GIS")
        assert endpoint.kinds == [Event.CLOSED, Event.REOPENED]
