"""The offline geocoder: Rosa (resident) and Omar (call taker) give locations the way people do.

The test city, with made-up but consistent coordinates:
- Brooklyn: DUMONT AVENUE runs east-west (numbers grow eastwards, evens on the north side),
  VAN SICLEN AVENUE runs north-south and crosses it at (40.6700, -73.8920); LIVONIA AVENUE runs
  parallel to Dumont 140 m north; a Brooklyn 5 AVENUE and EAST 58 STREET.
- Manhattan: 5 AVENUE runs north-south and meets WEST 24 STREET at (40.7425, -73.9890);
  ST MARKS PLACE.
- Queens: 41 AVENUE with hyphenated numbers.
- Places: Chandler Park, Brooklyn Public Library Central Library.
"""

from __future__ import annotations

import math

import pytest

from city311.demo import loader
from city311.geo import geocoding
from city311.geo.datasets import bump_version
from city311.geo.models import AddressPoint, Place
from city311.geo.normalize import normalise_number, normalise_street, number_value

DUMONT_CORNER = (40.6700, -73.8920)
FIFTH_AND_24TH = (40.7425, -73.9890)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dy = (a[0] - b[0]) * 110_574
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dx, dy)


def point(c: geocoding.Candidate) -> tuple[float, float]:
    return c.lat, c.long


def add(number: str, street: str, city: str, postcode: str, lat: float, long: float) -> None:
    AddressPoint.objects.create(
        source_id=f"t-{number}-{normalise_street(street)}-{city}".replace(" ", "_")[:60],
        number=number,
        street=street,
        street_key=normalise_street(street),
        city=city,
        postcode=postcode,
        lat=lat,
        long=long,
    )


def dumont(n: int) -> tuple[float, float]:
    """Where number n of Dumont Avenue stands."""
    return (40.67010 if n % 2 == 0 else 40.66990), -73.8960 + (n - 1300) * 0.00005


def load_city() -> None:
    # 1380 is missing (there is no such house); 1378 and 1386 are missing to be interpolated.
    for n in (1370, 1376, 1382, 1390, 1371, 1375, 1381, 1385):
        add(str(n), "DUMONT AVENUE", "Brooklyn", "11208", *dumont(n))
    for n in range(660, 722, 4):
        long = -73.8919 if n % 4 == 0 else -73.8921
        add(str(n), "VAN SICLEN AVENUE", "Brooklyn", "11207", 40.6650 + (n - 600) * 5e-5, long)
    for n in range(1360, 1400, 6):
        add(str(n), "LIVONIA AVENUE", "Brooklyn", "11207", 40.6713, -73.8960 + (n - 1300) * 5e-5)
    for n in range(200, 232, 3):
        long = -73.9889 if n % 2 else -73.9891
        add(str(n), "5 AVENUE", "Manhattan", "10010", 40.7400 + (n - 200) * 1e-4, long)
        add(str(n), "5 AVENUE", "Brooklyn", "11215", 40.6700 + (n - 200) * 1e-4, -73.9800)
    for n in range(1, 22):
        lat = 40.74255 if n % 2 else 40.74245
        add(str(n), "WEST  24 STREET", "Manhattan", "10010", lat, -73.9892 - n * 1e-4)
    add("952", "EAST 58 STREET", "Brooklyn", "11234", 40.631865, -73.920534)
    add("4", "ST MARKS PLACE", "Manhattan", "10003", 40.72912, -73.98915)
    add("100-26", "41 AVENUE", "Queens", "11368", 40.748189, -73.864537)
    add("100-40", "41 AVENUE", "Queens", "11368", 40.748260, -73.864100)
    Place.objects.create(
        name="Chandler Park", kind="park", aliases="Chandler Playground", lat=40.6661, long=-73.89
    )
    Place.objects.create(
        name="Brooklyn Public Library Central Library",
        kind="facility",
        aliases="Central Library,Grand Army Plaza Library",
        lat=40.672456,
        long=-73.968315,
    )
    bump_version("addresses", source="test", rows=AddressPoint.objects.count())
    bump_version("places", source="test", rows=2)


@pytest.fixture
def city(db, settings):
    settings.CITY311_GEO_RECHECK_SECONDS = 0
    # New York's rules (state, borough aliases, places outside) come from its city pack.
    loader.load_pack("nyc", sections=set())
    load_city()


def first(text: str) -> geocoding.Candidate:
    candidates = geocoding.geocode(text)
    assert candidates, f"nothing found for {text!r}"
    return candidates[0]


def exact_id(text: str) -> str:
    c = first(text)
    assert c.match == "address", (text, c)
    return c.address_id


# Normalising.


@pytest.mark.parametrize(
    "written, key",
    [
        ("W 24th St", "WEST 24 STREET"),
        ("west twenty-fourth street", "WEST 24 STREET"),
        ("WEST  24 STREET", "WEST 24 STREET"),
        ("5th Ave", "5 AVENUE"),
        ("Fifth Avenue", "5 AVENUE"),
        ("5 AVENUE", "5 AVENUE"),
        ("41st Avenue", "41 AVENUE"),
        ("Dumont Av.", "DUMONT AVENUE"),
        ("St. Marks Pl", "SAINT MARKS PLACE"),
        ("N 1st St", "NORTH 1 STREET"),
        ("Beach 116 St", "BEACH 116 STREET"),
        ("Ave N", "AVENUE N"),
        ("one hundred twenty-fifth st", "125 STREET"),
    ],
)
def test_it_normalises_streets_to_one_key(written, key):
    assert normalise_street(written) == key
    assert normalise_street(key) == key


def test_it_orders_house_numbers():
    assert normalise_number(" 100 - 26 ") == "100-26"
    assert number_value("12") == 12
    assert number_value("12") < number_value("12A") < number_value("12B") < number_value("13")
    assert number_value("100-26") < number_value("100-30") < number_value("101-02")
    assert number_value("rear") is None


# Addresses as people write them.


def test_it_finds_an_address_written_like_the_city_file(city):
    c = first("1382 DUMONT AVENUE, Brooklyn 11208")
    assert c.match == "address"
    assert c.address == "1382 Dumont Avenue, Brooklyn, NY 11208"
    assert c.address_id == AddressPoint.objects.get(number="1382").source_id
    assert metres(point(c), dumont(1382)) < 1
    assert c.confidence == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "1382 dumont avenue brooklyn",
        "1382 Dumont Ave",
        "1382 Dumont Av, Brooklyn NY 11208",
        "1382 DUMONT AV.",
        "1382 Dumont Avenue, Brooklyn, New York 11208",
        "1382 dumont ave bklyn",
    ],
)
def test_it_ignores_case_abbreviations_and_missing_zip(city, text):
    assert exact_id(text) == exact_id("1382 DUMONT AVENUE, Brooklyn 11208")


@pytest.mark.parametrize(
    "text",
    [
        "14 W 24th St",
        "14 West 24 Street",
        "14 west twenty-fourth street",
        "14 W. 24th St., New York, NY 10010",
        "14 WEST  24 STREET",
    ],
)
def test_it_reads_ordinals_in_digits_and_words(city, text):
    c = first(text)
    assert (c.match, c.address) == ("address", "14 West 24 Street, Manhattan, NY 10010")


def test_it_reads_fifth_avenue_every_way(city):
    ids = {exact_id(t) for t in ("203 5th Ave, Manhattan", "203 Fifth Avenue, Manhattan")}
    ids.add(exact_id("203 5 AVENUE, Manhattan"))
    assert len(ids) == 1


def test_it_uses_the_borough_to_choose_between_streets_of_one_name(city):
    assert first("203 5th Ave, Manhattan").city == "Manhattan"
    assert first("203 5th Ave, Brooklyn").city == "Brooklyn"
    assert first("203 5th Ave Brooklyn NY").city == "Brooklyn"
    assert first("203 Fifth Avenue, New York, NY").city == "Manhattan"


def test_it_uses_the_zip_to_choose_between_streets_of_one_name(city):
    assert first("203 5th Ave 11215").city == "Brooklyn"
    assert first("203 5th Ave 10010").city == "Manhattan"


def test_it_still_finds_an_address_with_a_wrong_zip_but_is_less_sure(city):
    right = first("1382 Dumont Ave, Brooklyn 11208")
    wrong = first("1382 Dumont Ave, Brooklyn 11201")
    assert wrong.address_id == right.address_id
    assert wrong.confidence < right.confidence


def test_it_trusts_the_borough_over_a_wrong_zip(city):
    assert first("203 5th Ave, Brooklyn, NY 10010").city == "Brooklyn"


@pytest.mark.parametrize(
    "text",
    [
        "1382 Dumont Ave Apt 4B",
        "1382 Dumont Ave #4B",
        "1382 Dumont Ave, Unit 3, Brooklyn",
        "1382 Dumont Ave Fl 2",
        "1382 Dumont Avenue, Apartment 12, Brooklyn NY 11208",
        "1382 Dumont Ave 3rd floor",
    ],
)
def test_it_ignores_units(city, text):
    assert exact_id(text) == exact_id("1382 Dumont Ave")
    assert first(text).confidence == 1.0


@pytest.mark.parametrize(
    "text", ["1382 Dumnot Avenue", "1382 Dumont Avneue", "1382 Dumontt Ave, Brooklyn"]
)
def test_it_forgives_small_typos_in_the_street(city, text):
    assert exact_id(text) == exact_id("1382 Dumont Ave")
    assert first(text).confidence < 1.0


def test_it_does_not_turn_one_numbered_street_into_another(city):
    assert all("24" in c.address for c in geocoding.geocode("14 W 25th St"))


def test_it_reads_queens_hyphenated_numbers(city):
    c = first("100-26 41st Avenue, Queens")
    assert (c.match, c.address) == ("address", "100-26 41 Avenue, Queens, NY 11368")
    assert first("100 - 26 41 Ave").address_id == c.address_id


def test_it_spells_out_saint(city):
    assert first("4 St. Marks Pl").match == "address"
    assert first("4 Saint Marks Place").match == "address"


def test_it_finds_the_street_when_the_type_is_missing(city):
    assert first("1382 Dumont").address_id == exact_id("1382 Dumont Ave")


# Numbers not in the file.


def test_it_interpolates_between_two_known_numbers_on_the_same_side(city):
    c = first("1386 Dumont Ave")
    assert c.match == "interpolated"
    assert c.address_id == ""
    assert c.address.startswith("1386 Dumont Avenue, Brooklyn")
    expected = (40.67010, (dumont(1382)[1] + dumont(1390)[1]) / 2)
    assert metres(point(c), expected) < 2
    assert c.confidence < first("1382 Dumont Ave").confidence


def test_it_interpolates_on_the_odd_side_from_odd_numbers(city):
    c = first("1379 Dumont Ave")
    assert c.match == "interpolated"
    assert c.lat == pytest.approx(40.66990)


def test_it_gives_the_street_with_low_confidence_when_a_number_cannot_be_placed(city):
    c = first("9000 Dumont Ave")
    assert c.match == "street"
    assert c.confidence <= 0.5
    assert c.address.startswith("9000 Dumont Avenue")


def test_it_gives_the_street_when_no_number_is_given(city):
    c = first("Dumont Avenue, Brooklyn")
    assert (c.match, c.city) == ("street", "Brooklyn")


# Intersections.


@pytest.mark.parametrize(
    "text",
    [
        "Dumont and Van Siclen",
        "Dumont Ave & Van Siclen Ave",
        "Dumont Ave / Van Siclen Ave",
        "Dumont Av at Van Siclen Av",
        "Dumont @ Van Siclen",
        "corner of Dumont Avenue and Van Siclen Avenue",
        "the corner of dumont & van siclen",
        "Dumont and Van Siclen, Brooklyn",
        "DUMONT AVENUE & VAN SICLEN AVENUE, BROOKLYN NY 11208",
        "Van Siclen and Dumont",
    ],
)
def test_it_finds_where_two_streets_meet_however_phrased(city, text):
    c = first(text)
    assert c.match == "intersection"
    assert metres(point(c), DUMONT_CORNER) < 15
    assert c.city == "Brooklyn"


def test_it_finds_a_corner_of_numbered_streets(city):
    c = first("corner of 5th ave & w 24th st")
    assert c.match == "intersection"
    assert metres(point(c), FIFTH_AND_24TH) < 15
    assert c.address.startswith("5 Avenue & West 24 Street, Manhattan")


def test_it_does_not_make_parallel_streets_meet(city):
    assert [c for c in geocoding.geocode("Dumont and Livonia") if c.match == "intersection"] == []


# Places.


@pytest.mark.parametrize(
    "text", ["Chandler Park", "chandler park", "Chandler Playground", "Chandlr Park", "Chandler"]
)
def test_it_finds_named_places_and_their_aliases(city, text):
    c = first(text)
    assert (c.match, c.address) == ("place", "Chandler Park")
    assert (c.lat, c.long) == (40.6661, -73.89)


def test_it_finds_a_place_by_its_short_name(city):
    assert first("the Central Library").address == "Brooklyn Public Library Central Library"


# Garbage.


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "asdfghjkl",
        "!!!???",
        "12345",
        "1382",
        "11208",
        "ñandú 🚀 ☃",
        "x" * 10_000,
        "and & and / at",
        "\x00\x01",
        "Apt 4B",
        "NY 11208",
    ],
)
def test_it_returns_nothing_for_garbage(city, text):
    assert geocoding.geocode(text) == []


def test_it_handles_odd_text_without_tripping_over_it(city, caplog):
    # geocode() catches and logs rather than raise; nothing should get that far.
    for text in ["1382 " * 500, "-" * 300, "#" * 50, "100-26-99 41 ave", "1/2 Dumont", "@&/"]:
        geocoding.geocode(text)
        geocoding.autocomplete(text)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


# Reverse.


def test_it_reverse_geocodes_to_the_nearest_address_point(city):
    c = geocoding.reverse(40.67012, -73.89188)
    assert c is not None
    assert c.address_id == exact_id("1382 Dumont Ave")
    assert c.distance_m is not None and c.distance_m < 5


def test_it_reverse_geocodes_far_away_points_with_their_distance(city):
    c = geocoding.reverse(40.90, -73.90)
    assert c is not None and c.distance_m is not None and c.distance_m > 10_000


def test_it_reverse_geocodes_to_nothing_when_there_are_no_addresses(db, settings):
    settings.CITY311_GEO_RECHECK_SECONDS = 0
    bump_version("addresses", source="empty", rows=0)
    assert geocoding.reverse(40.67, -73.89) is None
    assert geocoding.geocode("1382 Dumont Ave") == []


# Autocomplete.


def test_it_suggests_addresses_as_a_number_and_street_are_typed(city):
    suggestions = geocoding.autocomplete("1382 dum")
    assert suggestions[0].address == "1382 Dumont Avenue, Brooklyn, NY 11208"
    assert suggestions[0].match == "address"


def test_it_suggests_streets_as_a_street_is_typed(city):
    suggestions = geocoding.autocomplete("dumont av")
    assert [(s.address, s.match) for s in suggestions][:1] == [
        ("Dumont Avenue, Brooklyn, NY 11208", "street")
    ]


def test_it_suggests_streets_by_a_later_word(city):
    assert any(s.address.startswith("Van Siclen") for s in geocoding.autocomplete("siclen"))


def test_it_suggests_places(city):
    assert [s.address for s in geocoding.autocomplete("chandl")] == ["Chandler Park"]


def test_it_suggests_nothing_for_one_letter(city):
    assert geocoding.autocomplete("d") == []


# The index follows the database.


def test_it_sees_new_addresses_after_an_import_bumps_the_version(city):
    assert all(c.match != "address" for c in geocoding.geocode("1378 Dumont Ave"))
    add("1378", "DUMONT AVENUE", "Brooklyn", "11208", *dumont(1378))
    bump_version("addresses", source="test", rows=AddressPoint.objects.count())
    assert first("1378 Dumont Ave").match == "address"


def test_it_keeps_its_index_until_the_recheck_interval_passes(city, settings):
    geocoding.geocode("1382 Dumont Ave")  # checked just now, with the interval at 0
    settings.CITY311_GEO_RECHECK_SECONDS = 3600
    add("1378", "DUMONT AVENUE", "Brooklyn", "11208", *dumont(1378))
    bump_version("addresses", source="test", rows=AddressPoint.objects.count())
    assert first("1378 Dumont Ave").match == "interpolated"


def test_it_reads_only_the_current_version_of_the_addresses(city):
    # An import in progress has written the next version beside the current one.
    AddressPoint.objects.create(
        number="1378",
        street="DUMONT AVENUE",
        street_key="DUMONT AVENUE",
        city="Brooklyn",
        postcode="11208",
        lat=dumont(1378)[0],
        long=dumont(1378)[1],
        version=99,
    )
    assert first("1378 Dumont Ave").match == "interpolated"


# The city's rules (its pack's `geocoder` section): places outside, the part of the city typed.


def test_a_place_outside_the_city_is_not_offered_streets_inside_it(city):
    add("10", "MAIN STREET", "Manhattan", "10044", 40.7615, -73.9505)
    assert first("10 Main St, Manhattan").city == "Manhattan"
    for outside in ("10 Main St, Hoboken NJ", "10 Main St Hoboken", "10 Main Street, NJ 07030"):
        assert geocoding.geocode(outside) == [], outside
        assert geocoding.get_index().is_outside(outside), outside


def test_a_street_named_like_a_place_outside_is_still_a_street(city):
    add("12", "NEW JERSEY AVENUE", "Brooklyn", "11207", 40.672, -73.893)
    assert first("12 New Jersey Avenue, Brooklyn").city == "Brooklyn"


def test_autocomplete_keeps_suggesting_once_the_borough_is_typed(city):
    for typed in ("1382 Dumont Ave, Brooklyn", "1382 dumont, bk", "1382 Dumont Ave Brooklyn"):
        suggestions = geocoding.autocomplete(typed)
        assert suggestions, typed
        assert suggestions[0].address.startswith("1382 Dumont Avenue, Brooklyn"), typed


def test_autocomplete_narrows_to_the_borough_typed(city):
    suggestions = geocoding.autocomplete("205 5th Ave, Manhattan")
    assert suggestions and all(s.city == "Manhattan" for s in suggestions)


def test_a_city_with_other_rules_reads_addresses_its_own_way(db):
    """Nothing of New York is left in the geocoder: a city's aliases and state are its data."""
    from city311.cities.models import City, CityAlias

    city = City.objects.create(
        name="Springfield",
        time_zone="America/Chicago",
        map_lat=39.78,
        map_long=-89.65,
        states="IL",
        state_names="Illinois",
        outside_names="Chatham",
    )
    CityAlias.objects.create(city=city, alias="SPFD", part="Springfield")
    add("300", "MONROE STREET", "Springfield", "62701", 39.8, -89.65)
    bump_version("addresses", source="test", rows=1)
    assert first("300 Monroe St, SPFD, Illinois 62701").address == (
        "300 Monroe Street, Springfield, IL 62701"
    )
    assert geocoding.geocode("300 Monroe St, Chatham IL") == []
    # New York's names mean nothing here.
    assert geocoding.geocode("300 Monroe St, Hoboken NJ")[0].city == "Springfield"
