from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PickupsConfig(AppConfig):
    name = "city311.pickups"
    verbose_name = "Pickups"

    def ready(self) -> None:
        from city311.catalog import cache
        from city311.catalog.models import Holiday
        from city311.geo.boundaries import AREAS_CHANGED
        from city311.notifications.actions import SMS_OPT_OUT_HOOKS
        from city311.notifications.tasks import MESSAGE_READS
        from city311.pickups import subscriptions
        from city311.pickups.actions import follow_new_areas
        from city311.pickups.models import (
            BulkyItem,
            Collection,
            HolidayRule,
            Route,
            RouteDay,
            RouteSchedule,
            ScheduleException,
        )

        # A route's area redrawn: its addresses are mapped to their routes again, and their
        # bookings and subscribers follow.
        if follow_new_areas not in AREAS_CHANGED:
            AREAS_CHANGED.append(follow_new_areas)

        # A reminder reads its booking (day, items, place, link): loaded with its batch, not
        # a query per message (bench/pickup_reminders.py).
        if "request__pickup_booking" not in MESSAGE_READS:
            MESSAGE_READS.append("request__pickup_booking")

        # A number that replies STOP to the city gets no pickup-change texts either.
        hook = (subscriptions.stop_sms, subscriptions.start_sms)
        if hook not in SMS_OPT_OUT_HOOKS:
            SMS_OPT_OUT_HOOKS.append(hook)

        # Cache invalidation, not logic: lookups share one schedule engine per catalog version
        # (Schedules.current), one list of routes' schedules (lookup.route_schedules) and one
        # of items (BulkyItem.by_code), so whoever writes any of these rows
        # (the admin, the staff page, a loader, a test) moves the version for every process.
        # Route days too, for the late-route banner (views.late_today): a booking takes its
        # place with an UPDATE, which sends no signal, so only staff edits move it.
        def changed(**kwargs: Any) -> None:
            cache.bump()

        for model in (
            HolidayRule,
            ScheduleException,
            Holiday,
            BulkyItem,
            Route,
            RouteSchedule,
            Collection,
            RouteDay,
        ):
            post_save.connect(
                changed, sender=model, weak=False, dispatch_uid=f"pickups-save-{model.__name__}"
            )
            post_delete.connect(
                changed, sender=model, weak=False, dispatch_uid=f"pickups-delete-{model.__name__}"
            )
