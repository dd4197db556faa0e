"""The demo city is real enough to judge the product by."""

from django.test import TestCase

from city311.catalog.models import ServiceType, Urgency
from city311.demo import loader
from city311.demo.cities.nyc import history as nyc
from city311.geo.boundaries import areas_at
from city311.geo.models import Boundary, BoundaryKind

REQUIRED = [
    "illegal_dumping",
    "pothole",
    "sinkhole",
    "damaged_sidewalk",
    "graffiti",
    "streetlight_out",
    "park_maintenance",
    "illegal_burning",
    "debris_in_roadway",
    "broken_parking_meter",
    "noise_residential",
    "abandoned_vehicle",
    "overgrown_lot",
    "code_violation",
    "improper_water_use",
    "loose_animal",
    "dead_animal",
    "bulky_item_pickup",
    "missed_trash_collection",
    "building_permit_question",
    "suspicious_person",
    "minor_injury",
]
URGENT = [
    "object_blocking_roadway",
    "fallen_tree",
    "downed_stop_sign",
    "street_flooding",
    "traffic_signal_out",
]


class DemoCatalogTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load_catalog()

    def test_it_has_every_kind_of_request_a_311_centre_takes(self):
        codes = set(ServiceType.objects.values_list("service_code", flat=True))
        self.assertGreaterEqual(len(codes), 40)
        self.assertEqual(set(REQUIRED) - codes, set())

    def test_the_urgent_types_are_urgent(self):
        urgent = ServiceType.objects.filter(service_code__in=URGENT, urgency=Urgency.URGENT)
        self.assertEqual(urgent.count(), len(URGENT))

    def test_emergencies_have_no_department_and_the_rest_have_one(self):
        for service_type in ServiceType.objects.select_related("department"):
            if service_type.is_emergency:
                self.assertIsNone(service_type.department, service_type.service_code)
            else:
                self.assertIsNotNone(service_type.department, service_type.service_code)

    def test_police_and_health_matters_carry_a_referral(self):
        for code in ("suspicious_person", "minor_injury"):
            service_type = ServiceType.objects.get(service_code=code)
            self.assertTrue(service_type.referral, code)
            self.assertEqual(service_type.urgency, Urgency.NORMAL)

    def test_the_types_ask_questions_of_every_datatype(self):
        datatypes = set(
            ServiceType.objects.values_list("attributes__datatype", flat=True).distinct()
        )
        self.assertGreaterEqual(
            datatypes,
            {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"},
        )

    def test_reloading_the_catalog_changes_nothing(self):
        before = ServiceType.objects.count()
        loader.load_catalog()
        self.assertEqual(ServiceType.objects.count(), before)

    def test_almost_every_real_nyc_record_maps_to_a_specific_type(self):
        mapping = nyc.Mapping()
        records = list(loader.nyc_records())
        specific = sum(r.service_code != mapping.default for r in records)
        self.assertGreater(len(records), 23000)
        self.assertGreater(specific / len(records), 0.97)
        self.assertEqual(
            {r.service_code for r in records}
            - set(ServiceType.objects.values_list("service_code", flat=True)),
            set(),
        )

    def test_records_with_only_a_borough_keep_it(self):
        # The 2020 file gives no address or point, only the borough: without it these
        # requests would count in no district (reports, the forecast's borough groups).
        no_point = [r for r in loader.nyc_records() if r.lat is None]
        self.assertGreater(len(no_point), 1000)
        named = [r for r in no_point if r.districts.get("borough")]
        self.assertGreater(len(named) / len(no_point), 0.9)
        names = {r.districts["borough"].casefold() for r in named}
        self.assertEqual(names, {"bronx", "brooklyn", "manhattan", "queens", "staten island"})


class DemoGeographyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        loader.load_boundaries()

    def test_it_has_the_boroughs_districts_and_zip_areas(self):
        counts = {kind: Boundary.objects.filter(kind=kind).count() for kind in BoundaryKind}
        self.assertEqual(counts[BoundaryKind.BOROUGH], 5)
        self.assertEqual(counts[BoundaryKind.COUNCIL_DISTRICT], 51)
        self.assertEqual(counts[BoundaryKind.COMMUNITY_DISTRICT], 59)
        self.assertEqual(counts[BoundaryKind.ZIP], 178)
        self.assertEqual(counts[BoundaryKind.CITY_LIMITS], 1)

    def test_a_brooklyn_street_is_inside_the_city(self):
        kinds = {b.kind: b.name for b in areas_at(40.6782, -73.9442)}
        self.assertEqual(kinds[BoundaryKind.BOROUGH], "Brooklyn")
        self.assertIn(BoundaryKind.CITY_LIMITS, kinds)

    def test_jersey_city_is_outside_the_city(self):
        self.assertEqual(areas_at(40.7178, -74.0431), [])
