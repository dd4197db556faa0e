"""A manager's journey through the reports: filter, read the map, click through, export."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from city311.accounts import roles
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.tasks import dispatch_events
from city311.test import make_user
from tests.browser.city import reported
from tests.browser.harness import DESKTOP
from tests.browser.test_staff import sign_in


def test_a_manager_filters_the_dashboard_reads_the_map_clicks_through_and_exports(open_tab, city):
    make_user("max", roles.MANAGER)
    # Two potholes in the North zone last month, one in this month (left out by the filter).
    last_month = timezone.now().replace(day=1) - timedelta(days=10)
    north = [reported(number=n) for n in (1350, 1352)]
    ServiceRequest.objects.filter(pk__in=[sr.pk for sr in north]).update(requested_at=last_month)
    this_month = reported(number=1354)
    dispatch_events()

    tab = open_tab(viewport=DESKTOP)
    sign_in(tab, "max")
    tab.page.get_by_role("link", name="Reports").click()
    tab.page.get_by_role("heading", name="Reports", exact=True).wait_for()
    tab.step("dashboard")
    tab.page.get_by_label("Period").select_option("last_month")
    tab.page.get_by_label("Type", exact=True).select_option("pothole")
    tab.page.get_by_label("Area").select_option("service_zone:N")
    tab.page.get_by_role("button", name="Show").click()
    # The map is a group of links, one per area, named for what it shows.
    districts = tab.page.locator("figure.choropleth svg[role=group]")
    districts.wait_for()
    assert districts.get_attribute("aria-label").startswith("On time by service zone")
    assert districts.locator("a").count() == 2
    tab.step("dashboard filtered, with the map")
    received = tab.page.locator("#tile-received .figure a")
    assert received.inner_text() == "2"
    received.click()
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    tab.step("the requests behind the number")
    for sr in north:
        assert tab.page.get_by_role("link", name=sr.tracking_number).is_visible()
    assert tab.page.get_by_role("link", name=this_month.tracking_number).count() == 0
    with tab.page.expect_download() as download:
        tab.page.get_by_role("link", name="Download these requests as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert all(sr.tracking_number in text for sr in north)
    assert this_month.tracking_number not in text
    # Back on the dashboard, the heat map of the same filter: squares over the zones, and
    # the busiest squares as a table with the same two potholes.
    tab.page.go_back()
    tab.page.get_by_role("link", name="Heat map of a type").click()
    tab.page.get_by_role("heading", name="Heat map of a type").wait_for()
    squares = tab.page.locator("figure.heat rect.cell").count()
    counts = tab.page.locator("#busiest tbody td.num").all_inner_texts()
    assert squares == len(counts) >= 1 and sum(int(n) for n in counts) == 2
    tab.step("the heat map of potholes last month")
    # Back on the dashboard, the open requests as points: each is a link to its request.
    tab.page.go_back()
    tab.page.get_by_role("heading", name="Open requests on the map").wait_for()
    points = tab.page.locator("figure.open-points a.point")
    assert points.count() == 3  # open potholes in the zone, whenever received
    point = tab.page.locator(
        f'figure.open-points a[href="/work/requests/{north[0].tracking_number}/"]'
    )
    assert point.get_attribute("aria-label").startswith(f"{north[0].tracking_number}, Pothole")
    point.click()
    tab.page.wait_for_url(f"**/work/requests/{north[0].tracking_number}/")
    tab.step("an open pothole from the map, in the work queue")
