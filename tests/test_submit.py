from datetime import timedelta

from django.utils import timezone

from city311.servicerequests.errors import SubmissionInvalid
from city311.servicerequests.models import Channel, Contact, RequestEvent, ServiceRequest, Status
from city311.servicerequests.validation import MAX_DESCRIPTION
from city311.test import BaseTestCase


class SubmitTests(BaseTestCase):
    def test_rosa_s_report_is_routed_to_streets_and_open(self):
        sr = self.report()
        self.assertEqual(sr.status, Status.OPEN)
        self.assertEqual(sr.department, self.streets)
        self.assertEqual(sr.channel, Channel.WEB)

    def test_it_writes_the_first_history_events(self):
        sr = self.report()
        kinds = list(sr.events.values_list("kind", flat=True))
        self.assertEqual(kinds, ["request.submitted", "request.routed"])
        self.assertTrue(all(sr.events.values_list("public", flat=True)))

    def test_the_due_date_comes_from_the_sla(self):
        before = timezone.now()
        sr = self.report()
        self.assertIsNotNone(sr.due_at)
        self.assertGreaterEqual(sr.due_at, before + timedelta(days=5) - timedelta(hours=1))
        self.assertLessEqual(sr.due_at, timezone.now() + timedelta(days=5, hours=1))

    def test_contact_details_are_stored_apart_from_the_request(self):
        sr = self.report()
        contact = Contact.objects.get(request=sr)
        self.assertEqual(contact.email, "rosa@example.org")
        self.assertEqual(contact.phone, "+17185550199")
        self.assertNotIn("rosa", str(contact).lower())
        self.assertNotIn("rosa", sr.description.lower())

    def test_a_report_without_contact_details_has_no_contact_row(self):
        sr = self.report(first_name="", last_name="", email="", phone="")
        self.assertFalse(Contact.objects.filter(request=sr).exists())

    def test_an_urgent_type_is_marked_urgent(self):
        sr = self.report(service_code="fallen_tree", answers={})
        self.assertTrue(sr.urgent)
        self.assertEqual(sr.department, self.parks)

    def test_the_channel_and_application_are_recorded(self):
        sr = self.report(channel=Channel.OPEN311, application="FixMyStreet")
        self.assertEqual((sr.channel, sr.application), ("open311", "FixMyStreet"))
        self.assertEqual(sr.events.first().actor_label, "FixMyStreet (Open311)")

    def test_each_request_gets_its_own_tracking_number(self):
        numbers = {self.report().tracking_number for _ in range(20)}
        self.assertEqual(len(numbers), 20)

    def test_answers_of_every_datatype_are_kept(self):
        sr = self.report(
            answers={
                "size": "Larger than a plate",
                "lanes": ["left", "right"],
                "depth_cm": "12.5",
                "seen_at": "2026-11-20T08:15:00-05:00",
                "landmark": "by the bakery",
                "details": "It keeps getting bigger",
            }
        )
        self.assertEqual(sr.answers["size"], "large")
        self.assertEqual(sr.answers["lanes"], ["left", "right"])
        self.assertEqual(sr.answers["depth_cm"], "12.5")
        self.assertTrue(sr.answers["seen_at"].startswith("2026-11-20T08:15:00"))

    def test_answers_to_questions_the_type_does_not_ask_are_ignored(self):
        sr = self.report(answers={"size": "small", "colour": "blue"})
        self.assertNotIn("colour", sr.answers)


class ValidationTests(BaseTestCase):
    def errors(self, **fields):
        with self.assertRaises(SubmissionInvalid) as caught:
            self.report(**fields)
        self.assertEqual(ServiceRequest.objects.count(), 0)
        self.assertEqual(RequestEvent.objects.count(), 0)
        return caught.exception.errors

    def test_it_returns_every_problem_at_once(self):
        errors = self.errors(
            lat="north",
            long="",
            address_string="",
            answers={"depth_cm": "deep"},
            email="rosa-at-example",
            phone="12",
            description="x" * (MAX_DESCRIPTION + 1),
        )
        for field in (
            "lat",
            "attribute[size]",
            "attribute[depth_cm]",
            "email",
            "phone",
            "description",
        ):
            self.assertIn(field, errors)

    def test_it_asks_for_the_type_when_none_is_given(self):
        errors = self.errors(service_code="")
        self.assertEqual(errors["service_code"], ["Choose what kind of problem this is."])

    def test_an_unknown_type_is_named(self):
        errors = self.errors(service_code="potholes")
        self.assertIn("There is no service 'potholes'", errors["service_code"][0])

    def test_an_emergency_is_never_a_request(self):
        errors = self.errors(service_code="fire", answers={})
        self.assertIn("call 911 now", errors["service_code"][0])

    def test_a_located_type_needs_a_location(self):
        errors = self.errors(lat=None, long=None, address_string="")
        self.assertIn("Tell us where the problem is", errors["location"][0])

    def test_an_address_alone_is_a_location(self):
        sr = self.report(lat=None, long=None)
        self.assertEqual(sr.address_string, "1382 Dumont Ave, Brooklyn")

    def test_latitude_without_longitude_is_refused(self):
        errors = self.errors(long=None)
        self.assertIn("Give both latitude and longitude", errors["long"][0])

    def test_out_of_range_coordinates_are_refused(self):
        errors = self.errors(lat=95, long=-200)
        self.assertIn("between -90 and 90", errors["lat"][0])
        self.assertIn("between -180 and 180", errors["long"][0])

    def test_a_required_question_must_be_answered(self):
        errors = self.errors(answers={})
        self.assertEqual(errors["attribute[size]"], ["Answer the question “How big is it?”."])

    def test_a_list_answer_must_be_one_of_the_choices(self):
        errors = self.errors(answers={"size": "huge"})
        self.assertIn("'huge' is not one of the choices: small", errors["attribute[size]"][0])

    def test_a_single_value_question_takes_one_answer(self):
        errors = self.errors(answers={"size": ["small", "large"]})
        self.assertIn("give one answer", errors["attribute[size]"][0])

    def test_a_multi_value_answer_must_be_among_the_choices(self):
        errors = self.errors(answers={"size": "small", "lanes": ["left", "middle"]})
        self.assertIn("'middle' is not one of the choices", errors["attribute[lanes]"][0])

    def test_a_number_answer_must_be_a_number(self):
        errors = self.errors(answers={"size": "small", "depth_cm": "about ten"})
        self.assertIn("is not a number", errors["attribute[depth_cm]"][0])

    def test_a_datetime_answer_must_be_a_date_and_time(self):
        errors = self.errors(answers={"size": "small", "seen_at": "last tuesday"})
        self.assertIn("2026-11-22T14:30:00-05:00", errors["attribute[seen_at]"][0])

    def test_a_short_text_answer_has_a_limit(self):
        errors = self.errors(answers={"size": "small", "landmark": "y" * 301})
        self.assertIn("at most 300 characters", errors["attribute[landmark]"][0])

    def test_a_type_that_needs_contact_details_asks_for_them(self):
        errors = self.errors(service_code="permit_question", answers={}, email="", phone="")
        self.assertIn("give an e-mail or phone number", errors["contact"][0])

    def test_a_type_without_location_needs_none(self):
        sr = self.report(
            service_code="permit_question", answers={}, lat=None, long=None, address_string=""
        )
        self.assertIsNone(sr.lat)

    def test_an_unknown_language_is_refused(self):
        errors = self.errors(language="xx")
        self.assertIn("Choose a language", errors["language"][0])

    def test_a_bad_photo_link_is_refused(self):
        errors = self.errors(media_url="javascript:alert(1)")
        self.assertIn("web address", errors["media_url"][0])


class PhotoProblemTests(BaseTestCase):
    def test_a_photo_that_cannot_be_decoded_is_a_problem_with_the_media_not_a_crash(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        from city311.servicerequests.intake import submit_request
        from city311.servicerequests.validation import Submission

        broken = SimpleUploadedFile("a.jpg", b"\xff\xd8\xff\xe0" + b"not a picture" * 20)
        sub = Submission(
            service_code="pothole", lat=40.6782, long=-73.9442, answers={"size": "large"}
        )
        with self.assertRaises(SubmissionInvalid) as caught:
            submit_request(sub, photos=[broken])
        self.assertEqual(caught.exception.codes, {"media": ["not_a_photo"]})
        self.assertFalse(ServiceRequest.objects.exists())
