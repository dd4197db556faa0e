"""The catalog as each process holds it: read once, shared by every thread, current everywhere.

Every page and every submission reads service types, their questions and choices, departments
and translations. Rather than read those rows on every request, each process keeps one snapshot
of the whole catalog and compares a token with `CatalogVersion` to know whether it is current:
once per request in a web process (the first read), on every read elsewhere (workers,
commands). Whatever changes the catalog, in any process on any machine, writes a new token in
the same transaction (`bump`): model saves and deletes through signals (see `apps.py`), bulk
writes by calling `bump` themselves, loaders once for all their rows (`one_bump`).

Objects handed out are shared between threads: read them, never change or save them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import Model

from city311.catalog.models import (
    CatalogVersion,
    Department,
    ServiceType,
    Translated,
    Translation,
    Urgency,
)

T = TypeVar("T")
M = TypeVar("M", bound=Model)
# (model name, primary key) -> (field, language) -> text
Texts = Mapping[tuple[str, int], Mapping[tuple[str, str], str]]


@dataclass(frozen=True, eq=False)
class Catalog:
    """One reading of the whole catalog, labelled with the token it was read under."""

    token: str
    types: tuple[ServiceType, ...]  # every type, active or not, in catalog order
    by_code: Mapping[str, ServiceType]
    by_pk: Mapping[int, ServiceType]
    departments: Mapping[int, Department]
    texts: Texts
    _derived: dict[Any, Any] = field(default_factory=dict)

    def derived(self, key: Any, build: Callable[[], T]) -> T:
        """Something computed from this snapshot (a search index, the groups), built once.

        Two threads may build it at once; both results are equal and either is kept.
        """
        if key not in self._derived:
            self._derived[key] = build()
        value: T = self._derived[key]
        return value

    def active_types(self, *, emergencies: bool = False) -> list[ServiceType]:
        return [
            t for t in self.types if t.active and (emergencies or t.urgency != Urgency.EMERGENCY)
        ]


_snapshot: Catalog | None = None
# When this process last compared tokens (time.monotonic()).
_checked_at = 0.0
_building = threading.Lock()
# Per thread: whether the request being served has compared tokens already.
_local = threading.local()


def catalog() -> Catalog:
    """The current catalog. Costs at most one tiny query per request, and none while this
    process checked within CITY311_CATALOG_RECHECK_SECONDS (a change made in another process
    shows that much later; one made in this process, at once)."""
    global _snapshot, _checked_at
    snapshot = _snapshot
    if snapshot is not None and (
        getattr(_local, "checked", False)
        or time.monotonic() - _checked_at < settings.CITY311_CATALOG_RECHECK_SECONDS
    ):
        return snapshot
    token = stored_token()
    if snapshot is None or snapshot.token != token:
        with _building:
            snapshot = _snapshot
            if snapshot is None or snapshot.token != token:
                snapshot = _read(token)
                _snapshot = snapshot
    _local.checked = getattr(_local, "in_request", False)
    _checked_at = time.monotonic()
    return snapshot


def active_type(service_code: str) -> ServiceType | None:
    """The active type with this code (emergencies included), with its department, questions,
    their choices and its translations ready: reading them costs no query."""
    found = catalog().by_code.get(service_code)
    return found if found is not None and found.active else None


def active_types(*, emergencies: bool = False) -> list[ServiceType]:
    """Active types in catalog order; emergencies only when asked for."""
    return catalog().active_types(emergencies=emergencies)


def service_type(pk: int) -> ServiceType | None:
    """Any type, active or not, by primary key: for naming the type of an old request."""
    return catalog().by_pk.get(pk)


def departments() -> list[Department]:
    return sorted(catalog().departments.values(), key=lambda d: d.name)


def text_for(row: Translated, field: str, language: str) -> str:
    """`field` of `row` in `language` (or its base language: "es" for "es-mx"), "" if none."""
    if not isinstance(row, Model) or row.pk is None:
        return ""
    if row._meta.app_label == "catalog":
        texts = catalog().texts.get((row._meta.model_name or "", row.pk), {})
    else:
        texts = _row_texts(row)
    base = language.split("-")[0]
    return texts.get((field, language)) or texts.get((field, base)) or ""


def _row_texts(row: Model) -> dict[tuple[str, str], str]:
    """Translations of a row outside the catalog: attached (`attach_texts`), prefetched
    ("translations") or one query."""
    attached = row.__dict__.get("_texts")
    if attached is not None:
        return cast(dict[tuple[str, str], str], attached)
    rows = cast(Any, row).translations.all()
    return {(t.field, t.language): t.text for t in rows}


def attach_texts(rows: list[M]) -> list[M]:
    """Read the translations of `rows` (of one model) in one query and keep them on each row,
    so `translated()` costs no query. Cheaper than prefetch_related("translations"), which
    builds a queryset for every row of a generic relation (most of a list page's time)."""
    if not rows:
        return rows
    from django.contrib.contenttypes.models import ContentType

    kind = ContentType.objects.get_for_model(rows[0])
    texts: dict[int, dict[tuple[str, str], str]] = {row.pk: {} for row in rows}
    found = Translation.objects.filter(content_type=kind, object_id__in=list(texts))
    for object_id, name, language, text in found.values_list(
        "object_id", "field", "language", "text"
    ):
        texts[object_id][(name, language)] = text
    for row in rows:
        row.__dict__["_texts"] = texts[row.pk]
    return rows


def stored_token() -> str:
    return CatalogVersion.objects.filter(pk=1).values_list("token", flat=True).first() or ""


def bump() -> None:
    """Mark the catalog changed, for every process. Call inside the transaction that changed
    it, so the new token and the change commit (or roll back) together."""
    global _snapshot
    if getattr(_local, "deferred", False):
        return
    token = uuid.uuid4().hex
    if not CatalogVersion.objects.filter(pk=1).update(token=token):
        CatalogVersion.objects.create(pk=1, token=token)
    _snapshot = None
    _local.checked = False


@contextmanager
def one_bump() -> Iterator[None]:
    """Within it, this thread's catalog writes bump the version once, when it ends: for loaders
    writing hundreds of rows. Use it inside their transaction."""
    _local.deferred = True
    try:
        yield
    finally:
        _local.deferred = False
    bump()


def request_started(**kwargs: object) -> None:
    _local.in_request = True
    _local.checked = False


def request_finished(**kwargs: object) -> None:
    _local.in_request = False
    _local.checked = False


def _read(token: str) -> Catalog:
    types = tuple(
        ServiceType.objects.select_related("department").prefetch_related(
            "attributes__values", "related_types"
        )
    )
    texts: dict[tuple[str, int], dict[tuple[str, str], str]] = {}
    rows = Translation.objects.filter(content_type__app_label="catalog").values_list(
        "content_type__model", "object_id", "field", "language", "text"
    )
    for model, pk, name, language, text in rows:
        texts.setdefault((model, pk), {})[(name, language)] = text
    return Catalog(
        token=token,
        types=types,
        by_code={t.service_code: t for t in types},
        by_pk={t.pk: t for t in types},
        departments={d.pk: d for d in Department.objects.all()},
        texts=texts,
    )
