from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "city311.notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from city311.notifications.actions import PLANNED
        from city311.notifications.tasks import PLAN_BATCH, handle_events, send_due_deliveries
        from city311.servicerequests import stream

        # Every history event of these kinds reaches handle_events, which plans the messages
        # followers are sent; then what is due is sent. From now: a new install never tells
        # anyone of past events.
        stream.register(
            stream.Consumer(
                name="notifications",
                handle=handle_events,
                kinds=frozenset(PLANNED),
                start=stream.FROM_NOW,
                select_related=("request__department",),
                batch=PLAN_BATCH,
                then=send_due_deliveries,
            )
        )
