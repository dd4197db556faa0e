"""A city is data: a city pack goes in with import_city and comes out with export_city.

Lena works the Streets Division of Small City, a city that is not New York in anything; Ines
administers it. The New York demo is a pack too, and goes round the same way.
"""

from __future__ import annotations

import filecmp
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Department,
    Holiday,
    ServiceAttribute,
    ServiceType,
    Translation,
)
from city311.cities import profile
from city311.cities.models import City, CityAlias
from city311.cities.palette import PALETTE
from city311.demo import loader
from city311.geo import geocoding
from city311.geo.locate import locate
from city311.geo.models import AddressPoint, Boundary, GeoDataset, Intersection, Place
from city311.knowledge.models import Article
from city311.lib.languages import CityLanguages, named
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Channel, RoutingRule
from city311.servicerequests.tracking import new_tracking_number
from city311.servicerequests.validation import Submission
from tests import small_city


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err, verbosity=1)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return small_city.write_pack(tmp_path / "small")


@pytest.fixture
def imported(db, pack: Path) -> Path:
    run("import_city", str(pack))
    return pack


def test_it_imports_the_whole_city(imported):
    city = profile.current()
    assert city.name == "Small City"
    assert city.time_zone == "America/Chicago"
    assert city.holidays == "US-IL"
    assert city.phone == "555-0311"
    assert city.brand_name == "Small City Services"
    assert city.text("outside_referral", "es").startswith("Este lugar está fuera de Small City")
    assert ServiceType.objects.get(service_code="pothole").translated("service_name", "es") == (
        "Bache"
    )
    assert list(
        ServiceType.objects.get(service_code="pothole").related_types.values_list(
            "service_code", flat=True
        )
    ) == ["sinkhole"]
    assert BusinessHours.objects.count() == 5
    assert Holiday.objects.get().name == "Small City Day"
    assert Boundary.objects.filter(kind="service_zone").count() == 2
    assert AddressPoint.objects.count() == 75
    assert Place.objects.get().name == "Chandler Park"
    assert Intersection.objects.count() == 1
    rule = RoutingRule.objects.get()
    assert (rule.area.code, rule.department.slug) == ("S", "south-streets")
    lena = User.objects.get(username="lena")
    assert lena.groups.get().name == "Department staff"
    assert list(lena.memberships.values_list("department__slug", flat=True)) == ["streets"]


def test_new_staff_get_a_link_to_set_a_password_never_a_password(db, pack):
    out, _ = run("import_city", str(pack))
    lena = User.objects.get(username="lena")
    assert not lena.has_usable_password()
    links = re.findall(r"new staff (\w+): set a password at (\S+)", out)
    assert [name for name, _ in links] == ["lena", "sam", "ines"]
    assert {m.to[0] for m in mail.outbox} == {
        "lena@small.example",
        "sam@small.example",
        "ines@small.example",
    }
    link = dict(links)["lena"]
    assert link in mail.outbox[0].body or any(link in m.body for m in mail.outbox)


def test_the_set_password_link_lets_new_staff_choose_a_password(db, pack, client):
    out, _ = run("import_city", str(pack))
    link = dict(re.findall(r"new staff (\w+): set a password at (\S+)", out))["lena"]
    path = "/" + link.split("/", 3)[3]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    new = "a long and unusual passphrase 311"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert done.status_code == 200
    assert User.objects.get(username="lena").check_password(new)


def test_importing_again_changes_nothing_and_keeps_every_id(db, pack):
    run("import_city", str(pack))
    ids = {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (
            Department,
            ServiceType,
            ServiceAttribute,
            AttributeValue,
            Translation,
            RoutingRule,
            Boundary,
            User,
            CityAlias,
        )
    }
    out, _ = run("import_city", str(pack))
    assert "new staff" not in out
    for model in (
        Department,
        ServiceType,
        ServiceAttribute,
        AttributeValue,
        Translation,
        RoutingRule,
        Boundary,
        User,
        CityAlias,
    ):
        assert sorted(model.objects.values_list("pk", flat=True)) == ids[model.__name__]


def test_an_edited_pack_updates_rows_in_place(db, pack):
    run("import_city", str(pack))
    pothole = ServiceType.objects.get(service_code="pothole")
    catalog = pack / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("service_name: Pothole", "service_name: Road hole")
    )
    run("import_city", str(pack))
    pothole.refresh_from_db()
    assert pothole.service_name == "Road hole"
    assert ServiceType.objects.filter(service_code="pothole").count() == 1


def test_every_problem_is_reported_with_its_file_and_line_and_nothing_is_written(db, pack):
    catalog = pack / "catalog.yaml"
    catalog.write_text(
        catalog.read_text()
        .replace(
            "department: streets\n    urgency: urgent", "department: nowhere\n    urgency: urgent"
        )
        .replace("datatype: singlevaluelist", "datatype: colour")
    )
    (pack / "addresses.csv").write_text(
        (pack / "addresses.csv").read_text() + "not-a-number,40.6,12,MAIN STREET,,Brooklyn,1,x\n"
    )
    manifest = pack / "city.yaml"
    manifest.write_text(manifest.read_text().replace("primary: green-cool-50v", "primary: blue-10"))
    with pytest.raises(CommandError, match=r"4 problem\(s\)"):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    report = err.getvalue()
    assert re.search(r"catalog\.yaml, line \d+: sinkhole: no department 'nowhere'", report)
    assert re.search(r"catalog\.yaml, line \d+: pothole\.size: datatype 'colour'", report)
    assert "addresses.csv, line 77: LON 'not-a-number' is not a number" in report
    assert re.search(r"city\.yaml, line \d+: branding colour 'blue-10'", report)
    assert not City.objects.exists()
    assert not ServiceType.objects.exists()
    assert not AddressPoint.objects.exists()


def test_every_bad_row_of_the_address_file_is_reported_and_nothing_is_written(db, pack):
    """A row in another encoding, one too big for CSV, a broken coordinate and an unclosed
    quote: each is named by its line, the import goes on checking past each, and writes
    nothing."""
    addresses = pack / "addresses.csv"
    good = addresses.read_bytes()
    lines = good.count(b"\n")
    addresses.write_bytes(
        good
        + b"-73.95,40.6,12,CAF\xc9 STREET,,Brooklyn,1,latin1\n"
        + b'-73.95,40.6,14,"'
        + b"A" * 200_000
        + b'",,Brooklyn,1,huge\n'
        + b"-73.95,north,16,MAIN STREET,,Brooklyn,1,x\n"
        + b'-73.95,40.6,18,"MAIN STREET,,Brooklyn,1,quote\n'
    )
    with pytest.raises(CommandError, match=r"4 problem\(s\)"):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    report = err.getvalue()
    assert f"addresses.csv, line {lines + 1}: is not UTF-8 text: save the file as UTF-8" in report
    assert f"addresses.csv, line {lines + 2}: cannot be read as CSV (field larger" in report
    assert f"addresses.csv, line {lines + 3}: LAT 'north' is not a number" in report
    assert f"addresses.csv, line {lines + 4}: has a line break inside a field" in report
    assert not City.objects.exists()
    assert not AddressPoint.objects.exists()


def test_a_pack_with_a_password_is_refused(db, pack):
    staff = pack / "staff.yaml"
    staff.write_text(
        staff.read_text().replace("role: Call taker}", "role: Call taker, password: x}")
    )
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert "staff.yaml, line" in err.getvalue()
    assert "never carries one" in err.getvalue()
    assert not User.objects.exists()


def test_a_broken_yaml_file_names_its_line(db, pack):
    (pack / "routing.yaml").write_text("rules:\n  - {service_type: pothole\n")
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert re.search(r"routing\.yaml, line \d+: is not valid YAML", err.getvalue())


def test_the_citys_wording_of_messages_comes_in_and_a_broken_one_is_named(db, pack):
    from city311.notifications.models import MessageTemplate

    run("import_city", str(pack))
    template = MessageTemplate.objects.get()
    assert (template.kind, template.language, template.service_type.service_code) == (
        "request.closed",
        "es",
        "pothole",
    )
    messages = pack / "messages.yaml"
    messages.write_text(messages.read_text().replace("{{ tracking_number }}.", "{% if %}."))
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert re.search(r"messages\.yaml, line 2: request\.closed text: ", err.getvalue())


def test_check_only_checks(db, pack):
    out, _ = run("import_city", str(pack), "--check")
    assert "no problem" in out
    assert not City.objects.exists()


def test_the_tracking_number_look_is_the_citys(imported):
    assert re.fullmatch(r"\d{3}-\d{3}-\d{4}", new_tracking_number())


def test_the_look_cannot_change_once_the_city_has_requests(imported):
    submit_request(
        Submission(
            service_code="pothole",
            channel=Channel.WEB,
            lat=40.67,
            long=-73.93,
            answers={"size": "large"},
        )
    )
    manifest = imported / "city.yaml"
    manifest.write_text(manifest.read_text().replace("grouping: [3, 3, 4]", "grouping: [5, 5]"))
    with pytest.raises(CommandError, match="only while the city has no requests"):
        run("import_city", str(imported))
    assert City.objects.get().tracking_grouping == "3-3-4"


def test_the_geocoder_follows_the_citys_rules(imported):
    assert geocoding.geocode("1382 Dumont Ave, Eastside")[0].city == "Brooklyn"
    assert geocoding.geocode("1382 Dumont Ave, Eastside, IL")[0].address.endswith("IL 11208")
    located = locate(lat=None, long=None, address_string="1382 Dumont Ave, Chatham")
    assert located is not None and not located.in_city


def test_the_pages_and_messages_wear_the_citys_brand(imported, client):
    page = client.get("/").content.decode()
    assert "Small City Services" in page
    assert "/city/logo?v=" in page
    assert "/city/brand.css" in page
    css = client.get("/city/brand.css").content.decode()
    assert PALETTE["green-cool-50v"] in css
    assert PALETTE["red-60v"] in css
    logo = client.get("/city/logo")
    assert logo["Content-Type"] == "image/svg+xml"


def test_export_then_import_gives_the_same_city(imported, tmp_path):
    run("export_city", str(tmp_path / "a"))
    _empty_the_city()
    run("import_city", str(tmp_path / "a"))
    run("export_city", str(tmp_path / "b"))
    assert _same_folders(tmp_path / "a", tmp_path / "b")
    assert not list((tmp_path / "a").rglob("*password*"))
    assert "password" not in (tmp_path / "a" / "staff.yaml").read_text()


def test_export_refuses_a_folder_with_files(imported, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        run("export_city", str(tmp_path / "full"))


def test_the_new_york_demo_goes_round_export_and_import(db, tmp_path):
    loader.load_pack("nyc")
    run("export_city", str(tmp_path / "a"))
    _empty_the_city()
    run("import_city", str(tmp_path / "a"))
    run("export_city", str(tmp_path / "b"))
    assert _same_folders(tmp_path / "a", tmp_path / "b")
    assert Boundary.objects.filter(kind="borough").count() == 5
    assert AddressPoint.objects.count() > 3000


def test_the_los_angeles_demo_goes_round_export_and_import(db, tmp_path):
    loader.load_pack("la")
    run("export_city", str(tmp_path / "a"))
    _empty_the_city()
    run("import_city", str(tmp_path / "a"))
    run("export_city", str(tmp_path / "b"))
    assert _same_folders(tmp_path / "a", tmp_path / "b")
    assert City.objects.get().time_zone == "America/Los_Angeles"
    assert Boundary.objects.filter(kind="service_zone").count() >= 6
    assert ServiceType.objects.filter(service_code="bulky_items").exists()
    assert AddressPoint.objects.count() > 3000


def _empty_the_city() -> None:
    """What an empty database holds of a city: nothing."""
    RoutingRule.objects.all().delete()
    Article.objects.all().delete()
    ServiceType.objects.all().delete()
    Department.objects.all().delete()
    Translation.objects.all().delete()
    User.objects.all().delete()
    City.objects.all().delete()
    BusinessHours.objects.all().delete()
    Holiday.objects.all().delete()
    for model in (Boundary, AddressPoint, Place, Intersection, GeoDataset):
        model.objects.all().delete()


def _same_folders(a: Path, b: Path) -> bool:
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for name in files_a:
        assert filecmp.cmp(a / name, b / name, shallow=False), f"{name} differs"
    return True


def test_demo_names_the_cities_it_has_when_asked_for_another(db):
    with pytest.raises(
        CommandError, match=r"There is no demo city 'atlantis': choose one of .*nyc"
    ):
        run("demo", "--city", "atlantis")


def test_demo_loads_a_city_through_its_pack_and_gives_its_staff_passwords(db):
    out, _ = run("demo", "--no-records")
    assert "City pack nyc: 12 departments, 83 service types" in out
    assert re.search(r"dana\s+\S+\s+Department staff", out)
    assert User.objects.get(username="dana").has_usable_password()
    assert profile.current().name == "New York City (demo)"
    assert geocoding.geocode("10 Main St, Hoboken NJ") == []


def test_the_report_map_opens_on_the_citys_view(imported, client):
    page = client.get("/report/pothole/", follow=True).content.decode()
    assert 'data-center="40.650000,-73.950000" data-start-zoom="13"' in page


def test_ines_edits_the_citys_rules_in_the_admin(imported, client):
    ines = User.objects.get(username="ines")
    client.force_login(ines)
    page = client.get("/admin/cities/city/1/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="hours__es"' in body
    assert 'name="outside_referral__es"' in body
    assert "Eastside" in body
    form = {
        "name": "Small City",
        "time_zone": "America/Chicago",
        "languages": "en,es",
        "holidays": "US-IL",
        "phone": "555-0312",
        "outside_phone": "217-555-0311",
        "emergency_phone": "911",
        "hours": "Every day, 7 am to 7 pm",
        "hours__es": "todos los días, de 7 a 19 h",
        "map_lat": "40.65",
        "map_long": "-73.95",
        "map_zoom": "13",
        "brand_name": "Small City Services",
        "color_primary": "green-cool-50v",
        "color_secondary": "red-60v",
        "tracking_grouping": "3-3-4",
        "states": "IL",
        "state_names": "Illinois",
        "outside_names": "Chatham\nMissouri\nSpringfield",
        "outside_referral": "Outside Small City.",
        "outside_referral__es": "Fuera de Small City.",
        "aliases-TOTAL_FORMS": "2",
        "aliases-INITIAL_FORMS": "1",
        "aliases-MIN_NUM_FORMS": "0",
        "aliases-MAX_NUM_FORMS": "1000",
        "aliases-0-id": str(CityAlias.objects.get().pk),
        "aliases-0-city": "1",
        "aliases-0-alias": "Eastside",
        "aliases-0-part": "Brooklyn",
        "aliases-1-city": "1",
        "aliases-1-alias": "ES",
        "aliases-1-part": "Brooklyn",
    }
    r = client.post("/admin/cities/city/1/change/", form)
    assert r.status_code == 302, r.content.decode()[-3000:]
    city = profile.current()
    assert city.phone == "555-0312"
    assert city.text("hours", "es") == "todos los días, de 7 a 19 h"
    assert geocoding.geocode("1382 Dumont Ave, ES")[0].city == "Brooklyn"
    assert geocoding.geocode("1382 Dumont Ave, Springfield") == []
    form["color_primary"] = "blue-10"
    refused = client.post("/admin/cities/city/1/change/", form)
    assert "is not a USWDS colour token" in refused.content.decode()


def _languages(pack: Path, codes: str) -> None:
    manifest = pack / "city.yaml"
    manifest.write_text(
        re.sub(r"languages: \[[^\]]*\]", f"languages: [{codes}]", manifest.read_text())
    )


def test_the_city_offers_the_languages_of_its_pack(db, pack, client):
    _languages(pack, "en, es, fr")
    out, _ = run("import_city", str(pack))
    assert [code for code, _name in settings.LANGUAGES] == ["en", "es", "fr"]
    assert "city311's pages have no fr translation yet" in out
    page = client.get("/report/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr"' in page
    _languages(pack, "en, es")
    run("import_city", str(pack))
    assert [code for code, _name in settings.LANGUAGES] == ["en", "es"]
    page = client.get("/report/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en"' in page


def test_a_language_django_does_not_know_is_a_problem_of_the_manifest(db, pack):
    _languages(pack, "en, klingon")
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert (
        "city.yaml, line 1: languages: klingon: use language codes Django knows" in err.getvalue()
    )


def test_city311_languages_overrides_the_packs(db, pack, settings):
    settings.LANGUAGES = CityLanguages(override=named(["en", "de"]), fallback=named(["en"]))
    out, _ = run("import_city", str(pack))
    assert "CITY311_LANGUAGES=en,de overrides the pack's languages (en, es)" in out
    assert [code for code, _name in settings.LANGUAGES] == ["en", "de"]


def _call_centre_hours(pack: Path, hours: str) -> None:
    manifest = pack / "city.yaml"
    manifest.write_text(manifest.read_text() + f"call_centre_hours: {hours}\n")


def test_the_call_centres_hours_are_the_packs(db, pack, client, tmp_path):
    # A centre open a minute on a day two days from now is closed now, whatever the clock.
    _call_centre_hours(pack, "24/7")
    run("import_city", str(pack))
    later = timezone.now().astimezone(profile.zone()) + timedelta(days=2)
    day = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")[later.weekday()]
    manifest = pack / "city.yaml"
    manifest.write_text(manifest.read_text().replace("24/7", f'"{day} 03:00-03:01"'))
    run("import_city", str(pack))
    assert profile.current().call_centre_hours == f"{day} 03:00-03:01"
    assert "Nobody answers the phones now; people are back" in client.get("/").content.decode()
    run("export_city", str(tmp_path / "out"))
    assert f"call_centre_hours: {day} 03:00-03:01" in (tmp_path / "out" / "city.yaml").read_text()


def test_call_centre_hours_that_cannot_be_read_are_a_problem_of_the_manifest(db, pack):
    _call_centre_hours(pack, "weekdays 9 to 5")
    with pytest.raises(CommandError):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert "call_centre_hours: 'weekdays 9 to 5': write the call centre's hours" in err.getvalue()
