from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CitiesConfig(AppConfig):
    name = "city311.cities"
    verbose_name = "The city"

    def ready(self) -> None:
        from city311.catalog import cache
        from city311.cities.models import City, CityAlias

        # Cache invalidation, as for the catalog (catalog/apps.py): the city's profile is read
        # from a per-process snapshot that follows the catalog's token.
        def changed(**kwargs: Any) -> None:
            cache.bump()

        for model in (City, CityAlias):
            post_save.connect(
                changed, sender=model, weak=False, dispatch_uid=f"city-save-{model.__name__}"
            )
            post_delete.connect(
                changed, sender=model, weak=False, dispatch_uid=f"city-delete-{model.__name__}"
            )
