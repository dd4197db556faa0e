"""Corners as people say them: "Dumont and Van Siclen", from the city's file of known corners."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from city311.geo import geocoding
from city311.geo.models import Intersection
from tests import small_city

CORNER = (40.67, -73.925)


@pytest.fixture
def city(tmp_path, db):
    small_city.load(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "text",
    [
        "Dumont and Van Siclen",
        "dumont ave & van siclen ave",
        "corner of Dumont Avenue and Van Siclen Avenue",
        "Van Siclen Av / Dumont Av, Brooklyn",
        "Dumont and Van Sicklen",
    ],
)
def test_it_finds_a_known_corner_however_it_is_said(city, text):
    best = geocoding.geocode(text)[0]
    assert best.match == "intersection"
    assert (round(best.lat, 4), round(best.long, 4)) == CORNER
    assert "Dumont Avenue & Van Siclen Avenue" in best.address


def test_it_reports_bad_rows_of_an_intersections_file(city):
    path = city / "bad.csv"
    path.write_text(
        "STREET1,STREET2,CITY,LAT,LON\nA ST,,X,40.6,-73.9\nA ST,B ST,X,north,-73.9\n"
        "A ST,B ST,X,40.6,-73.9\n"
    )
    out, err = StringIO(), StringIO()
    call_command("import_intersections", str(path), stdout=out, stderr=err)
    assert "Imported 1 intersections." in out.getvalue()
    assert "line 2: STREET1 and STREET2 are both needed" in err.getvalue()
    assert "line 3: LAT 'north' is not a number" in err.getvalue()
    assert Intersection.objects.get().key1 == "A STREET"


def test_a_file_with_wrong_columns_keeps_the_old_corners(city):
    path = city / "wrong.csv"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(CommandError, match="has no STREET1, STREET2, LAT, LON column"):
        call_command("import_intersections", str(path))
    assert Intersection.objects.count() == 1
