"""How fast the SLA engine works: due dates, their explanation, and the escalation sweep.

    .venv/bin/python bench/sla.py [--requests 20000]

Prints (1) business-hour due dates computed per second (40 hours over holidays and weekends),
(2) the due date in words per request, in ms, (3) the escalation sweep catching up on
--requests open requests that each passed one to three levels while it was down (requests and
escalations recorded per second), and (4) the cost of a sweep with nothing due, in ms.

Runs on a fresh database under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set
(it must be a database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from city311.catalog.calendar import Calendar  # noqa: E402
from city311.catalog.models import BusinessHours, Department, ServiceType, SlaUnit  # noqa: E402
from city311.servicerequests import sla  # noqa: E402
from city311.servicerequests.models import Escalation, ServiceRequest  # noqa: E402
from city311.servicerequests.tasks import escalate_requests  # noqa: E402


def setup() -> ServiceType:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    BusinessHours.objects.bulk_create(
        BusinessHours(weekday=d, opens=clock(9), closes=clock(17)) for d in range(5)
    )
    streets = Department.objects.create(name="Streets", slug="streets")
    return ServiceType.objects.create(
        service_code="signal",
        service_name="Traffic signal out",
        department=streets,
        sla_amount=40,
        sla_unit=SlaUnit.BUSINESS_HOURS,
    )


def due_dates(cal: Calendar, n: int = 20_000) -> float:
    start = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    began = time.perf_counter()
    for i in range(n):
        cal.add_business_hours(start + timedelta(minutes=37 * i), 40)
    return n / (time.perf_counter() - began)


def fill(kind: ServiceType, count: int) -> None:
    now = timezone.now()
    cal = Calendar()
    rows = []
    for i in range(count):
        # Filed 6 to 20 working days ago: past 75%, the breach, and for some, 3x.
        filed = now - timedelta(days=8 + (i % 20))
        rows.append(
            ServiceRequest(
                tracking_number=f"B{i:011d}",
                service_type=kind,
                department=kind.department,
                channel="web",
                status="open",
                requested_at=filed,
                updated_at=filed,
                due_at=cal.add_business_hours(filed, 40),
                escalation_due_at=filed,
            )
        )
    ServiceRequest.objects.bulk_create(rows, batch_size=2000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    kind = setup()
    cal = Calendar()
    print(f"business-hour due dates: {due_dates(cal):,.0f} per second")

    fill(kind, args.requests)
    sample = list(ServiceRequest.objects.select_related("service_type")[:200])
    began = time.perf_counter()
    for sr in sample:
        str(sla.explain_due(sr))
    print(f"due date in words: {(time.perf_counter() - began) / len(sample) * 1000:.2f} ms each")

    began = time.perf_counter()
    while ServiceRequest.objects.filter(escalation_due_at__lte=timezone.now()).exists():
        escalate_requests(limit=1000)
    took = time.perf_counter() - began
    levels = Escalation.objects.count()
    print(
        f"sweep catching up: {args.requests:,} requests, {levels:,} levels recorded in "
        f"{took:.1f} s ({args.requests / took:,.0f} requests/s, {levels / took:,.0f} levels/s)"
    )
    again = Escalation.objects.count()
    began = time.perf_counter()
    escalate_requests()
    print(f"a sweep with nothing due: {(time.perf_counter() - began) * 1000:.1f} ms")
    assert Escalation.objects.count() == again, "a level was recorded twice"


if __name__ == "__main__":
    main()
