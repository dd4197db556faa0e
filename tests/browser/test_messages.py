"""A request's page after it closes and reopens, and following it both ways, on a phone in both
languages: the closing words are history, the reopen form says what becomes public, the pin's
map shows the city's own streets, and a follower who gives both ways hears both ways."""

from __future__ import annotations

import pytest
from PIL import Image

from city311.notifications.models import Follower
from city311.servicerequests import actions
from city311.servicerequests.models import ServiceRequest
from tests.browser.city import reported
from tests.browser.harness import Tab

ENGLISH = {
    "lang": "en",
    "comment": "What is still wrong?",
    "photo": "A photo (optional)",
    "public": "The photo is public",
    "reopen": "Reopen: it is not fixed",
    "latest": "Latest word from the city",
    "email": "E-mail address",
    "phone": "Mobile phone number, for text messages",
    "follow": "Follow this request",
    "check": "Check your messages",
    "map": "Map of where the problem is",
}
SPANISH = {
    "lang": "es",
    "comment": "¿Qué sigue mal?",
    "photo": "Una foto (opcional)",
    "public": "La foto es pública",
    "reopen": "Reabrir: no está resuelto",
    "latest": "Lo último que dice la ciudad",
    "email": "Correo electrónico",
    "phone": "Número de celular, para mensajes de texto",
    "follow": "Seguir esta solicitud",
    "check": "Revise sus mensajes",
    "map": "Mapa de dónde está el problema",
}


def speak(tab: Tab, words: dict[str, str]) -> None:
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": words["lang"], "url": tab.base_url}]
    )


@pytest.mark.parametrize("words", [ENGLISH, SPANISH], ids=["en", "es"])
def test_a_reopened_request_drops_its_closing_words_and_is_followed_both_ways(
    tab, city, tmp_path, words
):
    speak(tab, words)
    sr = reported()
    actions.close_request(sr, resolution="completed", note="Filled the pothole.", by=city["dana"])
    picture = tmp_path / "still-there.png"
    Image.new("RGB", (320, 240), (60, 60, 60)).save(picture)
    tab.open(f"/track/{sr.tracking_number}")
    # The place close up, on the city's own streets: there is no tile server.
    tab.page.get_by_role("region", name=words["map"]).wait_for()
    tab.page.locator(".portal-map-label--street span", has_text="Dumont Avenue").wait_for()
    photo = tab.page.get_by_label(words["photo"])
    hint = tab.page.locator(f"#{photo.get_attribute('aria-describedby')}").inner_text()
    assert words["public"] in hint
    tab.step("closed: the reopen form says the photo is public")
    tab.page.get_by_label(words["comment"]).fill("The hole is back after the rain")
    photo.set_input_files(picture)
    tab.page.get_by_role("button", name=words["reopen"]).click()
    tab.page.get_by_role("status").wait_for()
    facts = tab.page.locator(".portal-facts").inner_text()
    assert "Filled the pothole." not in facts
    assert "Filled the pothole." in tab.page.locator(".portal-history").inner_text()
    tab.step("reopened: the closing words are history")
    actions.add_note(sr, text="A crew is going back.", public=True, by=city["dana"])
    tab.page.reload()
    facts = tab.page.locator(".portal-facts").inner_text()
    assert words["latest"] in facts and "A crew is going back." in facts
    tab.page.get_by_label(words["email"]).fill("lucia@example.org")
    tab.page.get_by_label(words["phone"]).fill("212 555 0134")
    tab.page.get_by_role("button", name=words["follow"]).click()
    tab.page.get_by_role("status").filter(has_text=words["check"]).wait_for()
    tab.step("following by e-mail and text")
    follower = Follower.objects.get(request=sr, email="lucia@example.org")
    assert follower.channels == ["email", "sms"]
    assert follower.language == words["lang"]
    assert not ServiceRequest.objects.get(pk=sr.pk).is_closed
