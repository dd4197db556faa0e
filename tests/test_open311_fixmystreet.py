"""FixMyStreet in front of city311: a stand-in of its Open311 client, run against the server.

The stand-in does what mysociety/fixmystreet's perllib/Open311.pm and
Open311/GetServiceRequestUpdates.pm do with a council's back office when `send_comments` is on:
it posts reports (form fields, api_key and jurisdiction_id in the body), posts its users'
updates to servicerequestupdates.xml and reads the update_id back from
`request_update[0].update_id`, and fetches servicerequestupdates.xml with api_key, start_date and
end_date (never a page), parses it as XML::Simple does (lists forced), maps each status with
`map_state` and skips updates it has seen (by update_id).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from city311.open311.models import ApiKey, StatusWords
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent, Resolution, ServiceRequest
from city311.servicerequests.validation import MAX_DESCRIPTION
from city311.servicerequests.vocabulary import Event
from tests import test_open311 as reads
from tests.test_open311 import BASE

city = reads.city

# Open311.pm's _get_xml_object: these are always lists.
FORCE_ARRAY = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "service_request_updates": "request_update",
}


def xml_simple(text: bytes):
    """XML as XML::Simple reads it with Open311.pm's options: lists of the group tags' items,
    elements with children as hashes, empty elements as undef."""

    def value(element: ET.Element):
        if element.tag in FORCE_ARRAY:
            return [value(c) for c in element if c.tag == FORCE_ARRAY[element.tag]]
        if len(element):
            return {c.tag: value(c) for c in element}
        return element.text or None

    return value(ET.fromstring(text))


def map_state(incoming: str, *, extended_statuses: bool) -> str:
    """Open311.pm's map_state: FixMyStreet's state for a status the server sends."""
    state = incoming.lower().replace("_", " ")
    known = {
        "fixed": "fixed - council",
        "not councils responsibility": "not responsible",
        "no further action": "unable to fix",
        "open": "confirmed",
        "closed": "closed" if extended_statuses else "fixed - council",
    }
    return known.get(state, state)


# The states FixMyStreet knows (FixMyStreet::DB::Result::Problem): anything else fails the check.
FMS_STATES = {
    "confirmed",
    "investigating",
    "in progress",
    "action scheduled",
    "fixed - council",
    "duplicate",
    "not responsible",
    "unable to fix",
    "internal referral",
    "closed",
}


class FixMyStreet:
    """The stand-in: one body with send_comments on, talking to city311 over HTTP."""

    def __init__(self, client: Client, api_key: str, *, extended_statuses: bool = True) -> None:
        self.client, self.api_key, self.extended = client, api_key, extended_statuses
        self.comments: dict[str, dict] = {}  # external update_id -> the comment FMS made
        self.failures: list[str] = []

    def post_report(self, **fields) -> str:
        params = {"api_key": self.api_key, "jurisdiction_id": "city311", **fields}
        r = self.client.post(f"{BASE}/requests.xml", params)
        assert r.status_code == 200, r.content
        return xml_simple(r.content)[0]["service_request_id"]

    def post_update(self, external_id: str, comment_id: int, status: str, text: str, **more):
        """post_service_request_update: the answer's update_id, or 0 (a failure) as FMS has it."""
        params = {
            "api_key": self.api_key,
            "jurisdiction_id": "city311",
            "updated_datetime": timezone.now().replace(microsecond=0).isoformat(),
            "service_request_id": external_id,
            "status": status,
            "description": text,
            "last_name": "Diaz",
            "first_name": "Rosa",
            "email": "rosa@example.org",
            "update_id": str(comment_id),
            **more,
        }
        r = self.client.post(f"{BASE}/servicerequestupdates.xml", params)
        if r.status_code != 200:
            self.failures.append(f"update {comment_id}: {r.status_code} {r.content[:200]!r}")
            return 0
        update_id = xml_simple(r.content)[0]["update_id"]
        return update_id if isinstance(update_id, str) else 0

    def fetch_updates(self, start, end) -> list[dict]:
        """GetServiceRequestUpdates for one body: the new updates, each checked as FMS does."""
        r = self.client.get(
            f"{BASE}/servicerequestupdates.xml",
            {
                "api_key": self.api_key,
                "jurisdiction_id": "city311",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
            },
        )
        if r.status_code != 200:
            self.failures.append(f"fetch: {r.status_code}")
            return []
        new = []
        for update in xml_simple(r.content) or []:
            for field in ("update_id", "service_request_id", "status", "updated_datetime"):
                if not update.get(field):
                    self.failures.append(f"update without {field}: {update}")
            state = map_state(update["status"] or "", extended_statuses=self.extended)
            if state not in FMS_STATES:
                self.failures.append(f"unknown state {update['status']!r}")
            if update["update_id"] in self.comments:
                continue
            self.comments[update["update_id"]] = {**update, "state": state}
            new.append(self.comments[update["update_id"]])
        return new


@pytest.fixture
def fms(city, client):
    key, raw = ApiKey.issue("FixMyStreet")
    key.status_words = StatusWords.FIXMYSTREET
    key.save()
    return FixMyStreet(client, raw)


def _report(fms: FixMyStreet, **fields) -> ServiceRequest:
    report = {
        "service_code": "pothole",
        "lat": "40.6782",
        "long": "-73.9442",
        "description": "Deep hole by the curb",
        "attribute[size]": "large",
        **fields,
    }
    return ServiceRequest.objects.get(tracking_number=fms.post_report(**report))


def _window():
    now = timezone.now()
    return now - timedelta(hours=2), now + timedelta(minutes=1)


class TestCitizenUpdates:
    def test_a_comment_becomes_public_history_answered_with_city311s_id(self, fms):
        sr = _report(fms)
        update_id = fms.post_update(sr.tracking_number, 501, "OPEN", "Still there, getting worse")
        event = RequestEvent.objects.get(pk=int(update_id))
        assert event.request == sr and event.public
        assert event.note == "Still there, getting worse"
        assert event.actor_label == "FixMyStreet"
        assert fms.failures == []

    def test_the_same_update_posted_twice_is_recorded_once(self, fms):
        sr = _report(fms)
        first = fms.post_update(sr.tracking_number, 502, "OPEN", "Still there")
        again = fms.post_update(sr.tracking_number, 502, "OPEN", "Still there")
        assert first == again
        assert sr.events.filter(note="Still there").count() == 1

    def test_not_fixed_within_the_window_reopens(self, fms, city):
        sr = _report(fms)
        actions.close_request(sr, resolution=Resolution.COMPLETED, note="Filled.", by=city.dana)
        fms.post_update(sr.tracking_number, 503, "REOPEN", "It is not fixed: the hole is back")
        sr.refresh_from_db()
        assert not sr.is_closed
        reopened = sr.events.get(kind=Event.REOPENED)
        assert reopened.public and reopened.data["resident_says"] == "not_fixed"

    def test_fixed_is_recorded_for_staff_and_does_not_close(self, fms):
        sr = _report(fms)
        update_id = fms.post_update(sr.tracking_number, 504, "FIXED", "Looks fixed now, thanks")
        sr.refresh_from_db()
        assert not sr.is_closed
        assert RequestEvent.objects.get(pk=int(update_id)).data["resident_says"] == "fixed"

    def test_a_photo_link_is_kept_as_a_link_and_not_fetched_from_a_host_not_allowed(self, fms):
        sr = _report(fms)
        photo = "https://fixmystreet.example/photo/c/505.0.full.jpeg"
        update_id = fms.post_update(sr.tracking_number, 505, "OPEN", "See photo", media_url=photo)
        event = RequestEvent.objects.get(pk=int(update_id))
        assert photo in event.note and event.data["media_url"] == photo
        assert not sr.attachments.exists()

    @pytest.mark.parametrize(
        "change, says",
        [
            ({"status": "MAYBE"}, "status: send one of OPEN, CLOSED, FIXED"),
            ({"update_id": ""}, "update_id: this field is required."),
            ({"service_request_id": "999-9999-999"}, "There is no request with this number"),
            ({"api_key": "wrong"}, "api_key is not valid"),
        ],
    )
    def test_it_refuses_what_it_cannot_record_and_says_why(self, fms, client, change, says):
        sr = _report(fms)
        data = {
            "api_key": fms.api_key,
            "service_request_id": sr.tracking_number,
            "update_id": "9",
            "status": "OPEN",
            "description": "x",
            **change,
        }
        r = client.post(f"{BASE}/servicerequestupdates.xml", data)
        assert r.status_code in (400, 403, 404)
        assert says in r.content.decode()


class TestUpdateFeed:
    def test_statuses_in_fixmystreets_words_and_open_closed_for_others(self, fms, city, client):
        started, duplicate = _report(fms), _report(fms)
        actions.start_request(started, by=city.dana, note="Crew on the way.")
        actions.close_request(
            duplicate, resolution=Resolution.NO_ACTION, note="Nothing to do.", by=city.dana
        )
        fms.fetch_updates(*_window())
        states = {u["description"]: u["state"] for u in fms.comments.values()}
        assert states["Crew on the way."] == "in progress"
        assert states["Nothing to do."] == "unable to fix"
        assert fms.failures == []
        plain = xml_simple(client.get(f"{BASE}/servicerequestupdates.xml").content)
        assert {u["status"] for u in plain} <= {"open", "closed"}

    def test_internal_routing_and_its_own_updates_stay_out(self, fms):
        sr = _report(fms)
        assert sr.events.filter(kind=Event.ROUTED, public=True).exists()
        fms.post_update(sr.tracking_number, 601, "OPEN", "Own words")
        fms.fetch_updates(*_window())
        descriptions = [u["description"] for u in fms.comments.values()]
        assert "Own words" not in descriptions
        routed = sr.events.get(kind=Event.ROUTED).pk
        assert str(routed) not in fms.comments

    def test_a_busy_city_loses_no_update_to_a_client_that_never_pages(self, fms, city):
        """More than 1000 public updates in the window FixMyStreet asks for: all arrive."""
        sr = _report(fms)
        now = timezone.now()
        RequestEvent.objects.bulk_create(
            RequestEvent(
                request=sr,
                kind=Event.NOTE,
                at=now - timedelta(seconds=i),
                public=True,
                note=f"Crew note {i}",
            )
            for i in range(1500)
        )
        expected = set(
            sr.events.filter(public=True).exclude(kind=Event.ROUTED).values_list("pk", flat=True)
        )
        assert len(expected) > 1000
        fms.fetch_updates(*_window())
        assert {int(i) for i in fms.comments} == expected
        assert fms.failures == []
        # The next run sees nothing new: nothing twice.
        assert fms.fetch_updates(*_window()) == []


def test_a_report_as_long_as_fixmystreet_writes_is_accepted(fms):
    text = "A long report. " * 1000
    assert 4000 < len(text) < MAX_DESCRIPTION
    sr = _report(fms, description=text)
    assert sr.description.strip() == text.strip()


def test_a_report_resent_after_a_timeout_is_filed_once(fms, client):
    # The city declares FixMyStreet's id as a non-variable attribute: FixMyStreet then sends it.
    from city311.catalog import cache as catalog_cache
    from city311.catalog.models import ServiceAttribute, ServiceType

    ServiceAttribute.objects.create(
        service_type=ServiceType.objects.get(service_code="pothole"),
        code="fixmystreet_id",
        description="FixMyStreet's report id",
        variable=False,
        required=False,
        order=99,
    )
    catalog_cache.bump()
    definition = xml_simple(client.get(f"{BASE}/services/pothole.xml").content)
    declared = {a["code"]: a["variable"] for a in definition["attributes"]}
    assert declared["fixmystreet_id"] == "false"
    first = _report(fms, **{"attribute[fixmystreet_id]": "4711"})
    again = _report(fms, **{"attribute[fixmystreet_id]": "4711"})
    other = _report(fms, **{"attribute[fixmystreet_id]": "4712"})
    assert again == first and other != first
    assert first.answers.get("fixmystreet_id") == "4711"


def test_a_key_whose_application_notifies_its_users_gets_no_city_messages(fms, city):
    from city311.notifications.actions import plan_deliveries
    from city311.notifications.models import Follower

    key = ApiKey.objects.get(application="FixMyStreet")
    key.notifies_own_users = True
    key.save()
    from city311.open311 import keys

    keys._seen.clear()
    sr = _report(fms, email="rosa@example.org")
    plan_deliveries(sr.events.get(kind=Event.SUBMITTED))
    assert not Follower.objects.filter(request=sr).exists()
    key.notifies_own_users = False
    key.save()
    keys._seen.clear()
    told = _report(fms, email="rosa@example.org")
    plan_deliveries(told.events.get(kind=Event.SUBMITTED))
    assert Follower.objects.filter(request=told).exists()
