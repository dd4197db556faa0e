"""FixMyStreet in front of city311, part 2: its photo links fetched from allowed hosts and shown
to staff, long updates, and the "resident says it's fixed" prompt on the work page."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.test import override_settings
from PIL import Image

from city311.lib.outbox import OutboxStatus
from city311.open311.media import fetch_due_photos
from city311.open311.models import ApiKey, PhotoFetch
from city311.servicerequests import actions
from city311.servicerequests.models import Channel, RequestEvent, Status
from city311.servicerequests.tasks import dispatch_events
from city311.servicerequests.validation import MAX_DESCRIPTION
from city311.test import BaseTestCase


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "green")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (40.0, 40.0, 0.0), 3: "W", 4: (73.0, 56.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


PHOTO = jpeg_with_gps()


class PhotoHost:
    """FixMyStreet's photo server on loopback: /photo.jpeg, /big.jpeg, /page.html, /moved."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.hits.append(self.path)
                status, body, extra = 200, PHOTO, {}
                if self.path == "/big.jpeg":
                    body = PHOTO + b"\0" * 70_000
                elif self.path == "/page.html":
                    body = b"<html><script>alert(1)</script></html>"
                elif self.path == "/moved":
                    status, body, extra = 302, b"", {"location": "http://10.0.0.1/x.jpeg"}
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                # A server that gets its own header wrong: the length is no number.
                length = "a lot" if self.path == "/odd-length.jpeg" else str(len(body))
                self.send_header("content-length", length)
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


@override_settings(
    CITY311_MEDIA_FETCH_HOSTS=["127.0.0.1"],
    CITY311_MEDIA_MAX_BYTES=64 * 1024,
)
class PhotoTests(BaseTestCase):
    def setUp(self):
        self.host = PhotoHost()
        self.addCleanup(self.host.close)
        self.fms, self.key = ApiKey.issue("FixMyStreet")

    def update(self, sr, update_id: str, status: str = "OPEN", text: str = "See photo", **more):
        return self.client.post(
            "/open311/v2/servicerequestupdates.json",
            {
                "api_key": self.key,
                "service_request_id": sr.tracking_number,
                "update_id": update_id,
                "status": status,
                "description": text,
                "updated_datetime": "2026-12-03T10:00:00Z",
                **more,
            },
        )

    def test_a_reports_photo_link_is_fetched_without_its_exif_and_shown_to_staff(self):
        sr = self.report(channel=Channel.OPEN311, media_url=self.host.url("/photo.jpeg"))
        dispatch_events()
        fetch = PhotoFetch.objects.get(request=sr)
        assert fetch.status == OutboxStatus.SENT, fetch.error
        attachment = sr.attachments.get()
        with attachment.file.open("rb") as f, Image.open(f) as image:
            assert not image.getexif() and image.size == (40, 30)
        self.sign_in(self.dana)
        page = self.client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
        assert f"/open311/v2/media/{attachment.pk}" in page
        assert self.host.url("/photo.jpeg") in page  # the link too

    def test_an_updates_photo_link_is_fetched_too(self):
        sr = self.report()
        assert self.update(sr, "u1", media_url=self.host.url("/photo.jpeg")).status_code == 200
        dispatch_events()
        assert sr.attachments.count() == 1
        assert PhotoFetch.objects.get().event.data["media_url"] == self.host.url("/photo.jpeg")

    def test_too_large_and_not_a_photo_and_redirects_are_dead_letters_with_the_reason(self):
        sr = self.report()
        for n, path in enumerate(["/big.jpeg", "/page.html", "/moved"]):
            self.update(sr, f"u{n}", media_url=self.host.url(path))
        dispatch_events()
        errors = dict(PhotoFetch.objects.values_list("url", "error"))
        assert "larger than 65,536 bytes" in errors[self.host.url("/big.jpeg")]
        assert "not a photo" in errors[self.host.url("/page.html")]
        assert errors[self.host.url("/moved")] == "the link redirects elsewhere"
        assert set(PhotoFetch.objects.values_list("status", flat=True)) == {OutboxStatus.FAILED}
        assert not sr.attachments.exists()

    def test_a_host_the_city_did_not_allow_is_never_asked(self):
        sr = self.report()
        self.update(
            sr, "u1", media_url=f"http://localhost:{self.host.server.server_address[1]}/photo.jpeg"
        )
        dispatch_events()
        assert not PhotoFetch.objects.exists() and not self.host.hits

    def test_an_allowed_host_on_a_private_address_is_refused(self):
        sr = self.report()
        self.update(sr, "u1", media_url=self.host.url("/photo.jpeg"))
        with override_settings(CITY311_OUTBOUND_TRUSTED_NETWORKS=[]):
            dispatch_events()
        fetch = PhotoFetch.objects.get()
        assert fetch.status == OutboxStatus.FAILED
        assert fetch.error.startswith("127.0.0.1 is a loopback address (this server itself)")
        assert not self.host.hits

    def test_a_host_that_does_not_answer_is_tried_again(self):
        sr = self.report()
        self.update(sr, "u1", media_url=self.host.url("/photo.jpeg"))
        self.host.close()
        dispatch_events()
        fetch = PhotoFetch.objects.get()
        assert fetch.status == OutboxStatus.PENDING and fetch.error.startswith("no answer")
        assert fetch_due_photos() == 0  # not yet due

    def test_a_fetch_that_breaks_unforeseen_is_tried_again_and_holds_up_no_other(self):
        sr = self.report()
        self.update(sr, "u1", media_url=self.host.url("/odd-length.jpeg"))
        self.update(sr, "u2", media_url=self.host.url("/photo.jpeg"))
        dispatch_events()
        odd = PhotoFetch.objects.get(url=self.host.url("/odd-length.jpeg"))
        assert (odd.status, odd.attempts, odd.error) == (
            OutboxStatus.PENDING,
            1,
            "internal error: ValueError",
        )
        good = PhotoFetch.objects.get(url=self.host.url("/photo.jpeg"))
        assert good.status == OutboxStatus.SENT and sr.attachments.count() == 1


class LongUpdateTests(BaseTestCase):
    def setUp(self):
        _, self.key = ApiKey.issue("FixMyStreet")

    def post(self, sr, text: str, update_id: str = "1", status: str = "OPEN"):
        return self.client.post(
            "/open311/v2/servicerequestupdates.json",
            {
                "api_key": self.key,
                "service_request_id": sr.tracking_number,
                "update_id": update_id,
                "status": status,
                "description": text,
            },
        )

    def test_an_update_as_long_as_a_description_is_kept_whole(self):
        sr = self.report()
        text = "Still there. " * 1000  # 13,000 characters
        assert self.post(sr, text).status_code == 200
        event = sr.events.get(data__has_key="resident_says")
        assert event.note == text.strip()

    def test_a_longer_one_is_refused_with_the_limit(self):
        sr = self.report()
        response = self.post(sr, "x" * (MAX_DESCRIPTION + 1))
        assert response.status_code == 400
        assert f"at most {MAX_DESCRIPTION:,} characters" in response.content.decode()

    def test_a_long_not_fixed_reopens_with_its_words_cut_to_a_notes_length(self):
        sr = self.report()
        actions.close_request(sr, resolution="completed", note="Filled", by=self.dana)
        assert self.post(sr, "Not fixed. " * 600, status="OPEN").status_code == 200
        sr.refresh_from_db()
        assert sr.status != Status.CLOSED


class SaysFixedTests(BaseTestCase):
    def setUp(self):
        _, self.key = ApiKey.issue("FixMyStreet")
        self.sr = self.report()

    def says(self, status: str, update_id: str):
        return self.client.post(
            "/open311/v2/servicerequestupdates.json",
            {
                "api_key": self.key,
                "service_request_id": self.sr.tracking_number,
                "update_id": update_id,
                "status": status,
                "description": "Looks fixed now, thanks",
            },
        )

    def page(self) -> str:
        return self.client.get(f"/work/requests/{self.sr.tracking_number}/").content.decode()

    def test_staff_are_offered_to_close_when_the_resident_says_it_is_fixed(self):
        self.says("FIXED", "1")
        self.sign_in(self.dana)
        page = self.page()
        assert 'data-testid="says-fixed"' in page and "Looks fixed now, thanks" in page
        response = self.client.post(
            f"/work/requests/{self.sr.tracking_number}/close",
            {"resolution": "completed", "note": "Fixed, as the resident reported."},
        )
        assert response.status_code == 302
        self.sr.refresh_from_db()
        assert self.sr.status == Status.CLOSED
        assert 'data-testid="says-fixed"' not in self.page()

    def test_no_prompt_without_a_fixed_or_after_a_later_reopen_or_for_viewers(self):
        self.sign_in(self.dana)
        assert 'data-testid="says-fixed"' not in self.page()
        self.says("OPEN", "1")
        assert 'data-testid="says-fixed"' not in self.page()
        self.says("FIXED", "2")
        self.sign_in(self.pat)  # Parks: may not see Streets' request at all
        assert 'data-testid="says-fixed"' not in self.page()
        self.sign_in(self.omar)  # a call taker sees it but does not work it
        assert 'data-testid="says-fixed"' not in self.page()
        assert RequestEvent.objects.filter(data__resident_says="fixed").count() == 1
