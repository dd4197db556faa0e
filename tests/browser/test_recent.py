"""The public list and map of recent requests: filtered with and without JavaScript."""

from __future__ import annotations

import pytest

from city311.servicerequests import actions
from tests.browser.city import reported


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
def test_it_filters_recent_requests_by_type_and_status(open_tab, city, javascript):
    pothole = reported("pothole", number=1350)
    graffiti = reported("graffiti", number=1360, answers={"surface": "building_wall"})
    closed = reported("pothole", number=1370)
    actions.close_request(closed, resolution="completed", note="Filled.", by=city["dana"])
    tab = open_tab(java_script_enabled=javascript)
    tab.open("/")
    tab.page.get_by_role("link", name="Recent requests").first.click()
    results = tab.page.locator("#recent-results")
    for sr in (pothole, graffiti, closed):
        results.get_by_text(sr.tracking_number).wait_for()
    tab.step("recent requests")

    tab.page.get_by_label("Type of problem").select_option(label="Pothole")
    tab.page.get_by_label("Status", exact=True).select_option(label="Open")
    if not javascript:
        tab.page.get_by_role("button", name="Show requests").click()
    results.get_by_text(graffiti.tracking_number).wait_for(state="detached")
    results.get_by_text(closed.tracking_number).wait_for(state="detached")
    assert results.get_by_text(pothole.tracking_number).is_visible()
    assert "service_code=pothole" in tab.path
    tab.step("open potholes only")
    results.get_by_role("link", name="Pothole").click()
    tab.page.get_by_role("heading", name="Pothole", level=1).wait_for()
    assert tab.path == f"/track/{pothole.tracking_number}"
