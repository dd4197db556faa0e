"""Rosa tracks her request by its number: public facts and history, nothing personal."""

import re

from city311.servicerequests import actions
from city311.test import BaseTestCase, any_city


class TrackTests(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.report()
        actions.add_note(self.sr, text="Needs the night crew", public=False, by=self.dana)
        actions.add_note(self.sr, text="Crew booked for Tuesday", public=True, by=self.dana)

    def test_rosa_finds_her_request_by_its_number(self):
        r = self.client.get(
            "/track/", {"number": self.sr.tracking_number.replace("-", " ")}, follow=True
        )
        self.assertContains(r, self.sr.tracking_number)
        self.assertContains(r, "Pothole")
        self.assertContains(r, "Crew booked for Tuesday")

    def test_a_typo_is_caught_by_the_check_digit(self):
        digits = self.sr.tracking_number.replace("-", "")
        typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        r = self.client.get("/track/", {"number": typo})
        self.assertContains(r, "Check the number", status_code=404)
        self.assertNotContains(r, "Pothole", status_code=404)

    def test_internal_notes_staff_names_and_personal_data_stay_private(self):
        r = self.client.get(f"/track/{self.sr.tracking_number}")
        for private in (
            "Needs the night crew",
            "Dana",
            "Rosa",
            "rosa@example.org",
            "7185550199",
            "Diaz",
        ):
            self.assertNotContains(r, private)

    def test_a_closed_request_shows_what_was_done(self):
        actions.close_request(
            self.sr, resolution="completed", note="Filled the pothole.", by=self.dana
        )
        r = self.client.get(f"/track/{self.sr.tracking_number}")
        self.assertContains(r, "Closed: the work is done")
        self.assertContains(r, "Filled the pothole.")

    def test_the_number_without_dashes_redirects_to_the_page(self):
        r = self.client.get(f"/track/{self.sr.tracking_number.replace('-', '')}")
        self.assertRedirects(r, f"/track/{self.sr.tracking_number}")

    def test_a_number_with_letters_is_refused_with_a_hint(self):
        r = self.client.get("/track/", {"number": "ABC-1234-567"})
        self.assertContains(r, "A tracking number has only digits", status_code=404)
        self.assertContains(r, 'aria-invalid="true"', status_code=404)

    def test_the_page_offers_following_while_the_request_is_open(self):
        r = self.client.get(f"/track/{self.sr.tracking_number}")
        self.assertContains(r, f'action="/track/{self.sr.tracking_number}/follow"')
        self.assertContains(r, 'name="website"')  # the honeypot


@any_city
class TrackingHintTests(BaseTestCase):
    """The hints show a number shaped as this city's numbers are, in each language."""

    def test_the_hint_is_shaped_like_the_citys_own_numbers(self):
        shape = [len(group) for group in self.report().tracking_number.split("-")]
        for language, path in [(lang, p) for lang in ("en", "es") for p in ("/", "/track/")]:
            self.client.cookies["django_language"] = language
            page = self.client.get(path).content.decode()
            assert ("Aparece en su" in page) == (language == "es"), (language, path)
            example = re.search(r'id="number-hint">[^<]*?(\d[\d-]+\d)', page)
            assert example, (path, "no example number in the hint")
            assert [len(g) for g in example.group(1).split("-")] == shape, (path, example[1])
