"""Loading a demo city: its city pack (city311/demo/cities/<name>/) through the same reader and
writer as `city311 import_city`, demo passwords for its staff, and its history."""

from __future__ import annotations

import importlib
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import Any

import argon2
from django.contrib.auth.models import User
from django.utils import timezone

from city311.cities.pack.apply import Applied, apply_pack
from city311.cities.pack.files import Problems, find, read_yaml
from city311.cities.pack.reader import SECTIONS, read_pack
from city311.demo.signins import write_signins
from city311.servicerequests.bulk import bulk_load
from city311.servicerequests.imports import HistoricalRecord, import_history
from city311.servicerequests.models import Channel, Resolution, ServiceRequest

Progress = Callable[[int], None]
CITIES = Path(__file__).parent / "cities"
DEFAULT_CITY = "nyc"


class NoSuchCity(LookupError):
    pass


def cities() -> list[str]:
    """The demo cities shipped: folders of city311/demo/cities with a manifest."""
    return sorted(p.name for p in CITIES.iterdir() if find(p, "city") is not None)


def pack_folder(city: str = DEFAULT_CITY) -> Path:
    folder = CITIES / city
    if city not in cities():
        raise NoSuchCity(f"There is no demo city {city!r}: choose one of {', '.join(cities())}.")
    return folder


def load_pack(
    city: str = DEFAULT_CITY,
    *,
    sections: frozenset[str] | set[str] = SECTIONS,
    progress: Progress | None = None,
) -> Applied:
    """Import the demo city's pack (or some of its sections); a shipped pack has no problem."""
    pack = read_pack(pack_folder(city), sections=sections)
    if pack.problems:
        raise ValueError("; ".join(str(p) for p in pack.problems.found))
    return apply_pack(pack, progress=progress)


# The parts, one at a time: for tests and benchmarks that need only some of the city.


def load_catalog(city: str = DEFAULT_CITY) -> tuple[int, int]:
    counts = load_pack(city, sections={"catalog"}).counts
    return counts["departments"], counts["service types"]


def load_knowledge(city: str = DEFAULT_CITY) -> int:
    """The catalog and the knowledge base's articles (they link to service types)."""
    return load_pack(city, sections={"catalog", "knowledge"}).counts.get("articles", 0)


def load_calendar(city: str = DEFAULT_CITY) -> None:
    load_pack(city, sections={"calendar"})


def load_boundaries(city: str = DEFAULT_CITY) -> int:
    counts = load_pack(city, sections={"boundaries"}).counts
    return sum(n for what, n in counts.items() if what.endswith(" areas"))


def load_addresses(
    city: str = DEFAULT_CITY, progress: Progress | None = None
) -> tuple[int, int, int]:
    """The address points, named places and street corners of the city's pack."""
    counts = load_pack(city, sections={"addresses", "places", "corners"}, progress=progress).counts
    return counts.get("addresses", 0), counts.get("places", 0), counts.get("corners", 0)


def load_routing(city: str = DEFAULT_CITY) -> int:
    return load_pack(city, sections={"catalog", "boundaries", "routing"}).counts["routing rules"]


def set_demo_passwords(users: list[str] | None = None) -> list[tuple[str, str, str]]:
    """A fresh random password for each of the pack's staff; returns (username, password,
    role) and keeps them for `city311 up` to show. Only a demo does this: a real city's
    staff set their own through the link import_city gives them."""
    signins = []
    staff = User.objects.filter(groups__isnull=False).distinct().order_by("pk")
    if users is not None:
        staff = staff.filter(username__in=users)
    for user in staff.prefetch_related("groups"):
        password = secrets.token_urlsafe(12)
        user.password = _quick_hash(password)
        user.save(update_fields=["password"])
        signins.append((user.username, password, user.groups.all()[0].name))
    write_signins(signins)
    return signins


def _quick_hash(password: str) -> str:
    """An Argon2 hash of a random demo password at a small cost: each such password has 96
    random bits, which no cost setting makes guessable, and the city's full cost took most of
    a second per person on a demo's first start. Django checks it as any Argon2 hash and
    rehashes it at the full cost the first time the person signs in."""
    hasher = argon2.PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    return "argon2" + hasher.hash(password)


def staff_usernames(city: str = DEFAULT_CITY) -> list[str]:
    path = find(pack_folder(city), "staff")
    data: dict[str, Any] = (read_yaml(path, path.name, Problems()) if path else None) or {}
    return [u["username"] for u in data.get("users", [])]


# History.


def history_module(city: str = DEFAULT_CITY) -> ModuleType | None:
    """The module the pack's manifest names under `history` (docs/city-pack.md), if any."""
    path = find(pack_folder(city), "city")
    assert path is not None
    manifest: dict[str, Any] = read_yaml(path, path.name, Problems()) or {}
    name = (manifest.get("history") or {}).get("module")
    return importlib.import_module(name) if name else None


def history_records(city: str = DEFAULT_CITY) -> Iterator[HistoricalRecord]:
    module = history_module(city)
    if module is not None:
        yield from module.records()


def history_loaded(city: str = DEFAULT_CITY) -> bool:
    module = history_module(city)
    return module is None or ServiceRequest.objects.filter(application=module.SOURCE).exists()


def count_history(city: str = DEFAULT_CITY) -> int:
    return sum(1 for _ in history_records(city))


def load_history(
    city: str = DEFAULT_CITY,
    progress: Progress | None = None,
    *,
    records: Iterable[HistoricalRecord] | None = None,
) -> int:
    """Import the city's historical records (or `records`, already read from them); a load
    that was cut short resumes after the records it imported. Returns how many it imported."""
    module = history_module(city)
    if module is None:
        return 0
    found = history_records(city) if records is None else records
    done = history_imported(city)
    return import_history(islice(found, done, None), source=module.SOURCE, progress=progress)


def history_imported(city: str = DEFAULT_CITY) -> int:
    """How many of the city's historical records are in the database (imported in order, a
    batch a transaction, so they are the first ones)."""
    module = history_module(city)
    if module is None:
        return 0
    return ServiceRequest.objects.filter(application=module.SOURCE, historical=True).count()


# Kept for the benchmarks and tests written for the New York demo.


def nyc_records() -> Iterator[HistoricalRecord]:
    return history_records("nyc")


def generated_records(
    count: int, *, seed: int = 311, city: str = DEFAULT_CITY
) -> Iterator[HistoricalRecord]:
    """Plausible requests shaped like the real ones: their types, places and channels."""
    rng = random.Random(seed)
    real = [r for r in history_records(city) if r.lat is not None]
    type_weights = Counter(r.service_code for r in real)
    codes, weights = list(type_weights), list(type_weights.values())
    channels = [Channel.WEB, Channel.MOBILE_APP, Channel.PHONE, Channel.PHONE, Channel.EMAIL]
    now = timezone.now()
    for _ in range(count):
        place = rng.choice(real)
        requested = now - timedelta(seconds=rng.randint(3600, 730 * 86400))
        closed = requested + timedelta(hours=rng.expovariate(1 / 96))
        is_closed = closed < now and rng.random() < 0.9
        yield HistoricalRecord(
            service_code=rng.choices(codes, weights)[0],
            requested_at=requested,
            lat=(place.lat or 0) + rng.uniform(-0.002, 0.002),
            long=(place.long or 0) + rng.uniform(-0.002, 0.002),
            address_string=place.address_string,
            zipcode=place.zipcode,
            closed_at=closed if is_closed else None,
            resolution=Resolution.COMPLETED if rng.random() < 0.8 else Resolution.NO_ACTION,
            resolution_note="The condition was inspected and addressed.",
            channel=rng.choice(channels),
        )


def load_generated_history(
    count: int, progress: Progress | None = None, *, city: str = DEFAULT_CITY
) -> int:
    """Add `count` generated historical requests. A load as large as the city's requests goes
    the bulk way, as `import_nyc`'s does (`bulk.bulk_load`: in one transaction, the indexes
    built again after); a smaller one batch by batch into the indexes as they are."""
    with bulk_load(count):
        return import_history(
            generated_records(count, city=city), source="generated", progress=progress
        )


def learn_from_history() -> None:
    """Queue, for the worker, what learns from the city's history: the service suggestion
    model (most of a minute of CPU) and the expected closing times. Until they run, the word
    matcher suggests alone and no expected date is shown."""
    # Imported here: the loader is imported by settings-time code paths that need neither.
    from django_q.tasks import async_task

    async_task("city311.catalog.classifier.retrain")
    async_task("city311.servicerequests.expected.refresh")
