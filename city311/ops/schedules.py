"""Periodic work, registered with the task queue's scheduler."""

from __future__ import annotations

from django_q.models import Schedule

SCHEDULES = [
    # (task path, minutes between runs)
    ("city311.servicerequests.tasks.flag_overdue_requests", 5),
    # The event stream's backstop: events whose wake-up was lost, bulk loads that woke nobody,
    # consumers that failed, and ids that settle late.
    ("city311.servicerequests.tasks.dispatch_events", 1),
    # Notifications: claims of dead workers, retries that are due.
    ("city311.notifications.tasks.sweep", 1),
    # Rate limit counts of windows that have ended (when counted in the database).
    ("city311.lib.ratelimit.sweep_rate_counters", 10),
    # The service suggestion learns the day's requests and re-classifications, and the
    # expected-date rollup counts the day's closures: once a day.
    ("city311.catalog.classifier.retrain", 24 * 60),
    ("city311.servicerequests.expected.refresh", 24 * 60),
]


# The periodic tasks that send what outbox tables hold: queued at once by a worker that
# starts and finds a dead worker's claims to give back.
OUTBOX_SWEEPS = ["city311.notifications.tasks.sweep"]


def ensure_schedules() -> None:
    """Register each periodic task once; safe for several workers to run at once."""
    for func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=func,
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes},
        )
