"""Staff pages in a real browser: sign-in, the call takers' console, the work queue, a request.

Staff pages are English only; axe-core checks each of them like the residents' pages.
"""

from __future__ import annotations

from city311.test import PASSWORD
from tests.browser.city import reported
from tests.browser.harness import DESKTOP, Tab


def sign_in(tab: Tab, username: str, password: str = PASSWORD) -> None:
    tab.open("/accounts/login/")
    tab.page.get_by_label("User name").fill(username)
    tab.page.get_by_label("Password").fill(password)
    tab.page.get_by_role("button", name="Sign in").click()


def test_it_refuses_a_wrong_password_with_an_accessible_message(open_tab, city):
    tab = open_tab(viewport=DESKTOP)
    tab.open("/accounts/login/")
    tab.step("sign-in")
    sign_in(tab, "omar", "not the password")
    # The refusal comes back to the same address, so wait for the answer itself, not for a URL.
    tab.page.get_by_role("alert").wait_for()
    assert "password" in tab.page.get_by_role("alert").inner_text().lower()
    tab.step("wrong password")


def test_it_lets_a_call_taker_file_a_request_from_the_console(open_tab, city):
    tab = open_tab(viewport=DESKTOP)
    sign_in(tab, "omar")
    tab.page.goto(tab.url("/console/"))
    tab.step("console")
    tab.page.get_by_label("Search services").fill("pothole")
    tab.page.get_by_role("button", name="Search").click()
    tab.step("console search")
    tab.page.get_by_role("link", name="Pothole", exact=True).first.click()
    tab.page.get_by_role("button", name="File the request").click()
    tab.step("console form with errors")
    tab.page.get_by_label("Where is it? (address, corner or place)").fill("1350 Dumont Avenue")
    tab.page.get_by_label("Smaller than a dinner plate").check()
    tab.page.get_by_label("What did the caller say?").fill("A pothole by the bus stop")
    tab.page.get_by_role("button", name="File the request").click()
    tab.page.get_by_role("heading", name="Request filed").wait_for()
    tab.step("console filed")


def test_it_shows_department_staff_their_queue_and_a_request(open_tab, city):
    sr = reported()
    tab = open_tab(viewport=DESKTOP)
    sign_in(tab, "dana")
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    tab.step("work queue")
    tab.page.get_by_role("link", name=sr.tracking_number).click()
    tab.page.get_by_role("heading", name=f"Request {sr.tracking_number}").wait_for()
    tab.step("request work page")
    tab.page.get_by_role("button", name="Close request").click()
    tab.step("close form with errors")
