from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "city311.webhooks"
    verbose_name = "Webhooks and forwarding"

    def ready(self) -> None:
        from city311.servicerequests import stream
        from city311.webhooks.models import SENDABLE
        from city311.webhooks.tasks import handle_events, send_due_posts

        # Every event of the kinds an endpoint may ask for becomes one post per endpoint that
        # wants it; then what is due is sent. From now: a new install posts no old history.
        stream.register(
            stream.Consumer(
                name="webhooks",
                handle=handle_events,
                kinds=SENDABLE,
                start=stream.FROM_NOW,
                select_related=("request__service_type", "request__department"),
                then=send_due_posts,
            )
        )
