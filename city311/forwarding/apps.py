from django.apps import AppConfig


class ForwardingConfig(AppConfig):
    name = "city311.forwarding"
    verbose_name = "Open311 forwarding"

    def ready(self) -> None:
        from city311.forwarding.tasks import handle_events, send_due_forwards
        from city311.servicerequests import stream
        from city311.servicerequests.vocabulary import Event

        # A filed request of a forwarded type becomes a forward to post; then what is due is
        # posted. From now: turning forwarding on does not send last year's requests.
        stream.register(
            stream.Consumer(
                name="forwarding",
                handle=handle_events,
                kinds=frozenset({Event.SUBMITTED}),
                start=stream.FROM_NOW,
                select_related=("request",),
                then=send_due_forwards,
            )
        )
