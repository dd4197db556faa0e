from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "city311.reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from city311.reports.rollup import handle_events
        from city311.servicerequests import stream

        # Every history event reaches the rollups: each one re-reads its request's state, so
        # the facts and day totals include today. From the first event ever: a new install (or
        # a cursor reset) rebuilds the reports from history.
        stream.register(
            stream.Consumer(
                name="reports",
                handle=handle_events,
                kinds=None,
                start=stream.REPLAY,
                select_related=(),
                batch=500,
            )
        )
