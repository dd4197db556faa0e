"""Two-factor sign-in in a real browser: Dana sets up her authenticator from the QR page, keeps
her recovery codes, signs out, and signs in again with her password and a code. The codes are
computed in the test from the key the page shows, as her phone would; axe-core checks each page.
"""

from __future__ import annotations

import time

from tests.browser.harness import PHONE
from tests.browser.test_staff import sign_in
from tests.test_two_factor import totp


def test_dana_sets_up_two_factor_sign_in_and_signs_in_with_a_code(open_tab, city):
    tab = open_tab(viewport=PHONE)
    sign_in(tab, "dana")
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    tab.page.get_by_role("link", name="Sign-in security").click()
    tab.step("sign-in security, off")
    tab.page.get_by_role("link", name="Set up two-factor sign-in").click()
    tab.page.get_by_role("img", name="QR code").wait_for()
    tab.step("set up: QR code")
    secret = tab.page.locator("#secret").inner_text()
    tab.page.get_by_label("Code from the app").fill(totp(secret))
    tab.page.get_by_role("button", name="Turn on two-factor sign-in").click()
    tab.page.get_by_role("heading", name="Keep these recovery codes").wait_for()
    assert tab.page.locator(".recovery-codes li").count() == 10
    tab.step("recovery codes")

    tab.page.get_by_role("button", name="Sign out dana").click()
    sign_in(tab, "dana")
    tab.page.get_by_role("heading", name="Type the code from your authenticator app").wait_for()
    tab.step("code step")
    tab.page.get_by_label("Code").fill("000000")
    tab.page.get_by_role("button", name="Continue").click()
    tab.page.get_by_role("alert").wait_for()
    tab.step("wrong code")
    time.sleep(1.1)  # django-otp makes the next try wait a second after a wrong code
    tab.page.get_by_label("Code").fill(totp(secret, at=time.time() + 30))
    tab.page.get_by_role("button", name="Continue").click()
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    tab.step("signed in with a code")
