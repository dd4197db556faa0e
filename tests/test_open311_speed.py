"""Open311 reads stay cheap: one query for a request by id, the photos' only when it has some."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from city311.open311.queries import CompiledLookup
from city311.servicerequests import attachments
from city311.servicerequests.models import ServiceRequest
from city311.test import CityMixin

BASE = "/open311/v2"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def city(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    return c


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_by_id_is_one_query(client, city, fmt, django_assert_num_queries):
    sr = city.report()
    with django_assert_num_queries(1):
        r = client.get(f"{BASE}/requests/{sr.tracking_number}.{fmt}")
    assert r.status_code == 200
    assert sr.tracking_number in r.content.decode()


def test_a_request_with_a_photo_adds_the_photos_query(client, city, django_assert_num_queries):
    sr = city.report()
    photo = attachments.attach(sr, SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    with django_assert_num_queries(2):
        row = client.get(f"{BASE}/requests/{sr.tracking_number}.json").json()[0]
    assert row["media_url"] == f"http://testserver{BASE}/media/{photo.pk}"


def test_the_plain_answer_is_the_extended_answer_without_its_extensions(client, city):
    sr = city.report()
    plain = client.get(f"{BASE}/requests/{sr.tracking_number}.json").json()
    extended = client.get(f"{BASE}/requests/{sr.tracking_number}.json?extensions=true").json()
    extended[0].pop("extended_attributes")
    assert plain == extended
    # And the same as the list's row for it.
    listed = client.get(f"{BASE}/requests.json?service_request_id={sr.tracking_number}").json()
    assert plain == listed


def test_a_number_that_is_not_there_gets_the_domains_words(client, city):
    sr = city.report()
    number = sr.tracking_number
    ServiceRequest.objects.filter(pk=sr.pk).update(tracking_number="000-0000-000")
    r = client.get(f"{BASE}/requests/{number}.json")
    assert r.status_code == 404
    assert f"There is no request {number}" in json.loads(r.content)[0]["description"]


def test_a_compiled_lookup_refuses_a_query_that_does_not_take_the_value_once(city):
    both = CompiledLookup(
        lambda v: ServiceRequest.objects.filter(tracking_number=v, description=v).values("pk")
    )
    with pytest.raises(ValueError, match="2 parameters"):
        both.rows("123-4567-890")
    one = CompiledLookup(lambda v: ServiceRequest.objects.filter(tracking_number=v).values("pk"))
    sr = city.report()
    assert one.rows(sr.tracking_number) == [{"pk": sr.pk}]
    assert one.rows("123-4567-890") == []
