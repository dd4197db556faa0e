import gzip
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from city311.geo.models import AddressPoint, Boundary, GeoDataset, Place
from tests import small_city


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
class TestImportAddresses:
    def test_it_loads_an_openaddresses_csv(self, tmp_path):
        out, _ = run("import_addresses", str(small_city.write_addresses(tmp_path / "a.csv")))
        assert "Imported 75 address points." in out
        point = AddressPoint.objects.get(source_id="dumont-1382")
        assert (point.number, point.street_key, point.postcode) == (
            "1382",
            "DUMONT AVENUE",
            "11208",
        )

    def test_it_loads_a_gzipped_csv(self, tmp_path):
        plain = small_city.write_addresses(tmp_path / "a.csv")
        packed = tmp_path / "a.csv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        out, _ = run("import_addresses", str(packed))
        assert "Imported 75 address points." in out

    def test_it_loads_geojson_points(self, tmp_path):
        path = small_city.write_geojson(
            tmp_path / "a.geojson",
            [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-73.93, 40.67]},
                    "properties": {"number": "12", "street": "Main St", "id": "m12"},
                },
            ],
        )
        out, _ = run("import_addresses", str(path))
        assert "Imported 1 address points." in out
        assert AddressPoint.objects.get().street_key == "MAIN STREET"

    def test_bad_rows_are_reported_with_their_line_numbers_and_the_rest_load(self, tmp_path):
        path = tmp_path / "a.csv"
        path.write_text(
            "LON,LAT,NUMBER,STREET,UNIT,CITY,POSTCODE,ID\n"
            "-73.93,40.67,1,MAIN STREET,,,,a\n"
            "-73.93,north,2,MAIN STREET,,,,b\n"
            "-73.93,40.67,,MAIN STREET,,,,c\n"
            "-273.93,40.67,4,MAIN STREET,,,,d\n"
            "-73.93,40.67,5,,,,,e\n"
        )
        out, err = run("import_addresses", str(path))
        assert "Imported 1 address points." in out
        assert "line 3: LAT 'north' is not a number" in err
        assert "line 4: NUMBER is empty" in err
        assert "line 5: LON -273.93 is outside -180..180" in err
        assert "line 6: STREET is empty" in err

    def test_a_file_with_wrong_columns_changes_nothing(self, tmp_path):
        run("import_addresses", str(small_city.write_addresses(tmp_path / "a.csv")))
        wrong = tmp_path / "b.csv"
        wrong.write_text("x,y,house,road\n-73.9,40.6,1,Main\n")
        with pytest.raises(CommandError, match="has no LON, LAT, NUMBER, STREET column"):
            run("import_addresses", str(wrong))
        version = GeoDataset.objects.get(name="addresses").version
        assert AddressPoint.objects.filter(version=version).count() == 75

    def test_an_empty_file_changes_nothing(self, tmp_path):
        run("import_addresses", str(small_city.write_addresses(tmp_path / "a.csv")))
        empty = tmp_path / "empty.csv"
        empty.write_text("")
        with pytest.raises(CommandError, match="is empty"):
            run("import_addresses", str(empty))
        assert AddressPoint.objects.count() == 75

    def test_a_file_of_only_bad_rows_changes_nothing(self, tmp_path):
        run("import_addresses", str(small_city.write_addresses(tmp_path / "a.csv")))
        bad = tmp_path / "bad.csv"
        bad.write_text("LON,LAT,NUMBER,STREET\nx,y,1,Main\n")
        with pytest.raises(CommandError, match="no usable address; nothing was changed"):
            run("import_addresses", str(bad))
        assert AddressPoint.objects.count() == 75

    def test_a_missing_file_says_so(self, tmp_path):
        with pytest.raises(CommandError, match="There is no file"):
            run("import_addresses", str(tmp_path / "nope.csv"))

    def test_reimporting_replaces_the_old_addresses(self, tmp_path):
        run("import_addresses", str(small_city.write_addresses(tmp_path / "a.csv")))
        run("import_addresses", str(small_city.write_addresses(tmp_path / "b.csv", skip=(1300,))))
        assert AddressPoint.objects.count() == 74
        assert GeoDataset.objects.get(name="addresses").version == 2


@pytest.mark.django_db
class TestImportBoundaries:
    def test_it_loads_polygons_of_a_kind(self, tmp_path):
        small_city.load(tmp_path)
        zones = Boundary.objects.filter(kind="service_zone").order_by("code")
        assert [(z.code, z.name) for z in zones] == [("N", "North zone"), ("S", "South zone")]

    def test_broken_geometry_is_reported_and_the_rest_load(self, tmp_path):
        path = small_city.write_geojson(
            tmp_path / "z.geojson",
            [
                small_city.feature("Good", small_city.square(-74, 40.6, -73.9, 40.7)),
                small_city.feature("Point", {"type": "Point", "coordinates": [-73.9, 40.6]}),
                small_city.feature("Broken", {"type": "Polygon", "coordinates": [[[1, 2], "x"]]}),
                {"type": "Feature", "properties": {}, "geometry": small_city.square(0, 0, 1, 1)},
            ],
        )
        out, err = run("import_boundaries", str(path), kind="council_district")
        assert "Imported 1 areas of kind council_district." in out
        assert "feature 2: Point: is a Point, not a Polygon or MultiPolygon" in err
        assert "feature 3: Broken: has broken coordinates" in err
        assert "feature 4: has no 'name' property" in err

    def test_a_file_that_is_not_geojson_changes_nothing(self, tmp_path):
        small_city.load(tmp_path)
        bad = tmp_path / "bad.geojson"
        bad.write_text("{not json")
        with pytest.raises(CommandError, match="is not valid JSON"):
            run("import_boundaries", str(bad), kind="service_zone")
        assert Boundary.objects.filter(kind="service_zone").count() == 2

    def test_an_empty_collection_changes_nothing(self, tmp_path):
        small_city.load(tmp_path)
        empty = small_city.write_geojson(tmp_path / "empty.geojson", [])
        with pytest.raises(CommandError, match="no usable area; nothing was changed"):
            run("import_boundaries", str(empty), kind="service_zone")
        assert Boundary.objects.filter(kind="service_zone").count() == 2

    def test_an_unknown_kind_is_refused(self, tmp_path):
        with pytest.raises(CommandError, match="invalid choice"):
            run("import_boundaries", str(tmp_path / "x.geojson"), kind="galaxy")


@pytest.mark.django_db
def test_places_load_from_csv(tmp_path):
    small_city.load(tmp_path)
    place = Place.objects.get()
    assert (place.name, place.kind, place.aliases) == ("Chandler Park", "park", "Chandler")


@pytest.mark.django_db
def test_places_load_from_geojson_polygons(tmp_path):
    path = small_city.write_geojson(
        tmp_path / "p.geojson",
        [
            small_city.feature("Big Park", small_city.square(-73.95, 40.65, -73.94, 40.66)),
        ],
    )
    out, _ = run("import_places", str(path))
    assert "Imported 1 places." in out
    place = Place.objects.get()
    assert 40.65 < place.lat < 40.66 and json.dumps(place.geometry)
