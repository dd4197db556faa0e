"""axe-core on every public page outside the report flow's steps, in Spanish and English.

The report flow's steps are checked at every step of the journeys (test_report.py), and so are
the English pages those journeys pass through; in English this sweep adds only the pages no
journey visits, to keep the browser tests quick.
"""

from __future__ import annotations

import pytest

from city311.servicerequests import actions
from tests.browser.city import reported
from tests.browser.harness import DESKTOP

# In English, the journeys open these pages and check each with axe-core.
VISITED_BY_JOURNEYS = {"/", "/track/", "/requests/", "/report/", "/report/?q=pothole"}
VISITED_BY_JOURNEYS |= {"/report/sinkhole/", "/report/fire/", "/offline/?lang=en&saved=1"}


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_finds_no_serious_violation_on_the_public_pages(open_tab, live_server, city, language):
    sr = reported()
    actions.add_note(sr, text="Crew booked for Tuesday", public=True, by=city["dana"])
    closed = reported(number=1360)
    actions.close_request(closed, resolution="completed", note="Filled it.", by=city["dana"])
    tab = open_tab()
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    pages = [
        ("/", 200),
        ("/track/", 200),
        ("/track/?number=123-4567-899", 404),
        (f"/track/{sr.tracking_number}", 200),
        (f"/track/{closed.tracking_number}", 200),
        ("/requests/", 200),
        ("/report/", 200),
        ("/report/?q=pothole", 200),
        ("/report/?q=zzzz", 200),
        ("/report/sinkhole/", 200),
        ("/report/fire/", 200),
        (f"/offline/?lang={language}", 200),
        (f"/offline/?lang={language}&saved=1", 200),
    ]
    for path, status in pages:
        if language == "en" and path in VISITED_BY_JOURNEYS:
            continue
        tab.open(path, status=status)
        assert tab.page.locator("html").get_attribute("lang") == language
        assert tab.page.get_by_role("heading", level=1).count() == 1, f"one h1 on {path}"
        tab.step(f"{language} {path}")


def test_it_finds_no_serious_violation_on_a_desktop_screen(open_tab, city):
    sr = reported()
    tab = open_tab(viewport=DESKTOP)
    for path in ("/", "/track/", f"/track/{sr.tracking_number}", "/requests/"):
        tab.open(path)
        tab.step(f"desktop {path}")
