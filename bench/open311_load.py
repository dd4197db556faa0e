"""Open311 under load: POST requests/s and p99 at 50 concurrent clients, GET p99s, and the
same server's bare one-row insert view as the framework's ceiling. Then every id read back.

Runs a real gunicorn on 127.0.0.1 against DATABASE_URL (default: SQLite in a fresh folder).

    .venv/bin/python bench/open311_load.py --posts 2000 --history 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench \\
        .venv/bin/python bench/open311_load.py --posts 5000 --history 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django() -> None:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "open311_site"
    import django

    django.setup()


def prepare(history: int) -> str:
    """Migrate, make the catalog, the bare table and `history` old requests; return a key."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from open311_urls import TABLE

    from city311.catalog.models import Department, ServiceType
    from city311.open311.models import ApiKey
    from city311.servicerequests.models import Channel, ServiceRequest, Status
    from city311.servicerequests.tracking import new_tracking_number

    call_command("migrate", interactive=False, verbosity=0)
    streets, _ = Department.objects.get_or_create(name="Streets", slug="streets")
    pothole, _ = ServiceType.objects.get_or_create(
        service_code="pothole",
        defaults={"service_name": "Pothole", "department": streets, "sla_amount": 5},
    )
    id_column = (
        "bigserial PRIMARY KEY"
        if connection.vendor == "postgresql"
        else ("integer PRIMARY KEY AUTOINCREMENT")
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id {id_column}, at timestamp)")
    have = ServiceRequest.objects.count()
    now = timezone.now()
    batch: list[ServiceRequest] = []
    numbers: set[str] = set(ServiceRequest.objects.values_list("tracking_number", flat=True))
    for i in range(max(0, history - have)):
        number = new_tracking_number()
        while number in numbers:
            number = new_tracking_number()
        numbers.add(number)
        at = now - timedelta(minutes=random.randrange(0, 2 * 365 * 24 * 60))
        batch.append(
            ServiceRequest(
                tracking_number=number,
                service_type=pothole,
                status=random.choice([Status.OPEN, Status.CLOSED, Status.CLOSED]),
                description="Historical request",
                lat=40.6 + random.random() / 10,
                long=-74 + random.random() / 10,
                channel=Channel.IMPORT,
                department=streets,
                requested_at=at,
                updated_at=at,
            )
        )
        if len(batch) == 5000:
            ServiceRequest.objects.bulk_create(batch)
            batch = []
            print(f"  history: {i + 1:,} of {history - have:,}", end="\r", flush=True)
    ServiceRequest.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        # Fresh statistics, as autovacuum would have them on a server that has run a while.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"  history: {ServiceRequest.objects.count():,} requests stored")
    return ApiKey.issue("Load test", rate_limit_per_minute=10**9)[1]


def serve(port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{BENCH}")
    return subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "city311.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", "4", "--worker-class", "gthread",
            "--backlog", "2048", "--log-level", "warning",
        ],
        env=env,
    )  # fmt: skip


def load(
    count: int, clients: int, call: Callable[[requests.Session, int], str | None]
) -> tuple[float, list[float], list[str]]:
    """`count` calls spread over `clients` threads; returns seconds, latencies and results."""
    latencies: list[float] = []
    results: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()
    todo = iter(range(count))

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            started = time.perf_counter()
            try:
                result = call(session, i)
            except Exception as e:  # every failure is counted and shown
                with lock:
                    failures.append(repr(e)[:200])
                continue
            took = time.perf_counter() - started
            with lock:
                latencies.append(took)
                if result:
                    results.append(result)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} failures, e.g. {failures[0]}")
    return elapsed, latencies, results


def p(latencies: list[float], q: float) -> float:
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(name: str, elapsed: float, latencies: list[float]) -> float:
    rate = len(latencies) / elapsed if elapsed else 0.0
    print(
        f"{name:<34} {len(latencies):>6} ok  {rate:>8.1f}/s  "
        f"p50 {p(latencies, 0.5):>7.1f} ms  p99 {p(latencies, 0.99):>7.1f} ms"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--gets", type=int, default=200, help="GET requests.json (default window)")
    parser.add_argument("--singles", type=int, default=2000, help="GET requests/{id}.json")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn processes")
    parser.add_argument("--history", type=int, default=0, help="requests stored beforehand")
    args = parser.parse_args()

    os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-o311-bench-"))
    os.environ.setdefault("CITY311_LOG_LEVEL", "WARNING")
    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor}; preparing...")
    key = prepare(args.history)
    connection.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve(port, args.workers)
    try:
        for _ in range(120):
            try:
                requests.get(f"{base}/open311/v2/services.json", timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.5)
        print(f"gunicorn: {args.workers} workers x 4 threads; {args.clients} concurrent clients")

        def bare(session: requests.Session, i: int) -> str | None:
            r = session.post(f"{base}/bench/bare-insert", timeout=60)
            r.raise_for_status()
            return None

        def post(session: requests.Session, i: int) -> str | None:
            data = {
                "api_key": key,
                "service_code": "pothole",
                "lat": f"{40.6 + random.random() / 10:.6f}",
                "long": f"{-74 + random.random() / 10:.6f}",
                "description": f"Load test {i}",
            }
            r = session.post(f"{base}/open311/v2/requests.json", data=data, timeout=60)
            r.raise_for_status()
            return str(r.json()[0]["service_request_id"])

        bare_rate = report(
            "bare Django insert (ceiling)", *load(args.posts, args.clients, bare)[:2]
        )
        elapsed, latencies, ids = load(args.posts, args.clients, post)
        post_rate = report("POST requests.json", elapsed, latencies)
        print(f"{'POST / ceiling':<34} {post_rate / bare_rate if bare_rate else 0:.2f}")

        def get_list(session: requests.Session, i: int) -> str | None:
            r = session.get(f"{base}/open311/v2/requests.json", timeout=60)
            r.raise_for_status()
            return None

        def get_one(session: requests.Session, i: int) -> str | None:
            r = session.get(f"{base}/open311/v2/requests/{random.choice(ids)}.json", timeout=60)
            r.raise_for_status()
            return None

        report("GET requests.json (90 days, 1000)", *load(args.gets, args.clients, get_list)[:2])
        if ids:
            report("GET requests/{id}.json", *load(args.singles, args.clients, get_one)[:2])

        found: set[str] = set()
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            r = requests.get(
                f"{base}/open311/v2/requests.json",
                params={"service_request_id": ",".join(chunk)},
                timeout=60,
            )
            found |= {row["service_request_id"] for row in r.json()}
        lost = set(ids) - found
        print(f"read back: {len(found):,} of {len(ids):,} returned ids; lost: {len(lost)}")
        if lost or len(ids) != args.posts:
            sys.exit(1)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
