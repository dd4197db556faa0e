"""Open311 forwarding: a type's requests are filed on another GeoReport v2 server, its id kept,
its updates turned into history here, retried through the outbox while it is down. Against a
small GeoReport server on loopback (tests/receivers.py) and a second city311 served live."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from city311.forwarding.models import ForwardedRequest, Forwarding
from city311.forwarding.tasks import poll_forwarded, send_due_forwards
from city311.lib.outbox import OutboxStatus
from city311.open311.models import ApiKey
from city311.servicerequests import actions
from city311.servicerequests.models import ServiceRequest, Status
from city311.servicerequests.tasks import dispatch_events
from city311.servicerequests.vocabulary import Event
from city311.test import BaseTestCase, CityMixin
from tests.receivers import GeoReportServer


class ForwardingTestCase(BaseTestCase):
    server_options: dict = {}

    def setUp(self):
        self.county = GeoReportServer(**self.server_options)
        self.addCleanup(self.county.close)
        self.rule = Forwarding.objects.create(
            name="County roads",
            base_url=self.county.url,
            api_key="county-key",
            service_type=self.pothole,
            remote_service_code="ROAD-1",
        )

    def later(self, seconds: float) -> None:
        for forward in ForwardedRequest.objects.filter(status=OutboxStatus.PENDING):
            forward.due_at -= timedelta(seconds=seconds)
            forward.save(update_fields=["due_at"])

    def forwarded(self) -> tuple[ServiceRequest, ForwardedRequest]:
        sr = self.report()
        dispatch_events()
        return sr, ForwardedRequest.objects.get(request=sr)

    def county_says(self, remote_id: str, update_id: str, status: str, text: str) -> None:
        self.county.updates.append(
            {
                "update_id": update_id,
                "service_request_id": remote_id,
                "status": status,
                "updated_datetime": timezone.now().isoformat(),
                "description": text,
                "media_url": None,
            }
        )


class FilingTests(ForwardingTestCase):
    def test_a_pothole_is_filed_on_the_county_server_without_the_reporter(self):
        sr, forward = self.forwarded()
        assert forward.status == OutboxStatus.SENT and forward.remote_id == "CW-1"
        posted = self.county.posted[0]
        assert posted["service_code"] == ["ROAD-1"]
        assert posted["api_key"] == ["county-key"]
        assert posted["description"] == ["Deep hole by the curb"]
        assert posted["attribute[size]"] == ["large"]
        assert float(posted["lat"][0]) == sr.lat
        sent = repr(posted)
        for personal in ("Rosa", "Diaz", "rosa@example.org", "555-0199"):
            assert personal not in sent
        event = sr.events.get(kind=Event.FORWARDED)
        assert not event.public
        assert event.data["remote_id"] == "CW-1"
        assert event.data["link"] == f"{self.county.url}requests/CW-1.json"

    def test_the_work_page_shows_staff_the_remote_id_and_link(self):
        sr, _ = self.forwarded()
        self.sign_in(self.dana)
        page = self.client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
        assert "Filed with County roads as CW-1" in page
        assert f"{self.county.url}requests/CW-1.json" in page

    def test_other_types_are_not_forwarded(self):
        self.report(service_code="fallen_tree", answers={})
        dispatch_events()
        assert not self.county.posted and not ForwardedRequest.objects.exists()

    def test_a_server_that_is_down_gets_the_request_later_once(self):
        self.county.down = 2
        sr, forward = self.forwarded()
        assert forward.status == OutboxStatus.PENDING and forward.error == "HTTP 503"
        assert (forward.due_at - timezone.now()).total_seconds() > 200  # about 5 minutes
        send_due_forwards()
        assert not self.county.posted
        self.later(400)
        send_due_forwards()  # still down
        self.later(2000)
        send_due_forwards()
        forward.refresh_from_db()
        assert forward.status == OutboxStatus.SENT and forward.attempts == 3
        assert len(self.county.posted) == 1
        send_due_forwards()
        assert len(self.county.posted) == 1
        assert sr.events.filter(kind=Event.FORWARDED).count() == 1

    def test_a_refusal_is_a_dead_letter_with_the_servers_words(self):
        self.county.refuse = "service_code ROAD-1 is not known"
        _, forward = self.forwarded()
        assert forward.status == OutboxStatus.FAILED
        assert forward.error == "HTTP 400: service_code ROAD-1 is not known"
        self.rule.refresh_from_db()
        assert "not known" in self.rule.last_error


class UpdateTests(ForwardingTestCase):
    def test_the_countys_updates_become_history_and_its_closing_closes_here_once(self):
        sr, _ = self.forwarded()
        self.county_says("CW-1", "u1", "open", "Crew scheduled for Tuesday")
        self.county_says("CW-9", "u2", "closed", "Someone else's request")
        assert poll_forwarded() == 1
        news = sr.events.get(kind=Event.REMOTE_UPDATE)
        assert news.public and news.note == "Crew scheduled for Tuesday"
        assert news.actor_label == "County roads"
        self.county_says("CW-1", "u3", "closed", "Patched with hot asphalt")
        assert poll_forwarded() == 1
        assert poll_forwarded() == 0
        sr.refresh_from_db()
        assert sr.status == Status.CLOSED and sr.status_notes == "Patched with hot asphalt"
        assert sr.events.filter(kind=Event.CLOSED).count() == 1
        # Read with a window and the key, as FixMyStreet reads city311.
        assert all("start_date=" in r and "api_key=county-key" in r for r in self.county.reads)

    def test_a_request_closed_here_first_still_records_the_countys_closing_note(self):
        sr, _ = self.forwarded()
        actions.close_request(sr, resolution="completed", note="Done by us", by=self.dana)
        self.county_says("CW-1", "u1", "FIXED", "Fixed by the county")
        assert poll_forwarded() == 1
        assert sr.events.filter(kind=Event.CLOSED).count() == 1
        assert sr.events.get(kind=Event.REMOTE_UPDATE).note == "Fixed by the county"


class NoFeedTests(ForwardingTestCase):
    server_options = {"feed": False, "tokens": True}

    def test_a_server_without_an_updates_feed_is_read_through_its_requests(self):
        sr, forward = self.forwarded()
        assert forward.token == "tok-CW-1"
        poll_forwarded()  # the token becomes an id
        forward.refresh_from_db()
        assert forward.remote_id == "CW-1"
        self.county.statuses["CW-1"] |= {"status": "closed", "status_notes": "Swept"}
        assert poll_forwarded() == 1
        assert poll_forwarded() == 0
        sr.refresh_from_db()
        assert sr.status == Status.CLOSED and sr.status_notes == "Swept"


# A second city311, served live: the same code and database playing the county, with a type
# of its own ("fallen_tree" stands for the county's code) that is not forwarded anywhere.
@pytest.fixture
def city(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    return c


def test_a_request_forwarded_to_a_second_city311_closes_here_with_its_note_once(city, live_server):
    _, key = ApiKey.issue("Our city")
    Forwarding.objects.create(
        name="County 311",
        base_url=f"{live_server.url}/open311/v2/",
        api_key=key,
        service_type=city.pothole,
        remote_service_code="fallen_tree",
    )
    ours = city.report()
    dispatch_events()
    forward = ForwardedRequest.objects.get(request=ours)
    assert forward.status == OutboxStatus.SENT, forward.error
    theirs = ServiceRequest.objects.get(tracking_number=forward.remote_id)
    assert theirs.service_type == city.tree and theirs.description == ours.description
    assert not ForwardedRequest.objects.filter(request=theirs).exists()
    actions.start_request(theirs, by=city.pat, note="Crew on the way")
    actions.close_request(theirs, resolution="completed", note="Tree removed", by=city.pat)
    dispatch_events()
    poll_forwarded()
    poll_forwarded()
    ours.refresh_from_db()
    assert ours.status == Status.CLOSED and ours.status_notes == "Tree removed"
    assert ours.events.filter(kind=Event.CLOSED).count() == 1
    notes = list(ours.events.filter(kind=Event.REMOTE_UPDATE).values_list("note", flat=True))
    assert "Crew on the way" in notes
