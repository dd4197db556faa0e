"""Texted reports on their own channel, and their MMS photos kept like any other photo.

Rosa texts the city with a photo; Twilio's media link (which asks for the account's
credentials and redirects to its CDN) is played by a loopback server. Max reads the reports,
Dana the request's page.
"""

from __future__ import annotations

import base64
import io
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from PIL import Image

from city311.accounts import roles
from city311.contacts.models import Interaction, Kind
from city311.lib.outbox import OutboxStatus
from city311.open311.media import POLICY, fetch_due_photos
from city311.open311.models import PhotoFetch, PhotoSource
from city311.servicerequests.models import Channel, RequestEvent, ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import TWILIO_TOKEN, make_user
from tests import small_city
from tests.test_fixmystreet_photos import jpeg_with_gps
from tests.test_intake_phone import text

SID = "AC" + "0" * 32
MEDIA = f"/2010-04-01/Accounts/{SID}/Messages/MM1/Media/ME1"
GONE = f"/2010-04-01/Accounts/{SID}/Messages/MM2/Media/ME2"
PHOTO = jpeg_with_gps()


class TwilioMedia:
    """Twilio's media host on loopback: the media link asks for Basic credentials and
    redirects (307) to /cdn/ME1, the photo; GONE is a 404. Each hit keeps its Authorization."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                host.hits.append((self.path, auth))
                expected = "Basic " + base64.b64encode(f"{SID}:{TWILIO_TOKEN}".encode()).decode()
                if self.path == MEDIA and auth == expected:
                    self._answer(307, b"", location="/cdn/ME1")
                elif self.path == "/cdn/ME1":
                    self._answer(200, PHOTO, content_type="image/jpeg")
                elif self.path == MEDIA:
                    self._answer(401, b"")
                else:
                    self._answer(404, b"")

            def _answer(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def city(db, tmp_path: Path) -> Path:
    pack = small_city.write_pack(tmp_path / "small")
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())
    roles.ensure_roles()
    return pack


@pytest.fixture
def twilio():
    host = TwilioMedia()
    with override_settings(
        CITY311_MMS_MEDIA_HOSTS=["127.0.0.1"],
        TWILIO_ACCOUNT_SID=SID,
        TWILIO_AUTH_TOKEN=TWILIO_TOKEN,
    ):
        yield host
    host.close()


def report_by_text(client: Client, photo: str = "") -> ServiceRequest:
    text(client, "There is a pothole on my street")
    text(client, "1382 Dumont Ave", **({"MediaUrl0": photo, "NumMedia": "1"} if photo else {}))
    reply = text(client, "2")
    sr = ServiceRequest.objects.get()
    assert sr.tracking_number in reply
    return sr


# The SMS channel


def test_a_texted_report_is_a_request_on_the_sms_channel_with_its_contact(city, client):
    sr = report_by_text(client)
    assert sr.channel == Channel.SMS
    assert sr.events.get(kind="request.submitted").actor_label == "Resident via text message"
    logged = Interaction.objects.get(request=sr)
    assert (logged.channel, logged.kind) == (Channel.SMS, Kind.NEW_REQUEST)


def test_the_reports_count_texted_requests_apart_in_the_share_by_channel(city, client):
    sr = report_by_text(client)
    dispatch_events()  # the reports' rollup reads the stream
    client.force_login(make_user("max", roles.MANAGER))
    page = client.get("/reports/")
    rows = [(c["channel"], c["label"], c["n"]) for c in page.context["channels"]]
    assert rows == [("sms", "Text message", 1)]
    assert "Text message" in page.content.decode()
    # Open311's extended attributes name it too.
    answer = client.get(f"/open311/v2/requests/{sr.tracking_number}.json?extensions=true")
    assert answer.json()[0]["extended_attributes"]["channel"] == "sms"
    # Its link opens the work queue filtered on the channel, which the filter offers.
    queue = client.get(page.context["channels"][0]["link"])
    assert queue.status_code == 200 and '<option value="sms"' in queue.content.decode()


def test_every_list_of_channels_offers_sms(city, client):
    client.force_login(make_user("max", roles.MANAGER))
    for path in ("/reports/", "/work/"):
        page = client.get(path).content.decode()
        assert re.search(r'<option value="sms"[^>]*>Text message</option>', page), path
    ada = make_user("ada", roles.ADMINISTRATOR)
    client.force_login(ada)
    admin = client.get("/admin/servicerequests/servicerequest/").content.decode()
    assert "?channel__exact=sms" in admin


# MMS photos


def test_an_mms_photo_becomes_the_requests_photo_without_its_exif(city, client, twilio):
    sr = report_by_text(client, photo=twilio.url(MEDIA))
    # Twilio's link needs the city's credentials: it is never the request's public link.
    assert sr.media_url == ""
    dispatch_events()
    fetch = PhotoFetch.objects.get(request=sr)
    assert (fetch.source, fetch.status) == (PhotoSource.MMS, OutboxStatus.SENT), fetch.error
    attachment = sr.attachments.get()
    with attachment.file.open("rb") as f, Image.open(f) as image:
        assert not image.getexif() and image.size == (40, 30)
    # The credentials went to Twilio's media link only, never on to where it redirected.
    (first, first_auth), (second, second_auth) = twilio.hits
    assert (first, second) == (MEDIA, "/cdn/ME1")
    assert first_auth.startswith("Basic ") and second_auth == ""
    answer = client.get(f"/open311/v2/requests/{sr.tracking_number}.json").json()[0]
    assert answer["media_url"].endswith(f"/open311/v2/media/{attachment.pk}")
    assert "twilio" not in str(answer).lower() and SID not in str(answer)


def test_a_photo_that_cannot_be_fetched_keeps_the_report_and_tells_staff(city, client, twilio):
    sr = report_by_text(client, photo=twilio.url(GONE))
    dispatch_events()
    fetch = PhotoFetch.objects.get(request=sr)
    assert fetch.status == OutboxStatus.FAILED and fetch.error == "HTTP 404"
    assert not sr.attachments.exists()
    note = RequestEvent.objects.get(request=sr, kind="request.note")
    assert not note.public and twilio.url(GONE) in note.note and "HTTP 404" in note.note
    dana = make_user("dana", roles.DEPARTMENT_STAFF, sr.department)
    client.force_login(dana)
    page = client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    assert "could not be fetched" in page and twilio.url(GONE) in page
    client.logout()
    public = client.get(f"/track/{sr.tracking_number}").content.decode()
    assert twilio.url(GONE) not in public and "could not be fetched" not in public


def test_without_the_accounts_credentials_twilio_refuses_and_staff_are_told(city, client, twilio):
    with override_settings(TWILIO_ACCOUNT_SID=""):
        sr = report_by_text(client, photo=twilio.url(MEDIA))
        dispatch_events()
    assert PhotoFetch.objects.get(request=sr).error == "HTTP 401"
    assert twilio.hits == [(MEDIA, "")]
    assert "could not be fetched (HTTP 401)" in sr.events.get(kind="request.note").note


def test_a_photo_sent_before_the_words_is_kept_for_the_report(city, client, twilio):
    text(client, "", MediaUrl0=twilio.url(MEDIA), NumMedia="1")
    text(client, "There is a pothole on my street")
    text(client, "1382 Dumont Ave")
    text(client, "2")
    sr = ServiceRequest.objects.get()
    dispatch_events()
    assert sr.attachments.count() == 1


def test_a_photo_whose_host_never_answers_is_told_to_staff_once_after_the_last_try(
    city, client, twilio
):
    twilio.close()
    sr = report_by_text(client, photo=twilio.url(MEDIA))
    dispatch_events()
    for _ in range(POLICY.max_attempts):
        PhotoFetch.objects.update(due_at=timezone.now())
        fetch_due_photos()
    fetch = PhotoFetch.objects.get(request=sr)
    assert (fetch.status, fetch.attempts) == (OutboxStatus.FAILED, POLICY.max_attempts)
    (note,) = RequestEvent.objects.filter(request=sr, kind="request.note")
    assert f"could not be fetched (no answer after {POLICY.max_attempts} tries)" in note.note
