"""Open311 POST requests: keys, parameters as real clients send them, answers, media, limits."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from city311.catalog.models import AttributeValue, Datatype, ServiceAttribute, ServiceType
from city311.open311.models import ApiKey
from city311.servicerequests.models import Attachment, Channel, Contact, ServiceRequest
from city311.servicerequests.validation import MAX_DESCRIPTION
from tests import test_open311 as reads
from tests.test_open311 import BASE, error_descriptions, read

# The city and the format, as the read tests set them up.
city = reads.city
fmt = reads.fmt


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(out, fmt)
    return out.getvalue()


# Real images: only what Pillow decodes is kept, re-encoded.
PNG = _image("PNG")
JPEG = _image("JPEG")


@pytest.fixture
def key(city):
    """FixMyStreet's key, issued to it by the city."""
    return ApiKey.issue("FixMyStreet")[1]


def pothole(key, **extra):
    """What an app sends for a pothole at Rosa's corner."""
    return {
        "api_key": key,
        "service_code": "pothole",
        "lat": "40.6782",
        "long": "-73.9442",
        "description": "Deep hole by the curb",
        "attribute[size]": "large",
        **extra,
    }


def post(client, fmt, data, query=""):
    return client.post(f"{BASE}/requests.{fmt}{query}", data)


def created(response, fmt) -> ServiceRequest:
    assert response.status_code == 200, response.content
    rows = read(response, fmt)
    assert len(rows) == 1
    assert "token" not in rows[0]
    return ServiceRequest.objects.get(tracking_number=rows[0]["service_request_id"])


class TestCreating:
    def test_it_creates_a_request_through_the_one_domain_function(self, client, key, fmt):
        sr = created(post(client, fmt, pothole(key, email="rosa@example.org")), fmt)
        assert sr.channel == Channel.OPEN311
        assert sr.application == "FixMyStreet"
        assert sr.answers == {"size": "large"}
        assert sr.events.filter(kind="request.submitted").exists()
        assert Contact.objects.get(request=sr).email == "rosa@example.org"

    def test_it_returns_the_tracking_number_as_a_json_string_in_a_list(self, client, key):
        rows = json.loads(post(client, "json", pothole(key)).content)
        assert isinstance(rows, list)
        assert isinstance(rows[0]["service_request_id"], str)
        assert set(rows[0]) == {"service_request_id", "service_notice", "account_id"}

    def test_it_takes_the_key_and_jurisdiction_from_the_query_string(self, client, key, fmt):
        data = pothole("")
        created(post(client, fmt, data, query=f"?api_key={key}&jurisdiction_id="), fmt)

    def test_it_treats_empty_parameters_as_absent(self, client, key, fmt):
        data = pothole(key, jurisdiction_id="", email="", address_id="", **{"attribute[lanes]": ""})
        sr = created(post(client, fmt, data), fmt)
        assert "lanes" not in sr.answers

    @pytest.mark.parametrize(
        "form",
        [
            "attribute[lanes][]=left&attribute[lanes][]=right",
            "attribute[lanes]=left&attribute[lanes]=right",
        ],
    )
    def test_it_takes_several_answers_in_either_form(self, client, key, fmt, form):
        body = "&".join(f"{k}={v}" for k, v in pothole(key).items()) + "&" + form
        r = client.post(
            f"{BASE}/requests.{fmt}", body, content_type="application/x-www-form-urlencoded"
        )
        assert created(r, fmt).answers["lanes"] == ["left", "right"]

    def test_it_geocodes_an_address_string(self, client, key, fmt, tmp_path):
        from tests import small_city

        small_city.load(tmp_path)
        data = pothole(key, lat="", long="", address_string="1382 Dumont Ave")
        sr = created(post(client, fmt, data), fmt)
        assert sr.address_id == "dumont-1382"
        assert sr.lat == pytest.approx(40.67)

    def test_it_takes_an_address_id(self, client, key, fmt, tmp_path):
        from tests import small_city

        small_city.load(tmp_path)
        sr = created(
            post(client, fmt, pothole(key, lat="", long="", address_id="vansiclen-520")), fmt
        )
        assert sr.long == pytest.approx(-73.925)

    def test_it_keeps_a_media_url(self, client, key, fmt):
        sr = created(post(client, fmt, pothole(key, media_url="https://example.org/p.jpg")), fmt)
        row = read(client.get(f"{BASE}/requests/{sr.tracking_number}.{fmt}"), fmt)[0]
        assert row["media_url"] == "https://example.org/p.jpg"

    def test_it_gives_the_service_notice_of_a_referred_type(self, client, key, city, fmt):
        ServiceType.objects.filter(pk=city.tree.pk).update(referral="Parks will call you back.")
        data = pothole(key, service_code="fallen_tree")
        rows = read(post(client, fmt, data), fmt)
        assert rows[0]["service_notice"] == "Parks will call you back."


class TestRefusing:
    def test_it_refuses_a_post_without_a_key(self, client, city, fmt):
        assert "api_key" in error_descriptions(post(client, fmt, pothole("")), fmt, 403)

    def test_it_refuses_an_unknown_key(self, client, city, fmt):
        assert "not valid" in error_descriptions(post(client, fmt, pothole("guess")), fmt, 403)

    def test_it_refuses_a_revoked_key(self, client, city, fmt):
        issued, raw = ApiKey.issue("Old app")
        ApiKey.objects.filter(pk=issued.pk).update(active=False)
        error_descriptions(post(client, fmt, pothole(raw)), fmt, 403)

    def test_it_needs_no_key_to_read(self, client, city, fmt):
        assert client.get(f"{BASE}/requests.{fmt}").status_code == 200

    def test_it_answers_400_when_service_code_is_missing(self, client, key, fmt):
        text = error_descriptions(post(client, fmt, pothole(key, service_code="")), fmt, 400)
        assert text.startswith("service_code:")

    def test_it_answers_404_for_an_unknown_service_code(self, client, key, fmt):
        error_descriptions(post(client, fmt, pothole(key, service_code="unicorn")), fmt, 404)

    def test_it_tells_an_emergency_to_call_911(self, client, key, fmt):
        text = error_descriptions(post(client, fmt, pothole(key, service_code="fire")), fmt, 400)
        assert "call 911" in text

    def test_it_answers_404_for_another_jurisdiction(self, client, key, fmt):
        data = pothole(key, jurisdiction_id="sfgov.org")
        error_descriptions(post(client, fmt, data), fmt, 404)
        assert not ServiceRequest.objects.exists()

    def test_it_names_every_problem_at_once(self, client, key, fmt):
        data = pothole(
            key, lat="north", email="not-an-address", description="x" * (MAX_DESCRIPTION + 1)
        )
        data.pop("attribute[size]")
        r = post(client, fmt, data)
        text = error_descriptions(r, fmt, 400)
        for field in ("lat:", "email:", "description:", "attribute[size]:"):
            assert field in text
        assert len(read(r, fmt)) >= 4

    def test_it_asks_for_both_coordinates(self, client, key, fmt):
        text = error_descriptions(post(client, fmt, pothole(key, long="")), fmt, 400)
        assert "long:" in text

    def test_it_asks_for_a_location(self, client, key, fmt):
        text = error_descriptions(post(client, fmt, pothole(key, lat="", long="")), fmt, 400)
        assert text.startswith("location (lat and long, address_string or address_id):")

    def test_it_refuses_a_media_url_that_is_not_a_web_address(self, client, key, fmt):
        text = error_descriptions(
            post(client, fmt, pothole(key, media_url="file:///etc")), fmt, 400
        )
        assert "media_url:" in text


# (attribute, a good answer, the stored answer, a bad answer, what the error says)
DATATYPES = [
    ("size", "small", "small", "huge", "not one of the choices"),
    ("lanes", ["left", "right"], ["left", "right"], ["left", "middle"], "not one of the choices"),
    ("depth_cm", "12.5", "12.5", "deep", "not a number"),
    ("seen_at", "2026-11-20T10:00:00-05:00", "2026-11-20T10:00:00-05:00", "yesterday", "date"),
    ("landmark", "by the bakery", "by the bakery", "x" * 301, "too long"),
    (
        "details",
        "first line\nsecond line",
        "first line\nsecond line",
        "x" * (MAX_DESCRIPTION + 1),
        "too long",
    ),
]


@pytest.mark.parametrize("code, good, stored, bad, says", DATATYPES, ids=[d[0] for d in DATATYPES])
class TestAttributeDatatypes:
    def test_it_keeps_a_good_answer(self, client, key, fmt, code, good, stored, bad, says):
        sr = created(post(client, fmt, pothole(key, **{f"attribute[{code}]": good})), fmt)
        assert sr.answers[code] == stored

    def test_it_refuses_a_bad_answer_naming_the_attribute(
        self, client, key, fmt, code, good, stored, bad, says
    ):
        text = error_descriptions(
            post(client, fmt, pothole(key, **{f"attribute[{code}]": bad})), fmt, 400
        )
        assert f"attribute[{code}]:" in text
        assert says in text


class TestMedia:
    def test_it_keeps_an_uploaded_photo_and_links_it(self, client, key, fmt):
        photo = SimpleUploadedFile("rosa-diaz.png", PNG, content_type="image/png")
        sr = created(post(client, fmt, pothole(key, media=photo)), fmt)
        attachment = Attachment.objects.get(request=sr)
        assert attachment.content_type == "image/png"
        assert "rosa" not in attachment.file.name
        row = read(client.get(f"{BASE}/requests/{sr.tracking_number}.{fmt}"), fmt)[0]
        assert row["media_url"] == f"http://testserver/open311/v2/media/{attachment.pk}"
        served = client.get(row["media_url"].removeprefix("http://testserver"))
        assert served["Content-Type"] == "image/png"
        # The re-encoded pixels, not the bytes sent.
        kept = Image.open(io.BytesIO(b"".join(served.streaming_content)))
        assert (kept.format, kept.size) == ("PNG", (8, 6))

    def test_it_takes_fixmystreet_photo_parts(self, client, key, fmt):
        photos = {
            "photo1": SimpleUploadedFile("12.1.full.jpeg", JPEG, content_type="image/jpeg"),
            "photo2": SimpleUploadedFile("12.2.full.png", PNG, content_type="image/png"),
        }
        sr = created(post(client, fmt, pothole(key, **photos)), fmt)
        assert sorted(sr.attachments.values_list("content_type", flat=True)) == [
            "image/jpeg",
            "image/png",
        ]

    def test_it_refuses_a_file_that_is_not_a_photo_whatever_it_claims(self, client, key, fmt):
        fake = SimpleUploadedFile("x.jpg", b"#!/bin/sh\necho hi\n", content_type="image/jpeg")
        text = error_descriptions(post(client, fmt, pothole(key, media=fake)), fmt, 400)
        assert "media:" in text
        assert not ServiceRequest.objects.exists()

    def test_it_refuses_a_photo_over_the_size_limit(self, client, key, fmt, settings):
        settings.CITY311_MEDIA_MAX_BYTES = 50
        photo = SimpleUploadedFile("big.png", PNG, content_type="image/png")
        text = error_descriptions(post(client, fmt, pothole(key, media=photo)), fmt, 400)
        assert "at most 50 bytes" in text
        assert not ServiceRequest.objects.exists()

    def test_it_refuses_more_than_five_photos(self, client, key, fmt):
        photos = {f"photo{i}": io.BytesIO(PNG) for i in range(1, 7)}
        for i, f in enumerate(photos.values()):
            f.name = f"{i}.png"
        error_descriptions(post(client, fmt, pothole(key, **photos)), fmt, 400)


class TestRateLimit:
    def test_it_answers_429_past_the_keys_limit(self, client, city, fmt):
        _, raw = ApiKey.issue("Chatty app", rate_limit_per_minute=2)
        for _ in range(2):
            created(post(client, fmt, pothole(raw)), fmt)
        r = post(client, fmt, pothole(raw))
        assert "Too many requests" in error_descriptions(r, fmt, 429)
        assert int(r["Retry-After"]) >= 1

    def test_it_counts_each_key_on_its_own(self, client, city, fmt):
        _, chatty = ApiKey.issue("Chatty app", rate_limit_per_minute=1)
        _, quiet = ApiKey.issue("Quiet app", rate_limit_per_minute=1)
        created(post(client, fmt, pothole(chatty)), fmt)
        created(post(client, fmt, pothole(quiet)), fmt)


class TestSpecExample:
    """The spec's example POST, as written, against a city that serves service 001."""

    @pytest.fixture
    def service_001(self, city, settings):
        settings.CITY311_JURISDICTION_ID = "city.gov"
        st = ServiceType.objects.create(
            service_code="001", service_name="Cans left out 24x7", department=city.streets
        )
        ServiceAttribute.objects.create(
            service_type=st, code="WHISPAWN", description="Whisper spawn", order=1
        )
        dorn = ServiceAttribute.objects.create(
            service_type=st,
            code="WHISDORN",
            description="Whisper dorn",
            datatype=Datatype.SINGLEVALUELIST,
            order=2,
        )
        AttributeValue.objects.create(attribute=dorn, key="COISL001", name="Coisl")
        return st

    def spec_example(self, client, fmt, phone):
        _, raw = ApiKey.issue("xyz app")
        body = (
            f"api_key={raw}&jurisdiction_id=city.gov&service_code=001&lat=37.76524078"
            "&long=-122.4212043&address_string=1234+5th+street&email=smit333%40sfgov.edu"
            "&device_id=tt222111&account_id=123456&first_name=john&last_name=smith"
            f"&phone={phone}&description=A+large+sinkhole+is+destroying+the+street"
            "&media_url=http%3A%2F%2Fcity.gov%2Fimages%2F1234.jpg"
            "&attribute[WHISPAWN]=123456&attribute[WHISDORN]=COISL001"
        )
        return client.post(
            f"{BASE}/requests.{fmt}",
            body,
            content_type="application/x-www-form-urlencoded; charset=utf-8",
        )

    def test_it_accepts_the_spec_example_body(self, client, service_001, fmt):
        # The spec's own phone, 111111111, is no whole number; its reporter gave an e-mail and
        # hears by e-mail, so the number is kept as sent for staff, not the report refused.
        sr = created(self.spec_example(client, fmt, "111111111"), fmt)
        assert sr.answers == {"WHISPAWN": "123456", "WHISDORN": "COISL001"}
        assert sr.media_url == "http://city.gov/images/1234.jpg"
        assert sr.address_string == "1234 5th street"
        assert sr.contact.phone == "111111111"

    def test_a_whole_number_in_the_spec_example_is_stored_in_one_form(
        self, client, service_001, fmt
    ):
        sr = created(self.spec_example(client, fmt, "415-555-0134"), fmt)
        assert sr.contact.phone == "+14155550134"

    def test_it_says_what_is_wrong_with_a_phone_only_reporters_number(self, client, key, fmt):
        r = post(client, fmt, pothole(key, phone="111111111"))
        assert "phone: The phone number is missing digits" in error_descriptions(r, fmt, 400)

    def test_it_serves_the_spec_example_service_code_as_a_string(self, client, service_001):
        services = json.loads(client.get(f"{BASE}/services.json").content)
        assert "001" in [s["service_code"] for s in services]
