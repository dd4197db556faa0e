"""How fast a day's bulky-pickup reminders are queued: one day with --bookings bookings.

    .venv/bin/python bench/pickup_reminders.py [--bookings 20000] [--send 1000]

Fills a fresh database with that many live bookings for one day (each a bulky request with its
reporter following by e-mail), then times `plan_reminders` at 09:00 the day before: the D-1
reminder of every booking queued in the notifications outbox. It plans again to show that
nothing is queued twice, and then has the notifications worker's own code
(`send_deliveries`) render and hand --send of them to Django's in-memory mail backend, to give
a rate for rendering and sending past the queue. The goal: 100,000 reminders within 10
minutes of the scheduled time.

Runs under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set (it must be a
database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from city311.catalog.models import Department, ServiceType  # noqa: E402
from city311.cities import profile  # noqa: E402
from city311.notifications.models import Delivery, Follower, Role  # noqa: E402
from city311.notifications.tasks import send_deliveries  # noqa: E402
from city311.pickups.models import Booking, Collection, Route, RouteSchedule  # noqa: E402
from city311.pickups.reminders import plan_reminders  # noqa: E402
from city311.servicerequests.models import Contact, ServiceRequest, Status  # noqa: E402

BATCH = 5_000


def fill(count: int, day: date) -> None:
    department = Department.objects.create(name="Sanitation", slug="sanitation")
    bulky = ServiceType.objects.create(
        service_code="bulky", service_name="Bulky Item Pickup", department=department
    )
    route = Route.objects.create(code="north", name="North", area_kind="zone", area_code="N")
    RouteSchedule.objects.create(
        route=route,
        collection=Collection.objects.create(code="bulky", name="Bulky items"),
        rule="FREQ=DAILY",
        starts=day - timedelta(days=30),
    )
    now = timezone.now()
    for start in range(0, count, BATCH):
        numbers = range(start, min(count, start + BATCH))
        requests = ServiceRequest.objects.bulk_create(
            ServiceRequest(
                service_type=bulky,
                department=department,
                status=Status.OPEN,
                tracking_number=f"{n:010d}",
                description="Bulky item pickup: 1 couch.",
                requested_at=now,
                updated_at=now,
            )
            for n in numbers
        )
        Contact.objects.bulk_create(
            Contact(request=sr, email=f"resident{n}@example.org")
            for n, sr in zip(numbers, requests, strict=True)
        )
        Follower.objects.bulk_create(
            Follower(
                request=sr,
                role=Role.REPORTER,
                email=f"resident{n}@example.org",
                confirmed_at=now,
            )
            for n, sr in zip(numbers, requests, strict=True)
        )
        Booking.objects.bulk_create(
            Booking(request=sr, route=route, day=day, items={"couch": 1}, token=f"t{sr.pk}")
            for sr in requests
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=20_000)
    parser.add_argument("--send", type=int, default=1_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    day = timezone.now().astimezone(profile.zone()).date() + timedelta(days=30)
    started = time.perf_counter()
    fill(args.bookings, day)
    print(
        f"database: {connection.vendor}; {args.bookings:,} bookings for {day} built in "
        f"{time.perf_counter() - started:.1f} s"
    )

    nine = datetime.combine(day - timedelta(days=1), clock(9), tzinfo=profile.zone())
    started = time.perf_counter()
    queued = plan_reminders(nine)
    took = time.perf_counter() - started
    print(
        f"D-1 reminders queued: {queued:,} in {took:.2f} s "
        f"({queued / took:,.0f} a second; 100,000 would take {100_000 / (queued / took):.0f} s)"
    )
    started = time.perf_counter()
    again = plan_reminders(nine + timedelta(minutes=15))
    print(f"planned again 15 minutes later: {again} new in {time.perf_counter() - started:.2f} s")

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    started, cpu = time.perf_counter(), time.process_time()
    sent = send_deliveries(Delivery.objects.all(), limit=args.send)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"rendered and handed to the mail backend: {sent:,} in {took:.2f} s "
        f"({sent / took:,.0f} a second, one worker process)"
    )
    # On a shared machine the wall time waits for the CPU; the CPU time per message does not.
    print(
        f"CPU per message sent (this process: Django, the templates, the database driver): "
        f"{cpu * 1000 / sent:.1f} ms; 100,000 would take {cpu * 100_000 / sent:,.0f} CPU-seconds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    assert Delivery.objects.count() == args.bookings


if __name__ == "__main__":
    main()
