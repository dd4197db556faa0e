"""Public holiday names in the reader's language.

The `holidays` package names a country's holidays in each language it has for that country
(Mexico's in Spanish, Ukraine's in Ukrainian...): where it has the page's language, its name
for the day is used. Where it has not (it names the United States' holidays in English only),
the English name is translated through this app's message catalog, piece by piece: "; " joins
two holidays on one day, and " (observed)" marks a weekday off in lieu of a weekend holiday.
A name it knows neither way (a city's own day off) stays as the city wrote it.
"""

from __future__ import annotations

import functools
from datetime import date

import holidays as holidays_lib
from django.utils.translation import get_language, pgettext, pgettext_lazy

OBSERVED = " (observed)"

# The names of the United States' federal and states' holidays, for the message catalog
# (makemessages reads them here; `localized` looks each up by its English text).
US_NAMES = (
    pgettext_lazy("holiday", "New Year's Day"),
    pgettext_lazy("holiday", "Martin Luther King Jr. Day"),
    pgettext_lazy("holiday", "Lincoln's Birthday"),
    pgettext_lazy("holiday", "Washington's Birthday"),
    pgettext_lazy("holiday", "Presidents' Day"),
    pgettext_lazy("holiday", "Susan B. Anthony Day"),
    pgettext_lazy("holiday", "Cesar Chavez Day"),
    pgettext_lazy("holiday", "Memorial Day"),
    pgettext_lazy("holiday", "Juneteenth National Independence Day"),
    pgettext_lazy("holiday", "Independence Day"),
    pgettext_lazy("holiday", "Labor Day"),
    pgettext_lazy("holiday", "Columbus Day"),
    pgettext_lazy("holiday", "Election Day"),
    pgettext_lazy("holiday", "Veterans Day"),
    pgettext_lazy("holiday", "Thanksgiving Day"),
    pgettext_lazy("holiday", "Thanksgiving"),
    pgettext_lazy("holiday", "Day After Thanksgiving"),
    pgettext_lazy("holiday", "Christmas Day"),
    pgettext_lazy("holiday", "Diwali"),
    pgettext_lazy("holiday", "City holiday"),
)


@functools.lru_cache(maxsize=64)
def _package_names(region: str, year: int, language: str) -> dict[date, str]:
    country, _, subdiv = region.partition("-")
    return dict(
        holidays_lib.country_holidays(
            country, subdiv=subdiv or None, years=year, language=language
        ).items()
    )


@functools.lru_cache(maxsize=64)
def _package_language(region: str, language: str) -> str:
    """The package's code for `language` in `region`'s country ("" when it has none)."""
    country = region.partition("-")[0]
    try:
        supported = holidays_lib.country_holidays(country).supported_languages
    except NotImplementedError:
        # The holidays package's own answer for a country it does not know: no names to give.
        return ""
    wanted = language.lower().replace("-", "_")
    for code in supported:
        if code.lower() == wanted or code.lower().split("_")[0] == wanted.split("_")[0]:
            return str(code)
    return ""


def _translated(name: str) -> str:
    parts = []
    for part in name.split("; "):
        observed = part.endswith(OBSERVED)
        base = part.removesuffix(OBSERVED)
        text = pgettext("holiday", base)
        parts.append(
            pgettext("holiday", "%(name)s (observed)") % {"name": text} if observed else text
        )
    return "; ".join(parts)


def localized(name: str, *, region: str, day: date, language: str | None = None) -> str:
    """`name`, the English name of the holiday on `day` in `region` (US-NY), in `language`
    (default: the active one)."""
    language = language or get_language() or "en"
    if not name or language.split("-")[0] == "en":
        return name
    code = _package_language(region, language) if region else ""
    if code and not code.lower().startswith("en"):
        found = _package_names(region, day.year, code).get(day)
        if found:
            return found
    return _translated(name)
