from django.apps import AppConfig


class Open311Config(AppConfig):
    name = "city311.open311"
    verbose_name = "Open311 GeoReport v2"

    def ready(self) -> None:
        from city311.open311.media import fetch_due_photos, handle_events
        from city311.servicerequests import stream
        from city311.servicerequests.vocabulary import Event

        # Photos applications link to (media_url) on filed requests and their updates: fetched
        # from the hosts the city allows. From now: old links are not fetched on upgrade.
        stream.register(
            stream.Consumer(
                name="media",
                handle=handle_events,
                kinds=frozenset({Event.SUBMITTED, Event.NOTE, Event.REOPENED}),
                start=stream.FROM_NOW,
                select_related=("request",),
                then=fetch_due_photos,
            )
        )
