"""When is my pickup? Collection days from the one engine: holiday rules against a ten-year
table computed another way, exceptions, the pack's pickups.yaml, the page and the API."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import holidays as holidays_lib
import pytest
import yaml
from django.core.management import CommandError, call_command

from city311.geo.models import AddressPoint
from city311.pickups.models import AddressRoute, HolidayRule, Route, Slide
from city311.pickups.schedule import Rule, Schedules
from tests import small_city

FIRST, LAST = date(2027, 1, 1), date(2036, 12, 31)
COLLECTION_HOLIDAYS = (
    "New Year's Day",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Thanksgiving",
    "Christmas Day",
    "Founders' Day",
)
# The city's own calendar (catalog Holiday rows: name, closed): a day of its own off, and a
# public holiday it works (and collects) on.
OWN_DAYS = {
    date(2029, 3, 14): ("Founders' Day", True),
    date(2031, 7, 4): ("Independence Day", False),
}


def reference_holidays() -> set[date]:
    """The collection holidays of ten years, listed from the holidays package's own tables and
    the city's own calendar: the table the engine must agree with."""
    found = set()
    for year in range(FIRST.year - 1, LAST.year + 2):
        for day, name in holidays_lib.US(years=year).items():  # observed days included
            if name.startswith(COLLECTION_HOLIDAYS):
                found.add(day)
    for day, (_name, closed) in OWN_DAYS.items():
        (found.add if closed else found.discard)(day)
    return found


def expected_days(weekday: int, slide: str, off: set[date]) -> list[date]:
    """Each week's collection for a route collected on `weekday`, worked week by week."""
    days = []
    monday = FIRST - timedelta(days=FIRST.weekday())
    while monday <= LAST:
        planned = monday + timedelta(days=weekday)
        week_off = sorted(d for d in off if monday <= d < monday + timedelta(days=5))
        if slide == "none":
            days.append(planned)
        elif slide == "skip":
            if planned not in off:
                days.append(planned)
        elif slide == "own_day":
            day = planned
            while day in off:
                day += timedelta(days=1)
            days.append(day)
        elif slide == "rest_of_week":
            shifted = weekday < 5 and any(d <= planned for d in week_off)
            days.append(planned + timedelta(days=1) if shifted else planned)
        monday += timedelta(days=7)
    return [d for d in days if FIRST <= d <= LAST]


@pytest.mark.parametrize("slide", ["none", "skip", "own_day", "rest_of_week"])
def test_ten_years_of_holidays_match_a_table_worked_another_way(slide):
    rule = HolidayRule(slide=slide, holidays="\n".join(COLLECTION_HOLIDAYS))
    engine = Schedules(rule, "US", own_days=OWN_DAYS)
    off = reference_holidays()
    days = ["MO", "TU", "WE", "TH", "FR", "SA"]
    for weekday, byday in enumerate(days):
        route = Rule("r", "trash", f"FREQ=WEEKLY;BYDAY={byday}", date(2026, 1, 5))
        got = [p.day for p in engine.pickups(route, FIRST, LAST) if not p.cancelled]
        assert got == expected_days(weekday, slide, off), (slide, byday)


def test_hand_checked_days_of_the_rest_of_the_week_rule():
    engine = Schedules(
        HolidayRule(slide=Slide.REST_OF_WEEK, holidays="\n".join(COLLECTION_HOLIDAYS)), "US-CA"
    )
    # Thanksgiving 2027 is Thursday 25 November: Monday-Wednesday stay, Thursday and Friday slide.
    assert engine.day_for(date(2027, 11, 24)).day == date(2027, 11, 24)
    assert engine.day_for(date(2027, 11, 25)).day == date(2027, 11, 26)
    assert engine.day_for(date(2027, 11, 26)).day == date(2027, 11, 27)
    assert "Thanksgiving" in engine.day_for(date(2027, 11, 26)).note
    # Cesar Chavez Day is a California holiday but not a collection holiday.
    assert engine.day_for(date(2027, 3, 31)).day == date(2027, 3, 31)


def test_a_christmas_window_moves_every_collection_in_it():
    rule = HolidayRule(slide=Slide.NONE, window_start="12-24", window_end="01-02", window_days=2)
    engine = Schedules(rule, "US")
    route = Rule("r", "trash", "FREQ=WEEKLY;BYDAY=TU", date(2026, 1, 6))
    got = [p.day for p in engine.pickups(route, date(2027, 12, 20), date(2028, 1, 12))]
    # Tuesdays 21 Dec (before), 28 Dec and 4 Jan... 28 Dec is in the window: Thursday 30.
    assert got == [date(2027, 12, 21), date(2027, 12, 30), date(2028, 1, 4), date(2028, 1, 11)]


def test_every_other_week_counts_from_its_start():
    engine = Schedules(None, "US")
    route = Rule("r", "recycling", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", date(2027, 1, 6))
    got = [p.day for p in engine.pickups(route, date(2027, 1, 1), date(2027, 2, 10))]
    assert got == [date(2027, 1, 6), date(2027, 1, 20), date(2027, 2, 3)]


# The small city, as a pack with its pickups.yaml.

PICKUPS = """\
collections:
  - {code: trash, name: {en: Trash, es: Basura}}
  - {code: bulky, name: {en: Bulky items, es: Artículos voluminosos}}
holiday_rule:
  slide: rest_of_week
  holidays: [Memorial Day, Small City Day]
routes:
  - code: north
    name: North
    area: service_zone/N
    depot: [40.69, -73.95]
    schedules:
      trash: FREQ=WEEKLY;BYDAY=MO,TH
      bulky: {rule: FREQ=WEEKLY;INTERVAL=2;BYDAY=WE, starts: 2027-05-05}
  - code: south
    name: South
    area: service_zone/S
    schedules:
      trash: FREQ=WEEKLY;BYDAY=TU
exceptions:
  - date: 2027-06-03
    action: cancel
    route: north
    collection: trash
    reason: {en: Snow emergency, es: Emergencia por nieve}
  - date: 2027-06-05
    action: extra
    collection: bulky
    reason: {en: Spring clean-up day, es: Día de limpieza de primavera}
"""


@pytest.fixture
def city(db, tmp_path: Path) -> Path:
    pack = small_city.write_pack(tmp_path / "small")
    (pack / "pickups.yaml").write_text(PICKUPS)
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())
    return pack


def test_the_pack_maps_every_address_to_its_route_once(city):
    # Every address of the small city lies in the north zone (40.65..40.70).
    north = Route.objects.get(code="north")
    assert AddressRoute.objects.filter(route=north).count() == AddressPoint.objects.count()
    routes = AddressRoute.objects.filter(address__source_id="vansiclen-500")
    assert list(routes.values_list("route__code", flat=True)) == ["north"]


def _route_of(client, address_id: str) -> set[str]:
    body = client.get("/api/pickups", {"address_id": address_id, "from": "2027-06-07"}).json()
    return {c["route"] for c in body["collections"]}


def test_redrawing_the_zones_maps_the_addresses_between_them_again(client, city, tmp_path):
    # The city moves the line between North and South from 40.65 up to 40.665: the south end of
    # Van Siclen Avenue (40.66 to 40.6648) goes to the south route, Dumont Avenue (40.67) stays.
    assert _route_of(client, "vansiclen-500") == {"north"}
    small_city.redraw_zones(tmp_path, 40.665)
    assert _route_of(client, "vansiclen-500") == {"south"}
    assert _route_of(client, "vansiclen-524") == {"south"}  # 40.6648
    assert _route_of(client, "vansiclen-528") == {"north"}  # 40.6656
    assert _route_of(client, "dumont-1300") == {"north"}
    # Each address on one route: the old pairs went, none were left twice.
    moved = AddressRoute.objects.filter(address__source_id__startswith="vansiclen-5")
    assert moved.count() == 25
    # The way back: the same file again changes nothing, the old one restores the old map.
    small_city.redraw_zones(tmp_path, 40.65)
    assert _route_of(client, "vansiclen-500") == {"north"}
    north = Route.objects.get(code="north")
    assert AddressRoute.objects.filter(route=north).count() == AddressPoint.objects.count()


def test_the_page_shows_the_next_days_with_holidays_and_exceptions_explained(client, city):
    # Memorial Day 2027 is Monday 31 May: Monday's and Thursday's trash slide a day; Thursday's
    # Friday is then cancelled by the snow emergency? No: the exception is on 3 June, the day
    # Thursday's collection would have been, and the slide already moved it to Friday 4 June.
    r = client.get("/pickups/", {"address": "1300 Dumont Ave", "from": "2027-05-31"})
    page = r.content.decode()
    assert r.status_code == 200, page
    assert "1300 DUMONT AVENUE" in page.upper()
    assert "Tuesday, 1 June 2027" in page  # Monday's, a day later
    assert "Memorial Day" in page
    assert "Friday, 4 June 2027" in page
    assert "Spring clean-up day" in page  # the extra bulky day, Saturday 5 June


def test_the_api_answers_with_dates_and_notes_in_spanish(client, city):
    r = client.get(
        "/api/pickups",
        {"address_id": "dumont-1300", "from": "2027-05-31"},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert r.status_code == 200, r.content
    body = r.json()
    trash = next(c for c in body["collections"] if c["collection"] == "trash")
    assert trash["name"] == "Basura"
    assert [n["date"] for n in trash["next"]] == ["2027-06-01", "2027-06-04", "2027-06-07"]
    assert trash["next"][0]["planned"] == "2027-05-31"
    bulky = next(c for c in body["collections"] if c["collection"] == "bulky")
    # Wednesday's bulky collection is in Memorial Day's week too.
    assert bulky["next"][0] == {
        "date": "2027-06-03",
        "planned": "2027-06-02",
        "note": "Un día más tarde esta semana: Memorial Day.",
        "cancelled": False,
    }
    assert bulky["next"][1]["date"] == "2027-06-05"
    assert bulky["next"][1]["note"] == "Día de limpieza de primavera"
    assert bulky["next"][2]["date"] == "2027-06-16"


def test_a_cancelled_day_is_listed_with_its_reason_and_not_counted(client, city):
    # The week after: Thursday 10 June is an ordinary day; cancel it and look again.
    pack = city
    text = (pack / "pickups.yaml").read_text().replace("2027-06-03", "2027-06-10")
    (pack / "pickups.yaml").write_text(text)
    call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())
    body = client.get("/api/pickups", {"address_id": "dumont-1300", "from": "2027-06-08"}).json()
    trash = next(c for c in body["collections"] if c["collection"] == "trash")
    assert trash["next"][0] == {
        "date": "2027-06-10",
        "planned": "2027-06-10",
        "note": "Snow emergency",
        "cancelled": True,
    }
    assert [n["date"] for n in trash["next"] if not n["cancelled"]] == [
        "2027-06-14",
        "2027-06-17",
        "2027-06-21",
    ]


def test_bad_input_says_what_to_send(client, city):
    assert "Give ?address=" in client.get("/api/pickups").json()["error"]
    r = client.get("/api/pickups", {"address_id": "dumont-1300", "from": "next week"})
    assert r.status_code == 400 and "2027-05-24" in r.json()["error"]
    r = client.get("/pickups/", {"address": "99999 Nowhere Boulevard"})
    assert r.status_code == 400
    assert "could not find that address" in r.content.decode()
    assert client.get("/api/pickups", {"address_id": "nope"}).status_code == 400


def test_export_then_import_gives_the_same_schedules(city, tmp_path):
    call_command("export_city", str(tmp_path / "out"), stdout=io.StringIO(), stderr=io.StringIO())
    exported = yaml.safe_load((tmp_path / "out" / "pickups.yaml").read_text())
    given = yaml.safe_load(PICKUPS)
    assert [r["code"] for r in exported["routes"]] == ["north", "south"]
    assert exported["holiday_rule"] == given["holiday_rule"]
    assert exported["routes"][0]["schedules"]["bulky"] == {
        "rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
        "starts": date(2027, 5, 5),
    }
    assert exported["exceptions"][1]["reason"] == given["exceptions"][1]["reason"]
    ids = set(Route.objects.values_list("pk", flat=True))
    call_command("import_city", str(tmp_path / "out"), stdout=io.StringIO(), stderr=io.StringIO())
    assert set(Route.objects.values_list("pk", flat=True)) == ids


def test_a_broken_pickups_file_names_each_problem_and_writes_nothing(db, tmp_path):
    pack = small_city.write_pack(tmp_path / "small")
    broken = (
        PICKUPS.replace("slide: rest_of_week", "slide: sideways")
        .replace("area: service_zone/S", "area: service_zone/X")
        .replace("FREQ=WEEKLY;BYDAY=TU", "every tuesday")
        .replace("action: extra", "action: maybe")
    )
    (pack / "pickups.yaml").write_text(broken)
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"4 problem\(s\)"):
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    assert "pickups.yaml, line 5: holiday_rule slide must be one of" in report
    assert "south: no area 'service_zone/X'" in report
    assert "south trash: rule 'every tuesday' is not an RRULE" in report
    assert "action must be one of cancel, move, extra" in report
    assert not Route.objects.exists()
