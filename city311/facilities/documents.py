"""The facilities' and events' search documents, for the one search over everything.

`documents()` yields one document per facility or event per language: the shape every app's
documents() shares (docs/knowledge.md). `open_now_text(key)` is the line a search result
shows beside a facility hit ("Open now until 8 p.m.").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from city311.facilities import hours, queries


class Document(TypedDict):
    kind: str
    key: str
    language: str
    title: str
    body: str
    url: str
    audience: str


def _languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def documents() -> Iterator[Document]:
    """Every active facility and event, once per configured language (English as fallback)."""
    facilities = list(queries.facilities())
    events = list(queries.events())
    for language in _languages():
        with translation.override(language):
            for f in facilities:
                body = [
                    f.get_kind_display(),
                    f.translated("description", language),
                    " ".join(f.feature_list(language)),
                    f.address,
                ]
                yield {
                    "kind": "facility",
                    "key": f.slug,
                    "language": language,
                    "title": f.translated("name", language),
                    "body": "\n".join(b for b in body if b),
                    "url": reverse("facilities:facility", args=[f.slug]),
                    "audience": "public",
                }
            for e in events:
                body = [e.get_category_display(), e.translated("description", language), e.where]
                yield {
                    "kind": "event",
                    "key": e.slug,
                    "language": language,
                    "title": e.translated("title", language),
                    "body": "\n".join(b for b in body if b),
                    "url": reverse("facilities:event", args=[e.slug]),
                    "audience": "public",
                }


def open_now_text(key: str) -> str:
    """ "Open now until 8 p.m." for the facility `key` (a document's key), in the active
    language; "" for a key that is no active facility."""
    f = queries.facilities().filter(slug=key).first()
    return hours.status_text(f) if f is not None else ""
