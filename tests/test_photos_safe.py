"""Photos are kept only as pixels city311 decoded and re-encoded, through every channel.

A file that claims to be an image but is not one, one that hides a script or a page behind an
image header, or one too large to decode is refused with the reason; what is kept carries no
EXIF (no GPS position, no camera). A change that rolls back leaves no photo file behind.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image

from city311.open311.models import ApiKey
from city311.servicerequests import actions
from city311.servicerequests.models import Attachment, Resolution, ServiceRequest, Status
from tests import test_open311 as reads
from tests.test_open311 import BASE, error_descriptions, read

city = reads.city
fmt = reads.fmt

WHERE_ROSA_STOOD = {1: "N", 2: (40.0, 40.0, 41.0), 3: "W", 4: (73.0, 56.0, 39.0)}


def phone_jpeg(size: tuple[int, int] = (40, 30), orientation: int | None = None) -> bytes:
    """A JPEG as a phone writes it: camera maker and model, and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    exif[0x8825] = WHERE_ROSA_STOOD
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, "red").save(out, "JPEG", exif=exif)
    return out.getvalue()


def undecodable_jpeg() -> bytes:
    """A phone's JPEG cut off after its headers: GPS and camera readable, pixels not."""
    whole = phone_jpeg()
    return whole[: whole.index(b"\xff\xda") + 20]


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 400-megapixel PNG of a few tens of kilobytes (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + width // 8)  # filter byte, then 1-bit pixels
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def upload(content: bytes, name: str = "IMG_0001.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, content, content_type=content_type)


HOSTILE = {
    "an undecodable JPEG carrying GPS": (undecodable_jpeg(), "could not be read"),
    "a GIF header and a script": (b"GIF89a<script>alert(document.domain)</script>", "could not"),
    "a JPEG header and a web page": (
        b"\xff\xd8\xff\xe0<html><body><script>alert(1)</script></body></html>",
        "could not be read",
    ),
    "a 20,000 x 20,000 pixel PNG": (huge_png(), "more than 60 megapixels"),
}


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def files_in(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def key(city):
    return ApiKey.issue("FixMyStreet")[1]


def pothole(key: str, **extra):
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "40.6782",
        "long": "-73.9442",
        "attribute[size]": "large",
        **extra,
    }


def post(client, fmt, data):
    return client.post(f"{BASE}/requests.{fmt}", data)


def served(client, attachment: Attachment) -> bytes:
    return b"".join(client.get(f"{BASE}/media/{attachment.pk}").streaming_content)


class TestOpen311:
    def test_a_cut_off_photo_is_refused_after_the_monthly_pdf_was_made(
        self, client, key, fmt, media
    ):
        # WeasyPrint (the monthly report's PDF) tells Pillow, for the whole process, to fill a
        # cut-off image with grey; a half-read photo must still be refused after it.
        import weasyprint  # noqa: F401

        r = post(client, fmt, pothole(key, media=upload(undecodable_jpeg())))
        assert "could not be read" in error_descriptions(r, fmt, 400)
        assert not ServiceRequest.objects.exists()

    @pytest.mark.parametrize("case", list(HOSTILE))
    def test_it_refuses_what_it_cannot_decode_and_keeps_nothing(
        self, client, key, fmt, media, case
    ):
        content, says = HOSTILE[case]
        r = post(client, fmt, pothole(key, media=upload(content)))
        text = error_descriptions(r, fmt, 400)
        assert "media:" in text
        assert says in text
        assert not ServiceRequest.objects.exists()
        assert files_in(media) == []

    def test_a_decodable_photo_is_served_without_its_gps_or_camera(self, client, key, fmt, media):
        r = post(client, fmt, pothole(key, media=upload(phone_jpeg())))
        assert r.status_code == 200, r.content
        sr = ServiceRequest.objects.get(tracking_number=read(r, fmt)[0]["service_request_id"])
        body = served(client, sr.attachments.get())
        assert b"PhoneMaker" not in body and b"Model X" not in body
        kept = Image.open(io.BytesIO(body))
        assert dict(kept.getexif()) == {}
        assert kept.size == (40, 30)

    def test_a_page_riding_behind_a_real_image_is_dropped(self, client, key, fmt, media):
        polyglot = phone_jpeg() + b"<html><script>alert(1)</script></html>"
        r = post(client, fmt, pothole(key, media=upload(polyglot)))
        assert r.status_code == 200, r.content
        body = served(client, Attachment.objects.get())
        assert b"<script" not in body and b"<html" not in body
        assert Image.open(io.BytesIO(body)).format == "JPEG"

    def test_it_turns_a_sideways_photo_upright(self, client, key, fmt, media):
        r = post(client, fmt, pothole(key, media=upload(phone_jpeg((60, 20), orientation=6))))
        assert r.status_code == 200, r.content
        assert Image.open(io.BytesIO(served(client, Attachment.objects.get()))).size == (20, 60)


class TestNotFixedForm:
    @pytest.fixture
    def closed(self, city):
        sr = city.report()
        return actions.close_request(
            sr, resolution=Resolution.COMPLETED, note="Filled the hole.", by=city.dana
        )

    def say_not_fixed(self, client, sr, photo):
        return client.post(
            f"/track/{sr.tracking_number}/reopen", {"comment": "Still a hole", "photo": photo}
        )

    @pytest.mark.parametrize("case", list(HOSTILE))
    def test_it_refuses_what_it_cannot_decode_and_leaves_the_request_closed(
        self, client, closed, media, case
    ):
        content, says = HOSTILE[case]
        r = self.say_not_fixed(client, closed, upload(content))
        assert r.status_code == 400
        assert says in r.content.decode()
        closed.refresh_from_db()
        assert closed.status == Status.CLOSED
        assert not Attachment.objects.exists()
        assert files_in(media) == []

    def test_it_keeps_a_photo_without_its_gps(self, client, closed, media):
        r = self.say_not_fixed(client, closed, upload(phone_jpeg()))
        assert r.status_code == 302
        body = served(client, Attachment.objects.get(request=closed))
        assert b"PhoneMaker" not in body
        assert dict(Image.open(io.BytesIO(body)).getexif()) == {}

    def test_the_page_says_why_a_photo_is_refused_in_spanish(self, client, closed, media):
        client.cookies["django_language"] = "es"
        r = self.say_not_fixed(client, closed, upload(undecodable_jpeg()))
        assert "No se pudo leer la foto" in r.content.decode()


class FullDisk(FileSystemStorage):
    """The media disk fills up after its first file."""

    def _save(self, name, content):
        if list(Path(self.location).rglob("*.*")):
            raise OSError(28, "No space left on device")
        return super()._save(name, content)


class TestRolledBack:
    def test_a_filing_that_fails_after_writing_a_photo_leaves_no_file(
        self, client, key, fmt, media
    ):
        photos = {"photo1": upload(phone_jpeg()), "photo2": upload(phone_jpeg())}
        storage = FullDisk(location=str(media))
        with mock.patch.object(Attachment._meta.get_field("file"), "storage", storage):
            r = post(client, fmt, pothole(key, **photos))
        # The city's failure, not the client's: try again later; nothing half-kept.
        assert r.status_code == 503
        assert r["Retry-After"]
        assert not ServiceRequest.objects.exists()
        assert files_in(media) == []

    def test_a_filing_with_one_bad_photo_of_two_leaves_no_file(self, client, key, fmt, media):
        photos = {"photo1": upload(phone_jpeg()), "photo2": upload(undecodable_jpeg())}
        error_descriptions(post(client, fmt, pothole(key, **photos)), fmt, 400)
        assert files_in(media) == []


class TestCleaningStoredPhotos:
    """`city311 clean_photos` mends what was stored as sent before."""

    def stored_as_sent(self, sr, content: bytes) -> Attachment:
        attachment = Attachment(request=sr, content_type="image/jpeg", size=len(content))
        attachment.file.save("old.jpg", ContentFile(content), save=True)
        return attachment

    def test_it_re_encodes_photos_with_gps_and_removes_undecodable_ones(self, city, media):
        sr = city.report()
        with_gps = self.stored_as_sent(sr, phone_jpeg())
        broken = self.stored_as_sent(sr, undecodable_jpeg())
        out = io.StringIO()
        call_command("clean_photos", stdout=out)
        assert "1 re-encoded without metadata, 1 removed (not decodable)" in out.getvalue()
        assert not Attachment.objects.filter(pk=broken.pk).exists()
        with_gps.refresh_from_db()
        kept = with_gps.file.open("rb").read()
        assert b"PhoneMaker" not in kept
        assert dict(Image.open(io.BytesIO(kept)).getexif()) == {}
        assert len(files_in(media)) == 1

    def test_running_it_again_changes_nothing(self, city, media):
        self.stored_as_sent(city.report(), phone_jpeg())
        call_command("clean_photos", stdout=io.StringIO())
        before = sorted(files_in(media))
        out = io.StringIO()
        call_command("clean_photos", stdout=out)
        assert "1 already clean, 0 re-encoded" in out.getvalue()
        assert sorted(files_in(media)) == before
