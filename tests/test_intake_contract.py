"""One contract for every channel that files a request: the same cases, the same outcomes.

Each channel (the portal's steps, the operator console, Open311) is driven through its own
public face by a small driver; the cases below run once per channel. A new channel (e-mail,
texting, the phone tree) adds a driver and a class at the bottom, and inherits every case.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from PIL import Image

from city311.open311.models import ApiKey
from city311.servicerequests.models import Channel, ServiceRequest, Status
from tests.small_city import INSIDE, OUTSIDE
from tests.test_portal_report import PHOTO_GPS, ReportTestCase, jpeg, photo_upload


@dataclass
class Case:
    """What Rosa tells a channel, in the channel's own terms."""

    service_code: str = "pothole"
    point: tuple[float, float] | None = INSIDE
    size: str = "large"
    description: str = "Deep hole by the curb"
    phone: str = "718-555-0199"
    email: str = "rosa@example.org"
    photo: bytes | None = None
    key: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    status: int
    page: str
    number: str = ""

    @property
    def request(self) -> ServiceRequest:
        return ServiceRequest.objects.get(tracking_number=self.number)


class ContractCases:
    """The cases. Each channel's class, below, says how that channel files a Case: `file`,
    `file_twice` (the same filing sent again) and, for channels that offer nearby requests
    first, `file_anyway`."""

    channel = ""
    file: Callable[[Case], Outcome]
    file_twice: Callable[[Case], tuple[Outcome, Outcome]]

    def test_a_complete_report_is_filed_routed_and_given_a_due_date(self):
        before = ServiceRequest.objects.count()
        outcome = self.file(Case())
        self.assertTrue(outcome.number, outcome.page[:2000])
        sr = outcome.request
        self.assertEqual(ServiceRequest.objects.count(), before + 1)
        self.assertEqual(sr.channel, self.channel)
        self.assertEqual(sr.status, Status.OPEN)
        self.assertEqual(sr.department, self.streets)
        self.assertEqual(sr.answers["size"], "large")
        self.assertEqual(sr.areas["service_zone"]["name"], "North zone")
        self.assertAlmostEqual(sr.due_at - sr.requested_at, timedelta(days=5), delta=timedelta(1))
        self.assertEqual(
            list(sr.events.values_list("kind", flat=True)), ["request.submitted", "request.routed"]
        )
        self.assertEqual(sr.contact.email, "rosa@example.org")

    def test_the_phone_is_stored_in_one_form(self):
        sr = self.file(Case()).request
        self.assertEqual(sr.contact.phone, "+17185550199")

    def test_a_missing_answer_is_refused_naming_the_question(self):
        outcome = self.file(Case(size=""))
        self.assertFalse(outcome.number)
        self.assertIn("How big is it?", outcome.page)
        self.assertFalse(ServiceRequest.objects.exists())

    def test_a_place_outside_the_city_gets_the_referral(self):
        outcome = self.file(Case(point=OUTSIDE))
        self.assertFalse(outcome.number)
        self.assertIn("outside", outcome.page.lower())
        self.assertFalse(ServiceRequest.objects.exists())

    def test_an_emergency_is_told_to_call_911_and_not_filed(self):
        outcome = self.file(Case(service_code="fire"))
        self.assertFalse(outcome.number)
        self.assertIn("911", outcome.page)
        self.assertFalse(ServiceRequest.objects.exists())

    def test_the_same_filing_sent_twice_files_once(self):
        first, second = self.file_twice(Case())
        self.assertTrue(first.number)
        self.assertEqual(ServiceRequest.objects.count(), 1)
        self.assertEqual(second.number, first.number)

    def test_a_nearby_open_request_of_the_kind_is_flagged(self):
        earlier = self.report(lat=INSIDE[0], long=INSIDE[1])
        outcome = self.file(Case())
        if not outcome.number:
            # A channel with a person on it offers the earlier request first.
            self.assertIn(earlier.tracking_number, outcome.page)
            outcome = self.file_anyway(Case())
        self.assertEqual(outcome.request.possible_duplicate_of, earlier)

    def file_anyway(self, case: Case) -> Outcome:
        return self.file(case)


class PhotoCases:
    """For the channels that take photos (a call taker takes none over the phone)."""

    def test_a_photo_is_kept_without_its_exif(self):
        sr = self.file(Case(photo=jpeg(PHOTO_GPS))).request
        stored = sr.attachments.get().file.open("rb").read()
        self.assertNotIn(b"PhoneMaker", stored)
        self.assertEqual(dict(Image.open(io.BytesIO(stored)).getexif()), {})


class Open311Contract(ContractCases, PhotoCases, ReportTestCase):
    channel = Channel.OPEN311

    def setUp(self):
        super().setUp()
        self.api_key = ApiKey.issue("FixMyStreet")[1]

    def data(self, case: Case) -> dict:
        data = {
            "api_key": self.api_key,
            "service_code": case.service_code,
            "description": case.description,
            "email": case.email,
            "phone": case.phone,
            "attribute[size]": case.size,
            **case.extra,
        }
        if case.point:
            data["lat"], data["long"] = str(case.point[0]), str(case.point[1])
        if case.photo:
            data["media"] = photo_upload(case.photo)
        return data

    def file(self, case: Case, headers: dict | None = None) -> Outcome:
        r = self.client.post("/open311/v2/requests.json", self.data(case), headers=headers or {})
        body = r.json()
        number = body[0].get("service_request_id", "") if r.status_code == 200 else ""
        return Outcome(r.status_code, r.content.decode(), number)

    def file_twice(self, case: Case) -> tuple[Outcome, Outcome]:
        headers = {"Idempotency-Key": "retry-1"}
        return self.file(case, headers), self.file(case, headers)


class ConsoleContract(ContractCases, ReportTestCase):
    channel = Channel.PHONE

    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def data(self, case: Case, **more: str) -> dict:
        data = {
            "channel": Channel.PHONE,
            "description": case.description,
            "email": case.email,
            "phone": case.phone,
            "first_name": "Rosa",
            "attribute[size]": case.size,
            "wants_updates": "on",
            **case.extra,
            **more,
        }
        if case.point:
            data["lat"], data["long"] = str(case.point[0]), str(case.point[1])
        return data

    def file(self, case: Case, **more: str) -> Outcome:
        r = self.client.post(f"/console/new/{case.service_code}/", self.data(case, **more))
        number = ""
        if r.status_code == 302 and "/console/filed/" in r["Location"]:
            number = r["Location"].rstrip("/").split("/")[-1]
        return Outcome(r.status_code, r.content.decode(), number)

    def file_twice(self, case: Case) -> tuple[Outcome, Outcome]:
        return self.file(case, filing_key="form-1"), self.file(case, filing_key="form-1")

    def file_anyway(self, case: Case) -> Outcome:
        return self.file(case, file_anyway="1")


class PortalContract(ContractCases, PhotoCases, ReportTestCase):
    channel = Channel.WEB

    def walk(self, case: Case) -> Outcome:
        """Rosa goes through the report's steps; the first page that stops her is the outcome."""
        start = self.start(case.service_code)
        if f"/report/{case.service_code}/location/" not in start.request["PATH_INFO"]:
            return Outcome(start.status_code, start.content.decode())
        lat, long = case.point or ("", "")
        r = self.client.post(
            self.step("location", case.service_code), {"lat": lat, "long": long}, follow=True
        )
        if "/nearby/" in r.request["PATH_INFO"]:
            return Outcome(r.status_code, r.content.decode())
        if "/questions/" not in r.request["PATH_INFO"]:
            return Outcome(r.status_code, r.content.decode())
        r = self.client.post(self.step("questions"), {"q_size": case.size}, follow=True)
        if "/description/" not in r.request["PATH_INFO"]:
            return Outcome(r.status_code, r.content.decode())
        self.describe(case.description)
        if case.photo:
            self.add_photo(photo_upload(case.photo))
        self.finish_photos()
        self.give_contact(email=case.email, phone=case.phone)
        return Outcome(200, "")

    def send_review(self, token: str) -> Outcome:
        r = self.client.post(self.step("review"), {"token": token, "website": ""})
        number = ""
        if r.status_code == 302 and "/report/done/" in r["Location"]:
            number = r["Location"].rstrip("/").split("/")[-1]
        return Outcome(r.status_code, r.content.decode(), number)

    def file(self, case: Case) -> Outcome:
        stopped = self.walk(case)
        if stopped.page:
            return stopped
        return self.send_review(self.token())

    def file_twice(self, case: Case) -> tuple[Outcome, Outcome]:
        self.walk(case)
        session = self.client.session
        draft = dict(session["portal_report"])
        token = self.token()
        first = self.send_review(token)
        # The same draft sent again from another tab that still held it.
        session = self.client.session
        session["portal_report"] = draft
        session.save()
        return first, self.send_review(token)

    def file_anyway(self, case: Case) -> Outcome:
        self.client.post(self.step("nearby"), {"action": "continue"}, follow=True)
        self.client.post(self.step("questions"), {"q_size": case.size}, follow=True)
        self.describe(case.description)
        self.finish_photos()
        self.give_contact(email=case.email, phone=case.phone)
        return self.send_review(self.token())


def test_every_channel_that_files_is_under_contract():
    """A channel added to the intake adds its driver here, or this fails."""
    covered = {c.channel for c in (Open311Contract, ConsoleContract, PortalContract)}
    filing = {Channel.OPEN311, Channel.PHONE, Channel.WEB}
    assert filing <= covered


CHANNELS = {
    Channel.WEB: "portal/report.py",
    Channel.PHONE: "console/views.py",
    Channel.OPEN311: "open311/views.py",
}
# What a channel may take from the intake: the rest (locating, reading for an emergency,
# looking for duplicates, spotting a resend) is `preview`'s, so every channel does it alike.
THE_INTAKE = {"preview", "submit_request", "Preview", "OFFERED_DUPLICATES"}
WRITTEN_ONCE = {
    "city311.servicerequests.intake": None,  # anything but THE_INTAKE
    "city311.servicerequests.duplicates": set(),
    "city311.geo.locate": {"LocationProblem", "outside_referral", "PRECISIONS"},
    "city311.triage.rules": {"Triage"},
}


def test_every_channel_files_through_preview_and_submit_request_only():
    import ast
    from pathlib import Path

    import city311

    root = Path(city311.__file__).parent
    strays = []
    for channel, module in CHANNELS.items():
        tree = ast.parse((root / module).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.module not in WRITTEN_ONCE:
                continue
            allowed = WRITTEN_ONCE[node.module]
            allowed = THE_INTAKE if allowed is None else allowed
            strays += [
                f"{channel}: {node.module}.{a.name}" for a in node.names if a.name not in allowed
            ]
    assert strays == []
