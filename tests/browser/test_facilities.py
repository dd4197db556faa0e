"""Rosa, on her phone, asks whether the pool near her is open today; every facility page is
checked with axe-core in English and Spanish.

The facility side of "is the pool open today?": the home page's search (the knowledge base's)
sends such questions to /facilities/?kind=pool&near=...; this journey starts from the
facilities page itself.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from city311.facilities.models import Event, Facility, OpeningRule
from tests import small_city


@pytest.fixture
def pools(city):
    near = Facility.objects.create(
        slug="dumont-pool",
        name="Dumont Avenue Pool",
        kind="pool",
        address="1350 Dumont Avenue",
        lat=40.6705,
        long=small_city.dumont_long(1350),
        features="Indoor pool\nLockers",
    )
    far = Facility.objects.create(
        slug="south-pool",
        name="South Pool",
        kind="pool",
        address="South Street",
        lat=40.61,
        long=-73.99,
    )
    for pool in (near, far):
        OpeningRule.objects.create(
            facility=pool, first_day=0, last_day=6, opens=time(6), closes=time(0)
        )
    starts = timezone.now() + timedelta(days=1)
    Event.objects.create(
        slug="swim-lesson",
        title="Swim lesson",
        category="sports",
        facility=near,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        recurrence="FREQ=WEEKLY",
    )
    return near


def test_rosa_finds_the_nearest_pool_and_its_hours_today(tab, pools):
    tab.open("/facilities/")
    tab.step("facilities")
    tab.page.get_by_label("Kind of place").select_option("pool")
    tab.page.get_by_label("Near an address").fill("1352 Dumont Avenue")
    tab.page.get_by_role("button", name="Find places").click()
    tab.page.wait_for_url("**/facilities/?kind=pool*")
    first = tab.page.locator("[data-facility]").first
    assert first.get_attribute("data-facility") == "dumont-pool"
    tab.step("nearest pools")
    first.get_by_role("link").click()
    tab.page.wait_for_url("**/facilities/dumont-pool/")
    assert (
        tab.page.get_by_text("Open now until midnight").is_visible()
        or tab.page.get_by_text("Opens today at").is_visible()
    )
    assert tab.page.get_by_role("table").get_by_text("Today").is_visible()
    tab.step("the pool's hours")


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_facility_pages_have_no_serious_violation(open_tab, live_server, pools, language):
    tab = open_tab()
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    for path in (
        "/facilities/",
        "/facilities/dumont-pool/",
        "/events/",
        "/events/swim-lesson/",
        "/today/",
    ):
        tab.open(path)
        assert tab.page.locator("html").get_attribute("lang") == language
        assert tab.page.get_by_role("heading", level=1).count() == 1, f"one h1 on {path}"
        tab.step(f"{language} {path}")
