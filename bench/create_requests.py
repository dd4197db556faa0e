"""Requests created per second through the one domain function, `submit_request`.

Runs against DATABASE_URL (default: SQLite in a fresh temporary folder), after loading the demo
catalog and, with --history, that many generated historical requests. Prints the figures with the
database and the history size beside them.

    .venv/bin/python bench/create_requests.py --count 2000 --history 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench \\
        .venv/bin/python bench/create_requests.py --count 2000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="requests to create")
    parser.add_argument("--history", type=int, default=0, help="historical requests to add first")
    args = parser.parse_args()

    os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from city311.demo import loader
    from city311.servicerequests.intake import submit_request
    from city311.servicerequests.models import Channel, RequestEvent, ServiceRequest
    from city311.servicerequests.validation import Submission

    call_command("migrate", verbosity=0)
    loader.load_catalog()
    loader.load_calendar()
    existing = ServiceRequest.objects.count()
    if args.history > existing:
        print(f"adding {args.history - existing} historical requests...", flush=True)
        loader.load_generated_history(args.history - existing)

    rng = random.Random(311)
    submissions = [
        Submission(
            service_code="pothole",
            channel=rng.choice([Channel.WEB, Channel.PHONE, Channel.MOBILE_APP]),
            lat=40.70 + rng.random() * 0.1,
            long=-74.0 + rng.random() * 0.1,
            address_string=f"{rng.randint(1, 2000)} Dumont Ave, Brooklyn",
            description="Deep pothole in the right lane",
            answers={"size": "medium", "position": "travel_lane"},
            email="resident@example.org" if rng.random() < 0.5 else "",
        )
        for _ in range(args.count)
    ]
    latencies = []
    started = time.perf_counter()
    for sub in submissions:
        t0 = time.perf_counter()
        submit_request(sub)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started

    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(f"database:        {connection.vendor} ({connection.settings_dict['NAME']})")
    print(
        f"history:         {ServiceRequest.objects.count():,} requests, "
        f"{RequestEvent.objects.count():,} events after the run"
    )
    print(f"created:         {args.count:,} requests in {elapsed:.2f} s, one process")
    print(f"throughput:      {args.count / elapsed:,.0f} requests/s")
    print(
        f"latency:         p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
