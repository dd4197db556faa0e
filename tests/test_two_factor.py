"""Two-factor sign-in for staff: set up an authenticator, sign in with its codes, recovery codes,
the city's requirement, and the lock-out that must keep working. The codes are computed here,
from the key the setup page shows, as an authenticator app would (RFC 6238)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

from django.test import override_settings

from city311.servicerequests.models import ServiceRequest, Status
from city311.test import PASSWORD, BaseTestCase


def totp(secret: str, *, at: float | None = None, step: int = 30) -> str:
    """What an authenticator app shows for `secret` (base32, as typed) at time `at`."""
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


class TwoFactorTests(BaseTestCase):
    def sign_in_with_password(self, user=None):
        r = self.client.post(
            "/accounts/login/", {"username": (user or self.dana).username, "password": PASSWORD}
        )
        self.assertEqual(r.status_code, 302, "the password step failed")
        return r

    def enrol(self) -> tuple[str, list[str]]:
        """Dana sets up her authenticator app; returns its key and her recovery codes."""
        self.sign_in_with_password()
        page = self.client.get("/accounts/two-factor/setup/")
        self.assertContains(page, "<svg")
        secret = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page.content.decode())[1]
        r = self.client.post("/accounts/two-factor/setup/", {"code": totp(secret)})
        self.assertContains(r, "Keep these recovery codes")
        codes = re.findall(r"<li><code>([a-z0-9]+)</code></li>", r.content.decode())
        self.assertEqual(len(codes), 10)
        self.client.post("/accounts/logout/")
        return secret, codes

    def test_dana_sets_up_an_authenticator_and_signs_in_with_its_code(self):
        secret, _ = self.enrol()
        self.sign_in_with_password()
        r = self.client.get("/work/")
        self.assertRedirects(r, "/accounts/two-factor/verify/?next=%2Fwork%2F")
        # The code of the next 30 seconds: the one used at setup may not be used twice.
        r = self.client.post(
            "/accounts/two-factor/verify/",
            {"code": totp(secret, at=time.time() + 30), "next": "/work/"},
        )
        self.assertRedirects(r, "/work/")
        self.assertEqual(self.client.get("/work/").status_code, 200)

    def test_a_code_is_not_accepted_twice(self):
        secret, _ = self.enrol()
        self.sign_in_with_password()
        later = totp(secret, at=time.time() + 30)
        self.client.post("/accounts/two-factor/verify/", {"code": later})
        self.client.post("/accounts/logout/")
        self.sign_in_with_password()
        r = self.client.post("/accounts/two-factor/verify/", {"code": later})
        self.assertContains(r, "not right")
        self.assertRedirects(
            self.client.get("/work/"), "/accounts/two-factor/verify/?next=%2Fwork%2F"
        )

    def test_the_qr_code_is_drawn_in_the_page(self):
        self.sign_in_with_password()
        page = self.client.get("/accounts/two-factor/setup/").content.decode()
        # Inline SVG, nothing fetched from another site.
        self.assertIn("<svg", page)
        self.assertNotRegex(page, r'<img[^>]+src="https?://')

    def test_a_password_alone_reaches_no_staff_page(self):
        self.enrol()
        sr = self.report()
        self.sign_in_with_password()
        for path in ("/work/", f"/work/requests/{sr.tracking_number}/", "/console/", "/admin/"):
            r = self.client.get(path)
            self.assertEqual(r.status_code, 302, path)
            self.assertTrue(r["Location"].startswith("/accounts/two-factor/verify/"), path)
        r = self.client.post(f"/work/requests/{sr.tracking_number}/start")
        self.assertEqual(r.status_code, 302)
        self.assertEqual(ServiceRequest.objects.get(pk=sr.pk).status, Status.OPEN)

    def test_a_recovery_code_signs_in_once(self):
        _, codes = self.enrol()
        self.sign_in_with_password()
        r = self.client.post("/accounts/two-factor/verify/", {"code": codes[0]}, follow=True)
        self.assertContains(r, "recovery code; 9 left")
        self.client.post("/accounts/logout/")
        self.sign_in_with_password()
        r = self.client.post("/accounts/two-factor/verify/", {"code": codes[0]})
        self.assertContains(r, "not right")

    @override_settings(OTP_TOTP_THROTTLE_FACTOR=60, OTP_STATIC_THROTTLE_FACTOR=60)
    def test_a_wrong_code_makes_the_next_try_wait(self):
        secret, _ = self.enrol()
        self.sign_in_with_password()
        r = self.client.post("/accounts/two-factor/verify/", {"code": "000000"})
        self.assertContains(r, "not right")
        r = self.client.post(
            "/accounts/two-factor/verify/", {"code": totp(secret, at=time.time() + 30)}
        )
        self.assertContains(r, "Too many wrong codes: wait")
        self.assertEqual(self.client.get("/work/").status_code, 302)

    def test_new_recovery_codes_replace_the_old(self):
        _, codes = self.enrol()
        self.sign_in_with_password()
        self.client.post("/accounts/two-factor/verify/", {"code": codes[0]})
        r = self.client.post("/accounts/two-factor/recovery-codes")
        fresh = re.findall(r"<li><code>([a-z0-9]+)</code></li>", r.content.decode())
        self.assertEqual(len(fresh), 10)
        self.client.post("/accounts/logout/")
        self.sign_in_with_password()
        self.assertContains(
            self.client.post("/accounts/two-factor/verify/", {"code": codes[1]}), "not right"
        )

    @override_settings(CITY311_STAFF_2FA_REQUIRED=True)
    def test_when_the_city_requires_it_staff_set_it_up_first(self):
        self.sign_in_with_password(self.pat)
        r = self.client.get("/work/")
        self.assertRedirects(
            r, "/accounts/two-factor/setup/?next=%2Fwork%2F", fetch_redirect_response=False
        )
        self.assertContains(self.client.get("/accounts/two-factor/setup/"), "<svg")

    def test_without_the_requirement_staff_without_an_authenticator_sign_in_as_before(self):
        self.sign_in_with_password(self.pat)
        self.assertEqual(self.client.get("/work/").status_code, 200)

    def test_repeated_failures_still_lock_the_account_out(self):
        self.enrol()
        for _ in range(5):
            self.client.post("/accounts/login/", {"username": "dana", "password": "wrong"})
        r = self.client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
        self.assertContains(r, "too many failed attempts", status_code=429)
        self.assertRedirects(
            self.client.get("/work/"), "/accounts/login/?next=/work/", fetch_redirect_response=False
        )
