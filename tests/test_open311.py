"""Open311 GeoReport v2 reads: every resource in JSON and XML, in the spec's shapes."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.utils import timezone

from city311.catalog.models import ServiceType
from city311.open311.models import ApiKey
from city311.servicerequests import actions
from city311.servicerequests.models import Channel, Resolution
from city311.test import CityMixin

FORMATS = ["json", "xml"]
# Real answers of Bloomington IN's Open311 server (recorded by the civicbot package, MIT).
SAMPLES = Path(__file__).resolve().parent / "data" / "open311"
BASE = "/open311/v2"
# XML list wrappers and their items, as the spec names them.
ITEMS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
    "notes": "note",
    "areas": "area",
    "media": "media_url",
}
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


def _from_xml(element: ET.Element):
    if element.tag in ITEMS:
        return [_from_xml(child) for child in element if child.tag == ITEMS[element.tag]]
    if len(element):
        return {child.tag: _from_xml(child) for child in element}
    return element.text


def _plain(value):
    """JSON values as XML carries them: text, so one assertion fits both formats."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def read(response, fmt):
    """The body as plain data, the same for either format."""
    if fmt == "xml":
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        return _from_xml(ET.fromstring(response.content))
    assert response["Content-Type"] == "application/json; charset=utf-8"
    return _plain(json.loads(response.content))


def error_descriptions(response, fmt, status):
    assert response.status_code == status, response.content
    errors = read(response, fmt)
    assert all(e["code"] == str(status) for e in errors)
    return " ".join(e["description"] for e in errors)


@pytest.fixture
def city(db, settings):
    # Fast password hashing: the personas are built for every test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    return c


@pytest.fixture(params=FORMATS)
def fmt(request):
    return request.param


@pytest.fixture
def rosas(city):
    """Rosa's pothole, reported through the portal with her contact details."""
    return city.report()


def get(client, path, fmt, **params):
    return client.get(f"{BASE}/{path}.{fmt}", params)


class TestDiscovery:
    @pytest.mark.parametrize("where", ["/open311", "/open311/v2"])
    def test_it_serves_discovery_at_the_parent_and_under_the_endpoint(
        self, client, city, fmt, where
    ):
        r = client.get(f"{where}/discovery.{fmt}")
        assert r.status_code == 200
        found = read(r, fmt)
        assert {"changeset", "contact", "key_service", "endpoints"} <= set(found)
        endpoint = found["endpoints"][0]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"] == "http://testserver/open311/v2/"
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert endpoint["type"] == "production"
        assert "create_api_key" in found["key_service"]


class TestServices:
    def test_it_lists_services_but_not_emergencies(self, client, city, fmt):
        services = read(get(client, "services", fmt), fmt)
        codes = [s["service_code"] for s in services]
        assert set(codes) == {"pothole", "fallen_tree", "permit_question"}
        assert "fire" not in codes

    def test_it_gives_every_field_with_metadata_true_only_for_types_with_questions(
        self, client, city, fmt
    ):
        services = {s["service_code"]: s for s in read(get(client, "services", fmt), fmt)}
        pothole = services["pothole"]
        assert pothole == {
            "service_code": "pothole",
            "service_name": "Pothole",
            "description": None,
            "metadata": "true",
            "type": "realtime",
            "keywords": None,
            "group": "Streets",
        }
        assert services["fallen_tree"]["metadata"] == "false"

    def test_it_sends_keywords_comma_separated_without_spaces(self, client, city, fmt):
        ServiceType.objects.filter(pk=city.pothole.pk).update(keywords="hole, road , crater")
        services = {s["service_code"]: s for s in read(get(client, "services", fmt), fmt)}
        assert services["pothole"]["keywords"] == "hole,road,crater"

    def test_it_sends_real_json_booleans_and_string_codes(self, client, city):
        services = json.loads(client.get(f"{BASE}/services.json").content)
        assert all(isinstance(s["metadata"], bool) for s in services)
        assert all(isinstance(s["service_code"], str) for s in services)
        assert isinstance(services[0]["group"], str)

    def test_it_has_the_same_fields_as_a_real_city_list(self, client, city):
        sample = json.loads((SAMPLES / "bloomington_in_services.json").read_text())
        ours = json.loads(client.get(f"{BASE}/services.json").content)
        assert set(ours[0]) == set(sample[0])


class TestServiceDefinition:
    def test_it_gives_the_questions_in_order_with_their_values(self, client, city, fmt):
        found = read(get(client, "services/pothole", fmt), fmt)
        assert found["service_code"] == "pothole"
        attributes = found["attributes"]
        assert [a["code"] for a in attributes] == [
            "size",
            "lanes",
            "depth_cm",
            "seen_at",
            "landmark",
            "details",
        ]
        assert [a["order"] for a in attributes] == ["1", "2", "3", "4", "5", "6"]
        size = attributes[0]
        assert size == {
            "variable": "true",
            "code": "size",
            "datatype": "singlevaluelist",
            "required": "true",
            "datatype_description": None,
            "order": "1",
            "description": "How big is it?",
            "values": [
                {"key": "small", "name": "Smaller than a plate"},
                {"key": "large", "name": "Larger than a plate"},
            ],
        }
        assert attributes[1]["datatype"] == "multivaluelist"
        assert attributes[2]["values"] == []

    def test_it_is_a_json_object_with_real_booleans(self, client, city):
        found = json.loads(client.get(f"{BASE}/services/pothole.json").content)
        assert isinstance(found, dict)
        assert found["attributes"][0]["required"] is True
        assert found["attributes"][1]["required"] is False

    def test_it_matches_the_shape_of_a_real_city_definition(self, client, city):
        sample = json.loads((SAMPLES / "bloomington_in_service_definition_69.json").read_text())
        ours = json.loads(client.get(f"{BASE}/services/pothole.json").content)
        assert set(ours) == set(sample)
        assert set(ours["attributes"][0]) == set(sample["attributes"][0])

    @pytest.mark.parametrize("code", ["nothing_like_it", "fire"])
    def test_it_answers_404_for_an_unknown_or_emergency_service(self, client, city, fmt, code):
        text = error_descriptions(get(client, f"services/{code}", fmt), fmt, 404)
        assert code in text

    def test_it_answers_at_the_singular_path_one_client_uses(self, client, city, fmt):
        assert read(get(client, "service/pothole", fmt), fmt)["service_code"] == "pothole"


class TestRequests:
    def test_it_lists_recent_requests_with_every_spec_field(self, client, rosas, fmt):
        found = read(get(client, "requests", fmt), fmt)
        assert len(found) == 1
        row = found[0]
        assert list(row) == [
            "service_request_id",
            "status",
            "status_notes",
            "service_name",
            "service_code",
            "description",
            "agency_responsible",
            "service_notice",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "address",
            "address_id",
            "zipcode",
            "lat",
            "long",
            "media_url",
        ]
        assert row["service_request_id"] == rosas.tracking_number
        assert row["status"] == "open"
        assert row["agency_responsible"] == "Streets"
        assert row["address"] == "1382 Dumont Ave, Brooklyn"
        assert row["lat"] == "40.6782"
        assert row["media_url"] is None
        for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert OFFSET.match(row[name]), row[name]
        assert row["requested_datetime"][-6:] in ("-05:00", "-04:00")

    def test_it_sends_json_ids_as_strings_and_coordinates_as_numbers(self, client, rosas):
        row = json.loads(client.get(f"{BASE}/requests.json").content)[0]
        assert isinstance(row["service_request_id"], str)
        assert isinstance(row["lat"], float)
        assert row["status_notes"] is None

    def test_it_shows_a_closed_request_as_closed_with_its_note(self, client, city, rosas, fmt):
        actions.close_request(
            rosas, resolution=Resolution.COMPLETED, note="Filled the hole.", by=city.dana
        )
        row = read(get(client, "requests", fmt), fmt)[0]
        assert row["status"] == "closed"
        assert row["status_notes"] == "Filled the hole."

    def test_it_keeps_requests_older_than_90_days_out_by_default(self, client, city, fmt):
        city.report(requested_at=timezone.now() - timedelta(days=100))
        recent = city.report()
        found = read(get(client, "requests", fmt), fmt)
        assert [r["service_request_id"] for r in found] == [recent.tracking_number]

    def test_it_finds_requests_by_a_list_of_ids_overriding_other_filters(self, client, city, fmt):
        old = city.report(requested_at=timezone.now() - timedelta(days=400))
        new = city.report()
        digits = old.tracking_number.replace("-", "")
        found = read(
            get(
                client,
                "requests",
                fmt,
                service_request_id=f"{digits}, {new.tracking_number},000-0000-000",
                status="closed",
            ),
            fmt,
        )
        assert {r["service_request_id"] for r in found} == {
            old.tracking_number,
            new.tracking_number,
        }

    def test_it_filters_by_service_code_list(self, client, city, fmt):
        city.report()
        tree = city.report(service_code="fallen_tree", answers={})
        found = read(get(client, "requests", fmt, service_code="fallen_tree,permit_question"), fmt)
        assert [r["service_request_id"] for r in found] == [tree.tracking_number]

    def test_it_filters_by_status(self, client, city, fmt):
        done = city.report()
        actions.close_request(done, resolution=Resolution.COMPLETED, note="Done.", by=city.dana)
        still = city.report()
        open_ids = [
            r["service_request_id"] for r in read(get(client, "requests", fmt, status="open"), fmt)
        ]
        closed = read(get(client, "requests", fmt, status="closed"), fmt)
        both = read(get(client, "requests", fmt, status="open,closed"), fmt)
        assert open_ids == [still.tracking_number]
        assert [r["service_request_id"] for r in closed] == [done.tracking_number]
        assert len(both) == 2

    def test_it_filters_by_start_and_end_date(self, client, city, fmt):
        ten_days_ago = timezone.now() - timedelta(days=10)
        older = city.report(requested_at=ten_days_ago)
        city.report()
        found = read(
            get(
                client,
                "requests",
                fmt,
                start_date=(ten_days_ago - timedelta(hours=1)).isoformat(),
                end_date=(ten_days_ago + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            ),
            fmt,
        )
        assert [r["service_request_id"] for r in found] == [older.tracking_number]

    def test_it_accepts_an_offset_whose_plus_arrived_as_a_space(self, client, rosas, fmt):
        r = client.get(f"{BASE}/requests.{fmt}?start_date=2026-01-01T00:00:00+05:00")
        assert r.status_code == 200

    @pytest.mark.parametrize(
        "params, says",
        [
            ({"start_date": "yesterday"}, "start_date"),
            ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90 days"),
            ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "before"),
            ({"status": "pending"}, "status"),
            ({"page": "0"}, "page"),
            ({"page_size": "5000"}, "page_size"),
            ({"updated_after": "soon"}, "updated_after"),
            # Found by fuzzing on PostgreSQL: a year-40 date had the zone's pre-1883 offset in
            # seconds, which PostgreSQL refused, and the client got a 503 for its own mistake.
            ({"start_date": "0040-01-01T00:00:00"}, "start_date must be a date between"),
        ],
    )
    def test_it_answers_400_naming_a_bad_filter(self, client, city, fmt, params, says):
        assert says in error_descriptions(get(client, "requests", fmt, **params), fmt, 400)

    def test_an_ancient_date_in_the_updates_feed_is_the_clients_mistake(self, client, city, fmt):
        r = get(client, "servicerequestupdates", fmt, start_date="0040-01-01T00:00:00")
        assert "between the years 1900 and 9998" in error_descriptions(r, fmt, 400)

    def test_it_pages_through_results(self, client, city, fmt):
        made = [city.report(requested_at=timezone.now() - timedelta(minutes=i)) for i in range(5)]
        first = read(get(client, "requests", fmt, page_size=2), fmt)
        third = read(get(client, "requests", fmt, page_size=2, page=3), fmt)
        assert [r["service_request_id"] for r in first] == [s.tracking_number for s in made[:2]]
        assert [r["service_request_id"] for r in third] == [made[4].tracking_number]

    def test_it_filters_on_updated_after_and_before(self, client, city, fmt):
        early = city.report()
        later = city.report()
        cut = timezone.now()
        actions.add_note(later, text="Crew booked.", public=True, by=city.dana)
        after = read(get(client, "requests", fmt, updated_after=cut.isoformat()), fmt)
        before = read(get(client, "requests", fmt, updated_before=cut.isoformat()), fmt)
        assert [r["service_request_id"] for r in after] == [later.tracking_number]
        assert [r["service_request_id"] for r in before] == [early.tracking_number]

    def test_it_adds_extended_attributes_on_request(self, client, city, fmt):
        parent = city.report()
        child = city.report(channel=Channel.PHONE)
        actions.add_note(child, text="Seen by the crew.", public=True, by=city.dana)
        actions.add_note(child, text="Internal: caller was rude.", public=False, by=city.dana)
        actions.merge_request(child, into=parent, by=city.dana)
        plain = read(get(client, f"requests/{child.tracking_number}", fmt), fmt)[0]
        assert "extended_attributes" not in plain
        row = read(get(client, f"requests/{child.tracking_number}", fmt, extensions="true"), fmt)[0]
        extended = row["extended_attributes"]
        assert extended["channel"] == "phone"
        assert extended["department"] == "Streets"
        assert extended["duplicate"] == "true"
        assert extended["parent_service_request_id"] == parent.tracking_number
        notes = [n["description"] for n in extended["notes"]]
        assert "Seen by the crew." in notes
        assert not any("rude" in (n or "") for n in notes)

    def test_it_lists_the_areas_a_request_was_filed_in(self, client, city, fmt, tmp_path):
        from tests import small_city

        small_city.load(tmp_path)
        sr = city.report(lat=40.67, long=-73.93, address_string="")
        row = read(get(client, "requests", fmt, extensions="true"), fmt)[0]
        assert row["service_request_id"] == sr.tracking_number
        areas = {a["kind"]: a["code"] for a in row["extended_attributes"]["areas"]}
        assert areas["service_zone"] == "N"


class TestOneRequest:
    @pytest.mark.parametrize("dashes", [True, False])
    def test_it_finds_a_request_by_its_tracking_number_with_or_without_dashes(
        self, client, rosas, fmt, dashes
    ):
        number = rosas.tracking_number if dashes else rosas.tracking_number.replace("-", "")
        found = read(get(client, f"requests/{number}", fmt), fmt)
        assert len(found) == 1
        assert found[0]["service_request_id"] == rosas.tracking_number

    def test_it_answers_404_for_a_mistyped_number(self, client, rosas, fmt):
        digits = rosas.tracking_number.replace("-", "")
        wrong = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        assert "Check the number" in error_descriptions(
            get(client, f"requests/{wrong}", fmt), fmt, 404
        )

    def test_it_answers_404_for_a_number_nobody_has(self, client, city, fmt):
        assert (
            "no request"
            in error_descriptions(get(client, "requests/637-0292-351", fmt), fmt, 404).lower()
        )


class TestTokens:
    def test_it_resolves_a_tracking_number_used_as_a_token(self, client, rosas, fmt):
        found = read(get(client, f"tokens/{rosas.tracking_number}", fmt), fmt)
        assert found == [
            {"service_request_id": rosas.tracking_number, "token": rosas.tracking_number}
        ]

    def test_it_answers_404_for_an_unknown_token(self, client, city, fmt):
        assert "token" in error_descriptions(get(client, "tokens/abc123", fmt), fmt, 404)


class TestUpdates:
    def test_it_feeds_public_updates_in_order_and_leaves_internal_notes_out(
        self, client, city, rosas, fmt
    ):
        actions.add_note(rosas, text="Internal only.", public=False, by=city.dana)
        actions.close_request(rosas, resolution=Resolution.COMPLETED, note="Filled.", by=city.dana)
        found = read(get(client, "servicerequestupdates", fmt, api_key=""), fmt)
        assert [u["description"] for u in found][-1] == "Filled."
        assert found[-1]["status"] == "closed"
        assert found[0]["status"] == "open"
        assert all(u["service_request_id"] == rosas.tracking_number for u in found)
        assert all(u["update_id"] for u in found)
        assert "Internal only." not in [u["description"] for u in found]

    def test_it_limits_updates_to_the_window(self, client, city, rosas, fmt):
        later = timezone.now() + timedelta(hours=1)
        found = read(
            get(
                client,
                "servicerequestupdates",
                fmt,
                start_date=later.isoformat(),
                end_date=(later + timedelta(hours=2)).isoformat(),
            ),
            fmt,
        )
        assert found == []


class TestJurisdiction:
    def test_it_treats_an_empty_jurisdiction_as_absent(self, client, city, fmt):
        assert get(client, "services", fmt, jurisdiction_id="").status_code == 200

    def test_it_accepts_its_own_jurisdiction(self, client, city, fmt, settings):
        settings.CITY311_JURISDICTION_ID = "city.gov"
        assert get(client, "services", fmt, jurisdiction_id="city.gov").status_code == 200

    def test_it_answers_404_for_another_jurisdiction(self, client, city, fmt):
        text = error_descriptions(
            get(client, "services", fmt, jurisdiction_id="sfgov.org"), fmt, 404
        )
        assert "sfgov.org" in text


class TestErrorsAndShape:
    def test_it_answers_with_the_error_array_when_a_handler_fails(self, client, city, fmt):
        with mock.patch("city311.open311.views.find_requests", side_effect=RuntimeError("boom")):
            r = get(client, "requests", fmt)
        # The city's own failure: 503 with when to try again, never a 400 blaming the client.
        assert "try again" in error_descriptions(r, fmt, 503)
        assert r["Retry-After"] == "30"

    def test_it_answers_404_in_the_format_asked_for_an_unknown_resource(self, client, city, fmt):
        assert error_descriptions(client.get(f"{BASE}/nonsense.{fmt}"), fmt, 404)

    def test_it_answers_a_post_to_an_unknown_resource_with_the_error_array(self, client, city, fmt):
        r = client.post(f"{BASE}/servicerequestupdate.{fmt}", {"update_id": "1"})
        assert error_descriptions(r, fmt, 404)

    def test_it_answers_404_as_json_without_a_format(self, client, city):
        assert error_descriptions(client.get("/open311/v2/requests"), "json", 404)

    def test_it_refuses_another_method_with_the_error_array(self, client, city, fmt):
        r = client.put(f"{BASE}/services.{fmt}")
        assert "PUT" in error_descriptions(r, fmt, 400)

    def test_it_serves_paths_with_a_trailing_slash(self, client, city, fmt):
        assert client.get(f"{BASE}/services.{fmt}/").status_code == 200

    def test_it_sends_the_errors_root_and_error_items_in_xml(self, client, city):
        body = client.get(f"{BASE}/requests/1.xml").content.decode()
        assert body.startswith(
            '<?xml version="1.0" encoding="UTF-8"?>\n<errors><error><code>404</code>'
        )

    def test_it_sends_a_json_error_list(self, client, city):
        errors = json.loads(client.get(f"{BASE}/requests/1.json").content)
        assert isinstance(errors, list)
        assert errors[0]["code"] == 404

    def test_it_sends_the_base_to_the_docs(self, client, city):
        for base in ("/open311/v2", "/open311/v2/"):
            assert client.get(base)["Location"] == "/api/docs"

    def test_it_keeps_characters_xml_cannot_carry_out_of_xml(self, client, city):
        city.report(description="bell \x07 here")
        ET.fromstring(client.get(f"{BASE}/requests.xml").content)


class TestPrivacy:
    """Public by design: no reporter's personal data in any response, ever."""

    # Whole values only: a random tracking number may well hold "555".
    SECRETS = ("rosa@example.org", "Diaz", "718-555-0199", "7185550199", "555-0199")

    def test_it_never_shows_the_reporters_contact_details(self, client, city, rosas, fmt):
        actions.add_note(rosas, text="Public word.", public=True, by=city.dana)
        number = rosas.tracking_number
        paths = [
            f"/open311/discovery.{fmt}",
            f"{BASE}/discovery.{fmt}",
            f"{BASE}/services.{fmt}",
            f"{BASE}/services/pothole.{fmt}",
            f"{BASE}/requests.{fmt}",
            f"{BASE}/requests.{fmt}?extensions=true",
            f"{BASE}/requests/{number}.{fmt}",
            f"{BASE}/requests/{number}.{fmt}?extensions=true",
            f"{BASE}/requests.{fmt}?service_request_id={number}&extensions=true",
            f"{BASE}/tokens/{number}.{fmt}",
            f"{BASE}/servicerequestupdates.{fmt}",
            f"{BASE}/openapi.json",
            "/api/docs",
        ]
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, path
            body = r.content.decode()
            for secret in self.SECRETS:
                assert secret not in body, (path, secret)

    def test_it_never_echoes_contact_details_when_posting(self, client, city, fmt):
        _, key = ApiKey.issue("Rosa's app")
        r = client.post(
            f"{BASE}/requests.{fmt}",
            {
                "api_key": key,
                "service_code": "fallen_tree",
                "lat": "40.6782",
                "long": "-73.9442",
                "email": "rosa@example.org",
                "first_name": "Rosa",
                "last_name": "Diaz",
                "phone": "718-555-0199",
            },
        )
        assert r.status_code == 200
        for secret in self.SECRETS:
            assert secret not in r.content.decode()


def test_it_shows_omar_nothing_more_than_anyone(client, city, rosas):
    """Signing in does not turn the public API into a staff view."""
    anonymous = client.get(f"{BASE}/requests.json?extensions=true").content
    client.force_login(city.omar)
    assert client.get(f"{BASE}/requests.json?extensions=true").content == anonymous


class TestDocumentation:
    def test_it_serves_an_openapi_document_naming_every_resource(self, client, city):
        doc = json.loads(client.get(f"{BASE}/openapi.json").content)
        assert doc["openapi"].startswith("3.")
        assert {
            "/open311/v2/services.{format}",
            "/open311/v2/services/{service_code}.{format}",
            "/open311/v2/requests.{format}",
            "/open311/v2/requests/{service_request_id}.{format}",
            "/open311/v2/tokens/{token}.{format}",
            "/open311/v2/servicerequestupdates.{format}",
        } <= set(doc["paths"])
        assert "post" in doc["paths"]["/open311/v2/requests.{format}"]

    def test_it_renders_the_docs_as_one_self_contained_page(self, client, city):
        r = client.get("/api/docs")
        assert r.status_code == 200
        page = r.content.decode()
        assert "/open311/v2/requests.{format}" in page
        assert "attribute[CODE]" in page
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
