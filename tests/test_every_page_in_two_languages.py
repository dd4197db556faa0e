"""Every named page a resident or staff member opens, walked in English and in Spanish: it
answers, its <html lang> is the page's language, and a Spanish page shows none of the English
sentences city311 has Spanish for (a string translated too early, or never marked, reads
English on a Spanish page).

The list of pages is read from city311/urls.py, as tests/test_access_matrix.py reads the
console's and the work pages': a page added later is walked without a change here, and one
whose address takes an argument this file cannot fill fails until it is given one.
"""

from __future__ import annotations

import gettext
import html
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver

from city311.test import CityMixin

# Machine faces and their own test files: Open311 (tests/test_open311*.py), the admin
# (tests/test_admin.py), inbound webhooks, the language switch, single sign-on.
NOT_PAGES = (
    "open311/",
    "^open311",
    "api/docs",
    "admin/",
    "i18n/",
    "intake/",
    "oidc/",
    "contacts/calls/",
)
STAFF = ("work/", "console/", "reports/", "status/", "pickups/staff/", "accounts/", "city/")
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def routes(patterns=None, prefix: str = "") -> list[str]:
    """Every page's route under the site's URL patterns, e.g. "track/<str:tracking_number>"."""
    found = []
    for p in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            found += routes(p.url_patterns, route)
        elif isinstance(p, URLPattern) and not route.startswith(NOT_PAGES):
            found.append(route)
    return sorted(set(found))


def english_sentences() -> list[str]:
    """city311's English sentences that have a different Spanish: two words or more, without
    placeholders (a service's or a person's name may read the same in both languages)."""
    mo = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    # A field's name ("seen at") is the admin's; on a page it is the city's data (a question
    # without wording is shown by its code).
    field_names = {
        str(field.verbose_name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if getattr(field, "verbose_name", None)
    }
    found = []
    for msgid, msgstr in catalog.items():
        if msgid in field_names:
            continue
        if not isinstance(msgid, str) or not msgid or "%" in msgid or "\x04" in msgid:
            continue
        if msgstr != msgid and len(msgid.split()) >= 2 and "{" not in msgid:
            found.append(msgid)
    return found


def visible_text(page: str) -> str:
    """What a reader sees or hears: the text, and the words in alt, title, aria-label and
    placeholder attributes; scripts and styles left out."""
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    said = re.findall(r'\b(?:alt|title|aria-label|placeholder)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(" ".join([text, *said])))


@pytest.fixture(scope="module")
def walk(django_db_setup, django_db_blocker):
    """The city and one request, made once for the file (rolled back at its end)."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            city = CityMixin()
            city.make_city()
            # Rosa's own words are in Spanish: an English description would be her words.
            sr = city.report(language="es", description="Un bache hondo junto a la acera")
            samples = {
                "tracking_number": sr.tracking_number,
                "service_code": "pothole",
                "step": "location",
                "index": "1",
                "pk": "1",
                "number": "1",
                "slug": "nonesuch",
                "name": "nonesuch",
                "category": "nonesuch",
                "token": "nonesuch",
                "address_id": "1",
                "action": "nonesuch",
                "uidb64": "MQ",
                "code": "pothole",
            }
            yield city, samples, english_sentences()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def address(route: str, samples: dict[str, str]) -> str:
    names = re.findall(r"<(?:\w+:)?(\w+)>", route)
    missing = [n for n in names if n not in samples]
    assert not missing, f"{route}: give the walk a sample {missing}"
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples[m.group(1)], route)


# Words of English UI that no Spanish sentence holds: they find what was never marked for
# translation (a template's words written without {% translate %}).
ENGLISH_WORDS = ["the", "your", "you", "and", "Sign in", "Password", "Search", "Submit", "Save"]

# What a page answers that is not 200: a redirect (to sign in, to the first step), a form that
# only posts (405), a sample that names nothing (404, still a page in the reader's language),
# an API asked without its question (400), nothing new for the call desk (204).
ANSWERS = {200, 204, 302, 400, 404, 405}


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_page_answers_in_the_readers_language(walk, language, db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHER
    city, samples, sentences = walk
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    wrong = []
    walked = seen = 0
    for staff in (False, True):
        if staff:
            client.force_login(city.ada)
        for route in routes():
            if route.startswith(STAFF) != staff:
                continue
            path = address(route, samples)
            r = client.get(path)
            walked += 1
            if r.status_code not in ANSWERS:
                wrong.append(f"{path}: {r.status_code}")
                continue
            if "text/html" not in r.get("Content-Type", "") or r.status_code in (204, 302, 405):
                continue
            page = r.content.decode()
            if f'<html lang="{language}"' not in page:
                wrong.append(f'{path}: not <html lang="{language}">')
            text = visible_text(page)
            english = [s for s in sentences if s in text]
            seen += len(english)
            english += [w for w in ENGLISH_WORDS if re.search(rf"\b{w}\b", text)]
            if language == "es" and english:
                wrong.append(f"{path}: English on a Spanish page: {english}")
    assert walked > 80
    # The English pages show the sentences looked for: the look finds what is there.
    assert seen > (100 if language == "en" else -1)
    assert not wrong, "\n".join(wrong)
