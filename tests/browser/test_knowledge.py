"""The knowledge base in a real browser: Rosa asks on the home page and reads the answer, in
English and Spanish; Omar finds an answer as the caller speaks. axe-core checks every page."""

from __future__ import annotations

from datetime import date

import pytest

from city311.knowledge.actions import save_article
from city311.knowledge.models import Article
from tests.browser.harness import DESKTOP
from tests.browser.test_facilities import pools  # noqa: F401  (the fixture)
from tests.browser.test_staff import sign_in


def articles() -> None:
    pool = Article(
        slug="public-pools",
        title="When are the public pools open?",
        summary="Outdoor pools are open daily from late June, 11 AM to 7 PM.",
        body="**Indoor pools** are open all year.\n\n- Bring a padlock.\n- Wear a swimsuit.",
        keywords="swimming pool hours",
        status="published",
        review_by=date(2099, 1, 1),
    )
    save_article(
        pool,
        translations={
            "es": {
                "title": "¿Cuándo abren las piscinas públicas?",
                "summary": "Las piscinas al aire libre abren a diario desde junio.",
                "body": "**Las piscinas cubiertas** abren todo el año.",
            }
        },
        by=None,
    )
    pothole = Article(
        slug="pothole-repair",
        title="How do I get a pothole fixed?",
        summary="Report it with the location; crews fill most within a few days.",
        body="Give the address and the lane.",
        status="published",
        review_by=date(2020, 1, 1),
    )
    save_article(pothole, service_codes=["pothole"], related=["public-pools"], by=None)


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_finds_no_serious_violation_on_the_help_pages(open_tab, live_server, city, language):
    articles()
    tab = open_tab()
    tab.page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    for path in (
        "/help/",
        "/help/?q=pool",
        "/help/?q=zzzz",
        "/help/public-pools/",
        "/help/pothole-repair/",
        "/report/?q=is+the+pool+open",
    ):
        tab.open(path)
        assert tab.page.locator("html").get_attribute("lang") == language
        assert tab.page.get_by_role("heading", level=1).count() == 1, f"one h1 on {path}"
        tab.step(f"{language} {path}")


@pytest.mark.usefixtures("pools")
def test_rosa_asks_the_home_page_is_the_pool_open_today(open_tab, city):
    """On her phone: the nearest pool's hours today near her address, then the pools' article."""
    articles()
    tab = open_tab()
    tab.open("/")
    tab.page.get_by_label("What do you need?").fill("is the pool open today?")
    tab.page.get_by_role("button", name="Search").click()
    answer = tab.page.get_by_test_id("place-answer")
    answer.get_by_label("Near an address").fill("1352 Dumont Avenue")
    answer.get_by_role("button", name="Find the nearest").click()
    tab.page.wait_for_url("**near=1352*")
    card = tab.page.get_by_test_id("place-answer").locator("[data-facility]")
    assert card.get_attribute("data-facility") == "dumont-pool"
    assert card.get_by_role("link", name="Dumont Avenue Pool").is_visible()
    assert card.get_by_text("Today: 6 a.m. \N{EN DASH} midnight").is_visible()
    tab.step("the nearest pool's hours")
    tab.page.get_by_role("link", name="When are the public pools open?").click()
    tab.page.get_by_role("heading", name="When are the public pools open?").wait_for()
    assert tab.page.get_by_text("Outdoor pools are open daily").is_visible()
    tab.step("the pool answer")


def test_a_report_shows_its_answers_before_the_first_step(open_tab, city):
    articles()
    tab = open_tab()
    tab.open("/report/pothole/")
    assert tab.page.get_by_role("link", name="How do I get a pothole fixed?").is_visible()
    tab.step("before you report")


def test_omar_finds_an_answer_as_the_caller_speaks(open_tab, city):
    articles()
    tab = open_tab(viewport=DESKTOP)
    sign_in(tab, "omar")
    tab.page.goto(tab.url("/console/answers/"))
    tab.step("answers panel")
    tab.page.get_by_label("What is the caller asking?").press_sequentially("pool hou", delay=30)
    link = tab.page.get_by_role("link", name="When are the public pools open?")
    link.wait_for()
    tab.step("answers as the caller speaks")
    link.click()
    tab.page.get_by_role("button", name="I answered the caller with this").click()
    tab.page.get_by_text("Used 1 time").wait_for()
    tab.step("answer used")
    tab.page.goto(tab.url("/console/answers/stale/"))
    assert tab.page.get_by_role("link", name="How do I get a pothole fixed?").is_visible()
    tab.step("stale articles")
