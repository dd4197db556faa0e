"""How fast a day's bulky-pickup reminders are queued: one day with --bookings bookings.

    .venv/bin/python bench/pickup_reminders.py [--bookings 20000] [--send 1000] [--workers 1]

Fills a fresh database with that many live bookings for one day (each a bulky request with its
reporter following by e-mail), then times `plan_reminders` at 09:00 the day before: the D-1
reminder of every booking queued in the notifications outbox. It plans again to show that
nothing is queued twice, and then has --workers processes run the notifications worker's own
code (`send_deliveries`, task after task) to render and hand --send of them to Django's
in-memory mail backend, to give a rate for rendering and sending past the queue, with the CPU
each message costs in the worker and (PostgreSQL on this machine) in the database server.
The goal: 100,000 reminders within 10 minutes of the scheduled time. --reuse sends what an
earlier run of the same --bookings left queued, without building and planning again.

Runs under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set (it must be a
database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import multiprocessing
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
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from city311.catalog.models import Department, ServiceType  # noqa: E402
from city311.cities import profile  # noqa: E402
from city311.lib.outbox import OutboxStatus  # noqa: E402
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
    # Task worker processes sending side by side (production runs several).
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    if args.reuse and Booking.objects.count() == args.bookings:
        print(f"database: {connection.vendor}; {args.bookings:,} bookings of an earlier run")
    else:
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
        print(
            f"planned again 15 minutes later: {again} new in {time.perf_counter() - started:.2f} s"
        )

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    connections.close_all()  # each worker process opens its own
    results: multiprocessing.Queue[tuple[int, float, float]] = multiprocessing.Queue()
    share = -(-args.send // args.workers)
    started = time.perf_counter()
    workers = [
        multiprocessing.Process(target=worker, args=(share, results)) for _ in range(args.workers)
    ]
    for w in workers:
        w.start()
    done = [results.get() for _ in workers]
    for w in workers:
        w.join()
    took = time.perf_counter() - started
    sent = sum(d[0] for d in done)
    python_ms = sum(d[1] for d in done) * 1000 / sent
    database_ms = sum(d[2] for d in done) * 1000 / sent
    print(
        f"rendered and handed to the mail backend: {sent:,} in {took:.1f} s by {args.workers} "
        f"worker process(es) ({sent / took:,.0f} a second; 100,000 at this pace: "
        f"{100_000 / (sent / took):,.0f} s)"
    )
    # On a shared machine the wall time waits for the CPU; the CPU time per message does not.
    # The database's CPU is its server process's for each worker's connection (read from
    # /proc: PostgreSQL on this machine); SQLite's is inside the worker.
    total = python_ms + database_ms
    print(
        f"CPU per message sent: {python_ms:.2f} ms in the worker (Django, the templates, the "
        f"driver) + {database_ms:.2f} ms in {connection.vendor}'s server = {total:.2f} ms; "
        f"100,000 take {total * 100:,.0f} CPU-seconds, {total * 100 / os.cpu_count():,.0f} s "
        f"on {os.cpu_count()} idle cores; load average {os.getloadavg()[0]:.1f}"
    )
    left = Delivery.objects.filter(status=OutboxStatus.PENDING).count()
    print(f"still to send: {left:,} of {args.bookings:,}")
    assert Delivery.objects.count() == args.bookings


def server_cpu_seconds() -> float:
    """CPU seconds the database server has spent for this connection (0 for SQLite)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(share: int, results: multiprocessing.Queue[tuple[int, float, float]]) -> None:
    """Send up to `share` due reminders as a task worker does: one send_deliveries task after
    another (each stops after its time budget) until none is due."""
    connections.close_all()  # the parent's connection is not this process's to use
    server, cpu = server_cpu_seconds(), time.process_time()
    sent = 0
    while sent < share:
        mail.outbox = []
        now = send_deliveries(Delivery.objects.all(), limit=share - sent)
        # Nothing sent: none due, or the other workers claimed the rows this one read first
        # (the outbox claims the oldest due rows; two workers reach for the same ones).
        if not now and not Delivery.objects.filter(status=OutboxStatus.PENDING).exists():
            break
        sent += now
    results.put((sent, time.process_time() - cpu, server_cpu_seconds() - server))
    connections.close_all()


if __name__ == "__main__":
    main()
