"""Every row of the test database, kept in memory and written back: a transactional test's
setup built once per process instead of once per test.

A transactional test (the browser's, against the live server) gets an empty database and
builds its city again: the demo catalog and the small city's imports cost more than most
of those tests' steps. The first test builds it and keeps its rows (`saved_rows`); each next
one, after the flush, has the same rows written back in one transaction (`restore_rows`), with
their keys, so what the build returned can be read again by key. Only the rows come back:
settings and caches are each test's own, as before.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

Rows = list[tuple[type[models.Model], list[dict]]]
_kept: dict[str, Rows] = {}


def built_once(key: str, build: Callable[[], object]) -> None:
    """`build()` in the first test of this process to ask for `key`; in each next one, the
    rows it left are written back instead. The build is the test's first write: every row in
    the database when it ends is kept, and comes back in each next test. What the build
    returned is read again from the database by the caller."""
    if key in _kept:
        restore_rows(_kept[key])
        return
    build()
    _kept[key] = saved_rows()


def _tables() -> list[type[models.Model]]:
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        # A child of multi-table inheritance would need its parent's row written first;
        # none is kept here, and one added fails here rather than restoring half a row.
        assert not model._meta.parents, f"{model.__name__}: multi-table inheritance"
        tables.append(model)
    return tables


def saved_rows() -> Rows:
    """The rows of every table that has any, column by column."""
    saved = []
    for model in _tables():
        columns = [f.attname for f in model._meta.concrete_fields if not f.generated]
        rows = list(model._base_manager.values(*columns))
        if rows:
            saved.append((model, rows))
    return saved


def restore_rows(saved: Rows) -> None:
    """Write `saved` back over what the tables hold now.

    The flush after a transactional test empties every table and then has the content types
    and permissions made again, under new keys: those are replaced by the kept ones, which
    the kept groups' permissions name. Keys come back as they were; the flush only deletes,
    so the tables' sequences are past them and new rows never collide."""
    with transaction.atomic():
        for model, _ in saved:
            model._base_manager.all()._raw_delete(model._base_manager.db)
        for model, rows in saved:
            model._base_manager.bulk_create([model(**row) for row in rows])
    ContentType.objects.clear_cache()
