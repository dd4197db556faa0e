import random

from django.test import TestCase

from city311.servicerequests.tracking import (
    InvalidTrackingNumber,
    is_valid,
    new_tracking_number,
    normalise,
)
from city311.test import BaseTestCase


class TrackingNumberTests(TestCase):
    def test_it_is_at_most_12_characters_of_digits_and_dashes(self):
        for _ in range(200):
            number = new_tracking_number()
            self.assertLessEqual(len(number), 12)
            self.assertRegex(number, r"^[1-9]\d\d-\d{4}-\d{3}$")

    def test_it_carries_a_valid_check_digit(self):
        for _ in range(200):
            self.assertTrue(is_valid(new_tracking_number().replace("-", "")))

    def test_it_catches_every_single_digit_typo(self):
        rng = random.Random(1)
        for _ in range(50):
            digits = new_tracking_number().replace("-", "")
            for position in range(len(digits)):
                for wrong in "0123456789":
                    if wrong == digits[position]:
                        continue
                    typo = digits[:position] + wrong + digits[position + 1 :]
                    self.assertFalse(is_valid(typo), typo)
            rng.random()

    def test_it_catches_every_swap_of_neighbouring_digits(self):
        for _ in range(200):
            digits = new_tracking_number().replace("-", "")
            for i in range(len(digits) - 1):
                if digits[i] == digits[i + 1]:
                    continue
                swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
                self.assertFalse(is_valid(swapped), swapped)

    def test_it_accepts_the_ways_people_type_it(self):
        number = new_tracking_number()
        digits = number.replace("-", "")
        for typed in (
            digits,
            f" {number} ",
            number.replace("-", " "),
            f"#{number}",
            number.replace("-", "."),
        ):
            self.assertEqual(normalise(typed), number)

    def test_it_explains_what_is_wrong_with_a_bad_number(self):
        with self.assertRaisesMessage(InvalidTrackingNumber, "10 digits; this has 4"):
            normalise("1234")
        with self.assertRaisesMessage(InvalidTrackingNumber, "only digits"):
            normalise("12A-4567-890")
        with self.assertRaisesMessage(InvalidTrackingNumber, "Enter the tracking number"):
            normalise("  ")


class TrackingLookupTests(BaseTestCase):
    def test_a_mistyped_number_is_never_another_request(self):
        sr = self.report()
        digits = sr.tracking_number.replace("-", "")
        typo = digits[:4] + str((int(digits[4]) + 1) % 10) + digits[5:]
        self.sign_in(self.omar)
        r = self.client.get(f"/work/requests/{typo}/")
        self.assertEqual(r.status_code, 404)
        self.assertContains(r, "Check the number", status_code=404)

    def test_a_well_formed_unknown_number_says_there_is_no_such_request(self):
        self.sign_in(self.omar)
        r = self.client.get("/work/requests/123-4567-890/")
        self.assertEqual(r.status_code, 404)

    def test_omar_finds_a_request_by_the_number_typed_without_dashes(self):
        sr = self.report()
        self.sign_in(self.omar)
        r = self.client.get(f"/work/requests/{sr.tracking_number.replace('-', '')}/")
        self.assertContains(r, sr.tracking_number)
