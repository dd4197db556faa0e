from typing import Any

from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class ServicerequestsConfig(AppConfig):
    name = "city311.servicerequests"
    verbose_name = "Service requests"

    def ready(self) -> None:
        from city311.catalog import cache
        from city311.servicerequests.models import AssignmentRule, RoutingRule, Team

        # Cache invalidation, as the catalog's own rows do (catalog/apps.py): every process
        # routes by a Router kept with its catalog snapshot, so a rule saved anywhere must
        # retire every snapshot.
        def changed(**kwargs: Any) -> None:
            cache.bump()

        for model in (RoutingRule, AssignmentRule, Team):
            name = model.__name__
            post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"{name}-save")
            post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"{name}-delete")
        # A team's territory (Team.areas) routes too, when no assignment rule matches.
        m2m_changed.connect(
            changed, sender=Team.areas.through, weak=False, dispatch_uid="Team-areas-changed"
        )
