"""The report map as a resident meets it on a phone with no tile server and no internet: a pin
that is a real image, the city's own streets and house numbers close up, no stale choices after
a wrong attempt; and the "Call now" badge on the card it belongs to. Both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Route

from tests.browser.harness import DESKTOP, PHONE, Tab
from tests.small_city import dumont_long

ENGLISH = {
    "lang": "en",
    "where": "Where is it?",
    "which": "Which address did you mean?",
    "address": "Address or place",
    "continue": "Continue",
    "map": "Map: tap or drag the pin to mark the place",
    "outside": "That place is outside the city.",
    "near": "Near",
    "about": "About the problem",
    "search": "Search",
    "describe": "Describe the problem in your own words",
    "call_now": "Call now",
    "fallen": "Fallen Tree or Branches",
    "pruning": "Tree Pruning Request",
}
SPANISH = {
    "lang": "es",
    "where": "¿Dónde está?",
    "which": "¿Qué dirección quiso decir?",
    "address": "Dirección o lugar",
    "continue": "Continuar",
    "map": "Mapa: toque o arrastre el marcador para señalar el lugar",
    "outside": "Ese lugar está fuera de la ciudad.",
    "near": "Cerca de",
    "about": "Sobre el problema",
    "search": "Buscar",
    "describe": "Describa el problema con sus propias palabras",
    "call_now": "Llame ya",
    "fallen": "Árbol o ramas caídas",
    "pruning": "Solicitud de poda de árbol",
}


def hashed_leaflet_css(route: Route) -> None:
    """leaflet.css as `collectstatic` serves it in production: its image names hashed. Leaflet
    guesses its pin's folder from them, and that guess failed: the pin was a broken image."""
    response = route.fetch()
    css = re.sub(r"images/([a-z0-9-]+)\.png", r"images/\1.0123456789ab.png", response.text())
    route.fulfill(response=response, body=css)


def speak(tab: Tab, words: dict[str, str]) -> None:
    """The page's language, as the language switcher leaves it."""
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": words["lang"], "url": tab.base_url}]
    )


def map_box(tab: Tab, words: dict[str, str]):
    the_map = tab.page.get_by_label(words["map"])
    box = the_map.bounding_box()
    assert box is not None
    return the_map, box


@pytest.mark.parametrize("words", [ENGLISH, SPANISH], ids=["en", "es"])
def test_the_pin_is_an_image_and_close_up_the_map_shows_the_citys_own_streets(open_tab, words):
    here = {"latitude": 40.67, "longitude": dumont_long(1350)}
    tab = open_tab(geolocation=here, permissions=["geolocation"])
    speak(tab, words)
    tab.page.route("**/static/vendor/leaflet/leaflet.css", hashed_leaflet_css)
    tab.open("/report/pothole/")
    tab.page.get_by_role("heading", name=words["where"]).wait_for()
    tab.page.locator("[data-use-my-location]").click()
    tab.page.get_by_text(f"{words['near']} 1350 Dumont Avenue").wait_for()
    pin = tab.page.locator("#map img.leaflet-marker-icon")
    shadow = tab.page.locator("#map img.leaflet-marker-shadow")
    for image in (pin, shadow):
        image.wait_for()
        src = image.get_attribute("src") or ""
        assert "/static/vendor/leaflet/images/marker-" in src, src
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), src
    # Close up, with no tile server: the streets by name, the area's name, the house numbers.
    streets = tab.page.locator(".portal-map-label--street span")
    streets.filter(has_text="Dumont Avenue").wait_for()
    streets.filter(has_text="Van Siclen Avenue").wait_for()
    assert "North zone" in tab.page.locator(".portal-map-here").inner_text()
    tab.step("close up: the city's own streets")
    tab.page.locator("#map .leaflet-control-zoom-in").click()
    tab.page.locator(".portal-map-label--number span", has_text=re.compile(r"^1350$")).wait_for()
    tab.step("closer: the house numbers")
    # Dragging the pin by keyboard moves it; the labels never take a click or a tab stop.
    assert tab.page.locator(".portal-map-label [tabindex]").count() == 0
    tab.page.get_by_role("button", name=words["continue"], exact=True).click()
    tab.page.get_by_role("heading", name=words["about"]).wait_for()


@pytest.mark.parametrize("words", [ENGLISH, SPANISH], ids=["en", "es"])
def test_a_wrong_attempt_leaves_no_stale_choice_or_text_behind(open_tab, words):
    """An ambiguous address, then a place the city does not know, then a pin outside the city,
    then a pin on Dumont Avenue: the old "which of these" choices and the old typed text go."""
    here = {"latitude": 40.67, "longitude": dumont_long(1350)}
    tab = open_tab(geolocation=here, permissions=["geolocation"])
    speak(tab, words)
    tab.open("/report/pothole/")
    address = tab.page.get_by_label(words["address"])
    go_on = tab.page.get_by_role("button", name=words["continue"], exact=True)
    address.fill("1351 Dumont")  # no such house: which one was meant?
    address.press("Escape")
    go_on.click()
    tab.page.get_by_role("heading", name=words["which"]).wait_for()
    assert tab.page.get_by_role("radio").count() >= 1
    tab.step("ambiguous: which address")
    address.fill("Yankee Stadium")  # not in this city's files
    address.press("Escape")
    go_on.click()
    tab.page.locator("[data-error-summary]").wait_for()
    assert tab.page.get_by_role("radio").count() == 0
    assert "1351" not in tab.page.locator("main").inner_text()
    tab.step("a landmark not found: no old choices")
    the_map, box = map_box(tab, words)
    the_map.click(position={"x": 4, "y": box["height"] / 2})  # west of the square city
    tab.page.get_by_text(words["outside"]).wait_for()
    assert address.input_value() == ""
    go_on.click()
    tab.page.locator("[data-error-summary]").wait_for()
    assert tab.page.get_by_role("radio").count() == 0
    assert address.input_value() == ""
    tab.step("a pin outside: no old text, no old choices")
    # The pin shown is the refused one, close up; the resident's own place is elsewhere.
    tab.page.locator("[data-use-my-location]").click()
    tab.page.get_by_text(f"{words['near']} 1350 Dumont Avenue").wait_for()
    assert address.input_value().startswith("1350 Dumont Avenue")
    go_on.click()
    tab.page.get_by_role("heading", name=words["about"]).wait_for()
    tab.step("a pin on Dumont Avenue: on to the next question")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("words", [ENGLISH, SPANISH], ids=["en", "es"])
def test_the_call_now_badge_is_on_the_urgent_card(open_tab, viewport, words):
    tab = open_tab(viewport=viewport)
    speak(tab, words)
    tab.open("/report/")
    tab.page.get_by_label(words["describe"]).fill("tree" if words["lang"] == "en" else "árbol")
    tab.page.get_by_role("button", name=words["search"], exact=True).click()
    cards = tab.page.get_by_test_id("suggestions").locator("li")
    cards.first.wait_for()
    tab.step("tree suggestions")
    badges = tab.page.get_by_test_id("suggestions").get_by_text(words["call_now"], exact=True)
    assert badges.count() >= 1
    names = []
    for badge in badges.all():
        b = badge.bounding_box()
        assert b is not None
        middle = (b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
        holding = [
            card.inner_text()
            for card in cards.all()
            if (c := card.locator("a").bounding_box()) is not None
            and c["x"] <= middle[0] <= c["x"] + c["width"]
            and c["y"] <= middle[1] <= c["y"] + c["height"]
        ]
        assert len(holding) == 1, (badge.inner_text(), holding)
        names.append(holding[0])
    assert any(words["fallen"] in name for name in names), names
    assert not any(words["pruning"] in name for name in names), names


@pytest.mark.parametrize("words", [ENGLISH, SPANISH], ids=["en", "es"])
def test_a_place_outside_is_referred_and_a_typed_borough_keeps_the_suggestions(open_tab, words):
    """Fixed before (issue 13): kept working. "..., Hoboken NJ" is outside the city, not a Main
    Street inside it; typing the borough after the street keeps the suggestions coming."""
    tab = open_tab()
    speak(tab, words)
    tab.open("/report/pothole/")
    address = tab.page.get_by_label(words["address"])
    address.fill("1382 Dumont Ave, Brooklyn")
    suggestion = tab.page.locator("#address-suggestions button").first
    suggestion.wait_for()
    assert suggestion.inner_text().startswith("1382 Dumont Avenue, Brooklyn")
    tab.step("the borough typed: still suggested")
    address.fill("10 Main St, Hoboken NJ")
    address.press("Escape")
    tab.page.get_by_role("button", name=words["continue"], exact=True).click()
    error = tab.page.locator("#address-error")
    error.wait_for()
    assert outside_referral_words(words) in error.inner_text()
    assert tab.page.get_by_role("radio").count() == 0
    tab.step("outside the city: the referral")


def outside_referral_words(words: dict[str, str]) -> str:
    from django.utils import translation

    from city311.geo.locate import outside_referral

    with translation.override(words["lang"]):
        return outside_referral()
