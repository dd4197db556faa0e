"""The Content-Security-Policy holds on every kind of page, in a real browser.

Each page family is opened (and its scripts run: the maps, htmx, the admin's widgets) and any
`securitypolicyviolation` the page raises fails the test: an inline script, style or event
handler, or an image from a host the policy does not name. The city's tile server is allowed.
"""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth.models import User

from city311.lib import security
from city311.notifications import tokens
from city311.notifications.models import Follower
from city311.servicerequests import actions
from city311.servicerequests.tasks import dispatch_events
from city311.test import PASSWORD
from tests.browser.city import reported
from tests.browser.harness import DESKTOP, Tab
from tests.browser.test_staff import sign_in

TILES = "https://{s}.tiles.city.test/{z}/{x}/{y}.png"
# One grey pixel: what the tile server answers for every tile.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNoaGj4DwAFhAKAjM1mJgAAAABJRU5ErkJggg=="
)


@pytest.fixture
def tiles(settings):
    """The city draws its maps on tiles from its tile server (answered here, never fetched)."""
    settings.CITY311_MAP_TILES = TILES
    settings.CONTENT_SECURITY_POLICY = security.content_security_policy(TILES)


def serve_tiles(tab: Tab) -> list[str]:
    fetched: list[str] = []

    def answer(route, request):
        fetched.append(request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    # Registered after the Tab's own route, so it is asked first for the tile host.
    tab.page.context.route("https://*.tiles.city.test/**", answer)
    return fetched


def visit(tab: Tab, path: str, *, ready: str = "main", status: int = 200) -> None:
    policy = tab.open(path, status=status).headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, f"{path} came without the policy"
    tab.page.locator(ready).first.wait_for()
    tab.page.wait_for_load_state("networkidle")
    tab.step(path, axe=False)


def assert_no_violation(tab: Tab) -> None:
    assert tab.csp_violations == [], "\n".join(tab.csp_violations)


def test_it_finds_no_violation_on_the_residents_pages(open_tab, city, tiles):
    sr = reported()
    actions.add_note(sr, text="Crew booked for Tuesday", public=True, by=city["dana"])
    tab = open_tab()
    fetched = serve_tiles(tab)
    visit(tab, "/")
    visit(tab, "/report/")
    visit(tab, "/report/?q=pothole")
    visit(tab, "/report/pothole/", ready="#map .leaflet-tile-loaded")
    visit(tab, "/track/")
    visit(tab, f"/track/{sr.tracking_number}", ready="[data-map] .leaflet-tile-loaded")
    visit(tab, "/requests/", ready="[data-map] .leaflet-tile-loaded")
    tab.page.get_by_label("Status").select_option("closed")  # htmx swaps the results in
    tab.page.wait_for_load_state("networkidle")
    visit(tab, "/offline/?lang=en")
    visit(tab, "/api/docs", ready="h1")
    assert fetched, "the maps drew no tile from the city's tile server"
    assert_no_violation(tab)


def test_it_finds_no_violation_on_the_pages_reached_from_messages(open_tab, city):
    sr = reported(email="rosa@example.org")
    dispatch_events()  # the reporter follows her request
    rosa = Follower.objects.get(request=sr, role="reporter")
    actions.close_request(sr, resolution="completed", note="Filled it.", by=city["dana"])
    closed = sr.events.get(kind="request.closed")
    tab = open_tab()
    visit(tab, tokens.survey_path(rosa, closed))
    visit(tab, tokens.confirm_path(rosa))
    visit(tab, tokens.unsubscribe_path(rosa))
    tab.page.get_by_role("button", name="Stop messages").click()
    tab.page.get_by_role("heading", name="You will get no more messages").wait_for()
    visit(tab, "/notifications/stop/not-a-token", status=404)
    assert_no_violation(tab)


def test_it_finds_no_violation_on_the_staff_pages(open_tab, city, tiles):
    sr = reported()
    tab = open_tab(viewport=DESKTOP)
    # The console's and the work queue's maps draw the city's tiles too.
    serve_tiles(tab)
    visit(tab, "/accounts/login/")
    sign_in(tab, "omar")
    visit(tab, "/console/")
    visit(tab, "/console/?q=pothole")
    tab.page.get_by_role("link", name="Pothole", exact=True).first.click()
    tab.page.get_by_role("button", name="File the request").wait_for()
    tab.step("console form", axe=False)
    tab.page.context.clear_cookies()
    sign_in(tab, "dana")
    visit(tab, "/work/")
    visit(tab, f"/work/requests/{sr.tracking_number}/")
    visit(tab, "/accounts/two-factor/")
    visit(tab, "/accounts/two-factor/setup/")  # the QR code is an inline SVG: no style in it
    assert_no_violation(tab)


def test_it_finds_no_violation_in_the_admin(open_tab, city):
    User.objects.create_superuser("ada", "ada@city311.example", PASSWORD)
    tab = open_tab(viewport=DESKTOP)
    visit(tab, "/admin/login/")
    tab.page.get_by_label("Username").fill("ada")
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Log in").click()
    tab.page.get_by_role("heading", name="Site administration").wait_for()
    for path in (
        "/admin/",
        "/admin/catalog/servicetype/",
        "/admin/catalog/servicetype/?q=pothole",
        "/admin/catalog/servicetype/add/",
        "/admin/catalog/department/add/",
        "/admin/auth/user/add/",
        "/admin/notifications/messagetemplate/add/",
        "/admin/catalog/holiday/add/",
    ):
        visit(tab, path)
    tab.page.get_by_role("link", name="Today").first.click()  # the date widget's shortcuts
    assert_no_violation(tab)
