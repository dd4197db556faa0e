"""Reporting a problem in a real browser, as residents do: on a phone, by keyboard, without
JavaScript, in Spanish. Each step is screenshotted and checked by axe-core (Tab.step)."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from PIL import Image

from city311.servicerequests.models import ServiceRequest
from tests import small_city
from tests.browser.city import dumont, reported
from tests.browser.harness import DESKTOP, Tab

NUMBER = re.compile(r"^\d{3}-\d{4}-\d{3}$")


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "pothole.jpg"
    Image.new("RGB", (640, 480), (90, 90, 90)).save(path, "JPEG")
    return path


def choose(tab: Tab, label: str) -> None:
    """Tick a USWDS radio or checkbox as a person does, by its label (the input is offscreen)."""
    field = tab.page.get_by_label(label, exact=True)
    field.wait_for(state="attached")
    tab.page.locator(f"label[for='{field.get_attribute('id')}']").click()
    assert field.is_checked(), label


def press_continue(tab: Tab) -> None:
    tab.page.get_by_role("button", name="Continue", exact=True).click()


def choose_type(tab: Tab, words: str, name: str) -> None:
    """From the home page: the nav's report link, the resident's own words, a suggestion."""
    tab.page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Report a problem"
    ).click()
    tab.step("choose the type")
    tab.page.get_by_label("Describe the problem in your own words").fill(words)
    tab.page.get_by_role("button", name="Search", exact=True).click()
    tab.step(f"suggestions for {words}")
    tab.page.get_by_test_id("suggestions").get_by_role("link", name=name).click()


def give_address(tab: Tab, address: str) -> None:
    tab.page.get_by_role("heading", name="Where is it?").wait_for()
    field = tab.page.get_by_label("Address or place")
    field.fill(address)
    tab.step("location")
    field.press("Escape")  # close the autocomplete list, if JavaScript opened one
    press_continue(tab)


def tracking_number(tab: Tab) -> str:
    tab.page.get_by_role("heading", name="Your report was sent").wait_for()
    number = tab.page.locator("[data-tracking-number]").inner_text().strip()
    assert NUMBER.match(number), number
    return number


def test_it_reports_a_pothole_with_a_photo_and_gives_a_tracking_number(tab, tmp_path):
    tab.open("/")
    tab.step("home")
    choose_type(tab, "hole in the road", "Pothole")
    give_address(tab, "1350 Dumont Ave")

    tab.page.get_by_role("heading", name="About the problem").wait_for()
    press_continue(tab)  # the size is required: the error summary takes the focus
    summary = tab.page.locator("[data-error-summary]")
    summary.wait_for()
    tab.wait_for_focus(summary)
    tab.step("questions with an error")
    choose(tab, "Larger than a car tire")
    tab.step("questions answered")
    press_continue(tab)

    tab.page.get_by_label("Describe the problem").fill("Deep hole by the bus stop, bikes swerve")
    tab.step("description")
    press_continue(tab)

    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("not a picture")
    tab.page.get_by_label("Add a photo").set_input_files(not_a_photo)
    tab.page.get_by_role("button", name="Add this photo").click()
    tab.page.locator("[data-error-summary]").wait_for()
    assert "JPEG, PNG, GIF or WebP" in tab.page.locator("[data-error-summary]").inner_text()
    tab.step("a file that is not a photo")
    tab.page.get_by_label("Add a photo").set_input_files(photo(tmp_path))
    tab.page.get_by_role("button", name="Add this photo").click()
    tab.page.get_by_role("img", name="Photo 1").wait_for()
    tab.step("photo added")
    press_continue(tab)

    tab.page.get_by_label("E-mail address").fill("rosa at example")
    press_continue(tab)
    tab.page.locator("[data-error-summary]").wait_for()
    assert tab.page.get_by_label("E-mail address").get_attribute("aria-invalid") == "true"
    tab.step("contact with a wrong e-mail address")
    tab.page.get_by_label("E-mail address").fill("rosa@example.org")
    tab.step("contact")
    press_continue(tab)

    tab.page.get_by_role("heading", name="Check your report").wait_for()
    tab.step("review")
    tab.page.get_by_role("button", name="Send the report").click()
    number = tracking_number(tab)
    tab.step("tracking number")

    sr = ServiceRequest.objects.get(tracking_number=number)
    assert sr.service_type.service_code == "pothole"
    assert sr.address_string.upper().startswith("1350 DUMONT")
    assert sr.description == "Deep hole by the bus stop, bikes swerve"
    assert sr.attachments.count() == 1
    tab.page.get_by_role("link", name="See your request").click()
    tab.page.get_by_text(number).first.wait_for()
    tab.step("the request's public page")


def test_it_stops_an_urgent_type_at_call_now_and_an_emergency_at_911(tab):
    tab.open("/report/?q=sinkhole")
    tab.page.get_by_test_id("suggestions").get_by_role("link", name="Sinkhole or Cave-in").click()
    tab.page.get_by_role("heading", name="Call 311 now").wait_for()
    assert tab.page.get_by_role("link", name="Call 311").is_visible()
    assert tab.page.get_by_label("Address or place").count() == 0
    tab.step("urgent: call now")
    tab.open("/report/?q=house+on+fire")
    assert "Call 911" in tab.page.get_by_role("alert").inner_text()
    tab.step("emergency words: call 911")
    tab.open("/report/fire/")
    tab.page.get_by_role("heading", name="Call 911 now").wait_for()
    tab.step("emergency type: call 911")


def test_it_refuses_an_address_outside_the_city_with_the_referral(tab, tmp_path):
    addresses = small_city.write_addresses(tmp_path / "with-outside.csv")
    with addresses.open("a") as f:
        lat, long = small_city.OUTSIDE
        f.write(f"{long},{lat},7,BORDER ROAD,,Elsewhere,07001,outside-7\n")
    call_command("import_addresses", str(addresses), verbosity=0)
    tab.open("/report/pothole/")
    give_address(tab, "7 Border Road")
    error = tab.page.locator(".usa-error-message")
    error.wait_for()
    assert "outside" in error.inner_text().lower() or "city" in error.inner_text().lower()
    tab.wait_for_focus(tab.page.locator("[data-error-summary]"))
    tab.step("outside the city")
    give_address(tab, "1350 Dumont Avenue")
    tab.page.get_by_role("heading", name="About the problem").wait_for()
    tab.step("inside the city: next question")


def test_it_lets_a_resident_follow_a_duplicate_instead_of_filing(tab):
    earlier = reported(number=1350)
    tab.open("/report/pothole/")
    give_address(tab, "1352 Dumont Avenue")
    tab.page.get_by_role("heading", name="Is it one of these?").wait_for()
    choice = tab.page.get_by_role("radio", name=re.compile(earlier.tracking_number))
    assert choice.is_checked()
    tab.step("nearby requests")
    tab.page.get_by_role("button", name="Follow this one instead").click()
    tab.page.locator("[data-error-summary]").wait_for()
    tab.step("follow without an address: error")
    tab.page.get_by_label("E-mail address").fill("rosa@example.org")
    tab.page.get_by_role("button", name="Follow this one instead").click()
    tab.page.get_by_role("heading", name="You are following the request").wait_for()
    tab.step("following")
    assert ServiceRequest.objects.count() == 1


def test_it_reports_with_javascript_off(open_tab):
    tab = open_tab(java_script_enabled=False)
    tab.open("/")
    tab.step("home without JavaScript")
    choose_type(tab, "pothole", "Pothole")
    give_address(tab, "1351 Dumont")  # no such house: the server asks which one was meant
    tab.page.get_by_role("heading", name="Which address did you mean?").wait_for()
    tab.step("which address without JavaScript")
    choose(tab, "1351 Dumont Avenue, Brooklyn, NY 11208")
    press_continue(tab)
    choose(tab, "Smaller than a dinner plate")
    press_continue(tab)
    tab.page.get_by_label("Describe the problem").fill("Across from 1350")
    press_continue(tab)
    tab.step("photos without JavaScript")
    press_continue(tab)
    tab.step("contact without JavaScript")
    press_continue(tab)
    tab.page.get_by_role("button", name="Send the report").click()
    number = tracking_number(tab)
    tab.step("tracking number without JavaScript")
    sr = ServiceRequest.objects.get(tracking_number=number)
    assert sr.address_string.startswith("1351 Dumont Avenue")
    assert sr.description == "Across from 1350"


def test_it_reports_by_keyboard_alone(tab):
    keys = tab.page.keyboard
    tab.open("/")
    tab.tab_to(tab.page.get_by_role("link", name="Report a problem").first)
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_label("Describe the problem in your own words"))
    keys.type("pothole")
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_test_id("suggestions").get_by_role("link", name="Pothole"))
    tab.step("keyboard: the suggestion has the focus")
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_label("Address or place"))
    keys.type("1350 dumont")
    suggestion = tab.page.get_by_role("button", name="1350 Dumont Avenue")
    suggestion.wait_for()
    keys.press("ArrowDown")
    tab.wait_for_focus(suggestion)
    tab.step("keyboard: address suggestions")
    keys.press("Enter")
    assert tab.page.get_by_label("Address or place").input_value().startswith("1350 Dumont Avenue")
    tab.tab_to(tab.page.get_by_role("button", name="Continue", exact=True))
    tab.step("keyboard: location")
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_role("radio", name="Smaller than a dinner plate"))
    keys.press("Space")
    assert tab.page.get_by_role("radio", name="Smaller than a dinner plate").is_checked()
    tab.tab_to(tab.page.get_by_role("button", name="Continue", exact=True))
    tab.step("keyboard: questions")
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_label("Describe the problem"))
    keys.type("Typed without a mouse")
    tab.tab_to(tab.page.get_by_role("button", name="Continue", exact=True))
    keys.press("Enter")
    tab.page.get_by_role("heading", name="Add photos").wait_for()
    tab.tab_to(tab.page.get_by_role("button", name="Continue", exact=True))
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_label("E-mail address"))
    keys.type("rosa@example.org")
    tab.tab_to(tab.page.get_by_role("button", name="Continue", exact=True))
    keys.press("Enter")
    tab.tab_to(tab.page.get_by_role("button", name="Send the report"))
    tab.step("keyboard: review")
    keys.press("Enter")
    number = tracking_number(tab)
    tab.step("keyboard: tracking number")
    assert ServiceRequest.objects.get(tracking_number=number).description == (
        "Typed without a mouse"
    )


def test_it_reports_in_spanish(tab):
    """The language switcher, then the flow: catalog text and the page's own words in Spanish."""
    english = ["Where is it?", "About the problem", "Continue", "Send the report", "Add photos"]

    def step(name: str) -> None:
        assert tab.page.locator("html").get_attribute("lang") == "es"
        text = tab.page.locator("main").inner_text()
        untranslated = [words for words in english if words in text]
        assert not untranslated, f"{name}: English on a Spanish page: {untranslated}"
        tab.step(name)

    def go_on() -> None:
        tab.page.get_by_role("button", name="Continuar", exact=True).click()

    tab.open("/")
    tab.page.get_by_role("button", name="Español").click()
    tab.page.get_by_role("button", name="English").wait_for()
    step("home in Spanish")
    tab.page.get_by_role("navigation").get_by_role("link", name="Reportar un problema").click()
    tab.page.get_by_label("Describa el problema con sus propias palabras").fill("bache")
    tab.page.get_by_role("button", name="Buscar", exact=True).click()
    step("suggestions in Spanish")
    tab.page.get_by_test_id("suggestions").get_by_role("link", name="Bache").click()
    tab.page.get_by_role("heading", name="¿Dónde está?").wait_for()
    tab.page.get_by_label("Dirección o lugar").fill("1350 Dumont Avenue")
    step("location in Spanish")
    go_on()
    tab.page.get_by_role("heading", name="Sobre el problema").wait_for()
    assert tab.page.get_by_text("¿Qué tamaño tiene el bache, más o menos?").is_visible()
    choose(tab, "Más pequeño que un plato")
    step("questions in Spanish")
    go_on()
    tab.page.get_by_label("Describa el problema").fill("Un bache hondo junto a la parada")
    step("description in Spanish")
    go_on()
    go_on()  # no photo
    tab.page.get_by_label("Correo electrónico").fill("rosa@example.org")
    step("contact in Spanish")
    go_on()
    tab.page.get_by_role("heading", name="Revise su reporte").wait_for()
    step("review in Spanish")
    tab.page.get_by_role("button", name="Enviar el reporte").click()
    tab.page.get_by_role("heading", name="Su reporte fue enviado").wait_for()
    number = tab.page.locator("[data-tracking-number]").inner_text().strip()
    step("tracking number in Spanish")
    assert ServiceRequest.objects.get(tracking_number=number).contact.language == "es"


def test_it_reports_on_a_desktop_screen(open_tab):
    tab = open_tab(viewport=DESKTOP)
    tab.open("/report/")
    tab.step("desktop: choose the type")
    tab.open("/report/pothole/")
    tab.page.get_by_role("heading", name="Where is it?").wait_for()
    tab.step("desktop: location with the map")
    give_address(tab, "Dumont and Van Siclen")
    choose(tab, "In a traffic lane")
    tab.page.get_by_role("button", name="Continue", exact=True).click()
    tab.page.locator("[data-error-summary]").wait_for()  # the size is missing
    tab.step("desktop: a question left out")
    choose(tab, "About the size of a car tire")
    for step in ("description", "photos", "contact"):
        press_continue(tab)
        tab.step(f"desktop: {step}")
    press_continue(tab)
    tab.step("desktop: review")
    tab.page.get_by_role("button", name="Send the report").click()
    number = tracking_number(tab)
    tab.step("desktop: tracking number")
    sr = ServiceRequest.objects.get(tracking_number=number)
    # The corner of Dumont and Van Siclen, found by the server.
    assert (round(sr.lat, 3), round(sr.long, 3)) == (40.67, -73.925)


def test_it_marks_the_place_with_the_phone_location_or_a_pin(open_tab):
    here = dumont(1350)
    tab = open_tab(
        geolocation={"latitude": here["lat"], "longitude": here["long"]},
        permissions=["geolocation"],
    )
    tab.open("/report/pothole/")
    tab.page.get_by_role("button", name="Continue", exact=True).click()
    tab.page.locator("[data-error-summary]").wait_for()
    tab.step("location left empty")
    the_map = tab.page.get_by_label("Map: tap or drag the pin to mark the place")
    box = the_map.bounding_box()
    assert box is not None
    # The map fits the square city: its left edge, halfway down, is outside the limits.
    the_map.click(position={"x": 4, "y": box["height"] / 2})
    tab.page.get_by_text("That place is outside the city.").wait_for()
    tab.step("a pin outside the city")
    tab.page.get_by_role("button", name="Use my location").click()
    tab.page.get_by_text("Near 1350 Dumont Avenue").wait_for()
    assert tab.page.get_by_label("Address or place").input_value().startswith("1350 Dumont")
    tab.step("my location found")
    press_continue(tab)
    tab.page.get_by_role("heading", name="About the problem").wait_for()
