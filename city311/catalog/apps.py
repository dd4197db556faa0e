from typing import Any

from django.apps import AppConfig
from django.core import signals
from django.db.models.signals import m2m_changed, post_delete, post_save


class CatalogConfig(AppConfig):
    name = "city311.catalog"
    verbose_name = "Service catalog"

    def ready(self) -> None:
        from city311.catalog import cache
        from city311.catalog.models import (
            AttributeValue,
            Department,
            ServiceAttribute,
            ServiceType,
            Translation,
        )

        # Cache invalidation, not logic: whoever writes a catalog row (the admin, a loader, a
        # shell, a test's setup), every process's snapshot must stop being served. Bulk
        # writes, which send no signals, call cache.bump() themselves.
        def changed(**kwargs: Any) -> None:
            cache.bump()

        # weak=False: `changed` is local to this method and would otherwise be collected.
        for model in (Department, ServiceType, ServiceAttribute, AttributeValue, Translation):
            post_save.connect(
                changed, sender=model, weak=False, dispatch_uid=f"catalog-save-{model.__name__}"
            )
            post_delete.connect(
                changed, sender=model, weak=False, dispatch_uid=f"catalog-delete-{model.__name__}"
            )
        m2m_changed.connect(
            changed,
            sender=ServiceType.related_types.through,
            weak=False,
            dispatch_uid="catalog-related",
        )
        signals.request_started.connect(cache.request_started, dispatch_uid="catalog-request")
        signals.request_finished.connect(cache.request_finished, dispatch_uid="catalog-request")
