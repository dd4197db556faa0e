"""Historical records are loaded set-wise, by the same rules a new request meets."""

from datetime import timedelta

from django.utils import timezone

from city311.catalog.models import Department
from city311.servicerequests.imports import HistoricalRecord, ImportInvalid, import_history
from city311.servicerequests.models import RoutingRule, ServiceRequest, Status
from tests.test_locate_route_duplicates import LocatedCityTestCase

SOUTH = (40.62, -73.95)
NORTH = (40.67, -73.93)


def record(**fields) -> HistoricalRecord:
    values = {
        "service_code": "pothole",
        "requested_at": timezone.now() - timedelta(days=30),
        "external_id": "311-1",
        "lat": NORTH[0],
        "long": NORTH[1],
    }
    values.update(fields)
    return HistoricalRecord(**values)


class ImportTests(LocatedCityTestCase):
    def setUp(self):
        self.sanitation = Department.objects.create(name="Sanitation", slug="sanitation")

    def test_an_imported_request_is_routed_by_the_city_rules_like_a_new_one(self):
        RoutingRule.objects.create(
            service_type=self.pothole, area=self.south, department=self.sanitation
        )
        import_history([record(lat=SOUTH[0], long=SOUTH[1]), record()], source="old CRM")
        south, north = ServiceRequest.objects.order_by("lat")
        self.assertEqual(south.department, self.sanitation)
        self.assertEqual(north.department, self.streets)
        # The same place filed today goes to the same department.
        self.assertEqual(self.report(lat=SOUTH[0], long=SOUTH[1]).department, self.sanitation)

    def test_an_imported_request_keeps_the_areas_and_due_date_a_new_one_would_get(self):
        moment = timezone.now() - timedelta(days=3)
        import_history([record(requested_at=moment)], source="old CRM")
        imported = ServiceRequest.objects.get()
        new = self.report(lat=NORTH[0], long=NORTH[1], requested_at=moment)
        self.assertEqual(imported.areas, new.areas)
        self.assertEqual(imported.due_at, new.due_at)

    def test_a_record_with_no_point_keeps_the_district_it_names_and_is_routed_by_it(self):
        RoutingRule.objects.create(
            service_type=self.pothole, area=self.south, department=self.sanitation
        )
        named = {"service_zone": self.south.name.upper()}
        import_history(
            [
                record(lat=None, long=None, external_id="a", districts=named),
                record(lat=None, long=None, external_id="b", districts={"service_zone": "Mars"}),
                # A point says where, whatever name came with it.
                record(external_id="c", districts=named),
            ],
            source="old CRM",
        )
        by_id = {sr.external_id: sr for sr in ServiceRequest.objects.all()}
        self.assertEqual(by_id["a"].areas["service_zone"], {"code": "S", "name": self.south.name})
        self.assertEqual(by_id["a"].department, self.sanitation)
        self.assertEqual(by_id["b"].areas, {})
        self.assertEqual(by_id["b"].department, self.streets)
        self.assertEqual(by_id["c"].areas["service_zone"]["code"], "N")

    def test_a_closed_record_keeps_its_outcome(self):
        closed = timezone.now() - timedelta(days=20)
        import_history([record(closed_at=closed, resolution="no_action")], source="old CRM")
        sr = ServiceRequest.objects.get()
        self.assertEqual(
            (sr.status, sr.resolution, sr.closed_at), (Status.CLOSED, "no_action", closed)
        )
        self.assertEqual(
            list(sr.events.values_list("kind", flat=True)), ["request.imported", "request.closed"]
        )

    def test_a_batch_with_problems_names_each_record_and_writes_none_of_it(self):
        records = [
            record(),
            record(lat=95.0),
            record(service_code="no_such_type"),
            record(closed_at=timezone.now() - timedelta(days=60)),
            record(lat=40.6, long=None),
        ]
        with self.assertRaises(ImportInvalid) as caught:
            import_history(records, source="old CRM")
        self.assertEqual(
            [(n, field) for n, field, _ in caught.exception.problems],
            [(2, "lat"), (3, "service_code"), (4, "closed_at"), (5, "long")],
        )
        self.assertIn("record 2, lat: Latitude must be between -90 and 90", str(caught.exception))
        self.assertFalse(ServiceRequest.objects.exists())

    def test_batches_before_a_bad_one_stay_imported_and_the_error_says_where_to_resume(self):
        records = [record(external_id=str(i)) for i in range(4)] + [record(lat="north")]
        with self.assertRaises(ImportInvalid) as caught:
            import_history(records, source="old CRM", batch_size=2)
        self.assertEqual(ServiceRequest.objects.count(), 4)
        self.assertEqual(caught.exception.imported, 4)
        self.assertIn("record 5, lat", str(caught.exception))
