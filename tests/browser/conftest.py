"""Browser fixtures: one chromium per session, a fresh context per test, the small city served live.

`live_server` is pytest-django's: Django in a thread of this process, static files through the
finders (so the npm-installed libraries and axe-core are served as in development), on a
transactional test database the tests fill through the domain's own actions.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, sync_playwright

from city311.accounts import roles
from city311.catalog.models import BusinessHours, Department
from city311.demo.loader import load_catalog
from city311.test import make_user
from tests import small_city
from tests.browser.harness import CHROMIUM_ARGS, PHONE, Tab, artifacts_dir, chromium_path
from tests.rows import built_once


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One browser for the browser tests, closed after them: the rest of the suite runs without."""
    path = chromium_path()
    # Playwright's sync API keeps an asyncio loop on this thread, and Django then refuses ORM
    # calls made by the tests themselves ("SynchronousOnlyOperation"): they are plain sync code.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def city(transactional_db, settings, tmp_path) -> dict[str, Any]:
    """The small square city's geography, the demo catalog (83 types, in Spanish too), staff."""
    # Staff sign in through the page: the fast hasher keeps that test from paying for Argon2.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The file cache outlives the test database: its rate-limit counters would refuse the
    # journeys' reports after a few runs. Each test counts from zero in a cache of its own.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-{uuid.uuid4()}",
        }
    }

    def build() -> None:
        roles.ensure_roles()
        BusinessHours.objects.bulk_create(
            BusinessHours(weekday=d, opens=time(8, 0), closes=time(17, 0)) for d in range(5)
        )
        load_catalog()
        small_city.load(tmp_path)
        streets = Department.objects.get(slug="transportation")
        make_user("omar", roles.CALL_TAKER)
        make_user("dana", roles.DEPARTMENT_STAFF, streets)

    # Built by the first test of the process, its rows written back for the next ones.
    built_once("small city", build)
    return {name: User.objects.get(username=name) for name in ("omar", "dana")}


@pytest.fixture
def open_tab(chromium, live_server, city, request) -> Iterator[Callable[..., Tab]]:
    """Opens a Tab in a fresh context: `open_tab(viewport=DESKTOP, java_script_enabled=False)`."""
    folder = artifacts_dir(request.node.name)
    tabs: list[Tab] = []

    def open_(**options: Any) -> Tab:
        options.setdefault("viewport", PHONE)
        context = chromium.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        where = folder if not tabs else folder / f"tab-{len(tabs) + 1}"
        where.mkdir(exist_ok=True)
        tab = Tab(
            context.new_page(),
            live_server.url,
            where,
            javascript=options.get("java_script_enabled", True),
        )
        tabs.append(tab)
        return tab

    yield open_
    failed = getattr(request.node, "call_report", None)
    for tab in tabs:
        if failed is not None and failed.failed:
            # Where the test stopped, beside the steps it got through.
            tab.page.screenshot(path=tab.artifacts / "failed.png", full_page=True)
        tab.page.context.close()
    for tab in tabs:
        tab.check()


@pytest.fixture
def tab(open_tab) -> Tab:
    """A phone-sized page with JavaScript on: the portal is phone-first."""
    return open_tab()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the test's outcome on it, for open_tab to screenshot a failure."""
    report = yield
    if report.when == "call":
        item.call_report = report
    return report
