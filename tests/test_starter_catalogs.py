"""The starter catalogs a new city begins from: each imports into an empty database as a city
pack, files a request, speaks Spanish throughout, and tells residents when to call instead."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import yaml
from django.core.management import CommandError, call_command
from django.test import TestCase
from django.utils import translation

import city311
from city311.catalog.models import (
    AttributeValue,
    Department,
    ServiceAttribute,
    ServiceType,
    Urgency,
)
from city311.cities.models import City
from city311.servicerequests.errors import SubmissionInvalid
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Channel
from city311.servicerequests.validation import Submission

STARTERS = Path(city311.__file__).parent / "cities" / "starters"
SMALL_CITY = Path(__file__).parent / "cities" / "small"
# What each starter must offer, by the words of the issue that asked for it.
ROUTINE = {
    "fresno": [
        "illegal_dumping",
        "pothole",
        "sinkhole",
        "damaged_sidewalk",
        "graffiti",
        "streetlight_out",
        "park_maintenance",
    ],
    "classic_311": [
        "illegal_burning",
        "suspicious_person",
        "minor_injury",
        "streetlight_out",
        "broken_parking_meter",
        "noise_complaint",
        "government_inquiry",
    ],
    "sacramento": [
        "streetlight_out",
        "abandoned_vehicle",
        "code_violation",
        "improper_water_use",
        "graffiti",
        "building_permit_question",
        "junk_pickup",
        "loose_animal",
        "city_services_question",
    ],
}
ALWAYS_CALL = {
    "fresno": [
        "object_blocking_roadway",
        "fallen_tree",
        "downed_sign",
        "flooding",
        "traffic_signal_out",
    ],
    "classic_311": ["debris_in_roadway"],
    "sacramento": [],
}
CALL_911 = {"fresno": [], "classic_311": ["fire", "crime_in_progress"], "sacramento": []}


def an_answer(attribute: ServiceAttribute) -> object:
    """A valid answer to a question, of its datatype."""
    values = [v.key for v in attribute.values.all()]
    return {
        "singlevaluelist": values[0] if values else "",
        "multivaluelist": values[:1],
        "number": 2,
        "datetime": "2026-05-04T10:30:00-07:00",
        "string": "By the bus stop",
        "text": "It has been there since Monday.",
    }[attribute.datatype]


class StarterChecks(TestCase):
    """The checks every starter passes; a class below runs them for each."""

    starter = ""

    @classmethod
    def setUpTestData(cls):
        call_command("import_city", str(STARTERS / cls.starter), verbosity=0)

    def catalog(self) -> dict:
        return yaml.safe_load((STARTERS / self.starter / "catalog.yaml").read_text())

    def test_it_imports_every_type_the_city_asked_for(self):
        codes = set(ServiceType.objects.values_list("service_code", flat=True))
        wanted = ROUTINE[self.starter] + ALWAYS_CALL[self.starter] + CALL_911[self.starter]
        self.assertEqual(set(wanted) - codes, set())
        self.assertEqual(len(codes), len(self.catalog()["service_types"]))

    def test_the_always_call_types_are_urgent_and_the_rest_are_not(self):
        urgent = set(
            ServiceType.objects.filter(urgency=Urgency.URGENT).values_list(
                "service_code", flat=True
            )
        )
        self.assertEqual(urgent, set(ALWAYS_CALL[self.starter]))

    def test_emergencies_have_no_department_and_say_call_911(self):
        emergencies = ServiceType.objects.filter(urgency=Urgency.EMERGENCY)
        self.assertEqual(
            set(emergencies.values_list("service_code", flat=True)), set(CALL_911[self.starter])
        )
        for service_type in emergencies:
            self.assertIsNone(service_type.department)
            self.assertIn("911", service_type.description)

    def test_every_type_but_an_emergency_asks_a_question(self):
        for service_type in ServiceType.objects.exclude(urgency=Urgency.EMERGENCY):
            with self.subTest(service_type.service_code):
                self.assertTrue(service_type.attributes.exists())

    def test_every_text_a_resident_reads_is_in_spanish(self):
        rows = [
            *Department.objects.all(),
            *ServiceType.objects.all(),
            *ServiceAttribute.objects.all(),
            *AttributeValue.objects.all(),
        ]
        for row in rows:
            for field in row.translatable:
                english = str(getattr(row, field) or "")
                if not english:
                    continue
                with self.subTest(row=str(row), field=field):
                    spanish = row.translated(field, "es")
                    self.assertTrue(spanish)
                    if len(english) > 3:  # "No" is "No"
                        self.assertNotEqual(spanish, english)

    def test_the_portal_lists_the_types_in_spanish(self):
        first = ServiceType.objects.exclude(urgency=Urgency.EMERGENCY).first()
        assert first is not None
        with translation.override("es"):
            name = first.translated("service_name")
        response = self.client.get("/report/", HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(response, name)

    def test_each_type_files_a_request_with_its_questions_answered(self):
        for service_type in ServiceType.objects.exclude(urgency=Urgency.EMERGENCY):
            with self.subTest(service_type.service_code):
                answers = {
                    a.code: an_answer(a) for a in service_type.attributes.filter(variable=True)
                }
                sr = submit_request(
                    Submission(
                        service_code=service_type.service_code,
                        channel=Channel.PHONE,
                        lat=36.75,
                        long=-119.78,
                        description="Reported by a caller",
                        answers=answers,
                    )
                )
                self.assertEqual(sr.department, service_type.department)
                self.assertEqual(sr.urgent, service_type.is_urgent)

    def test_an_emergency_is_never_filed(self):
        for service_type in ServiceType.objects.filter(urgency=Urgency.EMERGENCY):
            with self.subTest(service_type.service_code):
                with self.assertRaises(SubmissionInvalid) as raised:
                    submit_request(
                        Submission(
                            service_code=service_type.service_code,
                            channel=Channel.WEB,
                            lat=36.75,
                            long=-119.78,
                        )
                    )
                self.assertIn("emergency", raised.exception.codes["service_code"])

    def test_importing_it_again_changes_nothing(self):
        before = (ServiceType.objects.count(), ServiceAttribute.objects.count())
        ids = set(ServiceType.objects.values_list("pk", flat=True))
        call_command("import_city", str(STARTERS / self.starter), verbosity=0)
        self.assertEqual((ServiceType.objects.count(), ServiceAttribute.objects.count()), before)
        self.assertEqual(set(ServiceType.objects.values_list("pk", flat=True)), ids)


class FresnoTests(StarterChecks):
    starter = "fresno"


class ClassicTests(StarterChecks):
    starter = "classic_311"


class SacramentoTests(StarterChecks):
    starter = "sacramento"


# The shared checks run only through the classes that name a starter.
del StarterChecks


class RunningCityAddsAStarterTests(TestCase):
    """A city already running adds a starter's catalog and stays itself."""

    def test_keep_city_takes_the_catalog_and_leaves_the_city_as_it_was(self):
        call_command("import_city", str(SMALL_CITY), verbosity=0)
        before = City.objects.values().get(pk=1)
        call_command("import_city", str(STARTERS / "classic_311"), "--keep-city", verbosity=0)
        own_types = set(ServiceType.objects.values_list("service_code", flat=True))
        out = StringIO()
        call_command("import_city", str(STARTERS / "fresno"), "--keep-city", stdout=out)
        self.assertEqual(City.objects.values().get(pk=1), before)
        self.assertIn(f"City: {before['name']}.", out.getvalue())
        codes = set(ServiceType.objects.values_list("service_code", flat=True))
        self.assertTrue(own_types < codes)
        self.assertTrue(set(ROUTINE["fresno"]) <= codes)

    def test_keep_city_with_no_city_yet_says_what_to_do(self):
        with self.assertRaisesMessage(CommandError, "There is no city here yet to keep"):
            call_command("import_city", str(STARTERS / "fresno"), "--keep-city", verbosity=0)
        self.assertFalse(ServiceType.objects.exists())
