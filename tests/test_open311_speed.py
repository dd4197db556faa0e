"""Open311 reads stay cheap: one query for a request by id, the photos' only when it has some."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from city311.open311.queries import CompiledLookup
from city311.servicerequests import attachments
from city311.servicerequests.models import ServiceRequest
from city311.test import CityMixin

BASE = "/open311/v2"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def city(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    return c


@pytest.fixture(params=["json", "xml"])
def fmt(request):
    return request.param


def as_in_production(settings):
    """Each process checks the catalog's (and the city's) token once in a while, not on every
    request as the tests do: the reads measured here are the request's own."""
    settings.CITY311_CATALOG_RECHECK_SECONDS = 60


def test_it_reads_a_request_by_id_in_one_query(
    client, city, fmt, django_assert_num_queries, settings
):
    sr = city.report()
    as_in_production(settings)
    with django_assert_num_queries(1):
        r = client.get(f"{BASE}/requests/{sr.tracking_number}.{fmt}")
    assert r.status_code == 200
    assert sr.tracking_number in r.content.decode()


def test_it_asks_for_photos_only_when_the_request_has_some(
    client, city, fmt, django_assert_num_queries, settings
):
    sr = city.report()
    clean = attachments.clean_photo(SimpleUploadedFile("p.png", PNG, content_type="image/png"))
    photo = attachments.attach(sr, clean, written=[])
    as_in_production(settings)
    with django_assert_num_queries(2):
        r = client.get(f"{BASE}/requests/{sr.tracking_number}.{fmt}")
    assert f"http://testserver{BASE}/media/{photo.pk}" in r.content.decode()


def test_it_gives_the_extended_answer_less_its_extensions_as_the_plain_one(client, city):
    sr = city.report()
    plain = client.get(f"{BASE}/requests/{sr.tracking_number}.json").json()
    extended = client.get(f"{BASE}/requests/{sr.tracking_number}.json?extensions=true").json()
    extended[0].pop("extended_attributes")
    assert plain == extended
    # And the same as the list's row for it.
    listed = client.get(f"{BASE}/requests.json?service_request_id={sr.tracking_number}").json()
    assert plain == listed


def test_it_words_a_missing_number_as_the_domain_does(client, city, fmt):
    sr = city.report()
    number = sr.tracking_number
    ServiceRequest.objects.filter(pk=sr.pk).update(tracking_number="000-0000-000")
    r = client.get(f"{BASE}/requests/{number}.{fmt}")
    assert r.status_code == 404
    assert f"There is no request {number}" in r.content.decode()


def test_it_refuses_to_compile_a_lookup_that_does_not_take_the_value_once(city):
    both = CompiledLookup(
        lambda v: ServiceRequest.objects.filter(tracking_number=v, description=v).values("pk")
    )
    with pytest.raises(ValueError, match="2 parameters"):
        both.rows("123-4567-890")
    one = CompiledLookup(lambda v: ServiceRequest.objects.filter(tracking_number=v).values("pk"))
    sr = city.report()
    assert one.rows(sr.tracking_number) == [{"pk": sr.pk}]
    assert one.rows("123-4567-890") == []
