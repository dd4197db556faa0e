"""The connection drops as the resident sends a report: the phone keeps it and sends it later."""

from __future__ import annotations

from city311.servicerequests.models import ServiceRequest
from tests.browser.test_report import choose, press_continue


def test_it_keeps_a_report_sent_offline_and_sends_it_when_the_connection_returns(tab):
    tab.open("/")
    tab.page.evaluate("() => navigator.serviceWorker.ready")
    tab.open("/report/pothole/")
    assert tab.page.evaluate("() => !!navigator.serviceWorker.controller")
    tab.page.get_by_label("Address or place").fill("1350 Dumont Avenue")
    press_continue(tab)
    choose(tab, "Smaller than a dinner plate")
    press_continue(tab)
    tab.page.get_by_label("Describe the problem").fill("Sent from a bus with no signal")
    press_continue(tab)
    press_continue(tab)  # no photo
    press_continue(tab)  # anonymous
    tab.page.get_by_role("heading", name="Check your report").wait_for()

    tab.page.context.set_offline(True)
    tab.page.get_by_role("button", name="Send the report").click()
    tab.page.get_by_role("heading", name="Saved on this phone").wait_for()
    tab.step("saved on this phone")
    assert ServiceRequest.objects.count() == 0

    tab.page.context.set_offline(False)
    tab.open("/")
    sent = tab.page.locator("[data-sent-report]")
    sent.wait_for()
    assert "has been sent" in sent.inner_text()
    tab.step("sent when back online")
    sr = ServiceRequest.objects.get()
    assert sr.description == "Sent from a bus with no signal"
    sent.get_by_role("link", name="See the result").click()
    tab.page.get_by_text(sr.tracking_number).first.wait_for()
    tab.step("the result")
