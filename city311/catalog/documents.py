"""The catalog's search documents: each active service type a resident may report, per
language. The index refreshes them whenever the catalog's version moves (knowledge/index.py)."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.urls import reverse

from city311.catalog import cache


def version() -> str:
    return cache.catalog().token


def documents() -> Iterator[dict[str, str]]:
    for service_type in cache.active_types(emergencies=False):
        url = reverse("portal:report_type", args=[service_type.service_code])
        for language, _name in settings.LANGUAGES:
            title = service_type.translated("service_name", language)
            if language != "en" and title == service_type.service_name:
                continue
            yield {
                "kind": "service",
                "key": service_type.service_code,
                "language": language,
                "title": title,
                "keywords": service_type.keywords if language == "en" else "",
                "body": " ".join(
                    service_type.translated(f, language) for f in ("description", "group")
                ),
                "url": url,
                "audience": "public",
            }
