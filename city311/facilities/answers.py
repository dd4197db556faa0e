"""A resident's question about a kind of place ("is the pool open today?", "¿está abierta la
biblioteca?") answered with the nearest such place and its hours: the answer card the home
page's search shows (fetched from /facilities/answer?q=...&near=...)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from city311.facilities import hours, queries
from city311.facilities.models import FacilityKind
from city311.geo import geocoding

# Words residents use for each kind, English and Spanish, without accents.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    FacilityKind.POOL: (
        "pool",
        "pools",
        "swim",
        "swimming",
        "piscina",
        "piscinas",
        "alberca",
        "nadar",
    ),
    FacilityKind.LIBRARY: ("library", "libraries", "biblioteca", "bibliotecas"),
    FacilityKind.BEACH: ("beach", "beaches", "playa", "playas"),
    FacilityKind.PARK: ("park", "parks", "parque", "parques"),
    FacilityKind.RECREATION_CENTRE: (
        "recreation",
        "rec center",
        "rec centre",
        "gym",
        "recreativo",
        "gimnasio",
    ),
    FacilityKind.TRANSFER_STATION: (
        "drop-off",
        "drop off",
        "transfer station",
        "hazardous waste",
        "entrega de residuos",
    ),
    FacilityKind.CITY_OFFICE: (
        "borough hall",
        "city office",
        "city clerk",
        "municipalidad",
        "oficina municipal",
    ),
}


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


def kind_asked(question: str) -> str:
    """The kind of place the question is about ("" if none): the first kind whose word it has."""
    text = f" {_plain(question)} "
    for kind, words in KIND_WORDS.items():
        if any(re.search(rf"\b{re.escape(w)}\b", text) for w in words):
            return str(kind)
    return ""


def answer(
    question: str, *, near: tuple[float, float] | None = None, at: datetime | None = None
) -> queries.Listed | None:
    """The place of the kind asked about — the nearest to `near` when given — with its status."""
    kind = kind_asked(question)
    if not kind:
        return None
    found = queries.listed(kind=kind, near=near, at=at)
    open_first = found if near is not None else sorted(found, key=lambda x: not x.status.open)
    return open_first[0] if open_first else None


def near_point(text: str) -> tuple[tuple[float, float] | None, str, str]:
    """(point, the address found, a problem to show) for a resident's "near" text."""
    if not text:
        return None, "", ""
    found = geocoding.geocode(text[: queries.MAX_QUERY], limit=1)
    if not found:
        return (
            None,
            "",
            _("We could not find %(place)s. Try a street address or a place name.")
            % {"place": text[:80]},
        )
    return (found[0].lat, found[0].long), found[0].address, ""


def card(question: str, near_text: str) -> dict[str, Any] | None:
    """What the answer card shows for the question (None when it names no kind of place): the
    nearest such place to `near_text` with its hours today."""
    if not kind_asked(question):
        return None
    point, _found, problem = near_point(near_text)
    row = answer(question, near=point)
    return {
        "row": row,
        "today_hours": hours.spans_text(row.status.today.spans) if row else "",
        "near": near_text[:200],
        "near_problem": problem,
        "question": question,
    }
