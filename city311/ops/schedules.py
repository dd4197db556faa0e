"""Periodic work, registered with the task queue's scheduler."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django_q.models import Schedule

SCHEDULES = [
    # (task path, minutes between runs)
    ("city311.servicerequests.tasks.flag_overdue_requests", 5),
    # SLA escalation levels (75%, the breach, 3x...): each minute, and at alarms between.
    ("city311.servicerequests.tasks.escalate_requests", 1),
    # Digests of open and overdue work, to people and teams who asked for them (daily at
    # the hour of CITY311_DIGEST_HOUR, weekly on Mondays): the task sends what is due.
    ("city311.notifications.digests.send_digests", 15),
    # The event stream's backstop: events whose wake-up was lost, bulk loads that woke nobody,
    # consumers that failed, and ids that settle late.
    ("city311.servicerequests.tasks.dispatch_events", 1),
    # Notifications: claims of dead workers, retries that are due.
    ("city311.notifications.tasks.sweep", 1),
    # Webhook posts, and Open311 forwards and the other servers' updates: claims of dead
    # workers, retries that are due.
    ("city311.webhooks.tasks.sweep", 1),
    ("city311.forwarding.tasks.sweep", 1),
    # Photos applications linked (media_url), from the hosts the city allows.
    ("city311.open311.media.sweep", 1),
    # Rate limit counts of windows that have ended (when counted in the database).
    ("city311.lib.ratelimit.sweep_rate_counters", 10),
    # The service suggestion learns the day's requests and re-classifications, and the
    # expected-date rollup counts the day's closures: once a day.
    # Bulky-pickup reminders three days and one day before, from the city's reminder hour:
    # planning is idempotent, so every run after the hour finds nothing new to queue.
    ("city311.pickups.tasks.send_pickup_reminders", 15),
    # E-mail to 311 from the IMAP mailbox (nothing when CITY311_MAIL_IMAP_HOST is unset).
    ("city311.intake.mailin.fetch_mail", 1),
    ("city311.catalog.classifier.retrain", 24 * 60),
    ("city311.servicerequests.expected.refresh", 24 * 60),
    # Last month's charter report, written once the day after the month ends.
    ("city311.reports.tasks.write_monthly_reports", 24 * 60),
    # The open data's lines rebuilt when the catalog or the city changed under them.
    ("city311.reports.tasks.refresh_open_data", 5),
]


# The periodic tasks that send what outbox tables hold: queued at once by a worker that
# starts and finds a dead worker's claims to give back.
OUTBOX_SWEEPS = [
    "city311.notifications.tasks.sweep",
    "city311.webhooks.tasks.sweep",
    "city311.forwarding.tasks.sweep",
    "city311.open311.media.sweep",
    "city311.pickups.subscriptions.send_notices",
]


# The daily tasks first run at this hour of the city's night, not the moment a new worker
# starts: at a new start they (retraining the suggestion model, the expected-date rollup) took
# the machine while the demo loaded, and the demo queues its own first run of each anyway.
NIGHTLY_HOUR = 3
DAILY = 24 * 60


def ensure_schedules() -> None:
    """Register each periodic task once; safe for several workers to run at once."""
    for func, minutes in SCHEDULES:
        fields = {"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes}
        first = {"next_run": next_night()} if minutes >= DAILY else {}
        Schedule.objects.update_or_create(
            name=func, defaults=fields, create_defaults={**fields, **first}
        )


def next_night(now: datetime | None = None) -> datetime:
    """The next NIGHTLY_HOUR o'clock in the city's time zone."""
    local = timezone.localtime(now)
    night = local.replace(hour=NIGHTLY_HOUR, minute=0, second=0, microsecond=0)
    return night if night > local else night + timedelta(days=1)


def set_alarm(func: str, at: datetime) -> None:
    """Run `func` once at `at` (as near as the scheduler's half-minute look allows), besides
    its regular schedule. One alarm per task: a nearer moment moves it, a later one waits."""
    name = f"{func} (alarm)"
    current = Schedule.objects.filter(name=name, repeats__gt=0).values_list("next_run", flat=True)
    pending = current.first()
    if pending is not None and pending <= at:
        return
    Schedule.objects.update_or_create(
        name=name,
        defaults={"func": func, "schedule_type": Schedule.ONCE, "next_run": at, "repeats": 1},
    )
