from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "city311.reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from city311.reports import openlines
        from city311.reports.rollup import handle_events, request_deleted
        from city311.servicerequests import stream
        from city311.servicerequests.models import ServiceRequest

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
        # The open data's lines ready to send (reports.openlines): each event's request is
        # rendered again on the worker; from the first event, so a new install renders its
        # history (downloads format as they read until it has caught up). By the schedule's
        # run, not every commit's: one request a wake-up cost 40-69 ms of the worker where the
        # minute's batch costs about 1 ms a request, and a download renders what is still
        # waiting before it reads, so it is never stale.
        stream.register(
            stream.Consumer(
                name=openlines.CONSUMER,
                handle=openlines.handle_events,
                kinds=None,
                start=stream.REPLAY,
                select_related=(),
                batch=2000,
                woken=False,
            )
        )
        # A request deleted outright leaves no event behind: count it out as it goes.
        pre_delete.connect(
            request_deleted, sender=ServiceRequest, weak=False, dispatch_uid="reports-forget"
        )
