"""The newcomer's path in one journey, on a phone: report, track by number, follow, the street
crew's close on the work page, "it is not fixed", and the page after the reopen (issue 13).

Every step is screenshotted and checked by axe-core; the harness fails the test on a broken image,
a failed request or a console error (Tab.check)."""

from __future__ import annotations

from city311.servicerequests.models import ServiceRequest
from tests.browser.test_report import choose, choose_type, give_address, press_continue
from tests.browser.test_report import tracking_number as number_on_page
from tests.browser.test_staff import sign_in


def test_a_resident_reports_tracks_follows_and_reopens_what_the_crew_closed(open_tab, city):
    rosa = open_tab()
    rosa.open("/")
    choose_type(rosa, "hole in the road", "Pothole")
    give_address(rosa, "1350 Dumont Ave")
    rosa.page.get_by_role("heading", name="About the problem").wait_for()
    choose(rosa, "Larger than a car tire")
    press_continue(rosa)
    rosa.page.get_by_label("Describe the problem").fill("Deep hole by the bus stop")
    press_continue(rosa)
    press_continue(rosa)  # no photo
    rosa.page.get_by_label("E-mail address").fill("rosa@example.org")
    press_continue(rosa)
    rosa.page.get_by_role("button", name="Send the report").click()
    number = number_on_page(rosa)
    rosa.step("reported")

    # Later, from the home page: the number she was given finds it.
    rosa.open("/")
    rosa.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Track a request"
    ).click()
    rosa.page.get_by_label("Tracking number").fill(number)
    rosa.page.get_by_role("button", name="Find my request").click()
    rosa.page.get_by_role("heading", name="Pothole", level=1).wait_for()
    assert rosa.path == f"/track/{number}"
    rosa.step("tracked")
    rosa.page.get_by_label("E-mail address").fill("neighbour@example.org")
    rosa.page.get_by_role("button", name="Follow this request").click()
    rosa.page.get_by_role("status").filter(has_text="Check your messages").wait_for()
    assert "neighbour@example.org" not in rosa.page.content()
    rosa.step("a neighbour follows it")

    # Dana, of the street crew, closes it from her phone.
    dana = open_tab()
    sign_in(dana, "dana")
    dana.page.get_by_role("heading", name="Work queue").wait_for()
    dana.page.get_by_role("link", name=number).first.click()
    dana.page.get_by_role("heading", name=f"Request {number}").wait_for()
    dana.page.get_by_label("Resolution").select_option("completed")
    dana.page.get_by_label("What was done (the resident reads this)").fill("Filled the pothole.")
    dana.page.get_by_role("button", name="Close request").click()
    dana.page.get_by_role("heading", name=f"Request {number}").wait_for()
    dana.step("closed by the crew")
    assert ServiceRequest.objects.get(tracking_number=number).is_closed

    rosa.open(f"/track/{number}")
    facts = rosa.page.locator(".portal-facts")
    assert "What was done" in facts.inner_text()
    assert "Filled the pothole." in facts.inner_text()
    rosa.step("closed, with what was done")
    rosa.page.get_by_label("What is still wrong?").fill("The hole is back after the rain")
    rosa.page.get_by_role("button", name="Reopen: it is not fixed").click()
    rosa.page.get_by_role("status").wait_for()
    rosa.step("reopened")
    assert not ServiceRequest.objects.get(tracking_number=number).is_closed
    # The closing words are history now, not the city's latest word on an open request.
    rosa.open(f"/track/{number}")
    facts = rosa.page.locator(".portal-facts").inner_text()
    assert "Filled the pothole." not in facts
    assert "Reopened" in rosa.page.locator(".portal-history").inner_text()
    rosa.step("the page after the reopen")
