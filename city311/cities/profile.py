"""The city as every process reads it: one snapshot of the `City` row, current everywhere.

A setting given in the environment (CITY311_CITY_NAME, CITY311_PHONE, CITY311_TIME_ZONE...)
overrides the city's row; without either, a neutral default keeps a fresh install running.
The snapshot follows the catalog's token (`catalog/cache.py`), which every change to the city
bumps, so it costs no query of its own.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import get_language

from city311.catalog import cache
from city311.cities.models import City
from city311.cities.palette import PALETTE
from city311.lib.languages import named


@dataclass(frozen=True)
class Profile:
    name: str
    time_zone: str
    holidays: str
    map_center: tuple[float, float] | None
    map_zoom: int
    grouping: tuple[int, ...]
    phone: str
    outside_phone: str
    emergency_phone: str
    emergency_transfer: str
    crisis_phone: str
    unplaced_addresses: str
    brand_name: str
    color_primary: str
    color_secondary: str
    has_logo: bool
    logo_version: str
    states: tuple[str, ...]
    state_names: tuple[str, ...]
    # alias (upper case) -> (part of the city, soft)
    aliases: dict[str, tuple[str, bool]]
    outside_names: tuple[str, ...]
    # field -> language -> text ("en" is the row's own)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    # The languages the city offers (its pack's `languages`), English first; () before any city.
    languages: tuple[str, ...] = ()
    # When a person answers (contacts/hours.py reads it): 24/7 or weekly rules.
    call_centre_hours: str = "24/7"

    @property
    def tracking_example(self) -> str:
        """A made-up tracking number in the city's grouping, for hints: "123-4567-890"."""
        digits, groups = "1234567890", []
        for size in self.grouping:
            groups.append(digits[:size])
            digits = digits[size:]
        return "-".join(groups)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def text(self, name: str, language: str | None = None) -> str:
        """`name` ("hours", "outside_referral") in `language` (default: the active one)."""
        texts = self.texts.get(name, {})
        language = (language or get_language() or "en").lower()
        return texts.get(language) or texts.get(language.split("-")[0]) or texts.get("en", "")

    @property
    def hours(self) -> str:
        return self.text("hours")

    @property
    def outside_referral(self) -> str:
        return self.text("outside_referral")

    @property
    def primary_hex(self) -> str:
        return PALETTE.get(self.color_primary, "")

    @property
    def secondary_hex(self) -> str:
        return PALETTE.get(self.color_secondary, "")


def _override(name: str) -> str:
    """A setting the environment (or a test) gave: it wins over the city's row."""
    return str(getattr(settings, name, "") or "")


def _texts(row: City | None, name: str, setting: str) -> dict[str, str]:
    given = _override(setting)
    if given:
        texts = {"en": given}
        translated = _override(f"{setting}_ES")
        if translated:
            texts["es"] = translated
        return texts
    if row is None:
        return {}
    texts = {"en": str(getattr(row, name))}
    for t in row.translations.all():
        if t.field == name and t.text:
            texts[t.language] = t.text
    return texts


def _build(row: City | None) -> Profile:
    grouping = (row.tracking_grouping if row else "3-4-3") or "3-4-3"
    name = _override("CITY311_CITY_NAME") or (row.name if row else "") or "city311"
    return Profile(
        name=name,
        time_zone=(
            settings.TIME_ZONE
            if "CITY311_TIME_ZONE" in os.environ or row is None
            else row.time_zone
        ),
        holidays=_override("CITY311_HOLIDAYS") or (row.holidays if row else ""),
        map_center=(row.map_lat, row.map_long) if row else None,
        map_zoom=row.map_zoom if row else 11,
        grouping=tuple(int(p) for p in grouping.split("-")),
        phone=_override("CITY311_PHONE") or (row.phone if row else "") or "311",
        outside_phone=_override("CITY311_OUTSIDE_PHONE") or (row.outside_phone if row else ""),
        emergency_phone=(
            _override("CITY311_EMERGENCY_PHONE") or (row.emergency_phone if row else "") or "911"
        ),
        emergency_transfer=_override("CITY311_EMERGENCY_TRANSFER")
        or (row.emergency_transfer if row else "")
        or _override("CITY311_EMERGENCY_PHONE")
        or (row.emergency_phone if row else "")
        or "911",
        crisis_phone=_override("CITY311_CRISIS_PHONE") or (row.crisis_phone if row else ""),
        unplaced_addresses=(
            _override("CITY311_UNPLACED_ADDRESSES")
            or (row.unplaced_addresses if row else "")
            or "refuse"
        ),
        call_centre_hours=_override("CITY311_CALL_CENTRE_HOURS")
        or (row.call_centre_hours if row else "")
        or "24/7",
        brand_name=(row.brand_name if row else "") or f"{name} 311",
        color_primary=row.color_primary if row else "",
        color_secondary=row.color_secondary if row else "",
        has_logo=bool(row and row.logo),
        logo_version=f"{row.updated_at:%Y%m%d%H%M%S}" if row else "",
        states=_split(_override("CITY311_GEO_STATE") or (row.states if row else "")),
        state_names=_split(row.state_names if row else ""),
        aliases={a.alias.upper(): (a.part, a.soft) for a in (row.aliases.all() if row else [])},
        outside_names=tuple(
            line.strip() for line in (row.outside_names if row else "").splitlines() if line.strip()
        ),
        languages=tuple(_split(row.languages)) if row else (),
        texts={
            "hours": _texts(row, "hours", "CITY311_HOURS"),
            "outside_referral": _texts(row, "outside_referral", "CITY311_OUTSIDE_REFERRAL"),
        },
    )


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


OVERRIDES = (
    "CITY311_CITY_NAME",
    "CITY311_HOLIDAYS",
    "CITY311_PHONE",
    "CITY311_OUTSIDE_PHONE",
    "CITY311_EMERGENCY_PHONE",
    "CITY311_EMERGENCY_TRANSFER",
    "CITY311_CRISIS_PHONE",
    "CITY311_UNPLACED_ADDRESSES",
    "CITY311_GEO_STATE",
    "CITY311_HOURS",
    "CITY311_HOURS_ES",
    "CITY311_CALL_CENTRE_HOURS",
    "CITY311_OUTSIDE_REFERRAL",
    "CITY311_OUTSIDE_REFERRAL_ES",
    "TIME_ZONE",
)
_lock = threading.Lock()
_snapshot: tuple[tuple[str, ...], Profile] | None = None


@receiver(setting_changed)
def _forget_on_override(setting: str, **kwargs: object) -> None:
    """A setting that overrides the city's row changed (a test's settings): build anew."""
    global _snapshot
    if setting in OVERRIDES:
        _snapshot = None


def current() -> Profile:
    """The city now. Shared between threads: read it, never change it."""
    global _snapshot
    # Rebuilt when the catalog's token moves (the city's row changed in any process) or an
    # overriding setting changed in this one (_forget_on_override).
    key = (cache.catalog().token,)
    snapshot = _snapshot
    if snapshot is None or snapshot[0] != key:
        with _lock:
            row = City.objects.prefetch_related("aliases", "translations").filter(pk=1).first()
            built = _build(row)
            if _snapshot is None or _snapshot[1].languages != built.languages:
                _languages_changed()
            snapshot = _snapshot = (key, built)
    return snapshot[1]


def _languages_changed() -> None:
    """Forget Django's memory of the offered languages (as a change of the setting would)."""
    from django.utils.translation import trans_real

    trans_real.reset_cache(setting="LANGUAGES")


@functools.lru_cache(maxsize=16)
def languages_named(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """The city's languages as settings.LANGUAGES lists them: (code, name in itself)."""
    return named(codes)


def last_zone() -> ZoneInfo:
    """The time zone of this process's last reading of the city, without asking whether it
    is still current (the first reading asks): for the start of every request, where the
    catalog's own check comes later. A change of zone shows one request later."""
    snapshot = _snapshot
    return snapshot[1].zone if snapshot is not None else zone()


def zone() -> ZoneInfo:
    """The city's time zone: what every date residents and staff read is shown in."""
    return current().zone
