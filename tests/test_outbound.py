"""The outbound guard (lib/outbound.py): what city311 sends to an address someone typed (webhook
endpoints, Open311 forwarding servers, photo links) never reaches the city's own network unless
an administrator said so. Host names are answered by tests/fakedns.py; receivers are real HTTP
servers on loopback. The tests' fixture trusts loopback (conftest.py); here it is mostly not.
"""

from __future__ import annotations

import html
import io
import json
import ssl
import tempfile
from pathlib import Path

import trustme
from django.core.management import call_command
from django.test import override_settings

from city311.forwarding.models import ForwardedRequest, Forwarding
from city311.lib.outbox import OutboxStatus
from city311.servicerequests import actions
from city311.servicerequests.tasks import dispatch_events
from city311.servicerequests.vocabulary import Event
from city311.test import BaseTestCase
from city311.webhooks.models import WebhookEndpoint, WebhookPost
from city311.webhooks.tasks import send_due_posts
from tests import fakedns
from tests.receivers import GeoReportServer, Receiver
from tests.test_webhooks import WebhookTestCase

HOOKS = "hooks.example.test"
LOOPBACK_REFUSED = (
    "a loopback address (this server itself), inside the city's own network: "
    "city311 sends only to public addresses."
)


def trusting_nothing():
    """As a city311 with nothing set: no network trusted."""
    return override_settings(CITY311_OUTBOUND_TRUSTED_NETWORKS=[])


class GuardOnByDefaultTests(WebhookTestCase):
    def test_with_nothing_set_no_network_is_trusted_and_dns_answers_names(self):
        import city311.settings as defaults

        assert defaults.CITY311_OUTBOUND_TRUSTED_NETWORKS == []
        assert defaults.CITY311_OUTBOUND_RESOLVER == "city311.lib.outbound.system_resolver"

    def test_a_delivery_to_loopback_is_refused_and_the_administrator_sees_why(self):
        with trusting_nothing():
            self.report()
            dispatch_events()
        assert not self.receiver.received
        post = WebhookPost.objects.order_by("event").first()
        assert post.status == OutboxStatus.PENDING
        assert post.error == f"refused: 127.0.0.1 is {LOOPBACK_REFUSED}"
        self.sign_in(self.ada)
        page = self.client.get(f"/admin/webhooks/webhookendpoint/{self.cityworks.pk}/change/")
        assert f"127.0.0.1 is {LOOPBACK_REFUSED}" in html.unescape(page.content.decode())

    def test_loopback_written_in_hex_is_still_loopback_at_send_time(self):
        # The admin's form refuses such a URL; a row written otherwise meets the guard, which
        # checks what the system's resolver makes of it (no DNS asked for a numeric host).
        port = self.receiver.server.server_address[1]
        self.cityworks.url = f"http://0x7f.0.0.1:{port}/hooks/city311"
        self.cityworks.save()
        with (
            trusting_nothing(),
            override_settings(CITY311_OUTBOUND_RESOLVER="city311.lib.outbound.system_resolver"),
        ):
            self.report()
            dispatch_events()
        assert not self.receiver.received
        post = WebhookPost.objects.order_by("event").first()
        assert post.error == f"refused: 0x7f.0.0.1 resolves to 127.0.0.1, {LOOPBACK_REFUSED}"


class NameOnLoopbackTests(WebhookTestCase):
    """Cityworks' endpoint is registered by name; the name resolves to this server itself."""

    def setUp(self):
        super().setUp()
        self.cityworks.url = self.receiver.url_at(HOOKS)
        self.cityworks.kinds = [Event.SUBMITTED, Event.ROUTED]
        self.cityworks.save()

    def test_it_is_refused_until_an_administrator_marks_the_endpoint_internal(self):
        with trusting_nothing(), fakedns.names({HOOKS: ["127.0.0.1"]}):
            self.report()
            dispatch_events()
            assert not self.receiver.received
            post = WebhookPost.objects.order_by("event").first()
            assert post.error == f"refused: {HOOKS} resolves to 127.0.0.1, {LOOPBACK_REFUSED}"
            self.cityworks.internal = True
            self.cityworks.save()
            self.later(10)
            send_due_posts()
        assert [json.loads(r.body)["type"] for r in self.receiver.received] == [
            Event.SUBMITTED,
            Event.ROUTED,
        ]
        port = self.receiver.server.server_address[1]
        assert {r.headers["host"] for r in self.receiver.received} == {f"{HOOKS}:{port}"}

    def test_an_internal_endpoint_is_still_never_sent_to_the_metadata_address(self):
        self.cityworks.internal = True
        self.cityworks.save()
        with trusting_nothing(), fakedns.names({HOOKS: ["169.254.169.254"]}):
            self.report()
            dispatch_events()
        post = WebhookPost.objects.order_by("event").first()
        assert post.error == (
            f"refused: {HOOKS} resolves to 169.254.169.254, the cloud metadata address, which "
            "hands out server credentials: city311 never sends there."
        )

    def test_each_send_connects_to_the_address_it_checked_whatever_dns_says_next(self):
        # DNS rebinding: the first answer is the receiver (trusted here), every later one an
        # address nobody trusted. Each post resolves the name once and connects to what it
        # checked; the later answer is refused before any connection is made.
        answers = iter([["127.0.0.1"]])

        def rebinding() -> list[str]:
            return next(answers, ["127.0.0.2"])

        with (
            override_settings(CITY311_OUTBOUND_TRUSTED_NETWORKS=["127.0.0.1/32"]),
            fakedns.names({HOOKS: rebinding}),
        ):
            self.report()
            dispatch_events()
        assert [json.loads(r.body)["type"] for r in self.receiver.received] == [Event.SUBMITTED]
        routed = WebhookPost.objects.get(kind=Event.ROUTED)
        assert routed.error.startswith(f"refused: {HOOKS} resolves to 127.0.0.2, a loopback")
        assert fakedns.asked[HOOKS] == 2  # once per post, never again to connect


class TlsTests(WebhookTestCase):
    """Over https the connection goes to the pinned address, and TLS still checks the name."""

    def receiver_with_certificate_for(self, name: str) -> Receiver:
        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(name).configure_cert(context)
        bundle = Path(tempfile.mkdtemp()) / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        secure = Receiver(tls=context)
        self.addCleanup(secure.close)
        self.enterContext(override_settings(CITY311_OUTBOUND_CA_BUNDLE=str(bundle)))
        self.enterContext(fakedns.names({HOOKS: ["127.0.0.1"]}))
        self.cityworks.url = secure.url_at(HOOKS)
        self.cityworks.kinds = [Event.SUBMITTED]
        self.cityworks.save()
        return secure

    def test_a_certificate_for_the_name_is_accepted(self):
        secure = self.receiver_with_certificate_for(HOOKS)
        self.report()
        dispatch_events()
        assert len(secure.received) == 1
        assert WebhookPost.objects.get().status == OutboxStatus.SENT

    def test_a_certificate_for_another_name_is_not(self):
        secure = self.receiver_with_certificate_for("other.example.test")
        self.report()
        dispatch_events()
        assert not secure.received
        assert WebhookPost.objects.get().error == "no answer: SSLError"


class RedirectTests(WebhookTestCase):
    def test_a_webhook_receiver_that_redirects_is_not_followed(self):
        elsewhere = Receiver()
        self.addCleanup(elsewhere.close)
        self.receiver.status = 307
        self.receiver.answer_headers = {"location": elsewhere.url}
        self.cityworks.kinds = [Event.SUBMITTED]
        self.cityworks.save()
        self.report()
        dispatch_events()
        assert not elsewhere.received
        assert WebhookPost.objects.get().error == "HTTP 307"

    def forwarding_through(self, hop: Receiver) -> Forwarding:
        return Forwarding.objects.create(
            name="County roads", base_url=hop.url + "/", service_type=self.pothole
        )

    def test_a_forwarding_servers_redirect_is_checked_at_each_hop(self):
        hop = Receiver(status=307)
        self.addCleanup(hop.close)
        hop.answer_headers = {"location": "http://metadata.example.test/latest/meta-data/"}
        self.forwarding_through(hop)
        with fakedns.names({"metadata.example.test": ["169.254.169.254"]}):
            self.report()
            dispatch_events()
        assert len(hop.received) == 1
        forward = ForwardedRequest.objects.get()
        assert forward.status == OutboxStatus.PENDING
        assert forward.error.startswith(
            "refused: metadata.example.test resolves to 169.254.169.254, the cloud metadata"
        )

    def test_a_redirect_to_an_allowed_server_is_followed(self):
        county = GeoReportServer()
        self.addCleanup(county.close)
        hop = Receiver(status=307)
        self.addCleanup(hop.close)
        port = county.server.server_address[1]
        hop.answer_headers = {
            "location": f"http://county.example.test:{port}/open311/v2/requests.json"
        }
        self.forwarding_through(hop)
        with fakedns.names({"county.example.test": ["127.0.0.1"]}):
            self.report()
            dispatch_events()
        assert len(county.posted) == 1 and fakedns.asked["county.example.test"] == 1
        assert ForwardedRequest.objects.get().remote_id == "CW-1"


class AdminFormTests(BaseTestCase):
    def setUp(self):
        self.sign_in(self.ada)

    def add_endpoint(self, url: str, **more: str) -> str:
        response = self.client.post(
            "/admin/webhooks/webhookendpoint/add/",
            {
                "name": "Cityworks",
                "url": url,
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "active": "on",
                **more,
            },
        )
        return html.unescape(response.content.decode()) if response.status_code == 200 else ""

    def test_a_private_address_is_refused_with_what_to_do(self):
        page = self.add_endpoint("http://192.168.1.20/hook")
        assert (
            "192.168.1.20 is a private address, inside the city's own network: city311 sends "
            "only to public addresses. Use the receiver's public address or, if it is one of "
            "the city's own systems, tick “On the city's network”."
        ) in page
        assert not WebhookEndpoint.objects.exists()

    def test_a_name_with_one_private_address_among_public_ones_is_refused(self):
        with fakedns.names({"gis.example.org": ["93.184.215.14", "10.20.0.5"]}):
            page = self.add_endpoint("https://gis.example.org/hook")
        assert "gis.example.org resolves to 10.20.0.5, a private address" in page
        assert not WebhookEndpoint.objects.exists()

    def test_loopback_in_other_spellings_is_refused(self):
        with trusting_nothing():
            for url, says in [
                ("http://[::ffff:127.0.0.1]:8080/", "::ffff:127.0.0.1 is a loopback address"),
                ("http://[::1]/hook", "::1 is a loopback address"),
                ("http://0.0.0.0:8000/", "0.0.0.0 is an unspecified address"),
                ("http://[fd00::5]/", "fd00::5 is a unique-local IPv6 address"),
                ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
            ]:
                assert says in self.add_endpoint(url), url
            assert "Enter a valid URL." in self.add_endpoint("http://0x7f.0.0.1/hook")
        assert not WebhookEndpoint.objects.exists()

    def test_ticking_on_the_citys_network_lets_a_private_address_be_saved(self):
        assert self.add_endpoint("http://10.1.2.3/hook", internal="on") == ""
        assert WebhookEndpoint.objects.get().internal

    def test_the_metadata_address_is_refused_even_when_ticked(self):
        page = self.add_endpoint("http://169.254.169.254/latest/meta-data/", internal="on")
        assert "169.254.169.254 is the cloud metadata address" in page
        assert "city311 never sends there. Use the receiver's public address." in page
        assert not WebhookEndpoint.objects.exists()

    def test_a_forwarding_rule_to_an_internal_server_is_refused_too(self):
        response = self.client.post(
            "/admin/forwarding/forwarding/add/",
            {
                "name": "County roads",
                "base_url": "http://10.0.0.7/open311/v2/",
                "service_type": self.pothole.pk,
                "active": "on",
            },
        )
        assert response.status_code == 200
        page = html.unescape(response.content.decode())
        assert "10.0.0.7 is a private address, inside the city's own network" in page
        assert not Forwarding.objects.exists()

    def test_in_spanish_the_administrator_reads_why(self):
        self.client.cookies["django_language"] = "es"
        page = self.add_endpoint("http://192.168.1.20/hook")
        assert "192.168.1.20 es una dirección privada, dentro de la red de la ciudad" in page
        assert "marque «En la red de la ciudad»" in page


@override_settings(CITY311_WEBHOOK_MAX_ATTEMPTS=2)
class OrderedReplayTests(WebhookTestCase):
    """Cityworks is down long enough for posts to die; then it is back and they are replayed."""

    def outage(self):
        self.receiver.status = 503
        first, second = self.rosa_reports_and_dana_works(), self.rosa_reports_and_dana_works()
        dispatch_events()
        for _ in range(3):
            self.later(3600)
            send_due_posts()
        return first, second

    def delivered(self) -> dict[str, list[int]]:
        by_request: dict[str, list[int]] = {}
        for body in self.bodies():
            number = body["data"]["request"]["service_request_id"]
            by_request.setdefault(number, []).append(body["data"]["event"]["id"])
        return by_request

    def test_a_dead_letter_holds_its_requests_later_posts_even_new_ones(self):
        first, _second = self.outage()
        dead = WebhookPost.objects.filter(status=OutboxStatus.FAILED)
        assert sorted(dead.values_list("kind", flat=True)) == [Event.SUBMITTED] * 2
        assert {b["type"] for b in self.bodies()} == {Event.SUBMITTED}
        held = WebhookPost.objects.filter(status=OutboxStatus.PENDING)
        assert held.count() == 8 and set(held.values_list("attempts", flat=True)) == {0}
        # The receiver is back, but the dead letters are not replayed yet: a new event of the
        # first request waits behind its dead post rather than overtaking it.
        self.receiver.status = 204
        actions.add_note(first, text="Crew will look again", public=True, by=self.dana)
        dispatch_events()
        self.later(3600)
        send_due_posts()
        assert {b["type"] for b in self.bodies()} == {Event.SUBMITTED}

    def test_replayed_from_the_admin_they_arrive_in_their_original_order_with_their_ids(self):
        first, second = self.outage()
        dead_ids = {p.pk: p.webhook_id for p in WebhookPost.objects.filter(status="failed")}
        self.receiver.status = 204
        self.receiver.received.clear()
        self.sign_in(self.ada)
        response = self.client.post(
            "/admin/webhooks/webhookpost/", {"action": "replay", "_selected_action": [*dead_ids]}
        )
        assert response.status_code == 302
        send_due_posts()
        assert set(WebhookPost.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
        for sr in (first, second):
            events = list(sr.events.order_by("pk").values_list("pk", flat=True))
            assert self.delivered()[sr.tracking_number] == events
        ids = [r.headers["webhook-id"] for r in self.receiver.received]
        assert len(ids) == len(set(ids)) == 10 and set(dead_ids.values()) <= set(ids)

    def test_replayed_by_the_command_only_one_request_the_other_still_waits(self):
        first, second = self.outage()
        self.receiver.status = 204
        self.receiver.received.clear()
        dead = WebhookPost.objects.get(status=OutboxStatus.FAILED, request=first)
        call_command("replay_webhooks", str(dead.pk), stdout=io.StringIO())
        send_due_posts()
        events = list(first.events.order_by("pk").values_list("pk", flat=True))
        assert self.delivered() == {first.tracking_number: events}
        assert WebhookPost.objects.get(request=second, status=OutboxStatus.FAILED)

    def test_a_dropped_dead_letter_lets_its_requests_later_posts_go_on(self):
        first, _second = self.outage()
        self.receiver.status = 204
        self.receiver.received.clear()
        dead = WebhookPost.objects.get(status=OutboxStatus.FAILED, request=first)
        self.sign_in(self.ada)
        self.client.post(
            "/admin/webhooks/webhookpost/", {"action": "drop", "_selected_action": [dead.pk]}
        )
        send_due_posts()
        dead.refresh_from_db()
        assert dead.status == OutboxStatus.CANCELLED
        events = list(first.events.order_by("pk").values_list("pk", flat=True))
        assert self.delivered() == {first.tracking_number: events[1:]}
