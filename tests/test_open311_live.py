"""Real clients against a live server: a PyPI Open311 library, FixMyStreet's exchange, the CLI."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from georeport import GeoReport
from PIL import Image

from city311.open311.models import ApiKey
from city311.servicerequests import actions
from city311.servicerequests.models import Channel, Resolution, ServiceRequest
from city311.test import CityMixin
from tests.helpers import city311_env, run_city311

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(out, "PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def city(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    return c


@pytest.fixture
def endpoint(live_server):
    """The endpoint as a city documents it to FixMyStreet: with its trailing slash."""
    return f"{live_server.url}/open311/v2/"


def fms_parse(response):
    """As FixMyStreet reads XML: the root's name ignored, lists by their item names."""
    root = ET.fromstring(response.content)
    return [{field.tag: field.text for field in item} for item in root]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_it_works_with_the_georeport_client_library(city, endpoint, fmt):
    sr = city.report()
    client = GeoReport(endpoint, output_format=fmt)
    services = client.get_service_list()
    assert {s["service_code"] for s in services} == {"pothole", "fallen_tree", "permit_question"}
    definition = client.get_service_definition("pothole")
    assert definition["service_code"] == "pothole"
    found = client.get_service_request(sr.tracking_number)
    assert found["service_request_id"] == sr.tracking_number
    assert found["status"] == "open"
    listed = client.get_service_requests(service_code="pothole,fallen_tree", status="open")
    listed = listed if isinstance(listed, list) else [listed]
    assert [r["service_request_id"] for r in listed] == [sr.tracking_number]


def test_it_carries_a_fixmystreet_exchange(city, endpoint):
    """FixMyStreet posts with repeated attribute keys, then reads the city's updates."""
    _, key = ApiKey.issue("FixMyStreet")
    start = timezone.now() - timedelta(minutes=1)
    form = [
        ("jurisdiction_id", ""),
        ("api_key", key),
        ("service_code", "pothole"),
        ("description", "title: Hole\n\ndetail: Deep\n\nurl: https://fms.example/r/12\n\n"),
        ("first_name", "Rosa"),
        ("last_name", "Diaz"),
        ("email", "rosa@example.org"),
        ("lat", "40.6782"),
        ("long", "-73.9442"),
        ("attribute[size]", "large"),
        ("attribute[lanes]", "left"),
        ("attribute[lanes]", "right"),
        ("attribute[fixmystreet_id]", "12"),
        ("attribute[landmark]", ""),
    ]
    posted = requests.post(endpoint + "requests.xml", data=form, timeout=30)
    assert posted.status_code == 200, posted.text
    service_request_id = fms_parse(posted)[0]["service_request_id"]
    sr = ServiceRequest.objects.get(tracking_number=service_request_id)
    assert sr.channel == Channel.OPEN311
    assert sr.answers["lanes"] == ["left", "right"]

    actions.close_request(sr, resolution=Resolution.COMPLETED, note="Filled today.", by=city.dana)
    updates = requests.get(
        endpoint + "servicerequestupdates.xml",
        params={
            "start_date": start.isoformat(),
            "end_date": (timezone.now() + timedelta(minutes=1)).isoformat(),
            "api_key": "",
            "jurisdiction_id": "",
        },
        timeout=30,
    )
    assert updates.status_code == 200
    rows = fms_parse(updates)
    closing = rows[-1]
    assert closing["update_id"]
    assert closing["service_request_id"] == service_request_id
    assert closing["status"] == "closed"
    assert closing["description"] == "Filled today."
    assert "rosa" not in updates.text.lower()


def test_it_takes_a_fixmystreet_multipart_post_with_photos(city, endpoint):
    _, key = ApiKey.issue("FixMyStreet")
    data = [
        ("api_key", key),
        ("service_code", "pothole"),
        ("lat", "40.6782"),
        ("long", "-73.9442"),
        ("attribute[size]", "small"),
        ("attribute[lanes]", "left"),
        ("attribute[lanes]", "right"),
    ]
    files = {"photo1": ("12.0.full.png", PNG, "image/png")}
    posted = requests.post(endpoint + "requests.xml", data=data, files=files, timeout=30)
    assert posted.status_code == 200, posted.text
    number = fms_parse(posted)[0]["service_request_id"]
    row = fms_parse(requests.get(endpoint + f"requests/{number}.xml", timeout=30))[0]
    # The re-encoded pixels, not the bytes sent.
    served = Image.open(io.BytesIO(requests.get(row["media_url"], timeout=30).content))
    assert (served.format, served.size) == ("PNG", (8, 6))


def test_it_gives_fixmystreet_errors_it_can_read(city, endpoint):
    refused = requests.post(endpoint + "requests.xml", data={"service_code": "pothole"}, timeout=30)
    assert refused.status_code == 403
    errors = fms_parse(refused)
    assert errors[0]["code"] == "403"
    assert "api_key" in errors[0]["description"]


def test_it_issues_a_key_from_the_command_line_that_posts(city, endpoint, tmp_path):
    done = run_city311(
        "create_api_key", "Rosa's city app", env=city311_env(CITY311_DATA_DIR=str(tmp_path))
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.splitlines()[-1]
    assert key.strip() == key and len(key) >= 40
    assert ApiKey.objects.get().application == "Rosa's city app"
    posted = requests.post(
        endpoint + "requests.json",
        data={"api_key": key, "service_code": "fallen_tree", "lat": "40.6", "long": "-73.9"},
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    sr = ServiceRequest.objects.get(tracking_number=posted.json()[0]["service_request_id"])
    assert sr.application == "Rosa's city app"


@pytest.mark.parametrize("path", ["nonsense.xml", "servicerequestupdates.xml"])
def test_it_answers_a_post_it_does_not_take_with_xml_errors_not_a_csrf_page(city, endpoint, path):
    refused = requests.post(endpoint + path, data={"update_id": "7"}, timeout=30)
    # servicerequestupdates takes a POST with a key (FixMyStreet's updates): 403 without one.
    assert refused.status_code in (400, 403, 404)
    assert refused.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert fms_parse(refused)[0]["code"] == str(refused.status_code)
