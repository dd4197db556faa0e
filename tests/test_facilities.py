"""Facilities, their hours, events and City today: through the pages, the feeds and the API.

Rosa (a resident) wants to know whether the pool near her is open; her calendar app follows
the city's events; Ines edits the facilities in the admin. The demo city's facilities are the
data: 48 places with seasons, holiday rules and dated exceptions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib
import pytest
from django.utils import timezone, translation
from icalendar import Calendar

from city311.catalog.models import Holiday
from city311.demo import loader
from city311.facilities import holidaynames, hours, queries
from city311.facilities.documents import documents, open_now_text
from city311.facilities.models import Event, Facility, HolidayRule, HoursException, Notice
from city311.lib import openinghours as engine

NY = ZoneInfo("America/New_York")


@pytest.fixture
def demo(db):
    loader.load_pack("nyc", sections={"facilities", "events"})


# "Open now?" against a computation written here, apart from the engine.


def _independent_spans(
    f: Facility, day: date, region: holidays_lib.HolidayBase, own: dict
) -> list[tuple[time, time]]:
    """The facility's open spans on `day`, read from its rows by the rules the docs state:
    an exception wins; then a public holiday (unless the facility keeps usual hours); then
    for each weekday, the rules of a season the day falls in, else the all-year rules."""
    exceptions = [x for x in f.exceptions.all() if x.first_day <= day <= x.last_day]
    if exceptions:
        x = exceptions[-1]
        return [] if x.closed else [(x.opens, x.closes)]
    is_holiday = own.get(day, day in region)
    if is_holiday and f.holiday_rule != HolidayRule.USUAL:
        if f.holiday_rule == HolidayRule.CLOSED:
            return []
        return [(f.holiday_opens, f.holiday_closes)]
    seasonal: list[tuple[time, time]] = []
    spans: list[tuple[time, time]] = []
    for r in f.rules.all():
        days = [(r.first_day + n) % 7 for n in range((r.last_day - r.first_day) % 7 + 1)]
        if day.weekday() not in days:
            continue
        if r.season:
            a, b = r.season.split("..")
            first, last = tuple(map(int, a.split("-"))), tuple(map(int, b.split("-")))
            key = (day.month, day.day)
            inside = first <= key <= last if first <= last else (key >= first or key <= last)
            if inside:
                seasonal.append((r.opens, r.closes))
        else:
            spans.append((r.opens, r.closes))
    # A season's rules replace the all-year hours of the weekdays they name.
    return seasonal or spans


def _open_in(
    spans: list[tuple[time, time]], moment: time, yesterday: list[tuple[time, time]] = ()
) -> bool:
    """Open at `moment` by the day's spans (one closing before it opens goes on past midnight),
    or by the night before's span going on past midnight."""
    if any(c != time(0) and c < o and moment < c for o, c in yesterday):
        return True
    return any(o <= moment and (c == time(0) or c < o or moment < c) for o, c in spans)


def test_open_now_is_right_for_every_quarter_hour_of_two_years_at_every_demo_facility(demo):
    Holiday.objects.create(date=date(2027, 3, 17), name="City day off", closed=True)
    Holiday.objects.create(date=date(2027, 11, 2), name="Election Day worked", closed=False)
    own = dict(Holiday.objects.values_list("date", "closed"))
    region = holidays_lib.country_holidays("US", subdiv="NY", years=range(2026, 2029))
    facilities = list(queries.facilities())
    assert len(facilities) >= 40
    first = date(2026, 12, 1)
    checked = disagreements = 0
    for f in facilities:
        schedule = hours.schedule_for(f)
        yesterday = _independent_spans(f, first - timedelta(days=1), region, own)
        for n in range(365 * 2):
            day = first + timedelta(days=n)
            spans = _independent_spans(f, day, region, own)
            for quarter in range(96):
                moment = time(quarter // 4, quarter % 4 * 15)
                expected = _open_in(spans, moment, yesterday)
                at = datetime.combine(day, moment)
                if engine.is_open(schedule, at) != expected:
                    disagreements += 1
                checked += 1
            yesterday = spans
    assert checked == len(facilities) * 730 * 96
    assert disagreements == 0


def test_the_answers_read_the_holiday_season_and_exception_rules(demo):
    pool = queries.facilities().get(slug="mccarren-park-pool")
    library = queries.facilities().get(slug="seward-park-library")
    rec = queries.facilities().get(slug="chelsea-recreation-center")
    winter = datetime(2027, 1, 12, 12, 0, tzinfo=NY)
    assert (
        hours.status(pool, winter).text
        == "Closed for the season. Opens Saturday June 26 at 11 a.m."
    )
    summer_gap = datetime(2027, 7, 6, 15, 30, tzinfo=NY)
    assert hours.status(pool, summer_gap).text == "Closed now. Opens today at 4 p.m."
    heat = datetime(2027, 7, 21, 20, 0, tzinfo=NY)
    assert hours.status(pool, heat).text == "Open now until 9 p.m."
    assert hours.status(library, datetime(2026, 12, 3, 12, 0, tzinfo=NY)).text == (
        "Closed today: Elevator replacement. Opens Monday at 10 a.m."
    )
    christmas = datetime(2026, 12, 25, 9, 0, tzinfo=NY)
    assert hours.status(library, christmas).text.startswith("Closed today for Christmas Day.")
    assert hours.status(rec, christmas).text == "Closed now. Opens today at 10 a.m."
    # "Open Saturday at 7 pm?"
    saturday_7pm = datetime(2027, 1, 16, 19, 0, tzinfo=NY)
    assert not engine.is_open(hours.schedule_for(rec), saturday_7pm)
    assert engine.next_opening(hours.schedule_for(rec), saturday_7pm) == datetime(
        2027, 1, 17, 9, 0, tzinfo=NY
    )


def test_hours_past_midnight_belong_to_the_night_they_start(demo):
    """Brownsville's late-night gym: Friday and Saturday until 2 a.m., New Year's Eve until 3."""
    rec = queries.facilities().get(slug="brownsville-recreation-center")
    schedule = hours.schedule_for(rec)
    friday_late = datetime(2027, 1, 15, 23, 30, tzinfo=NY)
    assert hours.status(rec, friday_late).text == "Open now until tomorrow at 2 a.m."
    saturday_small_hours = datetime(2027, 1, 16, 1, 45, tzinfo=NY)
    assert engine.is_open(schedule, saturday_small_hours)
    assert not engine.is_open(schedule, datetime(2027, 1, 16, 2, 0, tzinfo=NY))
    # Thursday night closes at 10 p.m.: nothing goes on into Friday morning.
    assert not engine.is_open(schedule, datetime(2027, 1, 15, 1, 0, tzinfo=NY))
    # The Saturday it is closed for a repair, Friday's night still runs to 2 a.m.
    assert engine.is_open(schedule, datetime(2027, 1, 9, 1, 0, tzinfo=NY))
    assert not engine.is_open(schedule, datetime(2027, 1, 9, 10, 0, tzinfo=NY))
    # New Year's Eve runs into the new year, whose holiday hours follow.
    assert engine.is_open(schedule, datetime(2027, 1, 1, 2, 30, tzinfo=NY))
    assert engine.next_change(schedule, datetime(2026, 12, 31, 23, 0, tzinfo=NY)) == datetime(
        2027, 1, 1, 3, 0, tzinfo=NY
    )
    friday = engine.day_hours(schedule, date(2027, 1, 15))
    assert hours.spans_text(friday.spans) == "7 a.m. \N{EN DASH} 2 a.m."
    saturday = engine.day_hours(schedule, date(2027, 1, 16))
    assert hours.spans_text(saturday.spans) == "9 a.m. \N{EN DASH} 2 a.m."


def test_the_engine_takes_any_weekly_description_not_only_a_facility():
    """The call centre's own hours will be described the same way."""
    desk = engine.Schedule(
        rules=(engine.Rule(frozenset(range(5)), (engine.Span(time(8), time(17)),)),),
        zone="America/Chicago",
        holidays="US",
        exceptions=(engine.Exception_(date(2027, 1, 4), date(2027, 1, 4), (), "Training day"),),
    )
    assert engine.is_open(desk, datetime(2027, 1, 5, 16, 59, tzinfo=ZoneInfo("America/Chicago")))
    assert not engine.is_open(desk, datetime(2027, 1, 1, 9, 0))  # New Year's Day
    assert not engine.is_open(desk, datetime(2027, 1, 4, 9, 0))  # the exception
    assert engine.next_change(desk, datetime(2027, 1, 1, 9, 0)) == datetime(
        2027, 1, 5, 8, 0, tzinfo=ZoneInfo("America/Chicago")
    )
    assert "2027 Jan 01 off" in engine.expression(desk, range(2027, 2028))
    with pytest.raises(engine.HoursError, match="closing time must differ"):
        engine.Span(time(17), time(17))
    assert engine.Span(time(17), time(8)).overnight


# Pages.


def test_rosa_finds_the_pools_and_whether_each_is_open(demo, client):
    page = client.get("/facilities/?kind=pool")
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('data-facility="') == 12
    assert "McCarren Park Pool" in text and "Mid-Manhattan Library" not in text
    assert "Open now" in text or "Closed" in text


def test_the_nearest_pool_comes_first_near_an_address(demo, client):
    loader.load_pack("nyc", sections={"places"})
    listed = queries.listed(kind="pool", near=(40.7210, -73.9500))
    assert listed[0].facility.slug == "mccarren-park-pool"
    assert listed[0].distance_m is not None and listed[0].distance_m < 200
    page = client.get("/facilities/", {"kind": "pool", "near": "Nowhere Such Place 99999"})
    assert page.status_code == 200
    assert "We could not find" in page.content.decode()


def test_a_question_about_a_kind_of_place_gets_the_nearest_one_with_its_hours(demo, client):
    from city311.facilities.answers import kind_asked

    assert kind_asked("is the pool open today?") == "pool"
    assert kind_asked("¿Está abierta la biblioteca el sábado?") == "library"
    assert kind_asked("there's a pothole on my street") == ""
    card = client.get("/facilities/answer", {"q": "Is the pool open today?"})
    assert card.status_code == 200
    assert 'data-facility="' in card.content.decode() and "Today" in card.content.decode()
    spanish = client.get(
        "/facilities/answer", {"q": "¿está abierta la piscina?"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Piscina" in spanish and "Hoy" in spanish
    assert client.get("/facilities/answer", {"q": "a pothole"}).status_code == 404


def test_the_home_pages_search_answers_is_the_pool_open_with_the_nearest_pool(demo, client):
    loader.load_pack("nyc", sections={"places"})
    asked = client.get("/report/", {"q": "is the pool open today?"}).content.decode()
    assert 'data-testid="place-answer"' in asked and "Today:" in asked
    near = client.get(
        "/report/", {"q": "is the pool open today?", "near": "McCarren Park"}
    ).content.decode()
    assert 'data-facility="mccarren-park-pool"' in near
    assert "The nearest place to “McCarren Park” and its hours" in near
    spanish = client.get(
        "/report/", {"q": "¿está abierta la piscina hoy?"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Hoy:" in spanish and "Buscar el más cercano" in spanish
    lost = client.get("/report/", {"q": "is the pool open", "near": "Nowhere Such Place 99999"})
    assert "We could not find" in lost.content.decode()
    pothole = client.get("/report/", {"q": "pothole"}).content.decode()
    assert 'data-testid="place-answer"' not in pothole


def test_a_facility_page_shows_today_the_week_the_coming_changes_and_a_map(demo, client):
    page = client.get("/facilities/flushing-library/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Hours this week" in text and "Today" in text
    assert "Boiler repair" in text or "Coming changes" in text
    assert 'data-map data-lat="40.759300"' in text
    assert "Open now?" in text


def test_the_facility_page_speaks_spanish(demo, client):
    page = client.get("/facilities/central-library-brooklyn/", HTTP_ACCEPT_LANGUAGE="es")
    text = page.content.decode()
    assert "Biblioteca Central, Grand Army Plaza" in text
    assert "Horario de esta semana" in text
    assert "Sala infantil" in text


def test_a_facility_that_does_not_exist_is_a_404(demo, client):
    assert client.get("/facilities/no-such-place/").status_code == 404


def test_events_are_listed_and_searchable(demo, client):
    page = client.get("/events/").content.decode()
    assert page.count("<time") >= 20
    found = client.get("/events/", {"q": "chess"}).content.decode()
    assert "Chess club" in found and "Zumba" not in found
    sports = client.get("/events/", {"category": "sports"}).content.decode()
    assert "Zumba" in sports and "Chess club" not in sports
    spanish = client.get("/events/", {"q": "ajedrez"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Club de ajedrez" in spanish


def test_twenty_events_take_place_in_the_coming_weeks(demo):
    from city311.facilities.events import upcoming

    soon = upcoming(list(queries.events()), timezone.now(), 28)
    assert len({o.event.slug for o in soon}) >= 20


def test_an_event_page_lists_its_next_dates(demo, client):
    page = client.get("/events/chess-club/").content.decode()
    assert page.count("<time") == 8
    assert "St. George Library Center" in page


# Calendar feeds.


def _calendar(response) -> Calendar:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _uids(cal: Calendar) -> set[str]:
    return {str(e["UID"]) for e in cal.walk("VEVENT")}


def test_the_events_feed_validates_and_keeps_every_uid_when_regenerated(demo, client):
    cal = _calendar(client.get("/events.ics"))
    assert str(cal["REFRESH-INTERVAL"].to_ical().decode()) == "P1D"
    assert str(cal["METHOD"]) == "PUBLISH"
    first = _uids(cal)
    assert len(first) == Event.objects.count() == 25
    event = Event.objects.get(slug="chess-club")
    event.title = "Chess and checkers club"
    event.save()
    again = _calendar(client.get("/events.ics"))
    assert _uids(again) == first
    chess = next(e for e in again.walk("VEVENT") if str(e["UID"]).startswith("event-chess-club@"))
    assert str(chess["SUMMARY"]) == "Chess and checkers club"
    assert chess["RRULE"]["FREQ"] == ["WEEKLY"]


def test_feeds_per_category_and_per_facility(demo, client):
    sports = _calendar(client.get("/events/category/sports.ics"))
    assert {str(e["SUMMARY"]) for e in sports.walk("VEVENT")} >= {"Zumba", "Teen basketball night"}
    assert all(
        "sports" in e["CATEGORIES"].to_ical().decode().lower() for e in sports.walk("VEVENT")
    )
    place = _calendar(client.get("/facilities/st-george-library-center/events.ics"))
    assert [str(e["SUMMARY"]) for e in place.walk("VEVENT")] == ["Chess club"]
    assert client.get("/events/category/nonsense.ics").status_code == 404


def test_a_feed_is_cacheable(demo, client):
    first = client.get("/events.ics")
    assert first["ETag"] and first["Last-Modified"]
    assert "max-age" in first["Cache-Control"]
    again = client.get("/events.ics", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert first.content == client.get("/events.ics").content


# City today.


def test_city_today_lists_closures_notices_holidays_and_events(demo, client):
    payload = client.get("/today.json", {"date": "2026-12-25"}).json()
    kinds = [i["kind"] for i in payload["items"]]
    titles = " | ".join(i["title"] for i in payload["items"])
    assert kinds[0] == "holiday"
    assert "Public holiday: Christmas Day" in titles
    assert "No trash or recycling collection" in titles
    assert "Alternate-side parking suspended" in titles
    assert "event" in kinds
    day = client.get("/today/", {"date": "2026-12-03"}).content.decode()
    assert "Seward Park Library is closed" in day
    assert "Heat season" in day


def test_city_today_in_spanish(demo, client):
    day = client.get("/today/", {"date": "2026-12-24"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Nochebuena: cierra temprano" in day


def test_holidays_are_named_in_the_pages_language(demo, client):
    day = client.get("/today/", {"date": "2026-12-25"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Navidad" in day
    assert "Christmas" not in day
    library = queries.facilities().get(slug="seward-park-library")
    with translation.override("es"):
        christmas = datetime(2026, 12, 25, 9, 0, tzinfo=NY)
        assert "Navidad" in hours.status(library, christmas).text
    page = client.get(
        "/facilities/seward-park-library/", HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Christmas" not in page
    # A weekday off in lieu of a weekend holiday says so.
    observed = client.get("/today.json", {"date": "2027-12-24"}, HTTP_ACCEPT_LANGUAGE="es")
    titles = [i["title"] for i in observed.json()["items"]]
    assert "Feriado: Navidad (día de descanso)" in titles, titles
    english = client.get("/today/", {"date": "2026-12-25"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Public holiday: Christmas Day" in english.content.decode()


def test_a_country_the_holidays_package_names_in_the_language_gets_its_names():
    # Mexico's holidays in Spanish and Brazil's in Portuguese, as the package has them.
    assert (
        holidaynames.localized("Christmas Day", region="MX", day=date(2026, 12, 25), language="es")
        == "Navidad"
    )
    assert (
        holidaynames.localized(
            "Christmas Day", region="BR", day=date(2026, 12, 25), language="pt-br"
        )
        == "Natal"
    )


def test_city_today_refuses_a_bad_date(demo, client):
    response = client.get("/today.json", {"date": "25/12/2026"})
    assert response.status_code == 400
    assert "YYYY-MM-DD" in response.json()["error"]
    assert client.get("/today/", {"date": "tomorrow"}).status_code == 400


def test_city_today_as_icalendar_and_rss_keeps_its_uids(demo, client):
    cal = _calendar(client.get("/today.ics"))
    uids = _uids(cal)
    assert len(uids) > 30
    assert _uids(_calendar(client.get("/today.ics"))) == uids
    rss = client.get("/today.rss")
    assert rss.status_code == 200
    root = ET.fromstring(rss.content)
    items = root.findall("./channel/item")
    assert len(items) == 39
    coverage = items[0].find("{http://purl.org/dc/elements/1.1/}coverage")
    assert coverage is not None and len(coverage.text) == 10


# The API (Open311 Inquiry v1's facilities, with structured hours).


def test_the_facility_list_in_inquiry_shape(demo, client):
    everything = client.get("/api/inquiry/v1/facilities/all.json").json()
    assert len(everything) == 48
    assert set(everything[0]) == {"id", "facility_name", "expiration", "type", "brief_description"}
    pools = client.get("/api/inquiry/v1/facilities/pool.json").json()
    assert {p["type"] for p in pools} == {"Pool"} and len(pools) == 12


def test_one_facility_with_displayed_and_structured_hours(demo, client):
    [f] = client.get("/api/inquiry/v1/facilities/chelsea-recreation-center.json").json()
    assert f["facility_name"] == "Chelsea Recreation Center"
    assert f["features"][0] == {"feature_name": "Gym"}
    assert len(f["hours"]) == 7 and "displayed_hours" in f
    assert isinstance(f["open_now"], bool)
    assert "Mo 07:00-22:00" in f["opening_hours"]
    assert f["lat"] == 40.7482


def test_an_unknown_facility_is_a_404_that_says_what_to_ask_for(demo, client):
    response = client.get("/api/inquiry/v1/facilities/atlantis.json")
    assert response.status_code == 404
    assert "use all, one of pool" in response.json()["error"]


# The search seam.


def test_documents_cover_every_facility_and_event_in_both_languages(demo):
    docs = list(documents())
    assert len(docs) == (48 + 25) * 2
    assert set(docs[0]) == {"kind", "key", "language", "title", "body", "url", "audience"}
    spanish = {d["title"] for d in docs if d["language"] == "es" and d["kind"] == "facility"}
    assert "Piscina del Parque McCarren" in spanish
    assert {d["audience"] for d in docs} == {"public"}
    assert open_now_text("mccarren-park-pool")
    assert open_now_text("nope") == ""


# The city pack.


def test_a_bad_facilities_file_is_refused_with_its_line(db, tmp_path):
    from city311.cities.pack.reader import read_pack

    (tmp_path / "city.yaml").write_text(
        (loader.pack_folder("nyc") / "city.yaml").read_text().replace("logo: branding/logo.svg", "")
    )
    (tmp_path / "facilities.yaml").write_text(
        "facilities:\n"
        "- slug: pool\n  name: Pool\n  kind: pool\n  address: 1 Main St\n"
        "  hours:\n  - {days: Mo-Xx, opens: '09:00', closes: '17:00'}\n"
        "- slug: gym\n  name: Gym\n  kind: gymnasium\n  address: 2 Main St\n"
    )
    pack = read_pack(tmp_path)
    found = [str(p) for p in pack.problems.found]
    assert any("facilities.yaml" in p and "Mo-Xx" in p for p in found)
    assert any("kind must be one of" in p for p in found)


def test_the_demo_facilities_go_round_export_and_import(demo, tmp_path):
    from django.core.management import call_command

    call_command("export_city", str(tmp_path / "a"), stdout=None)
    exported = (tmp_path / "a" / "facilities.yaml").read_text()
    Facility.objects.all().delete()
    Event.objects.all().delete()
    Notice.objects.all().delete()
    call_command("import_city", str(tmp_path / "a"), stdout=None)
    assert Facility.objects.count() == 48 and Event.objects.count() == 25
    assert HoursException.objects.filter(reason="Roof repairs").exists()
    call_command("export_city", str(tmp_path / "b"), stdout=None)
    assert (tmp_path / "b" / "facilities.yaml").read_text() == exported
    assert (tmp_path / "b" / "events.yaml").read_text() == (
        tmp_path / "a" / "events.yaml"
    ).read_text()


# Editors.


def test_ines_edits_a_facility_and_its_hours_in_the_admin(demo, client, admin_user):
    client.force_login(admin_user)
    f = Facility.objects.get(slug="lyons-pool")
    assert client.get(f"/admin/facilities/facility/{f.pk}/change/").status_code == 200
    assert client.get("/admin/facilities/event/").status_code == 200
    assert client.get("/admin/facilities/notice/").status_code == 200
