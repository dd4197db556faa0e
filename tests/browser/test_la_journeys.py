"""Los Angeles in a real browser, on a phone: a resident reports a bulky item and graffiti at
real addresses from the city's 311 records, tracks them, looks up her bulky-item pickup day,
and the staff of the right department find them in their queue. The city is the LA demo pack,
loaded as `city311 demo --city la` does.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import get_resolver

from city311.demo import loader
from city311.servicerequests.models import ServiceRequest
from city311.test import PASSWORD
from tests.browser.harness import Tab
from tests.browser.test_report import choose, choose_type, give_address, press_continue
from tests.browser.test_report import tracking_number as read_tracking_number
from tests.browser.test_staff import sign_in

# Real addresses from the records: Koreatown, in LA Sanitation's North Central district.
BULKY_ADDRESS = "356 S Berendo St"
GRAFFITI_ADDRESS = "2111 W Bellevue Ave"


@pytest.fixture
def city(transactional_db, settings) -> dict[str, Any]:
    """Overrides the browser tests' small city: Los Angeles, with staff who can sign in."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-la-{uuid.uuid4()}",
        }
    }
    loader.load_pack("la")
    # The URLs import the classifier (scikit-learn): seconds on a busy machine, which the
    # first page would otherwise spend inside the browser's 10-second wait.
    get_resolver().url_patterns  # noqa: B018
    staff = {}
    for username in ("sam", "lucia", "omar"):
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save()
        staff[username] = user
    return staff


def track(tab: Tab, number: str, heading: str) -> None:
    """Finds the request by its number from the home page, as a resident does."""
    tab.open("/")
    tab.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Track a request"
    ).click()
    tab.page.get_by_label("Tracking number").fill(number)
    tab.page.get_by_role("button", name="Find my request").click()
    tab.page.get_by_role("heading", name=heading, level=1).wait_for()
    assert tab.path == f"/track/{number}"


def bulky_day_of(tab: Tab, address: str) -> None:
    """Looks up the address's bulky-item day from the menu, as a resident does."""
    tab.page.get_by_role("navigation", name="Main").get_by_role("link", name="Pickup days").click()
    tab.page.get_by_label("Your address").fill(address)
    tab.page.get_by_role("button", name="Find my days").click()
    bulky = tab.page.get_by_role("region", name="Bulky items (by appointment)")
    day = bulky.locator("li").first.inner_text()
    assert re.search(r"\b20\d\d\b", day), day  # "Monday, 7 December 2026"
    tab.step("bulky pickup day")


def staff_sees(tab: Tab, username: str, number: str, department: str) -> None:
    sign_in(tab, username)
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    tab.page.get_by_role("link", name=number).click()
    tab.page.get_by_role("heading", name=f"Request {number}").wait_for()
    assert department in tab.page.locator("main").inner_text()


def test_a_resident_books_a_bulky_item_pickup_and_north_central_crews_see_it(open_tab, city):
    tab = open_tab()
    tab.open("/")
    assert "Los Angeles" in tab.page.locator("body").inner_text()
    tab.step("LA home")
    choose_type(tab, "old couch and a mattress", "Bulky Item Pickup")
    give_address(tab, BULKY_ADDRESS)
    tab.page.get_by_role("heading", name="About the problem").wait_for()
    choose(tab, "Furniture (sofa, chair, table, dresser)")
    choose(tab, "Mattress or box spring")
    tab.page.get_by_label("How many items? Up to 10 per pickup.").fill("2")
    choose(tab, "At the curb in front of the address")
    tab.step("bulky item questions")
    press_continue(tab)
    tab.page.get_by_label("Describe the problem").fill("A couch and a queen mattress by the curb")
    press_continue(tab)
    press_continue(tab)  # no photo
    tab.page.get_by_label("E-mail address").fill("rosa@example.org")
    press_continue(tab)
    tab.page.get_by_role("heading", name="Check your report").wait_for()
    tab.step("review")
    tab.page.get_by_role("button", name="Send the report").click()
    number = read_tracking_number(tab)
    tab.step("tracking number")

    sr = ServiceRequest.objects.get(tracking_number=number)
    assert sr.department is not None
    assert sr.department.slug == "sanitation-north-central"
    assert sr.address_string.upper().startswith("356 S")

    track(tab, number, "Bulky Item Pickup")
    tab.step("tracked")
    bulky_day_of(tab, BULKY_ADDRESS)
    staff_sees(open_tab(), "sam", number, "LA Sanitation — North Central District")


def test_a_resident_reports_graffiti_in_spanish_and_beautification_staff_see_it(open_tab, city):
    tab = open_tab()

    def go_on() -> None:
        tab.page.get_by_role("button", name="Continuar", exact=True).click()

    tab.open("/")
    tab.page.get_by_role("button", name="Español").click()
    tab.page.get_by_role("button", name="English").wait_for()
    tab.step("inicio")
    tab.page.get_by_role("navigation").get_by_role("link", name="Reportar un problema").click()
    tab.page.get_by_label("Describa el problema con sus propias palabras").fill("grafiti")
    tab.page.get_by_role("button", name="Buscar", exact=True).click()
    tab.page.get_by_test_id("suggestions").get_by_role(
        "link", name="Eliminación de grafiti"
    ).click()
    tab.page.get_by_role("heading", name="¿Dónde está?").wait_for()
    tab.page.get_by_label("Dirección o lugar").fill(GRAFFITI_ADDRESS)
    tab.step("dirección")
    tab.page.get_by_label("Dirección o lugar").press("Escape")
    go_on()
    tab.page.get_by_role("heading", name="Sobre el problema").wait_for()
    choose(tab, "La pared de un edificio")
    tab.step("preguntas")
    go_on()
    tab.page.get_by_label("Describa el problema").fill("Grafiti grande en la pared del garaje")
    go_on()
    go_on()  # sin foto
    go_on()  # sin datos de contacto
    tab.page.get_by_role("heading", name="Revise su reporte").wait_for()
    tab.page.get_by_role("button", name="Enviar el reporte").click()
    tab.page.get_by_role("heading", name="Su reporte fue enviado").wait_for()
    number = tab.page.locator("[data-tracking-number]").inner_text().strip()
    tab.step("número de seguimiento")

    sr = ServiceRequest.objects.get(tracking_number=number)
    assert sr.service_type.service_code == "graffiti_removal"
    assert sr.department is not None
    assert sr.department.slug == "community-beautification"
    tab.open(f"/track/{number}")
    tab.page.get_by_role("heading", name="Eliminación de grafiti", level=1).wait_for()
    tab.step("seguimiento")
    staff_sees(open_tab(), "lucia", number, "Office of Community Beautification")
