"""The languages the city offers: its pack's (`City.languages`), unless CITY311_LANGUAGES says.

`settings.LANGUAGES` is a `CityLanguages`: a sequence of (code, name) that reads the city each
time it is asked (from the city's snapshot, `cities/profile.py`, which costs no query of its
own), so every `settings.LANGUAGES` reader — the language switcher, LocaleMiddleware, input
checks — follows the city's pack. CITY311_LANGUAGES, when set, is an override; with no city
yet (a fresh database, start-up, migrations) the fallback, English and Spanish, answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

CODE_ROOT = Path(__file__).resolve().parent.parent


class UnknownLanguage(ValueError):
    """A language code Django does not know."""


def named(codes: Iterable[str]) -> list[tuple[str, str]]:
    """(code, name in itself) for each code, English first; UnknownLanguage names the rest."""
    from django.conf.locale import LANG_INFO

    wanted = [code.strip().lower() for code in codes if code.strip()]
    unknown = [code for code in wanted if code not in LANG_INFO]
    if unknown:
        raise UnknownLanguage(
            f"{', '.join(unknown)}: use language codes Django knows (en, es, fr, zh-hans, ...)."
        )
    ordered = ["en", *(code for code in dict.fromkeys(wanted) if code != "en")]
    names = {code: str(LANG_INFO[code].get("name_local", code)) for code in ordered}
    return [(code, names[code][:1].upper() + names[code][1:]) for code in ordered]


def translated_in_code() -> set[str]:
    """The languages city311's own pages have translations for (English is the source)."""
    found = {"en"}
    for catalog in CODE_ROOT.glob("**/locale/*/LC_MESSAGES/django.mo"):
        found.add(catalog.parent.parent.name.lower().replace("_", "-"))
    return found


class CityLanguages(Sequence[tuple[str, str]]):
    def __init__(
        self, *, override: list[tuple[str, str]] | None, fallback: list[tuple[str, str]]
    ) -> None:
        self.override = override
        self.fallback = fallback

    def current(self) -> list[tuple[str, str]]:
        if self.override is not None:
            return self.override
        from django.apps import apps

        if not apps.ready:
            return self.fallback
        from city311.cities import profile

        try:
            codes = profile.current().languages
        except Exception:  # no database yet (start-up, migrations, a test without one)
            return self.fallback
        return profile.languages_named(codes) if codes else self.fallback

    @overload
    def __getitem__(self, index: int) -> tuple[str, str]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[str, str]]: ...

    def __getitem__(self, index: int | slice) -> tuple[str, str] | Sequence[tuple[str, str]]:
        return self.current()[index]

    def __len__(self) -> int:
        return len(self.current())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.current())

    def __repr__(self) -> str:
        return f"CityLanguages({self.current()!r})"
