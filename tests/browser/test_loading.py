"""The loading status page on a phone, as staff follow the demo's history loading after
`city311 up` printed its link: how far, at what pace; the page follows the load by itself
until it is done, in English and in Spanish. Each step is checked by axe-core (which found the
page's first way of following the load, a <meta> refresh, a critical fault)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from city311.ops import loading
from city311.ops.models import Loading
from tests.browser.harness import Tab
from tests.browser.test_staff import sign_in

# The page reads the figures again every 10 s while something loads.
RELOADED = 25_000


def a_history_loading(done: int, *, seconds_ago: int) -> loading.Tracker:
    tracker = loading.begin("history:nyc", source="NYC 311", total=25_000)
    tracker(done)
    Loading.objects.update(started_at=timezone.now() - timedelta(seconds=seconds_ago))
    return tracker


def in_language(tab: Tab, language: str) -> None:
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": tab.base_url}]
    )


def test_staff_follow_the_history_loading_on_a_phone_in_english(open_tab, city):
    tracker = a_history_loading(10_000, seconds_ago=100)
    dana = open_tab()
    sign_in(dana, "dana")
    dana.page.get_by_role("heading", name="Work queue").wait_for()
    dana.open("/status/loading/")
    page = dana.page
    page.get_by_role("heading", name="What the site is still loading", level=1).wait_for()
    section = page.get_by_role("region", name="The demo city's history (NYC 311)")
    assert "10,000 of 25,000 records loaded (40%)." in section.inner_text()
    assert "About 100 records a second: about 2 minutes left" in section.inner_text()
    bar = section.get_by_role("progressbar", name="The demo city's history (NYC 311)")
    assert bar.get_attribute("value") == "40"
    dana.step("history loading")

    # The next batches are in: the page follows without Dana reloading it.
    tracker(5_000)
    section.get_by_text("15,000 of 25,000 records loaded (60%).").wait_for(timeout=RELOADED)
    tracker(10_000)
    tracker.finished()
    section.get_by_text("25,000 records loaded in").wait_for(timeout=RELOADED)
    assert not section.get_by_role("progressbar").count()
    assert ".." not in section.inner_text(), section.inner_text()
    dana.step("history loaded")


def test_staff_follow_the_history_loading_on_a_phone_in_spanish(open_tab, city):
    tracker = a_history_loading(10_000, seconds_ago=100)
    omar = open_tab()
    sign_in(omar, "omar")
    in_language(omar, "es")
    omar.open("/status/loading/")
    page = omar.page
    assert page.locator("html").get_attribute("lang") == "es"
    page.get_by_role("heading", name="Lo que el sitio aún está cargando", level=1).wait_for()
    section = page.get_by_role("region", name="(NYC 311)")
    text = section.inner_text()
    assert "10\xa0000 de 25\xa0000 registros cargados (40 %)." in text, text
    assert "Unos 100 registros por segundo" in text, text
    omar.step("historial cargando")

    tracker.failed()
    section.get_by_text("Detenida.").wait_for(timeout=RELOADED)
    text = section.inner_text()
    assert "Se detuvo en 10\xa0000 de 25\xa0000 registros" in text, text
    assert "El próximo arranque sigue donde se detuvo." in text, text
    omar.step("carga detenida")
