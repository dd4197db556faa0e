"""Finding a request by its number, following it, and saying a closed one is not fixed."""

from __future__ import annotations

from PIL import Image

from city311.servicerequests import actions
from city311.servicerequests.models import ServiceRequest
from tests.browser.city import reported


def test_it_finds_a_request_by_number_after_the_check_digit_catches_a_typo(tab, city):
    sr = reported()
    actions.add_note(sr, text="Crew booked for Tuesday", public=True, by=city["dana"])
    digits = sr.tracking_number.replace("-", "")
    typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    tab.open("/")
    tab.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Track a request"
    ).click()
    tab.page.get_by_label("Tracking number").fill(typo)
    tab.step("a number with a typo")
    tab.page.get_by_role("button", name="Find my request").click()
    summary = tab.page.locator("[data-error-summary]")
    summary.wait_for()
    assert "Check the number" in summary.inner_text()
    tab.wait_for_focus(summary)
    assert tab.page.get_by_label("Tracking number").get_attribute("aria-invalid") == "true"
    tab.step("the typo caught")
    summary.get_by_role("link").click()  # the summary's link leads to the field
    tab.wait_for_focus(tab.page.get_by_label("Tracking number"))
    tab.page.get_by_label("Tracking number").fill(sr.tracking_number.replace("-", " "))
    tab.page.get_by_role("button", name="Find my request").click()
    tab.page.get_by_role("heading", name="Pothole", level=1).wait_for()
    assert tab.path == f"/track/{sr.tracking_number}"
    assert "Crew booked for Tuesday" in tab.page.locator("main").inner_text()
    tab.step("the request's page")


def test_it_lets_anyone_follow_an_open_request(tab):
    sr = reported()
    tab.open(f"/track/{sr.tracking_number}")
    tab.page.get_by_role("button", name="Follow this request").click()
    tab.page.locator("[data-error-summary]").wait_for()
    tab.step("follow with neither e-mail nor phone")
    tab.page.get_by_label("E-mail address").fill("rosa@example.org")
    tab.page.get_by_role("button", name="Follow this request").click()
    tab.page.get_by_role("status").filter(has_text="Check your messages").wait_for()
    tab.step("following: check your messages")
    assert "rosa@example.org" not in tab.page.content()


def test_it_reopens_a_closed_request_that_is_not_fixed(tab, city, tmp_path):
    sr = reported()
    actions.close_request(sr, resolution="completed", note="Filled the pothole.", by=city["dana"])
    picture = tmp_path / "still-there.png"
    Image.new("RGB", (320, 240), (60, 60, 60)).save(picture)
    tab.open(f"/track/{sr.tracking_number}")
    assert "Filled the pothole." in tab.page.locator("main").inner_text()
    tab.step("closed request")
    tab.page.get_by_label("What is still wrong?").fill("The hole is back after the rain")
    tab.page.get_by_label("A photo (optional)").set_input_files(picture)
    tab.step("this is not fixed")
    tab.page.get_by_role("button", name="Reopen: it is not fixed").click()
    tab.page.get_by_role("status").wait_for()
    tab.step("reopened")
    sr = ServiceRequest.objects.get(pk=sr.pk)
    assert not sr.is_closed
    assert sr.attachments.count() == 1
    assert "Reopened" in tab.page.locator(".portal-history").inner_text()
